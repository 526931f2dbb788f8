"""Spend sources: LiteLLM's admin API, Prometheus, snapshot files. Each knows nothing of the others.

A source returns a `Reading` (entities, per-day series, rates, query results) or raises
`SourceError`; `watchdog.snapshot.collect` merges readings and keeps a failed source's last
reading, marked with its old `data_as_of`, so the core can say "stale" instead of going quiet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from watchdog.model import DailySeries, Entity, EntityRef, Scope, empty
from watchdog.rules import RuleSet


@dataclass(frozen=True, slots=True)
class Reading:
    """What one source saw in one cycle."""

    source: str
    taken_at: datetime
    entities: Mapping[Scope, Mapping[str, Entity]] = field(default_factory=empty)
    daily: Mapping[EntityRef, DailySeries] = field(default_factory=empty)
    rates: Mapping[EntityRef, Mapping[str, Decimal]] = field(default_factory=empty)
    queries: Mapping[str, Mapping[str, Decimal]] = field(default_factory=empty)
    requests: int = 0
    """HTTP requests made to build this reading (for metrics and the O(pages) promise)."""
    stands_for: frozenset[str] = frozenset()
    """Other source names this reading speaks for (a snapshot file carrying Prometheus query
    results stands for "prometheus" too); each gets a status as fresh as this reading."""


class Source(Protocol):
    """Reads spend from one system."""

    @property
    def name(self) -> str: ...

    async def read(self, *, rules: RuleSet, now: datetime) -> Reading:
        """One reading; raises SourceError(retryable=...) when the source cannot be read."""
        ...

    async def aclose(self) -> None: ...
