"""Projected spend: where a budget ends the period at the current pace, and when it runs out. Pure.

Two paces, each explained in the alert:
- the *steady* pace predicts period-end spend: the typical daily growth over a trailing window
  (default 7 d, which absorbs weekday/weekend swings) with the busiest day left out (one-off
  spikes), or while history is shorter than the window, the same since the period began;
- the *fast* pace (the last hour) catches runaway loops: when it would exhaust the budget
  within `exhaustion_within`, that alone is reason to warn.
Below a minimum-data gate (elapsed time, readings, spend) the answer is "insufficient data",
which is shown but never alerts.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from watchdog.measure import Measurement, growth_to, in_utc, increase, sample_at
from watchdog.model import Sample
from watchdog.money import ZERO, fmt_money
from watchdog.records import record
from watchdog.rules import Forecast
from watchdog.windows import Period, window_name

FAST_WINDOW = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


@record
class Pace:
    """Spend over a stretch of time, and how it was measured."""

    amount: Decimal
    span: timedelta
    method: str

    @property
    def per_hour(self) -> Decimal:
        return self.over(timedelta(hours=1))

    def over(self, duration: timedelta) -> Decimal:
        """Spend at this pace over `duration` (multiplied before dividing: exact where it can)."""
        seconds = Decimal(self.span.total_seconds())
        if seconds <= 0:
            return ZERO
        return self.amount * Decimal(duration.total_seconds()) / seconds


@record
class Projection:
    """A forecast for one budget in one period."""

    ok: bool
    """False: not enough data; `reason` says what is missing."""
    reason: str = ""
    projected: Decimal | None = None
    """Spend expected at the end of the period at the steady pace."""
    steady: Pace | None = None
    fast: Pace | None = None
    exhausts_at: datetime | None = None
    """When spend reaches the budget at the fast pace (else the steady one), if in this period."""
    runaway: bool = False
    """The fast pace exhausts the budget within the configured horizon."""

    def describe(self) -> str:
        if not self.ok:
            return f"insufficient data ({self.reason})"
        assert self.projected is not None
        assert self.steady is not None
        return f"{fmt_money(self.projected)} by period end ({self.steady.method})"


def project(
    measurement: Measurement,
    period: Period,
    now: datetime,
    settings: Forecast,
    *,
    budget: Decimal | None,
    history: Sequence[Sample] = (),
    rates: Mapping[str, Decimal] | None = None,
    current: Decimal | None = None,
) -> Projection:
    """Project `measurement` to the end of `period`; `current` is the counter now.

    The runaway check (the last hour's pace) needs no gate: it is answered whenever an hour
    of readings exists, even when the period-end projection still says "insufficient data".
    """
    end = period.utc_end
    if end is None:
        return Projection(ok=False, reason="the budget never resets, so it has no period end")
    counter = measurement.spend if current is None else current
    fast = _fast(now, history, counter, rates or {})
    exhausts_at, runaway = (None, False)
    if fast is not None:
        exhausts_at, runaway = _exhaustion(measurement.spend, budget, fast, now, period, settings)
    warm = _baseline(history, now - settings.window) is not None or window_name(
        settings.window
    ) in (rates or {})
    gate = _gate(measurement, period, now, settings, history, warm=warm)
    steady = None if gate else _steady(measurement, now, settings, history, counter, rates or {})
    if steady is None:
        reason = gate or f"history covers less than the {_human(settings.window)} window"
        return Projection(
            ok=False, reason=reason, fast=fast, exhausts_at=exhausts_at, runaway=runaway
        )
    projected = measurement.spend + steady.over(max(end - now, timedelta(0)))
    if fast is None:
        exhausts_at, _ = _exhaustion(measurement.spend, budget, steady, now, period, settings)
    return Projection(
        ok=True,
        projected=projected,
        steady=steady,
        fast=fast,
        exhausts_at=exhausts_at,
        runaway=runaway,
    )


def default_min_elapsed(length: timedelta) -> timedelta:
    """10% of the period; on periods of two weeks or more, a week (weekday/weekend swings)."""
    return max(length / 10, WEEK) if length >= 2 * WEEK else length / 10


def _gate(
    measurement: Measurement,
    period: Period,
    now: datetime,
    settings: Forecast,
    history: Sequence[Sample],
    *,
    warm: bool,
) -> str:
    """Why the period-end projection cannot be trusted yet ("" when it can).

    With readings that cover the trailing window (a daemon that ran last period too) the pace
    is known from the period's first hour; otherwise the period's own data must be long
    enough and plentiful enough.
    """
    if measurement.spend < settings.min_spend:
        return (
            f"spend {fmt_money(measurement.spend)} is under the minimum "
            f"{fmt_money(settings.min_spend)}"
        )
    if warm:
        return ""
    length = period.length()
    assert length is not None
    needed = (
        settings.min_elapsed if settings.min_elapsed is not None else default_min_elapsed(length)
    )
    elapsed = now - measurement.since
    if elapsed < needed:
        return f"{_human(elapsed)} of data in this period, needs {_human(needed)}"
    # readings taken since the counting began, plus the one in hand
    since = bisect_left(history, in_utc(measurement.since), key=sample_at)
    readings = 1 + bisect_left(history, in_utc(now), key=sample_at) - since
    if readings < settings.min_samples:
        plural = "reading" if readings == 1 else "readings"
        return f"{readings} spend {plural} this period, needs {settings.min_samples}"
    return ""


def _steady(
    measurement: Measurement,
    now: datetime,
    settings: Forecast,
    history: Sequence[Sample],
    counter: Decimal,
    rates: Mapping[str, Decimal],
) -> Pace | None:
    since = measurement.since
    run = Pace(
        measurement.spend,
        now - since,
        "average pace since " + ("the period start" if measurement.complete else "first seen"),
    )
    if settings.method == "run_rate":
        return run
    covered = _baseline(history, now - settings.window) is not None
    if covered:
        typical = _typical(
            history,
            counter,
            now,
            now - settings.window,
            f"over the last {window_name(settings.window)}",
        )
        if typical is not None:
            return typical
        return _trailing(history, counter, now, settings.window, rates)
    key = window_name(settings.window)
    if key in rates:
        return Pace(
            rates[key],
            settings.window,
            f"pace over the last {key} (Prometheus)",
        )
    if settings.method == "trailing":
        return None
    since_text = "since the period start" if measurement.complete else "since first seen"
    return _typical(history, counter, now, since, since_text) or run


def _typical(
    history: Sequence[Sample], counter: Decimal, now: datetime, start: datetime, span_text: str
) -> Pace | None:
    """Mean daily growth from `start`, leaving out the busiest day (one-off spikes).

    Needs three whole days; the busiest day is dropped so a single batch job does not set the
    pace for the rest of the period, while a sustained rise still moves the mean.
    """
    days = int((now - start) / DAY)
    if days < 3:
        return None
    growths = _daily_growth(history, counter, now, days)
    if growths is None:
        return None
    kept = sorted(growths)[:-1]
    return Pace(
        sum(kept, ZERO), len(kept) * DAY, f"typical daily pace {span_text} (busiest day left out)"
    )


def _daily_growth(
    history: Sequence[Sample], counter: Decimal, now: datetime, days: int
) -> list[Decimal] | None:
    """Growth in each of the `days` whole days before `now` (newest first), the counter now
    closing the last one; None without a reading at or before the first day's start.

    One walk over the readings: each day starts from the last reading before it, so an
    increase belongs to the day of the reading that ends it.
    """
    bounds = _day_bounds(in_utc(now), days)  # bounds[i] ends day i (0: newest)
    first = bisect_right(history, bounds[days], key=sample_at)
    if not first:
        return None
    growths = [ZERO] * days
    previous = history[first - 1].spend
    day = days - 1
    for sample in history[first : bisect_right(history, bounds[0], key=sample_at)]:
        while sample.at > bounds[day]:
            day -= 1
        growths[day] += increase(previous, sample.spend)
        previous = sample.spend
    growths[0] += increase(previous, counter)
    return growths


@lru_cache(maxsize=16)
def _day_bounds(now: datetime, days: int) -> tuple[datetime, ...]:
    """`now` and the `days` instants a day apart before it (the same for every forecast of a
    cycle)."""
    return tuple(now - i * DAY for i in range(days + 1))


def _value_at(history: Sequence[Sample], at: datetime) -> Sample | None:
    """The last reading at or before `at` (history is oldest first)."""
    index = bisect_right(history, in_utc(at), key=sample_at)
    return history[index - 1] if index else None


def _between(history: Sequence[Sample], start: datetime, end: datetime) -> Sequence[Sample]:
    """Readings in (start, end]."""
    first, last = (
        bisect_right(history, in_utc(start), key=sample_at),
        bisect_right(history, in_utc(end), key=sample_at),
    )
    return history[first:last]


def _fast(
    now: datetime, history: Sequence[Sample], counter: Decimal, rates: Mapping[str, Decimal]
) -> Pace | None:
    return _trailing(history, counter, now, FAST_WINDOW, rates, label="last hour's pace")


def _baseline(history: Sequence[Sample], start: datetime) -> Sample | None:
    return _value_at(history, start)


def _trailing(
    history: Sequence[Sample],
    counter: Decimal,
    now: datetime,
    window: timedelta,
    rates: Mapping[str, Decimal],
    *,
    label: str | None = None,
) -> Pace | None:
    """Pace over `window` from samples (needs a reading at or before its start) or Prometheus."""
    text = label or f"pace over the last {window_name(window)}"
    key = window_name(window)
    if key in rates:
        return Pace(rates[key], window, f"{text} (Prometheus)")
    baseline = _value_at(history, now - window)
    if baseline is None:
        return None
    total = _growth_since(baseline, history, counter, now)
    return Pace(total, now - baseline.at, text)


def _growth_since(
    baseline: Sample, history: Sequence[Sample], counter: Decimal, now: datetime
) -> Decimal:
    readings = _between(history, baseline.at, now)
    return growth_to(baseline.spend, readings, counter)


def _exhaustion(
    spend: Decimal,
    budget: Decimal | None,
    pace: Pace,
    now: datetime,
    period: Period,
    settings: Forecast,
) -> tuple[datetime | None, bool]:
    """When `pace` uses up the budget within this period, and whether that is "runaway"
    (sooner than `exhaustion_within`; meant for the fast pace)."""
    if budget is None or pace.amount <= 0 or spend >= budget:
        return None, False
    seconds = (budget - spend) * Decimal(pace.span.total_seconds()) / pace.amount
    at = now + timedelta(seconds=float(seconds))
    if period.utc_end is not None and at >= period.utc_end:
        return None, False
    horizon = settings.exhaustion_within
    return at, horizon is not None and at - now <= horizon


def _human(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    if seconds >= 86400:
        return f"{seconds / 86400:.1f}d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds // 60}m"
