"""The one-pass walks over spend history agree with counting each day or period on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from watchdog.forecast import DAY, _daily_growth
from watchdog.measure import Basis, _delta, growth
from watchdog.model import Sample
from watchdog.windows import Period

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

# Readings on whole hours (so some fall exactly on a day's boundary) or at odd minutes, up to
# ten days back and a little past now; spend that mostly rises and sometimes drops (a reset).
offsets = st.one_of(
    st.integers(min_value=-240, max_value=2).map(lambda h: h * HOUR),
    st.integers(min_value=-14400, max_value=60).map(lambda m: m * timedelta(minutes=1)),
)
spends = st.decimals(min_value=0, max_value=500, places=2)
histories = st.lists(st.tuples(offsets, spends), max_size=40).map(
    lambda rows: tuple(Sample(NOW + o, s) for o, s in sorted(dict(rows).items()))
)


def _day_by_day(history: tuple[Sample, ...], counter: Decimal, days: int) -> list[Decimal] | None:
    """Each day's growth worked out alone: its baseline, its readings, the counter last."""
    out = []
    for i in range(days):
        start, end = NOW - (i + 1) * DAY, NOW - i * DAY
        before = [s for s in history if s.at <= start]
        if not before:
            return None
        readings = [s for s in history if start < s.at <= end]
        if i == 0:
            readings.append(Sample(NOW, counter))
        out.append(growth(before[-1].spend, readings))
    return out


@settings(max_examples=300, deadline=None)
@given(histories, spends, st.integers(min_value=3, max_value=9))
def test_daily_growth_matches_each_day_counted_alone(
    history: tuple[Sample, ...], counter: Decimal, days: int
) -> None:
    assert _daily_growth(history, counter, NOW, days) == _day_by_day(history, counter, days)


@settings(max_examples=300, deadline=None)
@given(histories, spends, st.integers(min_value=-200, max_value=0))
def test_period_delta_matches_a_scan_of_every_reading(
    history: tuple[Sample, ...], counter: Decimal, start_hours: int
) -> None:
    """Spend in a period from readings: the baseline is the last reading at or before its start
    (here in a zone other than the readings'), the rest are those up to now."""
    zone = ZoneInfo("America/New_York")
    start = (NOW + start_hours * HOUR).astimezone(zone)
    period = Period(start, start + 30 * DAY, zone)
    found = _delta(history, period, counter, NOW)
    before = [s for s in history if s.at <= start]
    inside = [s for s in history if start < s.at <= NOW]
    if not before and not inside:
        assert found is None
        return
    assert found is not None
    if before:
        assert (found.basis, found.since) == (Basis.DELTA, start)
        assert found.spend == growth(before[-1].spend, [*inside, Sample(NOW, counter)])
    else:
        assert (found.basis, found.since) == (Basis.PARTIAL, inside[0].at)
        assert found.spend == growth(inside[0].spend, [*inside[1:], Sample(NOW, counter)])
