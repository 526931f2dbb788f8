"""Projected spend: where a budget ends the period at the current pace, and when it runs out. Pure.

Two paces, each explained in the alert:
- the *steady* pace predicts period-end spend: the growth over a trailing window (default 7 d,
  which absorbs weekday/weekend swings and one-off spikes) or, while history is shorter than
  the window, the average since the period began (run rate);
- the *fast* pace (the last hour) catches runaway loops: when it would exhaust the budget
  within `exhaustion_within`, that alone is reason to warn.
Below a minimum-data gate (elapsed time, readings, spend) the answer is "insufficient data",
which is shown but never alerts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from watchdog.measure import Measurement, growth
from watchdog.model import Sample
from watchdog.money import ZERO, fmt_money
from watchdog.rules import Forecast
from watchdog.windows import Period

FAST_WINDOW = timedelta(hours=1)
HOUR = Decimal(3600)


@dataclass(frozen=True, slots=True)
class Pace:
    """USD per hour over a stretch of time, and how it was measured."""

    per_hour: Decimal
    span: timedelta
    method: str


@dataclass(frozen=True, slots=True)
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
    """Project `measurement` to the end of `period`; `current` is the counter now."""
    if period.end is None:
        return Projection(ok=False, reason="the budget never resets, so it has no period end")
    gate = _gate(measurement, period, now, settings, history)
    if gate:
        return Projection(ok=False, reason=gate)
    counter = measurement.spend if current is None else current
    steady = _steady(measurement, now, settings, history, counter, rates or {})
    if steady is None:
        return Projection(
            ok=False, reason=f"history covers less than the {_human(settings.window)} window"
        )
    fast = _fast(now, history, counter, rates or {})
    remaining_hours = Decimal((period.end - now).total_seconds()) / HOUR
    projected = measurement.spend + steady.per_hour * max(remaining_hours, ZERO)
    exhausts_at, runaway = _exhaustion(
        measurement.spend, budget, fast or steady, now, period, settings, fast is not None
    )
    return Projection(
        ok=True,
        projected=projected,
        steady=steady,
        fast=fast,
        exhausts_at=exhausts_at,
        runaway=runaway,
    )


def _gate(
    measurement: Measurement,
    period: Period,
    now: datetime,
    settings: Forecast,
    history: Sequence[Sample],
) -> str:
    length = period.length()
    assert length is not None
    needed = settings.min_elapsed if settings.min_elapsed is not None else length / 10
    elapsed = now - measurement.since
    if elapsed < needed:
        return f"{_human(elapsed)} of data in this period, needs {_human(needed)}"
    readings = 1 + sum(1 for s in history if measurement.since <= s.at < now)
    if readings < settings.min_samples:
        plural = "reading" if readings == 1 else "readings"
        return f"{readings} spend {plural} this period, needs {settings.min_samples}"
    if measurement.spend < settings.min_spend:
        return (
            f"spend {fmt_money(measurement.spend)} is under the minimum "
            f"{fmt_money(settings.min_spend)}"
        )
    return ""


def _steady(
    measurement: Measurement,
    now: datetime,
    settings: Forecast,
    history: Sequence[Sample],
    counter: Decimal,
    rates: Mapping[str, Decimal],
) -> Pace | None:
    run_rate = _per_hour(measurement.spend, now - measurement.since)
    run = Pace(
        run_rate,
        now - measurement.since,
        "average pace since " + ("the period start" if measurement.complete else "first seen"),
    )
    if settings.method == "run_rate":
        return run
    trailing = _trailing(history, counter, now, settings.window, rates)
    if trailing is not None:
        return trailing
    return None if settings.method == "trailing" else run


def _fast(
    now: datetime, history: Sequence[Sample], counter: Decimal, rates: Mapping[str, Decimal]
) -> Pace | None:
    return _trailing(history, counter, now, FAST_WINDOW, rates, label="last hour's pace")


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
    text = label or f"pace over the last {_human(window)}"
    key = _human(window)
    if key in rates:
        return Pace(_per_hour(rates[key], window), window, f"{text} (Prometheus)")
    start = now - window
    baseline: Sample | None = None
    for sample in history:
        if sample.at > start:
            break
        baseline = sample
    if baseline is None:
        return None
    total = _growth_since(baseline, history, counter, now)
    return Pace(_per_hour(total, now - baseline.at), now - baseline.at, text)


def _growth_since(
    baseline: Sample, history: Sequence[Sample], counter: Decimal, now: datetime
) -> Decimal:
    readings = [s for s in history if baseline.at < s.at <= now]
    return growth(baseline.spend, [*readings, Sample(now, counter)])


def _exhaustion(
    spend: Decimal,
    budget: Decimal | None,
    pace: Pace,
    now: datetime,
    period: Period,
    settings: Forecast,
    fast: bool,
) -> tuple[datetime | None, bool]:
    if budget is None or pace.per_hour <= 0 or spend >= budget:
        return None, False
    hours = (budget - spend) / pace.per_hour
    at = now + timedelta(hours=float(hours))
    if period.end is not None and at >= period.end:
        return None, False
    horizon = settings.exhaustion_within
    return at, bool(fast and horizon is not None and at - now <= horizon)


def _per_hour(amount: Decimal, span: timedelta) -> Decimal:
    seconds = Decimal(span.total_seconds())
    if seconds <= 0:
        return ZERO
    return amount / seconds * HOUR


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
