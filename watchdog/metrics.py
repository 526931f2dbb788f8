"""Prometheus metrics (prefix watchdog_): budgets, forecasts, deliveries, sources, cycles."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from watchdog.decisions import Action, Decision, Reason
from watchdog.deliver import Outcome
from watchdog.evaluate import Standing
from watchdog.forecast import Projection
from watchdog.model import Entity, Scope, Snapshot

SUPPRESSIONS = frozenset({Reason.SNOOZED, Reason.QUIET_HOURS, Reason.NO_CHANNEL, Reason.STALE})
"""Reasons that hold back an alert that would otherwise go out now."""

_BUDGET = ["rule", "scope", "entity"]
_GAUGES = (
    ("watchdog_budget_spend_usd", "Spend in the current period."),
    ("watchdog_budget_limit_usd", "The budget for the current period."),
    ("watchdog_budget_utilisation_ratio", "Spend over budget."),
    ("watchdog_budget_forecast_usd", "Spend projected to the end of the period."),
    (
        "watchdog_budget_time_to_exhaustion_seconds",
        "Seconds until the budget runs out at the current pace (+Inf: not within this period).",
    ),
)
NAN = math.nan
CHUNK_LINES = 2000
"""Series per chunk of a scrape (about 200 KB): the server yields to the daemon between."""


def _values(
    spend: Decimal,
    budget: Decimal | None,
    ratio: Decimal | None,
    p: Projection | None,
    now: datetime,
) -> tuple[float, float, float, float, float]:
    """One budget's gauge values, in `_GAUGES` order (NaN: the gauge has no value)."""
    left = NAN
    if p is not None:
        left = max((p.exhausts_at - now).total_seconds(), 0.0) if p.exhausts_at else math.inf
    return (
        float(spend),
        float(budget) if budget is not None else NAN,
        float(ratio or 0) if budget is not None else NAN,
        float(p.projected) if p is not None and p.projected is not None else NAN,
        left,
    )


class BudgetGauges:
    """The per-budget gauges, kept as columns and rendered when scraped.

    With tens of thousands of budgets, one labelled child per budget and gauge rebuilt every
    cycle cost more than evaluating them; a scrape walks the last cycle's values once. Each
    budget is three list slots and a float in each gauge's array (NaN when a gauge has
    none): its rule, its scope and its entity, whose label is written when scraped (the
    entity is held by the snapshot anyway; its label's text was 6 MB more at 100k budgets).
    """

    def __init__(self) -> None:
        self._rules: list[str] = []
        self._scopes: list[str] = []
        self._named: list[Entity | str] = []
        """Each budget's entity, or its label where an alert has no entity."""
        self._values: list[array[float]] = [array("d") for _ in _GAUGES]

    def update(
        self, decisions: Iterable[Decision], now: datetime, standings: Iterable[Standing] = ()
    ) -> int:
        """Keep one reading per budget of this cycle (`standings`: the budgets with nothing
        to do, as `evaluate` gives them); returns how many budgets."""
        self.begin()
        self.add_decisions(decisions, now)
        for s in standings:
            self.add_standing(s, now)
        return self.end()

    def begin(self) -> None:
        """Drop last cycle's readings, before this cycle's are added (both at once would
        double their memory). Add them and `end` without awaiting between: a scrape
        meanwhile would see part of them."""
        self._rules, self._scopes, self._named = [], [], []
        self._values = [array("d") for _ in _GAUGES]

    def add_decisions(self, decisions: Iterable[Decision], now: datetime) -> None:
        """The budgets decided on; a budget's decisions (one per channel) are adjacent, as
        `evaluate` returns them, and read once."""
        last: tuple[str, Scope, str] | None = None
        for d in decisions:
            a = d.alert
            if a.measurement is None or a.budget_key == last:
                continue
            last = a.budget_key
            values = _values(a.spend, a.budget, a.ratio, a.projection, now)
            self._add(a.rule, a.scope.value, a.entity or a.label, values)

    def add_standing(self, s: Standing, now: datetime) -> None:
        values = _values(s.spend, s.budget, s.ratio, s.projection, now)
        self._add(s.rule.name, s.entity.scope.value, s.entity, values)

    def end(self) -> int:
        """How many budgets have readings."""
        return len(self._named)

    def _add(self, rule: str, scope: str, named: Entity | str, values: tuple[float, ...]) -> None:
        self._rules.append(rule)
        self._scopes.append(scope)
        self._named.append(named)
        for column, value in zip(self._values, values, strict=True):
            column.append(value)

    def chunks(self, lines: int = CHUNK_LINES) -> Iterator[bytes]:
        """The gauges in Prometheus' text format, `lines` series at a time.

        Written here rather than through `prometheus_client`'s metric families, which build
        an object and a label dict for every series: at 100k budgets a scrape took 3 s and
        86 MB more. Labels are written as each part is, not held for the whole scrape. This
        cycle's columns are read as they stood when the scrape began (a cycle replaces them;
        it never changes them in place).
        """
        rules, scopes, named, columns = self._rules, self._scopes, self._named, self._values
        repeated = _repeats(rules, scopes, named)
        for (name, text), values in zip(_GAUGES, columns, strict=True):
            out = [f"# HELP {name} {text}\n# TYPE {name} gauge\n"]
            for i, value in enumerate(values):
                if repeated[i] or math.isnan(value):
                    continue
                key = _key(rules[i], scopes[i], named[i])
                out.append(f"{name}{{{key}}} {_number(value)}\n")
                if len(out) >= lines:
                    yield "".join(out).encode()
                    out = []
            if out:
                yield "".join(out).encode()


