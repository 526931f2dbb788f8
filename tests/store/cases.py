"""Decisions for the store tests: built by the real evaluate() or spelled out as values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.builders import rule, rules, run, snap, team
from watchdog.decisions import Action, Alert, Decision, Reason, StepKind
from watchdog.model import NoticeEvent, Scope
from watchdog.windows import Period

RULE = "Engineering monthly"
NOVEMBER = Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), UTC)
LIFETIME = Period(datetime(1970, 1, 1, tzinfo=UTC), None, UTC)


def period_ending(end: datetime) -> Period:
    return Period(end - timedelta(days=30), end, UTC)


def alert(
    entity: str = "id-engineering",
    *,
    period: Period = NOVEMBER,
    step: str = "hard@5000",
    kind: StepKind = StepKind.HARD,
    rule_name: str = RULE,
) -> Alert:
    return Alert(
        rule=rule_name,
        scope=Scope.TEAM,
        entity_id=entity,
        label=f"team {entity}",
        period=period,
        kind=kind,
        step=step,
        spend=Decimal("5100.25"),
        budget=Decimal(5000),
        step_amount=Decimal(5000),
        detail="crossed the hard limit",
    )


def notice(
    entity: str = "id-engineering",
    *,
    channel: str = "eng-slack",
    event: NoticeEvent = NoticeEvent.FIRED,
    step: str = "hard@5000",
    period: Period = NOVEMBER,
    reason: Reason = Reason.FIRED,
) -> Decision:
    """A notice decision as evaluate() makes it for a crossing (or its resolution)."""
    level = step if event is not NoticeEvent.RESOLVED else None
    return Decision(
        reason,
        Action.NOTIFY,
        alert(entity, period=period, step=step),
        channel,
        event,
        step,
        level,
    )


def held_back(
    reason: Reason,
    entity: str = "id-engineering",
    *,
    channel: str | None = "eng-slack",
    note: str = "",
) -> Decision:
    """A decision that sends nothing, for the decision log."""
    return Decision(reason, Action.NONE, alert(entity), channel, note=note)


def crossings(count: int, *, channel: str = "eng-slack") -> list[Decision]:
    """`count` teams crossing 80% of a $5,000 budget, as the real core decides it."""
    ruleset = rules(rule(match="*", alert_at=["80%"]), channels=[channel])
    teams = [team(4500, name=f"team-{i:05d}") for i in range(count)]
    decisions = [d for d in run(ruleset, snap(*teams)) if d.action is Action.NOTIFY]
    assert len(decisions) == count
    return decisions
