"""The per-budget gauges: one series per budget and gauge, from decisions and standings."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.eval_core import NOW
from bench.synth import entities, population, rule_specs, ruleset, team_names
from bench.synth import history as synth_history
from bench.synth import snapshot as synth_snapshot
from tests.builders import rule, rules, run, shipped_example, snap, team
from watchdog.decisions import Reason
from watchdog.evaluate import Standing, evaluate
from watchdog.metrics import Metrics
from watchdog.server import Health, build_app, serve
from watchdog.status import StatusView

NAMES = (
    "watchdog_budget_spend_usd",
    "watchdog_budget_limit_usd",
    "watchdog_budget_utilisation_ratio",
    "watchdog_budget_forecast_usd",
    "watchdog_budget_time_to_exhaustion_seconds",
)
SERIES = re.compile(r'^(\w+)\{entity="([^"]*)",rule="([^"]*)",scope="(\w+)"\} (\S+)$')


def _series(metrics: Metrics) -> dict[tuple[str, str, str, str], float]:
    found = {}
    for line in metrics.text().decode().splitlines():
        m = SERIES.match(line)
        if m and m[1] in NAMES:
            found[(m[1], m[3], m[4], m[2])] = float(m[5])
    return found


def test_standings_give_the_series_their_under_decisions_give() -> None:
    """The daemon passes idle budgets as standings: the exported series are the ones the
    same budgets' UNDER decisions give, value for value."""
    args = shipped_example()
    now = args[3]
    standings: list[Standing] = []
    decisions = evaluate(*args, standings=standings)
    from_standings, from_decisions = Metrics(), Metrics()
    from_standings.observe_budgets(decisions, now, standings)
    from_decisions.observe_budgets(evaluate(*args, explain=True), now)
    assert _series(from_standings) == _series(from_decisions)
    budgets = {(d.alert.rule, d.alert.entity_id) for d in decisions if d.alert.measurement}
    budgets |= {(s.rule.name, s.entity.id) for s in standings}
    spend = [k for k in _series(from_standings) if k[0] == NAMES[0]]
    assert len(spend) == len(budgets) == 13


def test_a_gauge_without_a_value_has_no_series_and_a_repeat_is_kept_once() -> None:
    """A budget without a limit exports its spend but no limit or ratio; a forecast exports
    its projection; the same labels twice (two decisions of one budget) make one series."""
    found = entities(population(1_000, now=NOW))  # with 9 days of history: forecasts
    snapshot, state = synth_snapshot(found, now=NOW), synth_history(found, now=NOW)
    explained = evaluate(ruleset(rule_specs(10, team_names(1_000))), snapshot, state, NOW)
    forecast = next(d for d in explained if d.alert.projection and d.alert.projection.projected)
    unlimited = run(rules(rule(amount=None, match="engineering", period="monthly")), snap(team(10)))
    [no_budget] = [d for d in unlimited if d.reason is Reason.NO_BUDGET]
    metrics = Metrics()
    metrics.observe_budgets([no_budget, forecast, forecast], NOW)
    series = _series(metrics)
    a, f = no_budget.alert, forecast.alert
    assert series[(NAMES[0], a.rule, a.scope.value, a.label)] == float(a.spend)
    assert (NAMES[1], a.rule, a.scope.value, a.label) not in series
    assert (NAMES[2], a.rule, a.scope.value, a.label) not in series
    assert f.projection is not None
    assert f.projection.projected is not None
    assert series[(NAMES[3], f.rule, f.scope.value, f.label)] == float(f.projection.projected)
    left = series[(NAMES[4], f.rule, f.scope.value, f.label)]
    assert left >= 0 or math.isinf(left)
    assert len([k for k in series if k[0] == NAMES[0]]) == 2


def test_two_entities_named_alike_in_one_rule_make_one_series_and_two_budgets() -> None:
    """Two teams with the same alias under one rule would be one series twice: the first
    budget evaluated is exported, and both are counted."""
    standings: list[Standing] = []
    evaluate(*shipped_example(), standings=standings)
    first = standings[0]
    twin = replace(
        first,
        entity=replace(first.entity, id=f"{first.entity.id}-twin"),
        measurement=replace(first.measurement, spend=first.spend + 1),
    )
    assert twin.entity.label == first.entity.label
    metrics = Metrics()
    metrics.observe_budgets([], NOW, [first, twin])
    series = _series(metrics)
    key = (NAMES[0], first.rule.name, first.entity.scope.value, first.entity.label)
    assert series[key] == float(first.spend)
    assert len([k for k in series if k[0] == NAMES[0]]) == 1
    assert "watchdog_budgets 2.0" in metrics.text().decode()


def _many(count: int) -> Metrics:
    """Gauges for `count` budgets: the shipped example's idle budgets, renamed one by one,
    the first with every character the text format escapes in its alias."""
    standings: list[Standing] = []
    evaluate(*shipped_example(), standings=standings)
    first = standings[0]
    odd = replace(first, entity=replace(first.entity, id="odd", name='a "quoted" \\ al\nias'))
    copies = [
        replace(first, entity=replace(first.entity, id=f"t{i}", name=f"team {i}"))
        for i in range(count)
    ]
    metrics = Metrics()
    metrics.observe_budgets([], NOW, [odd, *copies])
    return metrics


def test_the_exposition_is_prometheus_text_that_its_own_parser_reads_back() -> None:
    """Written in parts without prometheus_client's families: the library's parser reads
    every series back, with label values escaped, and every other metric."""
    metrics = _many(5_000)
    text = metrics.text().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    spend = families["watchdog_budget_spend_usd"]
    assert spend.type == "gauge"
    assert len(spend.samples) == 5_001
    entities = {s.labels["entity"] for s in spend.samples}
    scope = spend.samples[0].labels["scope"]
    assert f'{scope} a "quoted" \\ al\nias' in entities
    assert {f"{scope} team 0", f"{scope} team 4999"} <= entities
    assert "watchdog_budgets" in families
    assert families["watchdog_budgets"].samples[0].value == 5_001
    # the parts are cut at CHUNK_LINES series, and together are the whole text
    parts = list(metrics.chunks())
    assert len(parts) > 5
    assert b"".join(parts).decode() == text


async def test_metrics_are_served_in_parts_as_the_text_says() -> None:
    """GET /metrics on the daemon's server answers the same exposition, streamed."""
    metrics = _many(5_000)
    app = build_app(
        health=Health(store_ok=True, snapshot_ok=True, role="leader"),
        metrics=metrics,
        view=_no_view,
        clock=lambda: NOW,
    )
    runner, port = await serve(app, host="127.0.0.1", port=0)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            body = await response.read()
            kind = response.headers["Content-Type"]
    finally:
        await runner.cleanup()
    assert kind == "text/plain; version=0.0.4; charset=utf-8"
    assert body == metrics.text()


async def _no_view() -> StatusView:
    raise AssertionError("the status page is not asked for")
