"""Spend within a rule's period, from LiteLLM's counters and the sample history. Pure.

LiteLLM's `spend` counts from the entity's last reset (its own `budget_duration` cycle, a reset
watchdog made, or creation). When that start lines up with the rule's period the counter is the
answer; otherwise the period's spend is the counter's growth since the period began, read from
the stored samples, with drops treated as resets (as Prometheus treats counter resets). Every
measurement says which basis it used and whether it covers the whole period so far.
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

from watchdog.model import DailySeries, Entity, Sample
from watchdog.money import ZERO
from watchdog.records import record
from watchdog.windows import Period, litellm_duration

TOLERANCE = timedelta(minutes=15)
"""LiteLLM resets up to one scheduler tick (about 10 minutes) after budget_reset_at."""


class Basis(enum.StrEnum):
    """Where a period's spend figure comes from."""

    LITELLM = "LiteLLM's own budget cycle"
    WATCHDOG_RESET = "since watchdog reset the spend"
    CREATED = "entity created this period"
    DELTA = "growth since the period started"
    PARTIAL = "growth since first seen"
    DAILY = "LiteLLM's daily totals (UTC days)"
    QUERY = "Prometheus query"


@record
class Measurement:
    """Spend in the period so far and how it was measured."""

    spend: Decimal
    basis: Basis
    since: datetime
    """Start of what is counted: the period start, or later when data begins later."""
    complete: bool
    """False when spend before `since` (but inside the period) is unknown."""


_duration = lru_cache(maxsize=256)(litellm_duration)
"""`litellm_duration`, remembered: a few distinct durations recur on every entity."""


def counter_since(entity: Entity, now: datetime, reset_at: datetime | None) -> datetime | None:
    """When the entity's LiteLLM counter last started from zero, as far as we can tell."""
    candidates = [t for t in (entity.created_at, reset_at) if t is not None]
    length = _duration(entity.budget_duration)
    if entity.budget_reset_at is not None and length is not None:
        last_litellm_reset = entity.budget_reset_at - length
        if last_litellm_reset <= now:
            candidates.append(last_litellm_reset)
    return max(candidates) if candidates else None


def period_spend(
    entity: Entity,
    period: Period,
    now: datetime,
    *,
    history: Sequence[Sample] = (),
    follows_litellm: bool = False,
    watchdog_reset_at: datetime | None = None,
    daily: DailySeries | None = None,
) -> Measurement:
    """Spend of `entity` inside `period` up to `now`."""
    if daily is not None:
        return _from_daily(daily, period)
    if follows_litellm or period.end is None:
        return Measurement(entity.spend, Basis.LITELLM, period.start, complete=True)
    since = counter_since(entity, now, watchdog_reset_at)
    # In UTC: wall-clock arithmetic on the local start is off by an hour next to a DST change.
    start = period.utc_start
    if since is not None and since >= start - TOLERANCE:
        basis = _counter_basis(entity, since, watchdog_reset_at)
        if since <= start + TOLERANCE or basis is Basis.CREATED:
            return Measurement(entity.spend, basis, period.start, complete=True)
        delta = _delta(history, period, entity.spend, now)
        if delta is not None and delta.complete:
            return delta
        return Measurement(entity.spend, Basis.PARTIAL, since, complete=False)
    delta = _delta(history, period, entity.spend, now)
    if delta is not None:
        return delta
    return Measurement(ZERO, Basis.PARTIAL, now, complete=False)


def _from_daily(series: DailySeries, period: Period) -> Measurement:
    """Sum whole UTC days from the one holding the period start; partial before the series."""
    first = period.utc_start.date()
    total = sum((v for d, v in series.days.items() if d >= first), ZERO)
    if first >= series.start:
        return Measurement(total, Basis.DAILY, period.start, complete=True)
    since = datetime.combine(series.start, time(0), tzinfo=UTC)
    return Measurement(total, Basis.DAILY, since, complete=False)


def _counter_basis(entity: Entity, since: datetime, reset_at: datetime | None) -> Basis:
    if reset_at is not None and since == reset_at:
        return Basis.WATCHDOG_RESET
    if entity.created_at is not None and since == entity.created_at:
        return Basis.CREATED
    return Basis.LITELLM


def _delta(
    history: Sequence[Sample], period: Period, current: Decimal, now: datetime
) -> Measurement | None:
    """Counter growth inside the period from samples; None without any usable sample."""
    at_start = bisect_right(history, period.utc_start, key=sample_at)
    baseline = history[at_start - 1] if at_start else None
    inside = history[at_start : bisect_right(history, in_utc(now), key=sample_at)]
    if baseline is None:
        if not inside:
            return None
        first = inside[0]
        total = growth_to(first.spend, inside[1:], current)
        return Measurement(total, Basis.PARTIAL, first.at, complete=False)
    total = growth_to(baseline.spend, inside, current)
    return Measurement(total, Basis.DELTA, period.start, complete=True)


def growth_to(start: Decimal, readings: Sequence[Sample], current: Decimal) -> Decimal:
    """`growth` over the readings and then the current counter (without building a sample)."""
    last = readings[-1].spend if readings else start
    return growth(start, readings) + increase(last, current)


def growth(start: Decimal, readings: Sequence[Sample]) -> Decimal:
    """Sum of increases from `start` through the readings (see `increase`)."""
    total = ZERO
    previous = start
    for sample in readings:
        total += increase(previous, sample.spend)
        previous = sample.spend
    return total


def increase(before: Decimal, after: Decimal) -> Decimal:
    """What a spend counter grew from `before` to `after`; a drop means the counter was reset
    and counts from zero again."""
    return after - before if after >= before else after


def sample_at(sample: Sample) -> datetime:
    return sample.at


def in_utc(at: datetime) -> datetime:
    """`at` in UTC, the zone readings are kept in: comparing datetimes of two zones asks the
    zone for its offset each time, which made searching the history the core's hottest path."""
    return at if at.tzinfo is UTC else at.astimezone(UTC)
