"""What both stores write and read, as plain values: notice rows, bookkeeping, ledger state.

The SQL differs per backend; what goes into it and what comes out does not, so it lives here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any, TypeVar

from watchdog.decisions import Action, Decision, Reason, forecast_memory
from watchdog.model import (
    EMPTY,
    ActionMemory,
    BudgetKey,
    EntityRef,
    ForecastMemory,
    LedgerState,
    Notice,
    NoticeEvent,
    Sample,
    Scope,
    Snapshot,
    Snooze,
    ThreadKey,
)
from watchdog.render import Message, render
from watchdog.store import ACTION_KINDS, ActionRecord
from watchdog.store.codec import encode_message

_At = TypeVar("_At")


def readings(
    rows: Iterable[tuple[str, str, _At, Decimal]], instant: Callable[[_At], datetime]
) -> list[tuple[EntityRef, Sample]]:
    """Stored spend readings (scope, entity, at, spend), ordered by entity, as the history
    loads them. The readings of one cycle share one instant and the rows of one entity one
    reference, so a restarted daemon holds its history in the memory it took while written."""
    instants: dict[_At, datetime] = {}
    out: list[tuple[EntityRef, Sample]] = []
    ref: EntityRef | None = None
    for scope, entity, at, spend in rows:
        if ref is None or ref.id != entity or ref.scope.value != scope:
            ref = EntityRef(Scope(scope), entity)
        when = instants.get(at)
        if when is None:
            when = instants[at] = instant(at)
        out.append((ref, Sample(when, spend)))
    return out


LOAD_MARGIN = timedelta(days=1)
"""Threads of a period that ended less than this long ago still load (late readings, skew)."""

SUPPRESSED = frozenset(
    {
        Reason.DEDUPED,
        Reason.SNOOZED,
        Reason.QUIET_HOURS,
        Reason.STALE,
        Reason.INSUFFICIENT_DATA,
        Reason.NO_BUDGET,
        Reason.NO_CHANNEL,
        Reason.FORECAST_PENDING,
    }
)
"""Reasons the decision log records (as transitions): why nothing was sent."""

ERROR_LIMIT = 2000
"""Longest error text kept per attempt or action."""

BudgetRow = tuple[str, str, str]
"""(rule, scope, entity id) as stored."""
DecisionKey = tuple[str, str, str, str, str, str]
"""(rule, scope, entity id, period key, step, channel) of a decision log entry."""


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """One notice decision as the ledger stores it."""

    identity: tuple[str, str, str, str, str, str, str]
    """rule, scope, entity id, period key, step, channel, event."""
    level: str | None
    reason: str
    message: Message
    period_end: datetime | None

    @property
    def channel(self) -> str:
        return self.identity[5]

    @property
    def body(self) -> str:
        return encode_message(self.message)


def notice_rows(decisions: Iterable[Decision]) -> list[NoticeRow]:
    """The notices among `decisions`, one per identity, sorted (a fixed lock order)."""
    rows: dict[tuple[str, ...], NoticeRow] = {}
    for d in decisions:
        if d.action is not Action.NOTIFY or d.event is None or not d.channel:
            continue
        rule, scope, entity, period, step, channel, event = d.identity
        identity = (rule, scope.value, entity, period, step, channel, event)
        if identity not in rows:
            rows[identity] = NoticeRow(
                identity=identity,
                level=d.level,
                reason=d.reason.value,
                message=render(d),
                period_end=d.alert.period.end,
            )
    return [rows[k] for k in sorted(rows)]


# Bookkeeping ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why one notice was not sent this cycle."""

    reason: str
    note: str


def suppressions(decisions: Iterable[Decision]) -> dict[DecisionKey, Suppression]:
    """Suppressed decisions of a cycle by key (the last one wins for a repeated key)."""
    found: dict[DecisionKey, Suppression] = {}
    gather_suppressions(found, decisions)
    return found


def gather_suppressions(
    found: dict[DecisionKey, Suppression], decisions: Iterable[Decision]
) -> None:
    """Add the suppressed among `decisions` to `found`: a cycle's, a budget at a time, so
    that its decisions need not all be held until the bookkeeping."""
    for d in decisions:
        if d.action is not Action.NONE or d.reason not in SUPPRESSED:
            continue
        a = d.alert
        key = (a.rule, a.scope.value, a.entity_id, a.period.key, d.step or a.step, d.channel or "")
        found[key] = _suppression(d.reason.value, d.note)


@lru_cache(maxsize=1024)
def _suppression(reason: str, note: str) -> Suppression:
    """One object for each (reason, note): most notes are the same few sentences."""
    return Suppression(reason, note)


def transitions(
    previous: Mapping[DecisionKey, str], current: Mapping[DecisionKey, Suppression]
) -> tuple[dict[DecisionKey, Suppression], list[DecisionKey]]:
    """(keys whose reason is new or changed, keys no longer suppressed)."""
    changed = {k: s for k, s in current.items() if previous.get(k) != s.reason}
    ended = [k for k in previous if k not in current]
    return changed, ended


def streaks(decisions: Iterable[Decision]) -> dict[BudgetRow, ForecastMemory]:
    found: dict[BudgetRow, ForecastMemory] = {}
    for d in decisions:
        memory = forecast_memory(d) if d.action is Action.RECORD else None
        if memory is not None:
            a = d.alert
            found[(a.rule, a.scope.value, a.entity_id)] = memory
    return found


