"""Watchdog's own alerts about its sources: data too old or never read, and recovery. Pure.

Each outage is an incident of its source, told once per channel and resolved once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from watchdog.decisions import Action, Alert, Decision, Reason, StepKind
from watchdog.model import LedgerState, NoticeEvent, Scope, Snapshot, SourceStatus
from watchdog.rules import RuleSet
from watchdog.windows import Period

SOURCE_RULE = "watchdog:source"
"""Rule name under which source-health notices are claimed."""


def source_health(
    rules: RuleSet, snapshot: Snapshot, state: LedgerState, now: datetime
) -> Iterator[Decision]:
    """Incidents of the sources: one opens when data turns stale, and resolves when it is fresh."""
    channels = rules.routing.meta or rules.routing.default or ("",)
    for name, status in sorted(snapshot.sources.items()):
        problem = staleness(status, rules.stale_after, now)
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


def staleness(status: SourceStatus | None, stale_after: timedelta, now: datetime) -> str:
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


def as_of(status: SourceStatus | None) -> datetime | None:
    """When the source last read its data (None when it never did)."""
    return None if status is None else status.data_as_of
