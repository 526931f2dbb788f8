"""Pure evaluation at scale: decisions per second and memory of `evaluate` over synthetic
entities and rules (the core alone: no I/O, one core).

`python -m bench.eval_core [quick|full]` prints the table.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from bench.synth import entities, history, population, rule_specs, ruleset, snapshot, team_names
from bench.table import FULL, QUICK, SMOKE, Plan, Table, mb
from watchdog.daemon import gc_paused
from watchdog.decisions import Decision
from watchdog.evaluate import evaluate
from watchdog.model import LedgerState, Snapshot
from watchdog.rules import RuleSet

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
LONG = 2.0
"""CPU seconds beyond which one run is enough."""
PLANS = {p.name: p for p in (QUICK, FULL, SMOKE)}


def measure(plan: Plan) -> Table:
    table = Table(
        "Pure evaluation (one core)",
        ("entities", "rules", "budgets", "decisions", "cpu_s", "decisions_per_s", "peak_mb"),
        notes=[
            "CPU seconds of one `evaluate(..., explain=True)` call as the daemon makes it (no",
            "cyclic GC inside; best of a few), with 9 days of",
            "spend history per entity for forecasts; peak_mb is what that call allocated",
            "(tracemalloc, measured in a separate run). Budgets = (rule, entity) pairs.",
        ],
    )
    for size in plan.entities:
        found = entities(population(size, now=NOW))
        snap = snapshot(found, now=NOW)
        state = history(found, now=NOW)
        for count in plan.rules:
            rules = ruleset(rule_specs(count, team_names(size)))
            call = partial(_as_the_daemon, rules, snap, state)
            best, decisions = _best(plan, call)
            budgets = len({(d.alert.rule, d.alert.entity_id) for d in decisions})
            if budgets > plan.max_budgets:
                continue
            tracemalloc.start()
            evaluate(rules, snap, state, NOW, explain=True)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            table.add(
                entities=len(found),
                rules=count,
                budgets=budgets,
                decisions=len(decisions),
                cpu_s=best,
                decisions_per_s=len(decisions) / best if best else None,
                peak_mb=mb(peak),
            )
    return table


def _as_the_daemon(rules: RuleSet, snap: Snapshot, state: LedgerState) -> list[Decision]:
    with gc_paused():
        return evaluate(rules, snap, state, NOW, explain=True)


def _best(plan: Plan, call: Callable[[], list[Decision]]) -> tuple[float, list[Decision]]:
    best = float("inf")
    result: list[Decision] = []
    for _ in range(plan.repeats):
        start = time.process_time()
        result = call()
        best = min(best, time.process_time() - start)
        if best > LONG:
            break  # a long run is steady enough once
    return best, result


if __name__ == "__main__":
    print(measure(PLANS[sys.argv[1] if len(sys.argv) > 1 else "quick"]).render())
