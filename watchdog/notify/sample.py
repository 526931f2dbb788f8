"""The message `budget-watchdog test-channel NAME` sends: marked as a test, shaped like a real
notice (rendered by `render` from an example budget) so every part of the layout shows. Pure.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from watchdog.decisions import Action, Alert, Decision, Reason, StepKind
from watchdog.model import Entity, NoticeEvent, Scope
from watchdog.render import Message, render, when
from watchdog.windows import Period

EXAMPLE_TEAM = "example"


def sample_message(channel: str, *, now: datetime) -> Message:
    """A test message for `channel`, sent at `now` (a new id each time, so receivers see it)."""
    stamp = now.astimezone(UTC).isoformat()
    real = render(_example(channel, now))
    title = f"[TEST] watchdog test message for channel {channel}"
    summary = (
        f"A test from budget-watchdog: if you can read this, channel {channel} works. "
        f"The budget below is an example, not real spend."
    )
    fields = (("Channel", channel), ("Sent at", when(now, UTC)), *real.fields)
    msg_id = "wd_test_" + _digest(f"{channel}\x1f{stamp}", 24)
    payload = {
        **real.payload,
        "id": msg_id,
        "detail": summary,
        "event_message": title,
        "test": True,
    }
    return replace(
        real,
        id=msg_id,
        thread="wdt_test_" + _digest(channel, 16),
        title=title,
        summary=summary,
        fields=fields,
        body="\n".join([title, "", summary, "", *(f"{k}: {v}" for k, v in fields)]),
        payload=payload,
        test=True,
    )


def _example(channel: str, now: datetime) -> Decision:
    at = now.astimezone(UTC)
    start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    spend, budget = Decimal("4100.00"), Decimal("5000.00")
    entity = Entity(
        scope=Scope.TEAM,
        id=EXAMPLE_TEAM,
        spend=spend,
        name=EXAMPLE_TEAM,
        max_budget=budget,
    )
    alert = Alert(
        rule="watchdog test",
        scope=Scope.TEAM,
        entity_id=EXAMPLE_TEAM,
        label=f"team {EXAMPLE_TEAM}",
        period=Period(start, end, UTC),
        kind=StepKind.SOFT,
        step="soft:80%@4000",
        step_label="80%",
        spend=spend,
        budget=budget,
        step_amount=Decimal("4000.00"),
        entity=entity,
        data_as_of=at,
        detail="crossed the soft limit 80% ($4,000.00)",
    )
    return Decision(
        Reason.FIRED,
        Action.NOTIFY,
        alert,
        channel=channel,
        event=NoticeEvent.FIRED,
        step=alert.step,
        level=alert.step,
    )


def _digest(text: str, size: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]