def _key(rule: str, scope: str, named: Entity | str) -> str:
    """A budget's labels as the text format writes them (sorted by name)."""
    label = named if isinstance(named, str) else named.label
    return f'entity="{_escape(label)}",rule="{_escape(rule)}",scope="{scope}"'


def _repeats(rules: list[str], scopes: list[str], named: list[Entity | str]) -> bytearray:
    """1 for each budget whose labels a budget before it has: two entities named alike in
    one rule (two keys with the same alias and last four characters) would be one series
    twice, so the first is kept. Found by sorting the labels' hashes (8 bytes a budget)
    rather than holding every label in a set for the whole scrape."""
    count = len(named)
    hashes = array("q", (hash(_key(rules[i], scopes[i], named[i])) for i in range(count)))
    repeated = bytearray(count)
    order = sorted(range(count), key=hashes.__getitem__)  # stable: earlier budgets first
    start = 0
    while start < count:
        end = start + 1
        while end < count and hashes[order[end]] == hashes[order[start]]:
            end += 1
        if end - start > 1:  # the same hash: compare the labels themselves
            kept: set[str] = set()
            for i in order[start:end]:
                key = _key(rules[i], scopes[i], named[i])
                repeated[i] = key in kept
                kept.add(key)
        start = end
    return repeated


def _number(value: float) -> str:
    """A sample value as Prometheus writes it (+Inf for time that never runs out)."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _escape(value: str) -> str:
    """A label value in the text format: backslash, double quote and newline escaped."""
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


class Metrics:
    """Every metric watchdog exports, on a registry of its own (tests pass a fresh one)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.budget_gauges = BudgetGauges()
        self.sent = Counter(
            "watchdog_alerts_sent_total", "Notices delivered.", ("channel", "reason"), registry=r
        )
        self.failed = Counter(
            "watchdog_alerts_failed_total",
            "Failed delivery attempts.",
            ("channel", "reason"),
            registry=r,
        )
        self.suppressed = Counter(
            "watchdog_alerts_suppressed_total",
            "Alerts held back (snoozed, quiet hours, no channel, stale data,"
            " claimed by another replica).",
            ("channel", "reason"),
            registry=r,
        )
        self.dead = Gauge(
            "watchdog_dead_letters", "Notices that gave up (see `replay`).", registry=r
        )
        self.source_up = Gauge(
            "watchdog_source_up", "1 when the last read succeeded.", ("source",), registry=r
        )
        self.source_success = Gauge(
            "watchdog_source_last_success_timestamp_seconds",
            "When the source was last read successfully.",
            ("source",),
            registry=r,
        )
        self.source_requests = Gauge(
            "watchdog_source_requests", "HTTP requests in the last read.", ("source",), registry=r
        )
        self.cycle = Histogram(
            "watchdog_cycle_duration_seconds",
            "One poll-evaluate-claim cycle.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=r,
        )
        self.rules_valid = Gauge(
            "watchdog_rules_valid", "1 when the rule files on disk are valid.", registry=r
        )
        self.rules_loaded = Gauge(
            "watchdog_rules_loaded_timestamp_seconds",
            "When the rules in force were loaded.",
            registry=r,
        )
        self.budgets = Gauge("watchdog_budgets", "Budgets evaluated in the last cycle.", registry=r)
        self.leader = Gauge(
            "watchdog_leader", "1 on the replica that evaluates and sends.", registry=r
        )
        self.history_readings = Gauge(
            "watchdog_history_readings",
            "Spend readings held in memory for forecasts and period baselines.",
            registry=r,
        )

    def text(self) -> bytes:
        return b"".join(self.chunks())

    def chunks(self) -> Iterator[bytes]:
        """The exposition in parts: every other metric, then the per-budget gauges."""
        yield generate_latest(self.registry)
        yield from self.budget_gauges.chunks()

    def observe_budgets(
        self, decisions: Iterable[Decision], now: datetime, standings: Iterable[Standing] = ()
    ) -> None:
        """Per-budget gauges from this cycle's decisions and standings (budgets gone since
        are dropped)."""
        self.budgets.set(self.budget_gauges.update(decisions, now, standings))

    def observe_suppressed(self, decisions: Iterable[Decision]) -> None:
        """Alerts held back by a snooze, quiet hours, no channel or stale data."""
        for d in decisions:
            if d.reason in SUPPRESSIONS and d.alert.measurement is not None:
                self.suppressed.labels(d.channel or "", d.reason.value).inc()

    def observe_lost_claims(self, lost: int) -> None:
        """Notices another replica claimed first: already sent, as far as this one goes."""
        if lost:
            self.suppressed.labels("", Reason.DEDUPED.value).inc(lost)

    def observe_snapshot(self, snapshot: Snapshot) -> None:
        for name, status in snapshot.sources.items():
            self.source_up.labels(name).set(1 if status.ok else 0)
            if status.data_as_of is not None:
                self.source_success.labels(name).set(status.data_as_of.timestamp())
            self.source_requests.labels(name).set(status.requests)

    def observe_delivery(self, outcome: Outcome) -> None:
        for item in outcome.sent:
            self.sent.labels(item.channel, _reason(item.message.payload)).inc()
        for item, _ in outcome.retrying:
            self.failed.labels(item.channel, "retrying").inc()
        for item, _ in outcome.dead:
            self.failed.labels(item.channel, "dead").inc()


def _reason(payload: object) -> str:
    if isinstance(payload, dict):
        return str(payload.get("reason", ""))
    return ""


def actions_of(decisions: Sequence[Decision]) -> list[Decision]:
    """Decisions that change something in LiteLLM."""
    return [d for d in decisions if d.action in (Action.RESET, Action.BLOCK, Action.UNBLOCK)]
