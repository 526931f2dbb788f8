"""Alert latency: from a key's spend changing in the LiteLLM stand-in until the Slack stand-in
holds the message, one crossing after another, with the daemon's real run loop.

The daemon polls every POLL_INTERVAL over a population of `LATENCY_ENTITIES`; each crossing
sets one watched key's spend past 90% of its $100 budget and waits for its message.

`python -m bench.latency [quick|full]` prints the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import yaml
from aiohttp import web

from bench.litellm_server import MASTER_KEY, LiteLLMServer
from bench.synth import population
from bench.table import FULL, QUICK, SMOKE, Plan, Table
from tests.notify.slack_server import TOKEN, SlackStandIn
from watchdog.service import open_daemon

PLANS = {p.name: p for p in (QUICK, FULL, SMOKE)}
POLL_INTERVAL = 1.0
LATENCY_ENTITIES = 1_000
TIMEOUT = 30.0
"""Longest wait for one message before the run is called failed."""


async def measure(plan: Plan) -> Table:
    table = Table(
        "Alert latency (spend visible → message in the Slack stand-in)",
        ("crossings", "entities", "poll_s", "median_s", "p99_s", "max_s"),
        notes=[
            "The real run loop (cycle every poll interval, delivery woken by each claim) and the",
            "real Slack channel (slack-sdk, 1 message/s per channel) against local stand-ins.",
            "Each crossing happens at a random point of the poll interval. Expected: about half",
            "a poll interval plus one cycle and one send.",
        ],
    )
    pop = population(LATENCY_ENTITIES, now=datetime.now(UTC))
    watched = [str(row["key_alias"]) for row in pop.keys[: plan.crossings]]
    server = LiteLLMServer(pop)
    for alias in watched:
        server.set_spend(alias, 0.0)
    slack = SlackStandIn()
    url = await server.start()
    try:
        async with _served(slack) as slack_url, _workdir() as workdir:
            config = _config(workdir, url, slack_url, watched)
            latencies = await _cross(config, server, slack, watched)
    finally:
        await server.stop()
    ordered = sorted(latencies)
    table.add(
        crossings=len(latencies),
        entities=LATENCY_ENTITIES,
        poll_s=POLL_INTERVAL,
        median_s=statistics.median(ordered),
        p99_s=ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
        max_s=ordered[-1],
    )
    return table


async def _cross(
    config: Path, server: LiteLLMServer, slack: SlackStandIn, watched: list[str]
) -> list[float]:
    env = {"BENCH_LITELLM_KEY": MASTER_KEY, "BENCH_SLACK_TOKEN": TOKEN}
    latencies: list[float] = []
    async with open_daemon(str(config), env=env, configure_logs=False) as daemon:
        stop = asyncio.Event()
        loop = asyncio.create_task(daemon.run(stop), name="bench:daemon")
        try:
            await asyncio.sleep(POLL_INTERVAL * 2)  # the first cycles: nothing to say
            jitter = random.Random(7)
            for alias in watched:
                # at a random point of the poll interval, as spend arrives in real life
                await asyncio.sleep(jitter.uniform(0, POLL_INTERVAL))
                before = len(slack.posts)
                server.set_spend(alias, 95.0)
                start = time.perf_counter()
                async with asyncio.timeout(TIMEOUT):
                    while len(slack.posts) == before:  # noqa: ASYNC110 - the stand-in has no event
                        await asyncio.sleep(0.005)
                latencies.append(time.perf_counter() - start)
        finally:
            stop.set()
            await loop
    return latencies


def _config(workdir: Path, url: str, slack_url: str, watched: list[str]) -> Path:
    rules = {
        "budgets": [
            {
                "name": "Watched keys",
                "scope": "key",
                "match": watched,
                "amount": 100,
                "period": "litellm",
                "alert_at": ["90%"],
                "notify": ["slack"],
            }
        ]
    }
    (workdir / "rules.yaml").write_text(yaml.safe_dump(rules))
    config = {
        "litellm": {"url": url, "master_key": "os.environ/BENCH_LITELLM_KEY"},
        "rules": [str(workdir / "rules.yaml")],
        "state_file": str(workdir / "state.db"),
        "poll_interval": f"{POLL_INTERVAL:g}s",
        "log_level": "error",
        "channels": {
            "slack": {
                "type": "slack",
                "token": "os.environ/BENCH_SLACK_TOKEN",
                "channel": "C0ENG",
                "base_url": f"{slack_url}/api/",
            }
        },
    }
    path = workdir / "watchdog.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextlib.asynccontextmanager
async def _served(slack: SlackStandIn) -> AsyncIterator[str]:
    runner = web.AppRunner(slack.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        slack.released.set()
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _workdir() -> AsyncIterator[Path]:
    with tempfile.TemporaryDirectory(prefix="watchdog-bench-") as name:
        yield Path(name)


if __name__ == "__main__":
    print(asyncio.run(measure(PLANS[sys.argv[1] if len(sys.argv) > 1 else "quick"])).render())
