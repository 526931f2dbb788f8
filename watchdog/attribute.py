"""Attach attribution to alerts before they are claimed: who drove a budget's spend.

For a team, proxy-wide or dimension budget that fires, the requests LiteLLM reported through its
callbacks (see watchdog.callbacks) say which keys, users, models and tags spent the money in the
period so far, and what the same stretch of the previous period cost. Without stored requests
for the period, alerts go out without attribution; nothing here ever delays or blocks a notice
for long: each budget's queries run under a deadline and a failure only leaves the section out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Protocol

from watchdog import dimensions
from watchdog.attribution import (
    CALLBACKS,
    DAILY_ACTIVITY,
    Attribution,
    Contributor,
    previous_label,
)
from watchdog.decisions import Alert, Decision, Reason
from watchdog.errors import StoreError, WatchdogError
from watchdog.model import Scope
from watchdog.rules import Rule, RuleSet
from watchdog.sources.litellm_activity import Activity
from watchdog.store.usage import RequestStats, Spender, UsageReader, Within
from watchdog.windows import Period, PeriodError, current_period, same_point

log = logging.getLogger(__name__)

TOP = 3
"""Contributors listed per kind."""
DEADLINE = timedelta(seconds=5)
"""Longest the queries for one budget may take."""
ATTRIBUTED = frozenset({Scope.TEAM, Scope.GLOBAL, Scope.DIMENSION})
"""Scopes whose alerts say who drove the spend (a key or user is its own answer)."""
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
FIRING = frozenset({Reason.FIRED, Reason.ESCALATED, Reason.REPEAT, Reason.FORECAST})
_KINDS = (("keys", "key"), ("users", "user"), ("teams", "team"), ("models", "model"))
_TAGS = ("tags", "tag")


class ActivityReader(Protocol):
    """LiteLLM's daily activity (watchdog.sources.litellm_activity), when callbacks are off."""

    async def read(self, *, team_id: str | None, first: date, last: date) -> Activity: ...

    async def total(self, *, team_id: str | None, first: date, last: date) -> Decimal: ...


@dataclass(frozen=True)
class _Context:
    store: UsageReader | None
    stats: RequestStats | None
    activity: ActivityReader | None
    rules: RuleSet
    headers: Sequence[str]
    team_names: Mapping[str, str]
    now: datetime


async def attribute(
    notices: Sequence[Decision],
    *,
    store: UsageReader | None,
    rules: RuleSet,
    headers: Sequence[str],
    now: datetime,
    activity: ActivityReader | None = None,
    team_names: Mapping[str, str] | None = None,
) -> list[Decision]:
    """The notices, with attribution on every firing team, global or dimension alert.

    Stored callbacks are used when they cover the period; otherwise LiteLLM's daily activity
    (team and proxy-wide budgets), otherwise the callbacks stored so far.
    """
    wanted = [d for d in notices if _wanted(d)]
    if not wanted:
        return list(notices)
    ctx = _Context(
        store=store,
        stats=await _stats(store),
        activity=activity,
        rules=rules,
        headers=headers,
        team_names=team_names or {},
        now=now,
    )
    found: dict[tuple[str, str, str], Attribution | None] = {}
    out: list[Decision] = []
    for decision in notices:
        alert = decision.alert
        if decision not in wanted:
            out.append(decision)
            continue
        key = (alert.rule, alert.entity_id, alert.period.key)
        if key not in found:
            found[key] = await _guarded(alert, ctx)
        attribution = found[key]
        out.append(
            decision
            if attribution is None
            else replace(decision, alert=replace(alert, attribution=attribution))
        )
    return out


def _wanted(decision: Decision) -> bool:
    return decision.alert.scope in ATTRIBUTED and decision.reason in FIRING


async def _stats(store: UsageReader | None) -> RequestStats | None:
    if store is None:
        return None
    try:
        return await store.request_stats()
    except StoreError as exc:
        log.warning("attribution from callbacks left out: %s", exc)
        return None


async def _guarded(alert: Alert, ctx: _Context) -> Attribution | None:
    try:
        async with asyncio.timeout(DEADLINE.total_seconds()):
            return await _choose(alert, ctx)
    except (WatchdogError, TimeoutError) as exc:
        log.warning("attribution for %s left out: %s", alert.rule, exc or "timed out")
        return None


async def _choose(alert: Alert, ctx: _Context) -> Attribution | None:
    first = ctx.stats.first_at if ctx.stats else None
    stored = ctx.store is not None and first is not None
    covered = first is not None and first <= alert.period.start
    daily = ctx.activity is not None and alert.scope in (Scope.TEAM, Scope.GLOBAL)
    if stored and (covered or not daily) and ctx.store and ctx.stats:
        return await _one(alert, ctx.store, ctx.rules, ctx.headers, ctx.stats, ctx.now)
    if daily and ctx.activity is not None:
        return await _from_activity(alert, ctx.activity, ctx)
    return None


