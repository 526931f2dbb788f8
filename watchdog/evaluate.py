"""Decide what is due: alerts, resolutions, resets, blocks. Pure: no I/O, no clock, no logging.

`evaluate(rules, snapshot, state, now)` returns every decision with its reason, including the
ones that send nothing (already sent, snoozed, stale data …), so logs, previews and tests all
say why. The shell claims, sends and records; this module only decides.

A budget's steps (alert_at ladder, soft limit, hard limit) are resolved to dollar amounts for
the entity and period. A notice's identity names the step by kind and amount ("soft@4000"), so
a raised budget re-arms percentage steps and a new period re-arms everything.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any

from watchdog.attribution import Attribution
from watchdog.forecast import Projection, project
from watchdog.measure import Basis, Measurement, period_spend
from watchdog.model import (
    ActionMemory,
    BudgetKey,
    Entity,
    EntityRef,
    ForecastMemory,
    LedgerState,
    Notice,
    NoticeEvent,
    Scope,
    Snapshot,
    SourceStatus,
    ThreadKey,
)
from watchdog.money import fmt_money
from watchdog.rules import Routing, Rule, RuleSet, Threshold
from watchdog.windows import Period, current_period, litellm_period

SOURCE_RULE = "watchdog:source"
"""Rule name under which source-health notices are claimed."""


class Reason(enum.StrEnum):
    """Why a decision was made; the same words appear in logs, previews and messages."""

    # Sent to a channel
    FIRED = "fired"
    ESCALATED = "escalated"
    REPEAT = "repeat"
    RESOLVED = "resolved"
    FORECAST = "projected over budget"
    FORECAST_CLEARED = "projection back under"
    SOURCE_DOWN = "source unavailable"
    SOURCE_RECOVERED = "source recovered"
    # Changes made in LiteLLM
    RESET = "reset due"
    BLOCK = "block"
    UNBLOCK = "unblock"
    # Remembered, nothing sent
    BASELINE = "first period seen"
    FORECAST_PENDING = "projection over, waiting for confirmation"
    FORECAST_STEADY = "projection back to normal"
    # Suppressed
    DEDUPED = "already sent"
    SNOOZED = "snoozed"
    QUIET_HOURS = "deferred: quiet hours"
    STALE = "stale data"
    INSUFFICIENT_DATA = "insufficient data"
    NO_BUDGET = "no budget"
    NO_CHANNEL = "no channel"
    UNDER = "under every step"

    @property
    def sends(self) -> bool:
        return self in _SENDING


_SENDING = frozenset(
    {
        Reason.FIRED,
        Reason.ESCALATED,
        Reason.REPEAT,
        Reason.RESOLVED,
        Reason.FORECAST,
        Reason.FORECAST_CLEARED,
        Reason.SOURCE_DOWN,
        Reason.SOURCE_RECOVERED,
    }
)


class Action(enum.StrEnum):
    """What the shell does with a decision."""

    NOTIFY = "notify"
    RESET = "reset"
    BLOCK = "block"
    UNBLOCK = "unblock"
    RECORD = "record"
    NONE = "none"


class StepKind(enum.StrEnum):
    """Kinds of steps on a budget, lowest priority first."""

    THRESHOLD = "threshold"
    SOFT = "soft"
    HARD = "hard"
    FORECAST = "forecast"
    SOURCE = "source"

    @property
    def event(self) -> str:
        """LiteLLM's webhook event name for a crossing of this kind."""
        return _EVENTS[self]


_EVENTS = {
    StepKind.THRESHOLD: "threshold_crossed",
    StepKind.SOFT: "soft_budget_crossed",
    StepKind.HARD: "budget_crossed",
    StepKind.FORECAST: "projected_limit_exceeded",
    StepKind.SOURCE: "source_unavailable",
}
_PRIORITY = {StepKind.THRESHOLD: 0, StepKind.SOFT: 1, StepKind.HARD: 2}


@dataclass(frozen=True, slots=True)
class Step:
    """One point on a budget, resolved to dollars for an entity and period."""

    kind: StepKind
    amount: Decimal
    label: str
    """As the rule wrote it: "80%", "$4000", "litellm"."""
    name: str = field(init=False, repr=False, compare=False)
    """Which step of the ladder this is ("soft:80%"), the same when the budget changes."""
    id: str = field(init=False, repr=False, compare=False)
    """The step at today's amount ("soft:80%@4000"): a changed budget re-arms it."""

    def __post_init__(self) -> None:
        # Worked out once: ladders are cached per call and their ids compared many times.
        name = f"{self.kind}:{self.label}"
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "id", f"{name}@{self.amount.normalize():f}")


