"""Decide what is due: alerts, resolutions, resets, blocks. Pure: no I/O, no clock, no logging.

`evaluate(rules, snapshot, state, now)` returns every decision with its reason, including the
ones that send nothing (already sent, snoozed, stale data …), so logs, previews and tests all
say why. The shell claims, sends and records; this module only decides.

The stages of one budget: which entities a rule covers (`matching`), its period and spend
(`windows`, `measure`), its steps in dollars (`ladder`), the notices due (`notices`), the
changes to make in LiteLLM (here) and who hears (`routing`); source health is `health`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from watchdog.decisions import Action, Alert, Decision, Reason, Step, StepKind
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
    SourceStatus,
)
from watchdog.notices import Budget, amended, forecast_notices, step_notices
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
) -> list[Decision]:
    """Every decision for this cycle, in a stable order.

    With `explain`, budgets with nothing to do get an UNDER decision too, so `preview`, the
    status page and the per-budget gauges see every budget.
    """
    decisions = list(source_health(rules, snapshot, state, now))
    memo = _Memo(rules, snapshot, state, now)
    for rule in rules.enabled():
        for entity in memo.select(rule):
            decisions.extend(_budget(memo, rule, entity, explain=explain))
    return decisions


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
            starts.add(period.start.astimezone(UTC))
    return tuple(sorted(starts))


def _by_id(entity: Entity) -> str:
    return entity.id


# One budget ----------------------------------------------------------------------------------


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
        self._ladders: dict[tuple[int, ...], tuple[object, list[Step]]] = {}
        self._routes: dict[int, tuple[str, ...]] = {}
        self._litellm_steps: dict[int, bool] = {}
        self._sources: dict[str, tuple[SourceStatus | None, str]] = {}

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
        to, in pool order: a key's team, or every team of a user. Rules for one team read
        their few entities rather than testing every entity of the scope."""
        index = self._teams.get(scope)
        if index is None:
            index = {}
            aliases = {t.id: t.name for t in self.snapshot.of(Scope.TEAM).values() if t.name}
            folded: dict[str, str] = {}  # each team id or alias casefolded once
            for entity in pool:
                if not (entity.team_id or entity.team_name or entity.teams):
                    continue  # most keys and users belong to no team
                names: list[str | None] = [entity.team_id, entity.team_name]
                if entity.teams:
                    names.extend(entity.teams)
                    names.extend(aliases.get(t) for t in entity.teams)
                seen: set[str] = set()
                for name in names:
                    if not name:
                        continue
                    team = folded.get(name)
                    if team is None:
                        team = folded[name] = name.casefold()
                    if team not in seen:
                        seen.add(team)
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
        """As `ladder` (the list is shared: callers never change it).

        Remembered by the identity of the amounts it reads: entities share their budgets'
        Decimal objects, and identity tells apart equal amounts written differently (100 and
        100.0, which name their steps differently). The amounts are kept with the ladder so
        that no identity is reused by another object during the call.
        """
        amounts: tuple[object, ...]
        if self._reads_entity(rule):
            amounts = (rule, budget, entity.soft_budget, entity.max_budget)
        else:
            amounts = (rule, budget)
        memo_key = tuple(map(id, amounts))
        found = self._ladders.get(memo_key)
        if found is None:
            found = (amounts, ladder(rule, entity, budget))
            self._ladders[memo_key] = found
        return found[1]

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
            found = (status, staleness(status, self.rules.stale_after, self.now))
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
            data_as_of=as_of(source),
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
    ctx = Budget(memo.rules, rule, entity, period, period_key, state, memo.snapshot, now, channels)
    measurement = _measure(ctx)
    if not steps:  # the rule names this entity, which has no budget
        base = alert(spend=measurement.spend, budget=budget, measurement=measurement)
        note = "the entity has no max_budget in LiteLLM and the rule sets no amount"
        return [Decision(Reason.NO_BUDGET, Action.NONE, base, note=note)]
    current = current_step(steps, measurement.spend)
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
            found.extend(step_notices(ctx, base, steps, current, channel))
        if rule.forecast is not None and (current is None or current.kind is not StepKind.HARD):
            found.extend(forecast_notices(ctx, base, budget))
    if explain and not found:
        if given is not budget:  # zero or less: the preview shows the budget as written
            steps = memo.steps(rule, entity, given)
            if rule.forecast is not None:
                projection = _project(ctx, given, measurement)
        idle = _under(ctx, given, measurement, steps, projection, source)
        if idle is not None:
            found.append(idle)
    return found


def _idle(ctx: Budget) -> bool:
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
    ctx: Budget,
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
        data_as_of=as_of(source),
        detail=next_detail(nxt) if nxt else "",
    )
    return Decision(Reason.UNDER, Action.NONE, alert)


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


def _period(rule: Rule, entity: Entity, now: datetime) -> Period:
    if rule.period.kind == "litellm":
        return litellm_period(entity.budget_reset_at, entity.budget_duration, now, rule.timezone)
    anchor = rule.anchor
    return current_period(rule.period, rule.timezone, now, anchor=anchor)


def _measure(ctx: Budget) -> Measurement:
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