async def _one(
    alert: Alert,
    store: UsageReader,
    rules: RuleSet,
    headers: Sequence[str],
    stats: RequestStats,
    now: datetime,
) -> Attribution | None:
    known, within = _within(alert, rules, headers)
    if not known:
        return None
    first = stats.first_at
    if first is None:
        return None
    start = max(alert.period.utc_start, first.astimezone(UTC))
    end = now.astimezone(UTC)
    if start >= end:
        return None
    # every request stored for the period, as a dimension budget counts it: one stamped at or
    # just after `now` (LiteLLM's clock a little ahead) is part of the spend that fired
    until = alert.period.utc_end or FOREVER
    spend = await store.request_total(start=start, end=until, within=within)
    if spend <= 0:
        return None
    skip = within[0] if within else None
    top: dict[str, tuple[Contributor, ...]] = {}
    for kind, dim in (*_KINDS, _TAGS):
        if dim == skip:
            continue
        spenders = await store.request_spend(dim, start=start, end=until, within=within, limit=TOP)
        people = tuple(_contributor(dim, s) for s in spenders if s.spend > 0)
        if people:
            top[kind] = people
    rule = _rule(rules, alert.rule)
    previous, label = await _previous(alert, rule, store, within, first, start, end)
    return Attribution(
        source=CALLBACKS,
        start=start,
        end=end,
        spend=spend,
        top=top,
        previous=previous,
        previous_label=label,
    )


def _within(alert: Alert, rules: RuleSet, headers: Sequence[str]) -> tuple[bool, Within | None]:
    """Whether the budget's requests are known, and which (None: all of them)."""
    if alert.scope is Scope.GLOBAL:
        return True, None
    if alert.scope is Scope.TEAM:
        return True, ("team", alert.entity_id)
    rule = _rule(rules, alert.rule)
    key = dimensions.resolve(rule.dimension or "", headers) if rule else None
    return (True, (key, alert.entity_id)) if key else (False, None)


def _rule(rules: RuleSet, name: str) -> Rule | None:
    return next((r for r in rules.rules if r.name == name), None)


async def _previous(
    alert: Alert,
    rule: Rule | None,
    store: UsageReader,
    within: Within | None,
    first: datetime,
    start: datetime,
    end: datetime,
) -> tuple[Decimal | None, str]:
    """Spend over the same stretch of the previous period, when the stored requests cover it."""
    before = _previous_period(alert.period, rule)
    if before is None or start != alert.period.utc_start:
        return None, "the previous period"
    label = previous_label(rule.period.unit if rule and rule.period.kind == "calendar" else "")
    prev_start = before.utc_start
    if first.astimezone(UTC) > prev_start:
        return None, label  # callbacks started after the previous period began
    if rule is not None and rule.period.kind in ("calendar", "cron"):
        same = same_point(alert.period, before, end)
    else:  # fixed-length periods ("30d", LiteLLM's budget_duration): the same time into it
        same = prev_start + (end - start)
    prev_end = min(same, before.utc_end or end)
    return await store.request_total(start=prev_start, end=prev_end, within=within), label


def _previous_period(period: Period, rule: Rule | None) -> Period | None:
    """The period before `period`, by the rule's own calendar when it has one."""
    length = period.length()
    if length is None or period.name:
        return None
    just_before = period.utc_start - timedelta(microseconds=1)
    if rule is not None and rule.period.kind != "litellm":
        try:
            return current_period(rule.period, rule.timezone, just_before, anchor=rule.anchor)
        except PeriodError:
            return None
    return Period(start=period.start - length, end=period.start, tz=period.tz)


def _contributor(dimension: str, spender: Spender) -> Contributor:
    if dimension == "key":
        name = spender.label or f"key …{spender.value[-6:]}"
        return Contributor(name=name, spend=spender.spend, id=spender.value)
    if spender.label and spender.label != spender.value:
        return Contributor(name=spender.label, spend=spender.spend, id=spender.value)
    return Contributor(name=spender.value, spend=spender.spend)


async def _from_activity(
    alert: Alert, activity: ActivityReader, ctx: _Context
) -> Attribution | None:
    """From LiteLLM's daily activity: whole UTC days from the one holding the period start."""
    team_id = alert.entity_id if alert.scope is Scope.TEAM else None
    first = alert.period.utc_start.date()
    last = ctx.now.astimezone(UTC).date()
    if last < first:
        return None
    found = await activity.read(team_id=team_id, first=first, last=last)
    if found.spend <= 0:
        return None
    keys = {found.key_aliases.get(h) or f"key …{h[-6:]}": v for h, v in found.keys.items()}
    ids = {found.key_aliases.get(h) or f"key …{h[-6:]}": h for h in found.keys}
    teams = {ctx.team_names.get(t, t): v for t, v in found.teams.items()}
    top = {
        kind: people
        for kind, people in (
            ("keys", _largest(keys, ids)),
            ("users", _largest(found.users)),
            ("teams", _largest(teams)),
            ("models", _largest(found.models)),
            ("tags", _largest(found.tags)),
        )
        if people
    }
    rule = _rule(ctx.rules, alert.rule)
    before = _previous_period(alert.period, rule)
    label = previous_label(rule.period.unit if rule and rule.period.kind == "calendar" else "")
    previous: Decimal | None = None
    if before is not None:
        prev_first = before.utc_start.date()
        prev_last = prev_first + (last - first)
        if before.utc_end is not None:
            prev_last = min(prev_last, (before.utc_end - timedelta(seconds=1)).date())
        previous = await activity.total(team_id=team_id, first=prev_first, last=prev_last)
    return Attribution(
        source=DAILY_ACTIVITY,
        start=datetime.combine(first, time(0), tzinfo=UTC),
        end=ctx.now.astimezone(UTC),
        spend=found.spend,
        top=top,
        previous=previous,
        previous_label=label,
        whole_days=True,
    )


def _largest(
    spend: Mapping[str, Decimal], ids: Mapping[str, str] | None = None
) -> tuple[Contributor, ...]:
    ranked = sorted(((v, k) for k, v in spend.items() if v > 0), key=lambda p: (-p[0], p[1]))
    return tuple(
        Contributor(name=name, spend=value, id=(ids or {}).get(name))
        for value, name in ranked[:TOP]
    )
