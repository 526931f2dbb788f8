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
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from watchdog import dimensions
from watchdog.attribution import CALLBACKS, Attribution, Contributor, previous_label
from watchdog.errors import StoreError
from watchdog.evaluate import Alert, Decision, Reason
from watchdog.model import Scope
from watchdog.rules import Rule, RuleSet
from watchdog.store.usage import RequestStats, Spender, UsageReader, Within
from watchdog.windows import Period, PeriodError, current_period

log = logging.getLogger(__name__)

TOP = 3
"""Contributors listed per kind."""
DEADLINE = timedelta(seconds=5)
"""Longest the queries for one budget may take."""
ATTRIBUTED = frozenset({Scope.TEAM, Scope.GLOBAL, Scope.DIMENSION})
"""Scopes whose alerts say who drove the spend (a key or user is its own answer)."""
FIRING = frozenset({Reason.FIRED, Reason.ESCALATED, Reason.REPEAT, Reason.FORECAST})
_KINDS = (("keys", "key"), ("users", "user"), ("teams", "team"), ("models", "model"))
_TAGS = ("tags", "tag")


async def attribute(
    notices: Sequence[Decision],
    *,
    store: UsageReader,
    rules: RuleSet,
    headers: Sequence[str],
    now: datetime,
) -> list[Decision]:
    """The notices, with attribution on every firing team, global or dimension alert."""
    wanted = [d for d in notices if _wanted(d)]
    if not wanted:
        return list(notices)
    try:
        stats = await store.request_stats()
    except StoreError as exc:
        log.warning("attribution left out: %s", exc)
        return list(notices)
    if stats.first_at is None:
        return list(notices)
    found: dict[tuple[str, str, str], Attribution | None] = {}
    out: list[Decision] = []
    for decision in notices:
        alert = decision.alert
        if decision not in wanted:
            out.append(decision)
            continue
        key = (alert.rule, alert.entity_id, alert.period.key)
        if key not in found:
            found[key] = await _guarded(alert, store, rules, headers, stats, now)
        attribution = found[key]
        out.append(
            decision
            if attribution is None
            else replace(decision, alert=replace(alert, attribution=attribution))
        )
    return out


def _wanted(decision: Decision) -> bool:
    return decision.alert.scope in ATTRIBUTED and decision.reason in FIRING


async def _guarded(
    alert: Alert,
    store: UsageReader,
    rules: RuleSet,
    headers: Sequence[str],
    stats: RequestStats,
    now: datetime,
) -> Attribution | None:
    try:
        async with asyncio.timeout(DEADLINE.total_seconds()):
            return await _one(alert, store, rules, headers, stats, now)
    except (StoreError, TimeoutError) as exc:
        log.warning("attribution for %s left out: %s", alert.rule, exc or "timed out")
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
    start = max(alert.period.start.astimezone(UTC), first.astimezone(UTC))
    end = now.astimezone(UTC)
    if start >= end:
        return None
    spend = await store.request_total(start=start, end=end, within=within)
    if spend <= 0:
        return None
    skip = within[0] if within else None
    top: dict[str, tuple[Contributor, ...]] = {}
    for kind, dim in (*_KINDS, _TAGS):
        if dim == skip:
            continue
        spenders = await store.request_spend(dim, start=start, end=end, within=within, limit=TOP)
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
    if before is None or start != alert.period.start.astimezone(UTC):
        return None, "the previous period"
    label = previous_label(rule.period.unit if rule and rule.period.kind == "calendar" else "")
    prev_start = before.start.astimezone(UTC)
    if first.astimezone(UTC) > prev_start:
        return None, label  # callbacks started after the previous period began
    prev_end = min(prev_start + (end - start), before.end.astimezone(UTC) if before.end else end)
    return await store.request_total(start=prev_start, end=prev_end, within=within), label


def _previous_period(period: Period, rule: Rule | None) -> Period | None:
    """The period before `period`, by the rule's own calendar when it has one."""
    if period.end is None or period.name:
        return None
    just_before = period.start.astimezone(UTC) - timedelta(microseconds=1)
    if rule is not None and rule.period.kind != "litellm":
        try:
            return current_period(rule.period, rule.timezone, just_before, anchor=rule.anchor)
        except PeriodError:
            return None
    length = period.end.astimezone(UTC) - period.start.astimezone(UTC)
    return Period(start=period.start - length, end=period.start, tz=period.tz)


def _contributor(dimension: str, spender: Spender) -> Contributor:
    if dimension == "key":
        name = spender.label or f"key …{spender.value[-6:]}"
        return Contributor(name=name, spend=spender.spend, id=spender.value)
    if spender.label and spender.label != spender.value:
        return Contributor(name=spender.label, spend=spender.spend, id=spender.value)
    return Contributor(name=spender.value, spend=spender.spend)