def baselines(decisions: Iterable[Decision]) -> dict[BudgetRow, str]:
    """Budgets seen for the first time, with their period: the next period resets them."""
    return {
        (d.alert.rule, d.alert.scope.value, d.alert.entity_id): d.alert.period.key
        for d in decisions
        if d.action is Action.RECORD and d.reason is Reason.BASELINE
    }


def check_actions(records: Sequence[ActionRecord]) -> None:
    for record in records:
        if record.kind not in ACTION_KINDS:
            raise ValueError(
                f"unknown action kind {record.kind!r}; expected one of {', '.join(ACTION_KINDS)}"
            )


def clip(error: str | None) -> str | None:
    return None if error is None else error[:ERROR_LIMIT]


@dataclass(frozen=True, slots=True)
class Bookkeeping:
    """What one cycle's decisions change in the ledger besides notices."""

    streaks: dict[BudgetRow, ForecastMemory]
    baselines: dict[BudgetRow, str]
    changed: dict[DecisionKey, Suppression]
    """Suppressions that began or changed reason: a decision log row each."""
    ended: list[DecisionKey]


def bookkeeping(
    decisions: Sequence[Decision],
    previous: Mapping[DecisionKey, str],
    current: Mapping[DecisionKey, Suppression] | None = None,
) -> Bookkeeping:
    """What to write: `current` is the cycle's suppressions when gathered as it went (else
    they are read from `decisions`)."""
    found = suppressions(decisions) if current is None else current
    changed, ended = transitions(previous, found)
    return Bookkeeping(streaks(decisions), baselines(decisions), changed, ended)


def suppressed(rows: Iterable[Sequence[Any]]) -> dict[DecisionKey, str]:
    """The stored suppressions, (rule, scope, entity, period, step, channel, reason) rows, as
    the bookkeeping caches them. Rows come back with a new object for every value; read once
    after each start, tens of thousands of them repeat a few rules, periods, steps, channels
    and reasons, so equal values share one object (33k rows: 7.8 MB instead of 19 MB)."""
    one: dict[Any, Any] = {}
    share = one.setdefault
    return {
        (share(r, r), share(sc, sc), e, share(p, p), share(st, st), share(c, c)): share(why, why)
        for r, sc, e, p, st, c, why in rows
    }


def remember(previous: dict[DecisionKey, str], plan: Bookkeeping) -> None:
    """Apply a written plan to the cached suppression reasons."""
    for key in plan.ended:
        previous.pop(key, None)
    previous.update({k: s.reason for k, s in plan.changed.items()})


# Reading -------------------------------------------------------------------------------------


def build_state(
    *,
    notices: Iterable[Sequence[Any]],
    forecasts: Iterable[Sequence[Any]],
    memory: Iterable[Sequence[Any]],
    snoozes: Iterable[Sequence[Any]],
    history: Mapping[EntityRef, tuple[Sample, ...]],
    known: Snapshot | None = None,
) -> LedgerState:
    """The core's view of the ledger from stored rows (times and money already converted).

    notices: (rule, scope, entity, period, channel, step, event, level, created_at, state),
    ordered by claim; forecasts: (rule, scope, entity, period, streak); memory: (rule, scope,
    entity, kind, period, at, spend_before); snoozes: (rule, scope, entity, until, reason, by).
    A notice thread about an entity `known` holds names it by the entity's own id string
    (37k threads at 100k entities held 4 MB of copies while a cycle ran).
    """
    entities = known.entities if known is not None else EMPTY
    # Rows come back with a new object for every value; the ledger is loaded every cycle
    # and holds tens of thousands of notices, most repeating a few rules, periods, channels
    # and steps (and whole notices and threads, across entities), so equal values share one
    # object.
    one: dict[Any, Any] = {}
    share = one.setdefault
    threads: dict[ThreadKey, list[Notice]] = {}
    for rule, scope, entity, period, channel, step, event, level, at, state in notices:
        where = Scope(scope)
        held = entities.get(where, EMPTY).get(entity)
        entity_id = held.id if held is not None else share(entity, entity)
        thread = (share(rule, rule), where, entity_id, share(period, period))
        notice = Notice(
            share(step, step),
            NoticeEvent(event),
            level if level is None else share(level, level),
            share(at, at),
            delivered=state == "delivered",
        )
        threads.setdefault((*thread, share(channel, channel)), []).append(share(notice, notice))
    told: dict[ThreadKey, tuple[Notice, ...]] = {}
    for key, thread_notices in threads.items():
        kept_notices = tuple(thread_notices)
        told[key] = share(kept_notices, kept_notices)
    streak = {
        (rule, Scope(scope), entity): ForecastMemory(period, count)
        for rule, scope, entity, period, count in forecasts
    }
    kept: dict[str, dict[BudgetKey, ActionMemory]] = {"reset": {}, "block": {}}
    for rule, scope, entity, kind, period, at, spend_before in memory:
        kept[kind][(rule, Scope(scope), entity)] = ActionMemory(period, at, spend_before)
    return LedgerState(
        notices=MappingProxyType(told),
        forecasts=MappingProxyType(streak),
        resets=MappingProxyType(kept["reset"]),
        blocks=MappingProxyType(kept["block"]),
        snoozes=tuple(
            Snooze(
                until=until,
                reason=reason,
                rule=rule,
                entity=EntityRef(Scope(scope), entity) if scope is not None else None,
                created_by=by,
            )
            for rule, scope, entity, until, reason, by in snoozes
        ),
        history=history,
    )