@dataclass(frozen=True, slots=True)
class Alert:
    """The facts about one budget in one period, as every channel renders them."""

    rule: str
    scope: Scope
    entity_id: str
    label: str
    """How the entity is named: "team engineering", "key ci-bot (sk-...abcd)"."""
    period: Period
    kind: StepKind
    step: str
    """Identity of the step this is about ("soft@4000", "forecast@5000", "incident#2")."""
    step_label: str = ""
    spend: Decimal = Decimal(0)
    budget: Decimal | None = None
    step_amount: Decimal | None = None
    level: str | None = None
    """For a resolution: the step spend is back at (None: under every step)."""
    measurement: Measurement | None = None
    projection: Projection | None = None
    entity: Entity | None = None
    data_as_of: datetime | None = None
    description: str = ""
    detail: str = ""
    """One sentence on what happened, e.g. "crossed the soft limit 80% ($4,000.00)"."""
    attribution: Attribution | None = None
    """Who drove the spend, attached by the daemon before the notice is rendered."""

    @property
    def ref(self) -> EntityRef:
        return EntityRef(self.scope, self.entity_id)

    @property
    def ratio(self) -> Decimal | None:
        if self.budget is None or self.budget <= 0:
            return None
        return self.spend / self.budget

    @property
    def budget_key(self) -> BudgetKey:
        return (self.rule, self.scope, self.entity_id)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do about one alert on one channel (or one action), and why."""

    reason: Reason
    action: Action
    alert: Alert
    channel: str | None = None
    event: NoticeEvent | None = None
    """For notices: what the ledger records."""
    step: str | None = None
    """Identity of the notice in its thread (the alert's step, or a repeat/incident id)."""
    level: str | None = None
    """For notices: the step in force after this notice."""
    streak: int | None = None
    """For forecast bookkeeping: the new consecutive-over count."""
    note: str = ""

    @property
    def thread(self) -> ThreadKey:
        a = self.alert
        return (a.rule, a.scope, a.entity_id, a.period.key, self.channel or "")

    @property
    def identity(self) -> tuple[str, Scope, str, str, str, str, str]:
        """Dedup identity: rule, scope, entity, period, step, channel, event."""
        a = self.alert
        event = self.event.value if self.event else self.action.value
        return (
            a.rule,
            a.scope,
            a.entity_id,
            a.period.key,
            self.step or a.step,
            self.channel or "",
            event,
        )


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Hours in which a channel receives nothing; notices wait until they end."""

    start: int
    """Minutes after local midnight when quiet begins."""
    end: int
    tz: tzinfo = UTC
    days: frozenset[int] = field(default_factory=lambda: frozenset(range(7)))
    """Weekdays (0 = Monday) on which quiet hours start."""

    def covers(self, now: datetime) -> bool:
        local = now.astimezone(self.tz)
        minute = local.hour * 60 + local.minute
        if self.start <= self.end:
            return local.weekday() in self.days and self.start <= minute < self.end
        if minute >= self.start:
            return local.weekday() in self.days
        yesterday = (local.weekday() - 1) % 7
        return minute < self.end and yesterday in self.days


# Entry point ---------------------------------------------------------------------------------


def evaluate(
    rules: RuleSet,
    snapshot: Snapshot,
    state: LedgerState,
    now: datetime,
    *,
    explain: bool = False,
) -> list[Decision]:
    """Every decision for this cycle, in a stable order.

    With `explain`, budgets with nothing to do get an UNDER decision too, so `preview`, the
    status page and the per-budget gauges see every budget.
    """
    decisions = list(_source_health(rules, snapshot, state, now))
    memo = _Memo(rules, snapshot, state, now)
    for rule in rules.enabled():
        for entity in memo.select(rule):
            decisions.extend(_budget(memo, rule, entity, explain=explain))
    return decisions


def _by_id(entity: Entity) -> str:
    return entity.id


def _chosen(rule: Rule, pool: Iterable[Entity]) -> list[Entity]:
    """The entities of `pool`, in its order, that the rule's match and exclude pick."""
    patterns = [p.casefold() for p in rule.match]
    excludes = [p.casefold() for p in rule.exclude]
    everything = "*" in patterns  # matches whatever the names: no need to compute them
    chosen = []
    for entity in pool:
        if not everything or excludes:
            names = [n.casefold() for n in entity.names] or [entity.id.casefold()]
            if not everything and not _matches(names, patterns):
                continue
            if excludes and _matches(names, excludes):
                continue
        chosen.append(entity)
    return chosen


def _matches(names: Sequence[str], patterns: Sequence[str]) -> bool:
    for pattern in patterns:
        if pattern == "*":
            return True
        if any(ch in pattern for ch in "*?["):
            if any(fnmatch.fnmatchcase(n, pattern) for n in names):
                return True
        elif pattern in names:
            return True
    return False


def _query_entities(rule: Rule, snapshot: Snapshot) -> list[Entity]:
    results = snapshot.queries.get(rule.name, {})
    patterns = [p.casefold() for p in rule.match] or ["*"]
    excludes = [p.casefold() for p in rule.exclude]
    out = []
    for series, spend in sorted(results.items()):
        names = [series.casefold()]
        if _matches(names, patterns) and not _matches(names, excludes):
            out.append(
                Entity(
                    scope=rule.scope,
                    id=series,
                    spend=spend,
                    name=series,
                    names=(series,),
                    source=_query_source(rule),
                )
            )
    return out


def _query_source(rule: Rule) -> str:
    return "prometheus" if rule.scope is Scope.QUERY else "callbacks"


# One budget ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Ctx:
    """Everything known about one (rule, entity) this cycle."""

    rules: RuleSet
    rule: Rule
    entity: Entity
    period: Period
    period_key: str
    state: LedgerState
    snapshot: Snapshot
    now: datetime
    channels: tuple[str, ...]

    @property
    def key(self) -> BudgetKey:
        return (self.rule.name, self.entity.scope, self.entity.id)

    def notices(self, channel: str) -> tuple[Notice, ...]:
        if not self.state.notices:
            return ()
        thread = (self.rule.name, self.entity.scope, self.entity.id, self.period_key, channel)
        return self.state.notices.get(thread, ())


class _Memo:
    """What one `evaluate` call works out once and reuses across budgets.

    Periods, ladders, routes and source health depend on a few values that many entities
    share (the rule, a budget amount, a reset time), so each is computed once per call.
    """

    def __init__(
        self, rules: RuleSet, snapshot: Snapshot, state: LedgerState, now: datetime
    ) -> None:
        self.rules = rules
        self.snapshot = snapshot
        self.state = state
        self.now = now
        self._pools: dict[Scope, list[Entity]] = {}
        self._teams: dict[Scope, dict[str, list[Entity]]] = {}
        self._periods: dict[object, tuple[Period, str]] = {}
        self._ladders: dict[object, list[Step]] = {}
        self._routes: dict[int, tuple[str, ...]] = {}
        self._litellm_steps: dict[int, bool] = {}
        self._sources: dict[str, tuple[SourceStatus | None, str]] = {}

    def select(self, rule: Rule) -> list[Entity]:
        """The entities a rule covers, sorted by id (each scope is sorted once per call)."""
        if rule.scope in (Scope.QUERY, Scope.DIMENSION):
            return _query_entities(rule, self.snapshot)
        if rule.scope is Scope.GLOBAL:
            return list(self.snapshot.of(rule.scope).values())
        pool = self._pools.get(rule.scope)
        if pool is None:
            pool = sorted(self.snapshot.of(rule.scope).values(), key=_by_id)
            self._pools[rule.scope] = pool
        if rule.team:
            pool = self._team(rule.scope, pool).get(rule.team.casefold(), [])
        return _chosen(rule, pool)

    def _team(self, scope: Scope, pool: list[Entity]) -> dict[str, list[Entity]]:
        """A scope's entities by the id and the alias (casefolded) of each team they belong
        to, in pool order: a key's team, or every team of a user. Rules for one team read
        their few entities rather than testing every entity of the scope."""
        index = self._teams.get(scope)
        if index is None:
            index = {}
            aliases = {t.id: t.name for t in self.snapshot.of(Scope.TEAM).values() if t.name}
            for entity in pool:
                teams = {entity.team_id, entity.team_name, *entity.teams}
                teams.update(aliases.get(t) for t in entity.teams)
                for team in {t.casefold() for t in teams if t}:
                    index.setdefault(team, []).append(entity)
            self._teams[scope] = index
        return index

    def period(self, rule: Rule, entity: Entity) -> tuple[Period, str]:
        """The budget's period and its key."""
        memo_key: object
        if rule.period.kind == "litellm":
            at = entity.budget_reset_at
            zone = at.tzinfo if at is not None else None
            memo_key = (at, zone, entity.budget_duration, rule.timezone)
        else:
            memo_key = id(rule)
        found = self._periods.get(memo_key)
        if found is None:
            period = _period(rule, entity, self.now)
            found = (period, period.key)
            self._periods[memo_key] = found
        return found

    def steps(self, rule: Rule, entity: Entity, budget: Decimal | None) -> list[Step]:
        """As `ladder` (the list is shared: callers never change it)."""
        memo_key: object
        if self._reads_entity(rule):
            memo_key = (
                id(rule),
                _exact(budget),
                _exact(entity.soft_budget),
                _exact(entity.max_budget),
            )
        else:
            memo_key = (id(rule), _exact(budget))
        steps = self._ladders.get(memo_key)
        if steps is None:
            steps = ladder(rule, entity, budget)
            self._ladders[memo_key] = steps
        return steps

    def _reads_entity(self, rule: Rule) -> bool:
        """True when the rule's steps use LiteLLM's own amounts (`litellm` thresholds)."""
        found = self._litellm_steps.get(id(rule))
        if found is None:
            wanted = [*rule.alert_at, rule.soft_limit, rule.hard_limit]
            found = any(t is not None and t.kind == "litellm" for t in wanted)
            self._litellm_steps[id(rule)] = found
        return found

    def route(self, rule: Rule, entity: Entity) -> tuple[str, ...]:
        """As `route`; without owners in the routing it is the same for every entity."""
        routing = self.rules.routing
        if routing.owners:
            return route(rule, entity, routing)
        channels = self._routes.get(id(rule))
        if channels is None:
            channels = route(rule, entity, routing)
            self._routes[id(rule)] = channels
        return channels

    def source(self, name: str) -> tuple[SourceStatus | None, str]:
        """A source's status and why its data cannot be trusted ("" when it can)."""
        found = self._sources.get(name)
        if found is None:
            status = self.snapshot.sources.get(name)
            found = (status, _staleness(status, self.rules.stale_after, self.now))
            self._sources[name] = found
        return found


def _budget(memo: _Memo, rule: Rule, entity: Entity, *, explain: bool) -> list[Decision]:
    """The decisions about one budget; with `explain`, an UNDER row when there are none."""
    period, period_key = memo.period(rule, entity)
    source, stale = memo.source(entity.source)

    def alert(**measured: Any) -> Alert:
        return Alert(
            rule=rule.name,
            scope=entity.scope,
            entity_id=entity.id,
            label=entity.label,
            period=period,
            kind=StepKind.THRESHOLD,
            step="",
            entity=entity,
            description=rule.description,
            data_as_of=_as_of(source),
            **measured,
        )

    if stale:
        return [Decision(Reason.STALE, Action.NONE, alert(), note=stale)]
    given = rule.amount if rule.amount is not None else entity.max_budget
    budget = None if given is not None and given <= 0 else given
    steps = memo.steps(rule, entity, budget)
    if not steps and not _names_entities(rule):
        return []  # a wildcard rule simply skips entities without a budget
    channels = memo.route(rule, entity) or ("",)
    state, now = memo.state, memo.now
    ctx = _Ctx(memo.rules, rule, entity, period, period_key, state, memo.snapshot, now, channels)
    measurement = _measure(ctx)
    if not steps:  # the rule names this entity, which has no budget
        base = alert(spend=measurement.spend, budget=budget, measurement=measurement)
        note = "the entity has no max_budget in LiteLLM and the rule sets no amount"
        return [Decision(Reason.NO_BUDGET, Action.NONE, base, note=note)]
    current = _current(steps, measurement.spend)
    projection = _project(ctx, budget, measurement) if rule.forecast is not None else None
    found: list[Decision] = []
    if current is not None or not _idle(ctx):
        base = alert(
            spend=measurement.spend,
            budget=budget,
            measurement=measurement,
            projection=projection,
        )
        found.extend(_reset(ctx, base))
        found.extend(_block(ctx, base, current))
        for channel in channels:
            found.extend(_ladder_notice(ctx, base, steps, current, channel))
        if rule.forecast is not None and (current is None or current.kind is not StepKind.HARD):
            found.extend(_forecast(ctx, base, budget))
    if explain and not found:
        if given is not budget:  # zero or less: the preview shows the budget as written
            steps = memo.steps(rule, entity, given)
            if rule.forecast is not None:
                projection = _project(ctx, given, measurement)
        idle = _under(ctx, given, measurement, steps, projection, source)
        if idle is not None:
            found.append(idle)
    return found


def _idle(ctx: _Ctx) -> bool:
    """For a budget under every step: True when nothing can be due (no reset, block, forecast
    or earlier notice to resolve), the common case, decided without building an alert."""
    rule, state = ctx.rule, ctx.state
    if rule.reset or rule.forecast is not None:
        return False
    if state.blocks and state.blocks.get(ctx.key) is not None:
        return False
    if not state.notices:
        return True
    for channel in ctx.channels:
        notices = [n for n in ctx.notices(channel) if not n.threshold.startswith("forecast")]
        if notices and notices[-1].level is not None:
            return False
    return True


def _names_entities(rule: Rule) -> bool:
    """True when the rule names entities one by one rather than by pattern."""
    return any(not any(ch in p for ch in "*?[") for p in rule.match)


def _under(
    ctx: _Ctx,
    budget: Decimal | None,
    measurement: Measurement,
    steps: Sequence[Step],
    projection: Projection | None,
    source: SourceStatus | None,
) -> Decision | None:
    """A budget with nothing to do, for previews: where it stands and its next step."""
    if not steps:
        return None
    rule, entity, spend = ctx.rule, ctx.entity, measurement.spend
    nxt = None
    for step in steps:
        if spend < step.amount:
            nxt = step
            break
    alert = Alert(
        rule=rule.name,
        scope=entity.scope,
        entity_id=entity.id,
        label=entity.label,
        period=ctx.period,
        kind=nxt.kind if nxt else StepKind.THRESHOLD,
        step=nxt.id if nxt else "",
        step_label=nxt.label if nxt else "",
        step_amount=nxt.amount if nxt else None,
        spend=measurement.spend,
        budget=budget,
        measurement=measurement,
        projection=projection,
        entity=entity,
        description=rule.description,
        data_as_of=_as_of(source),
        detail=_next(nxt) if nxt else "",
    )
    return Decision(Reason.UNDER, Action.NONE, alert)


def _project(ctx: _Ctx, budget: Decimal | None, measurement: Measurement) -> Projection:
    settings = ctx.rule.forecast
    assert settings is not None
    return project(
        measurement,
        ctx.period,
        ctx.now,
        settings,
        budget=budget,
        history=ctx.state.history.get(ctx.entity.ref, ()),
        rates=ctx.snapshot.rates.get(ctx.entity.ref),
        current=ctx.entity.spend,
    )


def _period(rule: Rule, entity: Entity, now: datetime) -> Period:
    if rule.period.kind == "litellm":
        return litellm_period(entity.budget_reset_at, entity.budget_duration, now, rule.timezone)
    anchor = rule.anchor
    return current_period(rule.period, rule.timezone, now, anchor=anchor)


def _measure(ctx: _Ctx) -> Measurement:
    entity, period, state = ctx.entity, ctx.period, ctx.state
    if entity.scope in (Scope.QUERY, Scope.DIMENSION):
        return Measurement(entity.spend, Basis.QUERY, period.start, complete=True)
    daily = ctx.snapshot.daily
    if not daily and (period.end is None or ctx.rule.period.kind == "litellm"):
        # LiteLLM's counter is the period's spend: no history or reset to look up
        return Measurement(entity.spend, Basis.LITELLM, period.start, complete=True)
    memory = state.resets.get(ctx.key) if state.resets else None
    reset_at = memory.at if memory is not None and memory.period == ctx.period_key else None
    ref = entity.ref
    return period_spend(
        entity,
        period,
        ctx.now,
        history=state.history.get(ref, ()),
        follows_litellm=ctx.rule.period.kind == "litellm",
        watchdog_reset_at=reset_at,
        daily=daily.get(ref) if daily else None,
    )


def ladder(rule: Rule, entity: Entity, budget: Decimal | None) -> list[Step]:
    """The rule's steps in dollars for this entity, lowest first; one step per amount."""
    wanted: list[tuple[StepKind, Threshold]] = [(StepKind.THRESHOLD, t) for t in rule.alert_at]
    if rule.soft_limit is not None:
        wanted.append((StepKind.SOFT, rule.soft_limit))
    if rule.hard_limit is not None:
        wanted.append((StepKind.HARD, rule.hard_limit))
    by_amount: dict[Decimal, Step] = {}
    for kind, threshold in wanted:
        amount = _amount(threshold, kind, entity, budget)
        if amount is None or amount <= 0:
            continue
        step = Step(kind, amount, threshold.label)
        held = by_amount.get(amount)
        if held is None or _PRIORITY[kind] > _PRIORITY[held.kind]:
            by_amount[amount] = step
    return [by_amount[a] for a in sorted(by_amount)]


def _amount(
    threshold: Threshold, kind: StepKind, entity: Entity, budget: Decimal | None
) -> Decimal | None:
    if threshold.kind == "amount":
        return threshold.value
    if threshold.kind == "litellm":
        return entity.soft_budget if kind is StepKind.SOFT else entity.max_budget
    return None if budget is None else budget * threshold.value


def _exact(amount: Decimal | None) -> object:
    """A cache key that tells apart equal amounts written differently (100 and 100.0)."""
    return None if amount is None else (amount, amount.as_tuple().exponent)


def _current(steps: Sequence[Step], spend: Decimal) -> Step | None:
    for step in reversed(steps):
        if spend >= step.amount:
            return step
    return None


def _rank(step_id: str | None, steps: Sequence[Step]) -> float:
    """Position of a step on today's ladder; a step the ladder no longer has sits by amount."""
    if step_id is None:
        return -1.0
    name, amount = _split(step_id)
    for index, step in enumerate(steps):
        if step.name == name:
            return float(index)
    return sum(1 for step in steps if step.amount < amount) - 0.5


def _split(step_id: str) -> tuple[str, Decimal]:
    name, _, amount = step_id.rpartition("@")
    try:
        return name, Decimal(amount)
    except ArithmeticError:
        return name, Decimal(0)


# Ladder notices ------------------------------------------------------------------------------


def _ladder_notice(
    ctx: _Ctx, base: Alert, steps: Sequence[Step], current: Step | None, channel: str
) -> Iterator[Decision]:
    notices = [n for n in ctx.notices(channel) if not n.threshold.startswith("forecast")]
    claimed = {(n.threshold, n.event) for n in notices}
    last = notices[-1].level if notices else None
    if current is None and last is None:
        return
    here = _rank(current.id, steps) if current is not None else -1.0
    if current is not None and here == _rank(last, steps):
        # the same step as last told (its amount may have moved with the budget)
        yield from _repeat(ctx, base, current, channel, notices, claimed)
        return
    if current is not None and here > _rank(last, steps):
        reason = Reason.FIRED if last is None else Reason.ESCALATED
        alert = _step_alert(base, current, steps, last)
        if (current.id, NoticeEvent.FIRED) in claimed:
            yield Decision(
                Reason.DEDUPED, Action.NONE, alert, channel, note="sent earlier this period"
            )
            return
        yield _notify(ctx, alert, reason, channel, NoticeEvent.FIRED, current.id, current.id)
        return
    assert last is not None
    alert = _resolved_alert(base, last, current, steps)
    if (last, NoticeEvent.RESOLVED) in claimed:
        yield Decision(Reason.DEDUPED, Action.NONE, alert, channel, note="resolution sent")
        return
    level = current.id if current is not None else None
    yield _notify(ctx, alert, Reason.RESOLVED, channel, NoticeEvent.RESOLVED, last, level)


def _repeat(
    ctx: _Ctx,
    base: Alert,
    current: Step,
    channel: str,
    notices: Sequence[Notice],
    claimed: set[tuple[str, NoticeEvent]],
) -> Iterator[Decision]:
    alert = _step_alert(base, current, (), None)
    every = ctx.rule.renotify
    fired = next(
        (
            n
            for n in notices
            if _split(n.threshold)[0] == current.name and n.event is NoticeEvent.FIRED
        ),
        None,
    )
    if every is None or current.kind is not StepKind.HARD or fired is None:
        yield Decision(Reason.DEDUPED, Action.NONE, alert, channel, note="sent earlier this period")
        return
    count = int((ctx.now - fired.at) / every)
    repeat_id = f"{current.id}#repeat{count}"
    if count < 1 or (repeat_id, NoticeEvent.REPEAT) in claimed:
        yield Decision(Reason.DEDUPED, Action.NONE, alert, channel, note="reminder not yet due")
        return
    yield _notify(ctx, alert, Reason.REPEAT, channel, NoticeEvent.REPEAT, repeat_id, current.id)


def _notify(
    ctx: _Ctx,
    alert: Alert,
    reason: Reason,
    channel: str,
    event: NoticeEvent,
    step: str,
    level: str | None,
) -> Decision:
    """A notice for `channel`, unless no channel, a snooze or quiet hours hold it back."""
    if not channel:
        return Decision(
            Reason.NO_CHANNEL,
            Action.NONE,
            alert,
            None,
            event,
            step,
            level,
            note=f"{reason.value}, but no channel: set `notify:` on the rule or "
            "routing.default in the config",
        )
    names = alert.entity.names if alert.entity is not None else ()
    snooze = next(
        (s for s in ctx.state.snoozes if s.covers(alert.rule, alert.ref, ctx.now, names)), None
    )
    if snooze is not None and event is not NoticeEvent.RESOLVED:
        return Decision(
            Reason.SNOOZED,
            Action.NONE,
            alert,
            channel,
            event,
            step,
            level,
            note=f"until {snooze.until:%Y-%m-%d %H:%M %Z}: {snooze.reason}",
        )
    quiet = ctx.rules.routing.quiet.get(channel)
    urgent = alert.kind is StepKind.HARD and ctx.rules.routing.urgent_overrides_quiet
    if isinstance(quiet, QuietHours) and quiet.covers(ctx.now) and not urgent:
        return Decision(
            Reason.QUIET_HOURS,
            Action.NONE,
            alert,
            channel,
            event,
            step,
            level,
            note="sent when the channel's quiet hours end",
        )
    return Decision(reason, Action.NOTIFY, alert, channel, event, step, level)


def _step_alert(base: Alert, step: Step, steps: Sequence[Step], last: str | None) -> Alert:
    low, high = _rank(last, steps), _rank(step.id, steps)
    skipped = [s for s in steps if low < _rank(s.id, steps) < high]
    detail = f"crossed {_describe(step)}"
    if skipped:
        detail += " (also passed " + ", ".join(_describe(s) for s in skipped) + ")"
    return _with(
        base,
        kind=step.kind,
        step=step.id,
        step_label=step.label,
        step_amount=step.amount,
        detail=detail,
    )


def _with(alert: Alert, **changes: Any) -> Alert:
    """`dataclasses.replace` for alerts, without its per-call introspection (hot path)."""
    values = {name: getattr(alert, name) for name in _ALERT_FIELDS}
    values.update(changes)
    return Alert(**values)


_ALERT_FIELDS = tuple(f.name for f in fields(Alert))


def _resolved_alert(base: Alert, last: str, current: Step | None, steps: Sequence[Step]) -> Alert:
    name, amount = _split(last)
    previous = next((s for s in steps if s.name == name), None)
    if previous is None:  # the rule no longer has this step
        kind_text, _, label = name.partition(":")
        kind = StepKind(kind_text) if kind_text in _PRIORITY_NAMES else StepKind.THRESHOLD
        previous = Step(kind, amount, label or fmt_money(amount))
    now_at = f"now at {_describe(current)}" if current else "now under every alert step"
    return _with(
        base,
        kind=previous.kind,
        step=last,
        step_label=previous.label,
        step_amount=previous.amount,
        level=current.id if current else None,
        detail=f"back under {_describe(previous)}; {now_at}",
    )


_PRIORITY_NAMES = frozenset(k.value for k in _PRIORITY)


@lru_cache(maxsize=4096)
def _next(step: Step) -> str:
    """An idle budget's detail: one string for every budget below the same step."""
    return f"next: {_describe(step)}"


@lru_cache(maxsize=4096)
def _describe(step: Step) -> str:
    """The step in words; equal steps read the same (amounts are shown to the cent)."""
    names = {StepKind.SOFT: "the soft limit", StepKind.HARD: "the hard limit"}
    name = names.get(step.kind, "the alert step")
    money = fmt_money(step.amount)
    if step.label == "litellm":
        return f"{name} {money} (set in LiteLLM)"
    if step.label.startswith("$"):
        return f"{name} {money}"
    return f"{name} {step.label} ({money})"


# Forecast ------------------------------------------------------------------------------------


def _forecast(ctx: _Ctx, base: Alert, budget: Decimal | None) -> Iterator[Decision]:
    settings = ctx.rule.forecast
    projection = base.projection
    assert settings is not None
    assert projection is not None
    target = _amount(settings.alert_if_projected_over, StepKind.HARD, ctx.entity, budget)
    if target is None:
        return
    clear_at = (
        _amount(settings.clear_below, StepKind.HARD, ctx.entity, budget)
        if settings.clear_below is not None
        else target * Decimal("0.95")
    )
    step_id = f"forecast@{target.normalize():f}"
    alert = _with(
        base,
        kind=StepKind.FORECAST,
        step=step_id,
        step_label=settings.alert_if_projected_over.label,
        step_amount=target,
        detail=_forecast_detail(projection, target),
    )
    if not projection.ok and not projection.runaway:
        yield Decision(Reason.INSUFFICIENT_DATA, Action.NONE, alert, note=projection.reason)
        return
    memory = ctx.state.forecasts.get(ctx.key)
    streak = memory.streak if memory is not None and memory.period == ctx.period_key else 0
    projected = projection.projected
    over = projection.runaway or (
        projected is not None and projected >= target * (1 + settings.margin.value)
    )
    under = not projection.runaway and projected is not None and projected < (clear_at or target)
    new_streak = streak + 1 if over else 0
    if new_streak != streak:
        reason = Reason.FORECAST_PENDING if over else Reason.FORECAST_STEADY
        yield Decision(reason, Action.RECORD, alert, streak=new_streak)
    for channel in ctx.channels:
        notices = [n for n in ctx.notices(channel) if n.threshold == step_id]
        fired = any(n.event is NoticeEvent.FIRED for n in notices)
        resolved = any(n.event is NoticeEvent.RESOLVED for n in notices)
        if over and not fired and new_streak >= settings.consecutive:
            yield _notify(ctx, alert, Reason.FORECAST, channel, NoticeEvent.FIRED, step_id, step_id)
        elif over and not fired:
            yield Decision(
                Reason.FORECAST_PENDING,
                Action.NONE,
                alert,
                channel,
                note=f"{new_streak} of {settings.consecutive} evaluations over",
            )
        elif fired and under and not resolved:
            yield _notify(
                ctx, alert, Reason.FORECAST_CLEARED, channel, NoticeEvent.RESOLVED, step_id, None
            )
        elif fired and over:
            yield Decision(
                Reason.DEDUPED,
                Action.NONE,
                alert,
                channel,
                note="forecast alert sent earlier this period",
            )


def _forecast_detail(projection: Projection, target: Decimal) -> str:
    runaway = ""
    if projection.runaway and projection.fast is not None and projection.exhausts_at:
        runaway = (
            f"at the {projection.fast.method} ({fmt_money(projection.fast.per_hour)}/h) "
            f"the budget runs out at {projection.exhausts_at:%Y-%m-%d %H:%M %Z}"
        )
    if not projection.ok:
        return runaway or projection.describe()
    text = f"projected {projection.describe()}; alert point {fmt_money(target)}"
    return f"{text}; {runaway}" if runaway else text


# Actions -------------------------------------------------------------------------------------


def _reset(ctx: _Ctx, base: Alert) -> Iterator[Decision]:
    if not ctx.rule.reset:
        return
    memory = ctx.state.resets.get(ctx.key)
    alert = _with(base, kind=StepKind.HARD, step="reset")
    if memory is None:
        yield Decision(
            Reason.BASELINE,
            Action.RECORD,
            alert,
            note="first period seen; spend is reset from the next period on",
        )
    elif memory.period != ctx.period_key:
        yield Decision(
            Reason.RESET,
            Action.RESET,
            alert,
            note=f"period started {ctx.period.start:%Y-%m-%d %H:%M %Z}; "
            f"last reset for period {memory.period}",
        )


def _block(ctx: _Ctx, base: Alert, current: Step | None) -> Iterator[Decision]:
    memory: ActionMemory | None = ctx.state.blocks.get(ctx.key)
    over = current is not None and current.kind is StepKind.HARD
    wanted = ctx.rule.on_hard_limit == "block" and over and not ctx.entity.blocked
    if memory is None and not wanted:
        return  # the common case: nothing blocked, nothing to block
    alert = _with(base, kind=StepKind.HARD, step="block")
    if memory is not None:
        if memory.period != ctx.period_key:
            yield Decision(Reason.UNBLOCK, Action.UNBLOCK, alert, note="a new period started")
        elif not over:
            yield Decision(
                Reason.UNBLOCK,
                Action.UNBLOCK,
                alert,
                note="spend is back under the hard limit (budget raised?)",
            )
        return
    if wanted:
        yield Decision(Reason.BLOCK, Action.BLOCK, alert, note="spend is over the hard limit")


# Routing -------------------------------------------------------------------------------------


def route(rule: Rule, entity: Entity | None, routing: Routing) -> tuple[str, ...]:
    """Channels for a budget: the rule's own, plus the owners' (team of a key too), else default."""
    channels = list(rule.notify)
    if entity is not None:
        channels.extend(_owners(entity, routing))
    if not channels:
        channels.extend(routing.default)
    return tuple(dict.fromkeys(channels))


def _owners(entity: Entity, routing: Routing) -> Iterable[str]:
    own = routing.owners.get(entity.scope, {})
    for name in (entity.id, entity.name):
        if name and name in own:
            yield from own[name]
    if entity.team_id or entity.team_name:
        teams = routing.owners.get(Scope.TEAM, {})
        for name in (entity.team_id, entity.team_name):
            if name and name in teams:
                yield from teams[name]


# Source health -------------------------------------------------------------------------------


def _source_health(
    rules: RuleSet, snapshot: Snapshot, state: LedgerState, now: datetime
) -> Iterator[Decision]:
    channels = rules.routing.meta or rules.routing.default or ("",)
    for name, status in sorted(snapshot.sources.items()):
        problem = _staleness(status, rules.stale_after, now)
        for channel in channels:
            thread = (SOURCE_RULE, Scope.GLOBAL, name, _INCIDENTS.key, channel)
            notices = state.notices.get(thread, ())
            incident = 1 + sum(1 for n in notices if n.event is NoticeEvent.RESOLVED)
            step = f"incident#{incident}"
            open_ = any(n.threshold == step and n.event is NoticeEvent.FIRED for n in notices)
            alert = Alert(
                rule=SOURCE_RULE,
                scope=Scope.GLOBAL,
                entity_id=name,
                label=f"source {name}",
                period=_INCIDENTS,
                kind=StepKind.SOURCE,
                step=step,
                data_as_of=status.data_as_of,
                detail=problem or "reading again",
            )
            if problem and not open_:
                yield _meta(alert, Reason.SOURCE_DOWN, channel, NoticeEvent.FIRED, step)
            elif not problem and open_:
                yield _meta(alert, Reason.SOURCE_RECOVERED, channel, NoticeEvent.RESOLVED, None)
            elif problem:
                yield Decision(
                    Reason.DEDUPED,
                    Action.NONE,
                    alert,
                    channel or None,
                    note="outage already reported",
                )


_INCIDENTS = Period(start=datetime(1970, 1, 1, tzinfo=UTC), end=None, tz=UTC, name="incidents")


def _meta(
    alert: Alert, reason: Reason, channel: str, event: NoticeEvent, level: str | None
) -> Decision:
    if not channel:
        return Decision(
            Reason.NO_CHANNEL,
            Action.NONE,
            alert,
            None,
            event,
            alert.step,
            level,
            note=f"{reason.value}, but no channel: set routing.meta or "
            "routing.default in the config",
        )
    return Decision(reason, Action.NOTIFY, alert, channel, event, alert.step, level)


def _staleness(status: SourceStatus | None, stale_after: timedelta, now: datetime) -> str:
    """Why data from this source cannot be trusted now ("" when it can)."""
    if status is None:
        return "no data from this source"
    if status.data_as_of is None:
        return status.error or "never read successfully"
    age = now - status.data_as_of
    if age > stale_after:
        minutes = int(age.total_seconds() // 60)
        cause = f": {status.error}" if status.error else ""
        return f"data is {minutes} min old{cause}"
    return ""


def _as_of(status: SourceStatus | None) -> datetime | None:
    return None if status is None else status.data_as_of


def forecast_memory(decision: Decision) -> ForecastMemory | None:
    """The streak to store for a forecast bookkeeping decision."""
    if decision.streak is None:
        return None
    return ForecastMemory(period=decision.alert.period.key, streak=decision.streak)


def by_reason(decisions: Iterable[Decision]) -> Mapping[Reason, int]:
    """Count decisions per reason (for logs and metrics)."""
    counts: dict[Reason, int] = {}
    for d in decisions:
        counts[d.reason] = counts.get(d.reason, 0) + 1
    return counts


def announce(
    decision: Decision,
    rules: RuleSet,
    *,
    spend_before: Decimal | None = None,
    spend_after: Decimal | None = None,
) -> list[Decision]:
    """Notices telling a budget's channels about a change watchdog made in LiteLLM.

    One per channel, identified by (rule, entity, period, "reset"/"block"/"unblock"), so a
    change is announced once even when several replicas or restarts see it.
    """
    rule = next((r for r in rules.rules if r.name == decision.alert.rule), None)
    if rule is None or decision.action not in (Action.RESET, Action.BLOCK, Action.UNBLOCK):
        return []
    alert = decision.alert
    before = fmt_money(spend_before) if spend_before is not None else "unknown"
    after = fmt_money(spend_after) if spend_after is not None else fmt_money(Decimal(0))
    details = {
        Action.RESET: f"spend reset to {after} (was {before})",
        Action.BLOCK: "blocked in LiteLLM: over the hard limit"
        + ("; unblocked when the period ends" if alert.period.end else ""),
        Action.UNBLOCK: f"unblocked in LiteLLM: {decision.note}",
    }
    step = decision.action.value
    announced = replace(alert, step=step, detail=details[decision.action])
    if spend_after is not None and decision.action is Action.RESET:
        announced = replace(announced, spend=spend_after)
    channels = route(rule, alert.entity, rules.routing) or ("",)
    return [
        Decision(
            decision.reason,
            Action.NOTIFY,
            announced,
            channel or None,
            NoticeEvent.FIRED,
            step,
            None,
            note=decision.note,
        )
        for channel in channels
        if channel
    ]
