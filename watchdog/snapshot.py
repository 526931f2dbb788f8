"""Snapshots: every source read in one cycle, merged, with each source's freshness.

`collect` reads all sources at once, each under its own deadline; a source that fails keeps
its previous entities in the snapshot with their old `data_as_of` and `ok=False`, so the core
reports them stale after `stale_after` instead of going quiet or acting on old numbers. The
file form (`load`, `save`) lives in `watchdog.sources.snapshot_file` and is re-exported here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

import aiohttp

from watchdog.config import Settings
from watchdog.model import DailySeries, Entity, EntityRef, Scope, Snapshot, SourceStatus
from watchdog.rules import RuleSet
from watchdog.sources import Reading, Source
from watchdog.sources.factory import build_sources
from watchdog.sources.snapshot_file import FORMAT, SnapshotFile, dumps, load, loads, save

__all__ = ["FORMAT", "SnapshotFile", "collect", "dumps", "load", "loads", "read_live", "save"]

log = logging.getLogger(__name__)

DEADLINE = timedelta(seconds=60)
"""How long one source may take to produce its reading, retries included."""
QUERY_SOURCE = "prometheus"
"""The source rule-defined queries come from (the core names it so for staleness)."""


async def collect(
    sources: Sequence[Source],
    *,
    rules: RuleSet,
    now: datetime,
    previous: Snapshot | None,
    deadline: timedelta = DEADLINE,
) -> Snapshot:
    """Read every source concurrently and merge the readings; never raises for a source."""
    async with asyncio.TaskGroup() as tg:
        tasks = [
            tg.create_task(_read(source, rules, now, deadline), name=f"source:{source.name}")
            for source in sources
        ]
    merged = _Merge(previous)
    for source, task in zip(sources, tasks, strict=True):
        result = task.result()
        if isinstance(result, Reading):
            merged.add(result)
        else:
            merged.carry(source.name, result)
    return merged.snapshot(now)


async def read_live(settings: Settings, *, rules: RuleSet, now: datetime) -> Snapshot:
    """One collection from the configured sources, on a session of its own (for the CLI)."""
    async with aiohttp.ClientSession() as session:
        sources = build_sources(settings, session=session)
        try:
            return await collect(sources, rules=rules, now=now, previous=None)
        finally:
            for source in sources:
                await source.aclose()


async def _read(
    source: Source, rules: RuleSet, now: datetime, deadline: timedelta
) -> Reading | str:
    """The source's reading, or why there is none (any failure stays inside this source)."""
    try:
        async with asyncio.timeout(deadline.total_seconds()):
            return await source.read(rules=rules, now=now)
    except TimeoutError:
        return f"no reading within {deadline.total_seconds():g}s"
    except Exception as exc:
        retryable = getattr(exc, "retryable", None)
        if retryable is None:
            log.exception("source %s raised an unexpected error", source.name)
        return str(exc) or type(exc).__name__


class _Merge:
    """Accumulates readings, and the previous snapshot's share of sources that failed."""

    def __init__(self, previous: Snapshot | None) -> None:
        self.previous = previous
        self.entities: dict[Scope, dict[str, Entity]] = {}
        self.daily: dict[EntityRef, DailySeries] = {}
        self.rates: dict[EntityRef, Mapping[str, Decimal]] = {}
        self.queries: dict[str, Mapping[str, Decimal]] = {}
        self.sources: dict[str, SourceStatus] = {}

    def add(self, reading: Reading) -> None:
        for scope, found in reading.entities.items():
            self.entities.setdefault(scope, {}).update(found)
        self.daily.update(reading.daily)
        self.rates.update(reading.rates)
        self.queries.update(reading.queries)
        for name in sorted(reading.stands_for | {reading.source}):
            self.sources[name] = SourceStatus(
                name,
                ok=True,
                data_as_of=reading.taken_at,
                requests=reading.requests if name == reading.source else 0,
            )

    def carry(self, name: str, error: str) -> None:
        """Keep what `name` reported last time, marked with its old data_as_of."""
        before = self.previous.sources.get(name) if self.previous else None
        self.sources[name] = SourceStatus(
            name, ok=False, data_as_of=before.data_as_of if before else None, error=error
        )
        if self.previous is None:
            return
        for scope, found in self.previous.entities.items():
            target = self.entities.setdefault(scope, {})
            for entity in found.values():
                if entity.source == name:
                    target.setdefault(entity.id, entity)
                    if entity.ref in self.previous.daily:
                        self.daily.setdefault(entity.ref, self.previous.daily[entity.ref])
        if name == QUERY_SOURCE:
            for rule, results in self.previous.queries.items():
                self.queries.setdefault(rule, results)

    def snapshot(self, now: datetime) -> Snapshot:
        return Snapshot(
            taken_at=now,
            entities=MappingProxyType(
                {s: MappingProxyType(e) for s, e in self.entities.items() if e}
            ),
            sources=MappingProxyType(self.sources),
            rates=MappingProxyType(self.rates),
            queries=MappingProxyType(self.queries),
            daily=MappingProxyType(self.daily),
        )
