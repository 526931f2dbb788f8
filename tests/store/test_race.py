"""Two writers, two OS processes, one database: every crossing is claimed exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from tests.conftest import ROOT
from tests.store.backends import Backend
from tests.store.cases import crossings
from watchdog.render import render

EVENTS = 1_000


async def _start(backend: Backend, seed: int) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.store.race_worker",
        backend.name,
        backend.location,
        str(EVENTS),
        str(seed),
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert (await process.stdout.readline()).strip() == b"ready"
    return process


async def _finish(process: asyncio.subprocess.Process) -> list[str]:
    out, _ = await process.communicate()
    assert process.returncode == 0
    won: list[str] = json.loads(out.decode().strip().splitlines()[-1])
    return won


async def test_two_processes_claim_a_thousand_crossings_once(backend: Backend) -> None:
    """Racing claims of the same 1,000 events from two processes: 1,000 rows, no duplicates."""
    async with asyncio.timeout(120):
        racers = [await _start(backend, seed) for seed in (1, 2)]
        for racer in racers:
            assert racer.stdin is not None
            racer.stdin.write(b"go\n")
            await racer.stdin.drain()
        first, second = await asyncio.gather(*(_finish(r) for r in racers))
    expected = {render(d).id for d in crossings(EVENTS)}
    assert len(first) + len(second) == EVENTS
    assert set(first).isdisjoint(second)
    assert set(first) | set(second) == expected
    rows = await backend.fetch("SELECT count(*), count(DISTINCT entity) FROM notices")
    assert rows == [(EVENTS, EVENTS)]
