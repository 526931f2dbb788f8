"""Pure evaluation at scale: decisions per second and memory of `evaluate` over synthetic
entities and rules (the core alone: no I/O, one core).

`python -m bench.eval_core [quick|full]` prints the table.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from bench.synth import entities, history, population, rule_specs, ruleset, snapshot, team_names
from bench.table import FULL, QUICK, SMOKE, Plan, Table, mb
from watchdog.daemon import gc_paused
from watchdog.decisions import Decision
from watchdog.evaluate import Standing, evaluate
from watchdog.model import LedgerState, Snapshot
from watchdog.rules import RuleSet
from watchdog.store import rows

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
NEXT = NOW + timedelta(minutes=1)
"""The next cycle, one (default) poll interval later."""
LONG = 10.0
"""CPU seconds beyond which one run is enough. Runs of a few seconds are repeated too: on a
shared machine one run of 2 s can be a third slower than the next."""
PLANS = {p.name: p for p in (QUICK, FULL, SMOKE)}


def measure(plan: Plan) -> Table:
    table = Table(
        "Pure evaluation (one core)",
        (
            "entities",
            "rules",
            "budgets",
            "decisions",
            "cpu_s",
            "decisions_per_s",
            "next_cycle_s",
            "peak_mb",
        ),
        notes=[
            "CPU seconds of one `evaluate(..., standings=[])` call as the daemon makes it (no",
            "cyclic GC inside; best of a few), with 9 days of",
            "spend history per entity for forecasts; peak_mb is what that call allocated",
            "(tracemalloc, measured in a separate run). Budgets = (rule, entity) pairs;",
            "decisions counts the standings of budgets with nothing to do as one each.",
            "cpu_s is a first cycle: nothing sent yet, so every budget over a step fires.",
            "next_cycle_s: the cycle after it (a poll interval later, its notices claimed,",
            "streaks and baselines recorded, as the store hands them back): mostly deduped.",
        ],
    )
    for size in plan.entities:
        found = entities(population(size, now=NOW))
        snap = snapshot(found, now=NOW)
        state = history(found, now=NOW)
        for count in plan.rules:
            rules = ruleset(rule_specs(count, team_names(size)))
            call = partial(_as_the_daemon, rules, snap, state, NOW)
            best, (decisions, standings) = _best(plan, call)
            after = remembered(state, decisions, NOW)
            nxt, _ = _best(plan, partial(_as_the_daemon, rules, snap, after, NEXT))
            budgets = len(
                {(d.alert.rule, d.alert.entity_id) for d in decisions}
                | {(s.rule.name, s.entity.id) for s in standings}
            )
            if budgets > plan.max_budgets:
                continue
            tracemalloc.start()
            evaluate(rules, snap, state, NOW, standings=[])
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            table.add(
                entities=len(found),
                rules=count,
                budgets=budgets,
                decisions=len(decisions) + len(standings),
                cpu_s=best,
                decisions_per_s=(len(decisions) + len(standings)) / best if best else None,
                next_cycle_s=nxt,
                peak_mb=mb(peak),
            )
    return table


Evaluated = tuple[list[Decision], list[Standing]]


def _as_the_daemon(rules: RuleSet, snap: Snapshot, state: LedgerState, now: datetime) -> Evaluated:
    standings: list[Standing] = []
    with gc_paused():
        return evaluate(rules, snap, state, now, standings=standings), standings


def remembered(state: LedgerState, decisions: list[Decision], now: datetime) -> LedgerState:
    """The ledger after a cycle's `decisions`: its notices claimed and delivered, forecast
    streaks and first-seen periods recorded (the store's own rows, read back as it reads
    them; rendering each claimed message is part of building them, outside the timing)."""
    claimed = [(*n.identity, n.level) for n in rows.notice_rows(decisions)]
    return rows.build_state(
        notices=[
            (rule, scope, entity, period, channel, step, event, level, now, "delivered")
            for rule, scope, entity, period, step, channel, event, level in claimed
        ],
        forecasts=[(*k, m.period, m.streak) for k, m in rows.streaks(decisions).items()],
        memory=[(*k, "reset", p, now, None) for k, p in rows.baselines(decisions).items()],
        snoozes=(),
        history=state.history,
    )


def _best(plan: Plan, call: Callable[[], Evaluated]) -> tuple[float, Evaluated]:
    best = float("inf")
    result: Evaluated = ([], [])
    for _ in range(plan.repeats):
        start = time.process_time()
        result = call()
        best = min(best, time.process_time() - start)
        if best > LONG:
            break  # a long run is steady enough once
    return best, result


if __name__ == "__main__":
    print(measure(PLANS[sys.argv[1] if len(sys.argv) > 1 else "quick"]).render())
