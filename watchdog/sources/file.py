"""The file source: spend from a saved snapshot file, for offline demos and tests.

It stands in for LiteLLM (and for Prometheus when the file holds query results or rates);
what it returns is data as of the moment the file was read, so the core treats it as fresh.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from watchdog.errors import InputError, SourceError
from watchdog.rules import RuleSet
from watchdog.sources import Reading
from watchdog.sources.snapshot_file import SnapshotFile, load

NAME = "litellm"
PROMETHEUS = "prometheus"


class FileSource:
    """Reads `path` each cycle (edits to the file show up on the next cycle)."""

    def __init__(self, path: str | Path, *, name: str = NAME) -> None:
        self._path = Path(path)
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def read(self, *, rules: RuleSet, now: datetime) -> Reading:
        del rules
        try:
            loaded: SnapshotFile = await asyncio.to_thread(load, self._path)
        except InputError as exc:
            raise SourceError(f"snapshot file {exc.problems[0]}", retryable=False) from None
        snap = loaded.snapshot
        extra = {e.source for found in snap.entities.values() for e in found.values()}
        if snap.queries or snap.rates:
            extra.add(PROMETHEUS)
        return Reading(
            source=self._name,
            taken_at=now,
            entities=snap.entities,
            daily=snap.daily,
            rates=snap.rates,
            queries=snap.queries,
            stands_for=frozenset(extra - {self._name}),
        )

    async def aclose(self) -> None:
        return None
