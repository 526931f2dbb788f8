"""Decide what is due: alerts, resolutions, resets, blocks. Pure: no I/O, no clock, no logging.

`evaluate(rules, snapshot, state, now)` returns every decision with its reason, including the
ones that send nothing (already sent, snoozed, stale data …), so logs, previews and tests all
say why. The shell claims, sends and records; this module only decides.

The stages of one budget: which entities a rule covers (`matching`), its period and spend
(`windows`, `measure`), its steps in dollars (`ladder`), the notices due (`notices`), the
changes to make in LiteLLM (here) and who hears (`routing`); source health is `health`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import chain
from typing import Protocol

from watchdog.decisions import Action, Alert, Decision, Reason, Step, StepKind, ratio
from watchdog.forecast import Projection, project
from watchdog.health import as_of, source_health, staleness
from watchdog.ladder import current_step, ladder, next_detail
from watchdog.matching import chosen, query_entities
from watchdog.measure import Basis, Measurement, period_spend
from watchdog.model import (
    ActionMemory,
    Entity,
    LedgerState,
    Scope,
    Snapshot,
)
from watchdog.notices import Budget, amended, forecast_notices, step_notices
from watchdog.records import record
from watchdog.routing import route
from watchdog.rules import Rule, RuleSet
from watchdog.windows import Period, current_period, litellm_period

# Entry point ---------------------------------------------------------------------------------


def evaluate(
    rules: RuleSet,
    snapshot: Snapshot,
    state: LedgerState,
    now: datetime,
    *,
    explain: bool = False,
    standings: Standings | None = None,
    decided: Decided | None = None,
) -> list[Decision]:
    """Every decision for this cycle, in a stable order.

    With `explain`, budgets with nothing to do get an UNDER decision too, so `preview` sees
    every budget. Given `standings`, those budgets are appended to it instead (whatever
    `explain` says), as a `Standing` each: the daemon's status page and per-budget gauges
    read where every budget stands, and most budgets (65k of 87k at 100k entities and 10
    rules) have nothing to do, so building an alert and a decision for each would cost
    about a fifth of the call.

    Given `decided`, the decisions go to it as they are found instead (the sources' first,
    then each budget's at once) and the list returned is empty. The daemon keeps only those
    that do something: a cycle after the first mostly decides that a notice was sent
    already (33k such decisions at 100k entities and 10 rules, 17 MB held at once).
    """
    decisions = list(source_health(rules, snapshot, state, now))
    out: Decided = decisions
    if decided is not None:
        if decisions:
            decided.extend(decisions)
        decisions, out = [], decided
    memo = _Memo(rules, snapshot, state, now)
    kept: list[Standing] | None = [] if explain and standings is None else None
    idle = standings if standings is not None else kept
    for rule in rules.enabled():
        entities = memo.select(rule)
        if entities:
            plan = _Plan(memo, rule)
            for entity in entities:
                found = _budget(memo, plan, entity, idle)
                if found:
                    out.extend(found)
                elif kept:  # `explain`: in place, as an UNDER row
                    out.extend((kept.pop().decision(),))
    return decisions


class Standings(Protocol):
    """Where `evaluate` puts each idle budget's standing as it finds it: a list, or a reader
    that takes each one in turn and keeps none."""

    def append(self, standing: Standing, /) -> None: ...


class Decided(Protocol):
    """Where `evaluate` puts decisions as it finds them, a budget's at once: a list, or a
    reader that keeps some."""

    def extend(self, decisions: Iterable[Decision], /) -> None: ...


@record
class Standing:
    """Where a budget with nothing to do stands: what its UNDER decision would say,
    kept as the values it is built from (`decision()` builds it). Compared by value, but
    not hashable: `steps` is the rule's ladder, a list shared by every budget on it."""

    rule: Rule
    entity: Entity
    period: Period
    budget: Decimal | None
    """As written (the rule's amount or LiteLLM's max_budget), zero or less included."""
    measurement: Measurement
    steps: Sequence[Step]
    projection: Projection | None
    data_as_of: datetime | None

    @property
    def spend(self) -> Decimal:
        return self.measurement.spend

    @property
    def ratio(self) -> Decimal | None:
        return ratio(self.measurement.spend, self.budget)

    def decision(self) -> Decision:
        """The UNDER decision: where the budget stands and its next step."""
        spend = self.measurement.spend
        nxt = next((step for step in self.steps if spend < step.amount), None)
        alert = _alert(
            self.rule,
            self.entity,
            self.period,
            self.data_as_of,
            spend,
            self.budget,
            self.measurement,
            self.projection,
            nxt,
            next_detail(nxt) if nxt is not None else "",
        )
        return Decision(Reason.UNDER, Action.NONE, alert)


def baselines(rules: RuleSet, now: datetime) -> tuple[datetime, ...]:
    """The start of every rule's current period, in UTC: the history must keep each entity's
    last reading at or before them, however long ago, for spend since the start to be known
    (a quarterly or yearly period outlasts the history's retention)."""
    starts = set()
    for rule in rules.enabled():
        if rule.period.kind == "litellm":
            continue  # LiteLLM's own counter is the period's spend
        period = current_period(rule.period, rule.timezone, now, anchor=rule.anchor)
        if period.end is not None:
            starts.add(period.utc_start)
    return tuple(sorted(starts))


def _by_id(entity: Entity) -> str:
    return entity.id


# One call and one rule -----------------------------------------------------------------------


class _Memo:
    """What one `evaluate` call works out once and reuses across rules and budgets.

    Periods, routes and source health depend on a few values that many entities share (a
    reset time, a source), so each is computed once per call.
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
        self._sources: dict[str, tuple[str, datetime | None]] = {}
        self._told: dict[str, dict[Scope, set[str]]] | None = None

    def select(self, rule: Rule) -> list[Entity]:
        """The entities a rule covers, sorted by id (each scope is sorted once per call)."""
        if rule.scope in (Scope.QUERY, Scope.DIMENSION):
            return query_entities(rule, self.snapshot)
        if rule.scope is Scope.GLOBAL:
            return list(self.snapshot.of(rule.scope).values())
        pool = self._pools.get(rule.scope)
        if pool is None:
            pool = sorted(self.snapshot.of(rule.scope).values(), key=_by_id)
            self._pools[rule.scope] = pool
        if rule.team:
            pool = self._team(rule.scope, pool).get(rule.team.casefold(), [])
        return chosen(rule, pool)

    def _team(self, scope: Scope, pool: list[Entity]) -> dict[str, list[Entity]]:
        """A scope's entities by the id and the alias (casefolded) of each team they belong
        to, in pool order (by id): a key's team, or every team of a user. Rules for one team
        read their few entities rather than testing every entity of the scope."""
        index = self._teams.get(scope)
        if index is not None:
            return index
        # Entities that name their teams alike share one lookup: most keys and users belong
        # to no team, and the rest to a few.
        alike: dict[tuple[str | None, str | None, frozenset[str]], list[Entity]] = {}
        for entity in pool:
            if entity.team_id or entity.team_name or entity.teams:
                alike.setdefault((entity.team_id, entity.team_name, entity.teams), []).append(
                    entity
                )
        aliases = {t.id: t.name for t in self.snapshot.of(Scope.TEAM).values() if t.name}
        parts: dict[str, list[list[Entity]]] = {}
        for (team_id, team_name, teams), members in alike.items():
            names = [team_id, team_name, *sorted(teams), *(aliases.get(t) for t in sorted(teams))]
            for team in dict.fromkeys(n.casefold() for n in names if n):
                parts.setdefault(team, []).append(members)
        index = {
            team: lists[0] if len(lists) == 1 else sorted(chain(*lists), key=_by_id)
            for team, lists in parts.items()
        }
        self._teams[scope] = index
        return index

    def period(self, rule: Rule, entity: Entity) -> tuple[Period, str]:
        """The budget's period and its key (LiteLLM periods: one per reset time and length)."""
        at = entity.budget_reset_at
        zone = at.tzinfo if at is not None else None
        memo_key = (at, zone, entity.budget_duration, rule.timezone)
        found = self._periods.get(memo_key)
        if found is None:
            period = _period(rule, entity, self.now)
            found = (period, period.key)
            self._periods[memo_key] = found
        return found

    def told(self, rule: str) -> dict[Scope, set[str]]:
        """The entities, by scope, that the ledger holds notices about for `rule` (any
        period or channel): the few budgets whose notice threads are worth looking up."""
        if self._told is None:
            self._told = {}
            for name, scope, entity_id, _, _ in self.state.notices:
                self._told.setdefault(name, {}).setdefault(scope, set()).add(entity_id)
        return self._told.get(rule, {})

    def source(self, name: str) -> tuple[str, datetime | None]:
        """Why a source's data cannot be trusted ("" when it can) and when it was read."""
        found = self._sources.get(name)
        if found is None:
            status = self.snapshot.sources.get(name)
            found = (staleness(status, self.rules.stale_after, self.now), as_of(status))
            self._sources[name] = found
        return found


class _Plan:
    """What the budgets of one rule share in one call: worked out once, read per budget."""

    __slots__ = (
        "_ladders",
        "channels",
        "counter",
        "names_entities",
        "period",
        "quiet",
        "reads_entity",
        "rule",
        "told",
    )

    def __init__(self, memo: _Memo, rule: Rule) -> None:
        self.rule = rule
        fixed = rule.period.kind != "litellm"
        self.period: tuple[Period, str] | None = None
        if fixed:  # a calendar period: the same for every entity
            period = _period(rule, None, memo.now)
            self.period = (period, period.key)
        self.counter = (
            rule.scope not in (Scope.QUERY, Scope.DIMENSION)
            and not memo.snapshot.daily
            and (not fixed or (self.period is not None and self.period[0].end is None))
        )
        """The budget's spend is LiteLLM's counter as it stands: no history to read."""
        self.quiet = not rule.reset and rule.forecast is None
        """No reset or forecast: a budget under every step may have nothing to do."""
        self.channels: tuple[str, ...] | None = None
        if not memo.rules.routing.owners:  # without owners, every entity hears the same
            self.channels = route(rule, None, memo.rules.routing) or ("",)
        self.names_entities = any(not any(ch in p for ch in "*?[") for p in rule.match)
        """The rule names entities one by one rather than by pattern."""
        wanted = [*rule.alert_at, rule.soft_limit, rule.hard_limit]
        self.reads_entity = any(t is not None and t.kind == "litellm" for t in wanted)
        """The rule's steps use LiteLLM's own amounts (`litellm` thresholds)."""
        self._ladders: dict[object, tuple[object, list[Step]]] = {}
        self.told = memo.told(rule.name)

    def steps(self, entity: Entity, budget: Decimal | None) -> list[Step]:
        """As `ladder` (the list is shared: callers never change it).

        Remembered by the identity of the amounts it reads: entities share their budgets'
        Decimal objects, and identity tells apart equal amounts written differently (100 and
        100.0, which name their steps differently). The amounts are kept with the ladder so
        that no identity is reused by another object during the call.
        """
        amounts: object
        memo_key: object
        if self.reads_entity:
            amounts = (budget, entity.soft_budget, entity.max_budget)
            memo_key = (id(budget), id(entity.soft_budget), id(entity.max_budget))
        else:
            amounts = budget
            memo_key = id(budget)
        found = self._ladders.get(memo_key)
        if found is None:
            found = (amounts, ladder(self.rule, entity, budget))
            self._ladders[memo_key] = found
        return found[1]

    def untouched(
        self, state: LedgerState, entity: Entity, key: str, channels: Sequence[str]
    ) -> bool:
        """For a budget under every step: True when nothing can be due (no reset, block,
        forecast or earlier notice to resolve), the common case, decided without an alert."""
        if not self.quiet:
            return False
        name = self.rule.name
        if state.blocks and state.blocks.get((name, entity.scope, entity.id)) is not None:
            return False
        ids = self.told.get(entity.scope)
        if not ids or entity.id not in ids:
            return True
        for channel in channels:
            told = state.notices.get((name, entity.scope, entity.id, key, channel))
            if told:
                notices = [n for n in told if not n.threshold.startswith("forecast")]
                if notices and notices[-1].level is not None:
                    return False
        return True


# One budget ----------------------------------------------------------------------------------


def _budget(memo: _Memo, plan: _Plan, entity: Entity, idle: Standings | None) -> list[Decision]:
    """The decisions about one budget; when there are none, its standing goes to `idle`
    (unless None)."""
    rule = plan.rule
    period, period_key = plan.period or memo.period(rule, entity)
    stale, data_as_of = memo.source(entity.source)
    if stale:
        alert = _alert(rule, entity, period, data_as_of)
        return [Decision(Reason.STALE, Action.NONE, alert, note=stale)]
    given = rule.amount if rule.amount is not None else entity.max_budget
    budget = None if given is not None and given <= 0 else given
    steps = plan.steps(entity, budget)
    if not steps and not plan.names_entities:
        return []  # a wildcard rule simply skips entities without a budget
    channels = plan.channels or route(rule, entity, memo.rules.routing) or ("",)
    state = memo.state
    ctx: Budget | None = None
    if plan.counter:  # LiteLLM's counter is the period's spend: no history or reset to read
        measurement = Measurement(entity.spend, Basis.LITELLM, period.start, True)
    else:
        ctx = _context(memo, plan, entity, period, period_key, channels)
        measurement = _measure(ctx)
    spend = measurement.spend
    if not steps:  # the rule names this entity, which has no budget
        base = _alert(rule, entity, period, data_as_of, spend, budget, measurement)
        note = "the entity has no max_budget in LiteLLM and the rule sets no amount"
        return [Decision(Reason.NO_BUDGET, Action.NONE, base, note=note)]
    current = current_step(steps, spend)
    projection = None
    found: list[Decision] = []
    if current is not None or not plan.untouched(state, entity, period_key, channels):
        if ctx is None:
            ctx = _context(memo, plan, entity, period, period_key, channels)
        if rule.forecast is not None:
            projection = _project(ctx, budget, measurement)
        base = _alert(rule, entity, period, data_as_of, spend, budget, measurement, projection)
        found = _due(ctx, base, steps, current)
    if idle is not None and not found:
        if given is not budget:  # zero or less: the preview shows the budget as written
            steps = plan.steps(entity, given)
            if ctx is not None and rule.forecast is not None:
                projection = _project(ctx, given, measurement)
        if steps:
            idle.append(
                Standing(rule, entity, period, given, measurement, steps, projection, data_as_of)
            )
    return found


def _context(
    memo: _Memo,
    plan: _Plan,
    entity: Entity,
    period: Period,
    period_key: str,
    channels: tuple[str, ...],
) -> Budget:
    """What the later stages read about one budget: built only for budgets that need them."""
    return Budget(
        memo.rules,
        plan.rule,
        entity,
        period,
        period_key,
        memo.state,
        memo.snapshot,
        memo.now,
        channels,
    )


def _due(ctx: Budget, base: Alert, steps: Sequence[Step], current: Step | None) -> list[Decision]:
    """A budget's changes and notices due."""
    rule, state = ctx.rule, ctx.state
    found: list[Decision] = []
    if rule.reset:
        found.extend(_reset(ctx, base))
    if state.blocks or rule.on_hard_limit == "block":  # else nothing is or gets blocked
        found.extend(_block(ctx, base, current))
    for channel in ctx.channels:
        found.extend(step_notices(ctx, base, steps, current, channel))
    if rule.forecast is not None and (current is None or current.kind is not StepKind.HARD):
        found.extend(forecast_notices(ctx, base, base.budget))
    return found


def _alert(
    rule: Rule,
    entity: Entity,
    period: Period,
    data_as_of: datetime | None,
    spend: Decimal = Decimal(0),
    budget: Decimal | None = None,
    measurement: Measurement | None = None,
    projection: Projection | None = None,
    step: Step | None = None,
    detail: str = "",
) -> Alert:
    """A budget's alert, about `step` (none: not yet chosen). Built for most budgets every
    cycle, so the fields are passed in `Alert`'s order: named arguments cost twice as much."""
    if step is None:
        kind, step_id, label, amount = StepKind.THRESHOLD, "", "", None
    else:
        kind, step_id, label, amount = step.kind, step.id, step.label, step.amount
    return Alert(
        rule.name,
        entity.scope,
        entity.id,
        entity.label,
        period,
        kind,
        step_id,
        label,
        spend,
        budget,
        amount,
        None,  # level
        measurement,
        projection,
        entity,
        data_as_of,
        rule.description,
        detail,
    )


def _project(ctx: Budget, budget: Decimal | None, measurement: Measurement) -> Projection:
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


def _period(rule: Rule, entity: Entity | None, now: datetime) -> Period:
    if rule.period.kind == "litellm":
        assert entity is not None  # a LiteLLM period is the entity's own
        return litellm_period(entity.budget_reset_at, entity.budget_duration, now, rule.timezone)
    anchor = rule.anchor
    return current_period(rule.period, rule.timezone, now, anchor=anchor)


def _measure(ctx: Budget) -> Measurement:
    """Spend of a budget whose spend is not LiteLLM's counter as it stands (`_Plan.counter`
    takes those without a context)."""
    entity, period, state = ctx.entity, ctx.period, ctx.state
    if entity.scope in (Scope.QUERY, Scope.DIMENSION):
        return Measurement(entity.spend, Basis.QUERY, period.start, complete=True)
    daily = ctx.snapshot.daily
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


# Actions -------------------------------------------------------------------------------------


def _reset(ctx: Budget, base: Alert) -> Iterator[Decision]:
    if not ctx.rule.reset:
        return
    memory = ctx.state.resets.get(ctx.key)
    alert = amended(base, kind=StepKind.HARD, step="reset")
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


def _block(ctx: Budget, base: Alert, current: Step | None) -> Iterator[Decision]:
    memory: ActionMemory | None = ctx.state.blocks.get(ctx.key)
    over = current is not None and current.kind is StepKind.HARD
    wanted = ctx.rule.on_hard_limit == "block" and over and not ctx.entity.blocked
    if memory is None and not wanted:
        return  # the common case: nothing blocked, nothing to block
    alert = amended(base, kind=StepKind.HARD, step="block")
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
