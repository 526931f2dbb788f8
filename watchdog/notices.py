"""The notices of one budget: steps crossed, resolved and repeated, forecasts, and changes
watchdog made in LiteLLM. Pure.

A notice is due once per (rule, entity, period, step, channel); the ledger in `LedgerState`
says what was told, so the same crossing is never told twice, across cycles and restarts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from watchdog.decisions import Action, Alert, Decision, Reason, Step, StepKind
from watchdog.forecast import Projection
from watchdog.ladder import PRIORITY, amount_for, rank, split_step, step_name
from watchdog.model import (
    BudgetKey,
    Entity,
    LedgerState,
    Notice,
    NoticeEvent,
    Snapshot,
)
from watchdog.money import fmt_money
from watchdog.routing import QuietHours, route
from watchdog.rules import Rule, RuleSet
from watchdog.windows import Period


@dataclass(slots=True)
class Budget:
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


# Ladder notices ------------------------------------------------------------------------------


def step_notices(
    ctx: Budget, base: Alert, steps: Sequence[Step], current: Step | None, channel: str
) -> Iterator[Decision]:
    """The ladder notice due on one channel: a step crossed, a resolution or a reminder."""
    notices = [n for n in ctx.notices(channel) if not n.threshold.startswith("forecast")]
    last = notices[-1].level if notices else None
    if current is None and last is None:
        return
    if current is not None and last == current.id:
        yield from _repeat(ctx, base, current, channel, notices)  # the step last told
        return
    here = rank(current.id, steps) if current is not None else -1.0
    before = rank(last, steps)
    if current is not None and here == before:
        # the same step as last told, its amount moved with the budget
        yield from _repeat(ctx, base, current, channel, notices)
        return
    claimed = {(n.threshold, n.event) for n in notices}
    if current is not None and here > before:
        reason = Reason.FIRED if last is None else Reason.ESCALATED
        alert = _step_alert(base, current, [s for i, s in enumerate(steps) if before < i < here])
        if (current.id, NoticeEvent.FIRED) in claimed:
            yield Decision(
                Reason.DEDUPED, Action.NONE, alert, channel, note="sent earlier this period"
            )
            return
        yield notify(ctx, alert, reason, channel, NoticeEvent.FIRED, current.id, current.id)
        return
    assert last is not None
    alert = _resolved_alert(base, last, current, steps)
    if (last, NoticeEvent.RESOLVED) in claimed:
        yield Decision(Reason.DEDUPED, Action.NONE, alert, channel, note="resolution sent")
        return
    level = current.id if current is not None else None
    yield notify(ctx, alert, Reason.RESOLVED, channel, NoticeEvent.RESOLVED, last, level)


def _repeat(
    ctx: Budget,
    base: Alert,
    current: Step,
    channel: str,
    notices: Sequence[Notice],
) -> Iterator[Decision]:
    alert = _step_alert(base, current, ())
    every = ctx.rule.renotify
    fired = None
    if every is not None and current.kind is StepKind.HARD:  # reminders: hard limits only
        fired = next(
            (
                n
                for n in notices
                if step_name(n.threshold) == current.name and n.event is NoticeEvent.FIRED
            ),
            None,
        )
    if every is None or fired is None:
        yield Decision(Reason.DEDUPED, Action.NONE, alert, channel, note="sent earlier this period")
        return
    count = int((ctx.now - fired.at) / every)
    repeat_id = f"{current.id}#repeat{count}"
    told = any(n.threshold == repeat_id and n.event is NoticeEvent.REPEAT for n in notices)
    if count < 1 or told:
        yield Decision(Reason.DEDUPED, Action.NONE, alert, channel, note="reminder not yet due")
        return
    yield notify(ctx, alert, Reason.REPEAT, channel, NoticeEvent.REPEAT, repeat_id, current.id)


def notify(
    ctx: Budget,
    alert: Alert,
    reason: Reason,
    channel: str,
    event: NoticeEvent,
    step: str,
    level: str | None,
) -> Decision:
    """A notice for `channel`, unless no channel, a snooze or quiet hours hold it back."""

    def held(why: Reason, note: str) -> Decision:
        return Decision(why, Action.NONE, alert, channel or None, event, step, level, note=note)

    if not channel:
        return held(
            Reason.NO_CHANNEL,
            f"{reason.value}, but no channel: set `notify:` on the rule or "
            "routing.default in the config",
        )
    snooze = None
    if ctx.state.snoozes:
        names = alert.entity.names if alert.entity is not None else ()
        covering = (s for s in ctx.state.snoozes if s.covers(alert.rule, alert.ref, ctx.now, names))
        snooze = next(covering, None)
    if snooze is not None and event is not NoticeEvent.RESOLVED:
        return held(Reason.SNOOZED, f"until {snooze.until:%Y-%m-%d %H:%M %Z}: {snooze.reason}")
    quiet = ctx.rules.routing.quiet.get(channel)
    urgent = alert.kind is StepKind.HARD and ctx.rules.routing.urgent_overrides_quiet
    if isinstance(quiet, QuietHours) and quiet.covers(ctx.now) and not urgent:
        return held(Reason.QUIET_HOURS, "sent when the channel's quiet hours end")
    return Decision(reason, Action.NOTIFY, alert, channel, event, step, level)


def _step_alert(base: Alert, step: Step, skipped: Sequence[Step]) -> Alert:
    """The alert for `step`, naming the steps passed on the way there since the last notice
    (a step's rank is its index on the ladder)."""
    detail = step.crossed
    if skipped:
        detail += " (also passed " + ", ".join(s.words for s in skipped) + ")"
    return amended(
        base,
        kind=step.kind,
        step=step.id,
        step_label=step.label,
        step_amount=step.amount,
        detail=detail,
    )


def amended(alert: Alert, **changes: Any) -> Alert:
    """`dataclasses.replace` for alerts, without its per-call introspection (hot path)."""
    values = list(_alert_values(alert))
    for name, value in changes.items():
        values[_ALERT_INDEX[name]] = value
    return Alert(*values)


_ALERT_INDEX = {f.name: i for i, f in enumerate(fields(Alert))}
_alert_values = attrgetter(*_ALERT_INDEX)
"""An alert's fields in order, read in one call."""


def _resolved_alert(base: Alert, last: str, current: Step | None, steps: Sequence[Step]) -> Alert:
    name, amount = split_step(last)
    previous = next((s for s in steps if s.name == name), None)
    if previous is None:  # the rule no longer has this step
        kind_text, _, label = name.partition(":")
        kind = StepKind(kind_text) if kind_text in _PRIORITY_NAMES else StepKind.THRESHOLD
        previous = Step(kind, amount, label or fmt_money(amount))
    now_at = f"now at {current.words}" if current else "now under every alert step"
    return amended(
        base,
        kind=previous.kind,
        step=last,
        step_label=previous.label,
        step_amount=previous.amount,
        level=current.id if current else None,
        detail=f"back under {previous.words}; {now_at}",
    )


_PRIORITY_NAMES = frozenset(k.value for k in PRIORITY)


# Forecast notices ----------------------------------------------------------------------------


def forecast_notices(ctx: Budget, base: Alert, budget: Decimal | None) -> Iterator[Decision]:
    """Forecast bookkeeping and notices: told once the projection stays over the alert point
    for `consecutive` evaluations, and cleared when it falls back under."""
    settings = ctx.rule.forecast
    projection = base.projection
    assert settings is not None
    assert projection is not None
    target = amount_for(settings.alert_if_projected_over, StepKind.HARD, ctx.entity, budget)
    if target is None:
        return
    clear_at = (
        amount_for(settings.clear_below, StepKind.HARD, ctx.entity, budget)
        if settings.clear_below is not None
        else target * Decimal("0.95")
    )
    step_id = f"forecast@{target.normalize():f}"
    alert = amended(
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
            yield notify(ctx, alert, Reason.FORECAST, channel, NoticeEvent.FIRED, step_id, step_id)
        elif over and not fired:
            yield Decision(
                Reason.FORECAST_PENDING,
                Action.NONE,
                alert,
                channel,
                note=f"{new_streak} of {settings.consecutive} evaluations over",
            )
        elif fired and under and not resolved:
            yield notify(
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


# Changes made in LiteLLM ---------------------------------------------------------------------


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
