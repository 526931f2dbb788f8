"""One full daemon cycle against a LiteLLM-shaped server, next to the naive way of reading.

For each size: the LiteLLM stand-in (bench.litellm_server) runs in a process of its own; the
daemon (bench.daemon_run, its own process too) runs `CYCLES` cycles with 10 rules, a tenth of
the entities spending between two, and reports wall time, requests and resident memory; then the
naive client asks /key/info once per key, as tools without paged lists do. Beyond
`plan.naive_keys` keys the naive figures are extrapolated from the keys actually read (and
marked so).

`python -m bench.cycle [quick|full]` prints the table.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from typing import Any

import aiohttp

from bench.litellm_server import MASTER_KEY, apart, load
from bench.table import FULL, QUICK, ROOT, SMOKE, Plan, Table

PLANS = {p.name: p for p in (QUICK, FULL, SMOKE)}
RULES = 10
CYCLES = 10
"""Cycles the daemon runs: its memory grows over the first few (the ledger fills, churned
entities replace the first ones) and then settles, so the peak over two cycles understates
what a daemon that runs for a day holds."""
NAIVE_CONCURRENCY = 16
"""Parallel /key/info calls of the naive reader (the daemon's own list concurrency is 4)."""


async def measure(plan: Plan) -> Table:
    table = Table(
        f"One cycle ({RULES} rules) vs reading every key with /key/info",
        (
            "entities",
            "cycle_s",
            "requests",
            "mb_read",
            "daemon_rss_mb",
            "rss_2_cycles_mb",
            "scrape_s",
            "naive_s",
            "naive_requests",
            "naive_mb",
            "time_ratio",
        ),
        notes=[
            f"cycle_s: the last of {CYCLES} cycles' wall time (the first also creates the store;",
            "between two, 10% of entities spend); requests and mb_read as the server counted",
            "them for one cycle. daemon_rss_mb: peak resident memory of the whole daemon",
            f"process over the {CYCLES} cycles, a /metrics scrape after each included;",
            "rss_2_cycles_mb: the same peak after the first two cycles. scrape_s: the scrape",
            "after the last cycle. naive: one /key/info per key,",
            f"{NAIVE_CONCURRENCY} at a time (keys only: teams and users would add more);",
            "`~` marks figures extrapolated from the first keys read.",
        ],
    )
    for size in plan.entities:
        async with apart(size) as url, aiohttp.ClientSession() as session:
            daemon = await _daemon(url, size, session)
            naive = await _naive(url, session, plan.naive_keys)
        ratio = naive["seconds"] / daemon["cycle_s"] if daemon["cycle_s"] else None
        mark = "~" if naive["extrapolated"] else ""
        table.add(
            entities=size,
            cycle_s=daemon["cycle_s"],
            requests=daemon["requests"],
            mb_read=daemon["bytes"] / 1e6,
            daemon_rss_mb=daemon["peak_rss_mb"],
            rss_2_cycles_mb=daemon["rss_2_cycles_mb"],
            scrape_s=daemon["scrape_s"],
            naive_s=f"{mark}{naive['seconds']:.1f}",
            naive_requests=f"{mark}{naive['requests']:,}",
            naive_mb=f"{mark}{naive['bytes'] / 1e6:.1f}",
            time_ratio=f"{mark}{ratio:.0f}×" if ratio else None,
        )
    return table


async def _daemon(url: str, size: int, session: aiohttp.ClientSession) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="watchdog-bench-") as workdir:
        await load(session, url, reset=True)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.daemon_run",
            url,
            str(size),
            str(RULES),
            workdir,
            str(CYCLES),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=1200)
        if process.returncode:
            raise RuntimeError(f"bench.daemon_run exited with {process.returncode}")
        result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    requests, size_read = await load(session, url)
    cycles = result["cycles"]
    last = cycles[-1]
    per_cycle = requests // len(cycles)
    return {
        "cycle_s": last["cycle_s"],
        "requests": last["requests"] or per_cycle,
        "bytes": size_read / len(cycles),
        "peak_rss_mb": result["peak_rss_mb"],
        "rss_2_cycles_mb": cycles[min(1, len(cycles) - 1)]["peak_rss_mb"],
        "scrape_s": last["scrape_s"],
    }


async def _naive(url: str, session: aiohttp.ClientSession, limit: int) -> dict[str, Any]:
    """Every key's /key/info, the way a reader without paged lists works."""
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    async with session.get(f"{url}/key/list", params={"size": "100"}, headers=headers) as r:
        first = await r.json()
    total, pages = int(first["total_count"]), int(first["total_pages"])
    tokens = list(first["keys"])
    for page in range(2, pages + 1):
        if len(tokens) >= limit:
            break
        params = {"size": "100", "page": str(page)}
        async with session.get(f"{url}/key/list", params=params, headers=headers) as r:
            tokens.extend((await r.json())["keys"])
    tokens = tokens[:limit]
    await load(session, url, reset=True)
    gate = asyncio.Semaphore(NAIVE_CONCURRENCY)

    async def info(token: str) -> None:
        async with gate, session.get(f"{url}/key/info", params={"key": token}, headers=headers):
            pass

    start = time.perf_counter()
    await asyncio.gather(*(info(t) for t in tokens))
    seconds = time.perf_counter() - start
    requests, size_read = await load(session, url)
    scale = total / len(tokens) if tokens else 1.0
    return {
        "seconds": seconds * scale,
        "requests": int(requests * scale) + pages,
        "bytes": size_read * scale,
        "extrapolated": scale > 1.0,
    }


if __name__ == "__main__":
    print(asyncio.run(measure(PLANS[sys.argv[1] if len(sys.argv) > 1 else "quick"])).render())
