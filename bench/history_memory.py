"""Spend history in memory: bytes per reading as the daemon writes it, and as a restart reads
it back from the store.

The daemon keeps every entity's spend readings in memory (forecasts and period baselines read
them each cycle); over weeks they are the part of its memory that grows. For each size, a
SQLite store records `plan.readings` cycles, 5 minutes apart, in which every entity's spend
changed; then a second store opens the same file and loads the history, as after a restart.
Memory is what Python objects take (tracemalloc), per reading held. Readings this recent are
all kept (thinning starts two days back).

`python -m bench.history_memory [quick|full]` prints the table.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tempfile
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

from bench.table import FULL, QUICK, SMOKE, Plan, Table, mb
from watchdog.model import Entity, Scope, Snapshot, SourceStatus
from watchdog.store import StoreOptions
from watchdog.store.sqlite import SqliteStore

PLANS = {p.name: p for p in (QUICK, FULL, SMOKE)}
START = datetime(2026, 11, 2, tzinfo=UTC)
STEP = timedelta(minutes=5)


async def measure(plan: Plan) -> Table:
    table = Table(
        "Spend history in memory",
        ("entities", "readings", "written_mb", "written_b", "loaded_mb", "loaded_b"),
        notes=[
            f"readings: held in memory after every entity spent in each of {plan.readings} cycles;",
            "written: as the daemon records them; loaded: read back from the store at start.",
            "_b columns: bytes per reading (Python objects, tracemalloc).",
        ],
    )
    for count in plan.history:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "state.db"
            written, held = await _written(path, count, plan.readings)
            loaded, again = await _loaded(path, START + STEP * (plan.readings - 1))
        if held != again:
            raise RuntimeError(f"wrote {held} readings but read back {again}")
        table.add(
            entities=count,
            readings=held,
            written_mb=mb(written),
            written_b=written / held,
            loaded_mb=mb(loaded),
            loaded_b=loaded / held,
        )
    return table


async def _written(path: Path, count: int, readings: int) -> tuple[int, int]:
    """Memory of the history recorded cycle by cycle, and how many readings it holds."""
    store = await SqliteStore.open(path, options=StoreOptions())
    try:
        await store.load_state(now=START)  # the empty history, loaded as at a first start
        with _Traced() as traced:
            for cycle in range(readings):
                at = START + STEP * cycle
                await store.record_samples(_snapshot(count, cycle, at), now=at)
            return await traced.holding(store, at)
    finally:
        await store.aclose()


async def _loaded(path: Path, now: datetime) -> tuple[int, int]:
    """Memory of the history a restarted daemon reads back, and how many readings it holds."""
    with _Traced() as traced:
        store = await SqliteStore.open(path, options=StoreOptions())
        try:
            return await traced.holding(store, now)
        finally:
            await store.aclose()


class _Traced:
    """tracemalloc on for the block, from the memory traced when it began."""

    def __enter__(self) -> _Traced:
        gc.collect()
        tracemalloc.start()
        self.before = tracemalloc.get_traced_memory()[0]
        return self

    def __exit__(self, *exc: object) -> None:
        tracemalloc.stop()

    async def holding(self, store: SqliteStore, now: datetime) -> tuple[int, int]:
        """Memory grown since the start, with the store's history loaded, and its readings."""
        state = await store.load_state(now=now)
        held = sum(len(samples) for samples in state.history.values())
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - self.before, held


def _snapshot(count: int, cycle: int, at: datetime) -> Snapshot:
    """Every key's counter `cycle` steps on; each spends a little more than the last."""
    keys = {
        f"hash-{i:06d}": Entity(
            Scope.KEY, f"hash-{i:06d}", Decimal(f"{(i % 97 + 1) * (cycle + 1) * 0.013:.6f}")
        )
        for i in range(count)
    }
    status = SourceStatus("litellm", ok=True, data_as_of=at)
    return Snapshot(
        taken_at=at,
        entities=MappingProxyType({Scope.KEY: MappingProxyType(keys)}),
        sources=MappingProxyType({"litellm": status}),
    )


if __name__ == "__main__":
    print(asyncio.run(measure(PLANS[sys.argv[1] if len(sys.argv) > 1 else "quick"])).render())
