"""The whole daemon in a process of its own, `run --once` style, reporting time and memory.

`python -m bench.daemon_run LITELLM_URL ENTITIES RULES WORKDIR CYCLES [CHURN]` writes a config
(LiteLLM at the URL, the embedded SQLite store in WORKDIR, RULES synthetic budgets, notices to
the console), runs CYCLES cycles each followed by a delivery round (between two cycles the
stand-in raises the spend of a CHURN share of entities, 0.1 unless given), and prints one JSON
line: each cycle's
wall and CPU seconds, budgets, notices, requests, the time and size of a Prometheus scrape
after it and the process's peak resident memory so far, and at the end its resident memory
(current and peak, VmRSS/VmHWM: the whole daemon, imports included).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench.litellm_server import MASTER_KEY
from bench.synth import rule_specs, team_names
from bench.table import mb, peak_rss, rss
from watchdog.heap import settle_large_blocks
from watchdog.service import open_daemon

KEY_VARIABLE = "BENCH_LITELLM_KEY"
CHURN = 0.1
"""Share of entities whose spend changes between two cycles (a busy proxy's minute)."""


def write_config(workdir: Path, *, url: str, rules: int, entities: int) -> Path:
    """A config for the daemon against the LiteLLM stand-in at `url`; returns its path."""
    rules_dir = workdir / "rules"
    rules_dir.mkdir(parents=True, exist_ok=True)
    budgets = {"budgets": rule_specs(rules, team_names(entities))}
    (rules_dir / "budgets.yaml").write_text(yaml.safe_dump(budgets, sort_keys=False))
    config = {
        "litellm": {"url": url, "master_key": f"os.environ/{KEY_VARIABLE}"},
        "rules": [str(rules_dir)],
        "state_file": str(workdir / "state.db"),
        "log_level": "warning",
        "log_format": "text",
        "channels": {"console": {"type": "console"}},
        "routing": {"default": ["console"]},
    }
    path = workdir / "watchdog.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


async def cycles(config: Path, count: int, *, url: str, churn: float) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    settle_large_blocks()  # as `run` does
    async with open_daemon(str(config), env={KEY_VARIABLE: MASTER_KEY}, configure_logs=False) as d:
        for n in range(count):
            if n and churn:
                await _churn(url, churn)
            wall, cpu = time.perf_counter(), time.process_time()
            report = await d.cycle()
            cycle_wall = time.perf_counter() - wall
            with contextlib.redirect_stdout(io.StringIO()):  # the console channel's output
                outcome = await d.deliver()
            scrape = time.perf_counter()
            exposed = sum(map(len, d.metrics.chunks()))  # as /metrics streams it
            scrape_s = time.perf_counter() - scrape
            snapshot = d.snapshot
            out.append(
                {
                    "cycle_s": cycle_wall,
                    "cpu_s": time.process_time() - cpu,
                    "budgets": report.budgets,
                    "claimed": report.claimed,
                    "scrape_s": scrape_s,
                    "metrics_mb": exposed / 1e6,
                    "delivered": len(outcome.sent),
                    "requests": snapshot.sources["litellm"].requests if snapshot else 0,
                    "entities": snapshot.count() if snapshot else 0,
                    "peak_rss_mb": mb(peak_rss()),
                }
            )
            # As the run loop does: a cycle's report (its decisions, and through them that
            # cycle's entities) is not kept while the next cycle runs.
            del report, snapshot
    return {"cycles": out, "rss_mb": mb(rss()), "peak_rss_mb": mb(peak_rss())}


async def _churn(url: str, share: float) -> None:
    params = {"share": str(share)}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/bench/churn", params=params) as response,
    ):
        response.raise_for_status()


def main() -> None:
    url, entities, rules, workdir, count = sys.argv[1:6]
    churn = float(sys.argv[6]) if len(sys.argv) > 6 else CHURN
    config = write_config(Path(workdir), url=url, rules=int(rules), entities=int(entities))
    result = asyncio.run(cycles(config, int(count), url=url, churn=churn))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
