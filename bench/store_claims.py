"""Alert claims per second on SQLite and PostgreSQL, with one and two writers racing.

Each writer is a process of its own running tests.store.race_worker: it opens the store the
way the daemon does and claims the same N crossing notices in shuffled batches of 50. The
figure is distinct claims per second of wall time from "go" until every writer is done; the
run also checks that no notice was won twice. PostgreSQL: a scratch database on
127.0.0.1:5432 (or WATCHDOG_BENCH_DATABASE_URL's server), dropped afterwards.

`python -m bench.store_claims [quick|full]` prints the table.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from bench.table import FULL, QUICK, ROOT, SMOKE, Plan, Table

PLANS = {p.name: p for p in (QUICK, FULL, SMOKE)}
SERVER = os.environ.get(
    "WATCHDOG_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
WRITERS = (1, 2)


async def measure(plan: Plan) -> Table:
    table = Table(
        "Alert claims per second",
        ("store", "writers", "notices", "seconds", "claims_per_s", "duplicates"),
        notes=[
            "Each writer claims every notice (INSERT … ON CONFLICT DO NOTHING in batches of 50);",
            "with two writers each notice is won by exactly one of them.",
        ],
    )
    for backend in ("sqlite", "postgresql"):
        for count in plan.claims:
            for writers in WRITERS:
                async with _location(backend) as location:
                    seconds, won = await _race(backend, location, count, writers)
                table.add(
                    store=backend,
                    writers=writers,
                    notices=count,
                    seconds=seconds,
                    claims_per_s=len(set(won)) / seconds,
                    duplicates=len(won) - len(set(won)),
                )
    return table


async def _race(backend: str, location: str, count: int, writers: int) -> tuple[float, list[str]]:
    kind = "sqlite" if backend == "sqlite" else "postgres"
    procs = [await _start(kind, location, count, seed) for seed in range(writers)]
    for proc in procs:  # each has opened and migrated its store
        assert proc.stdout is not None
        ready = (await asyncio.wait_for(proc.stdout.readline(), timeout=120)).decode().strip()
        if ready != "ready":
            raise RuntimeError(f"a writer did not start: {ready!r}")
    start = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    won: list[str] = []
    for proc in procs:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=1200)
        won.extend(json.loads(out.decode().strip().splitlines()[-1]))
    return time.perf_counter() - start, won


async def _start(kind: str, location: str, count: int, seed: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.store.race_worker",
        kind,
        location,
        str(count),
        str(seed),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


@asynccontextmanager
async def _location(backend: str) -> AsyncIterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="watchdog-bench-") as workdir:
            yield str(Path(workdir) / "state.db")
        return
    name = f"watchdog_bench_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield SERVER.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(SERVER, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    print(asyncio.run(measure(PLANS[sys.argv[1] if len(sys.argv) > 1 else "quick"])).render())
