"""Invariants of every kind of period in awkward zones, checked with Hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.periods import as_utc, period
from watchdog.windows import next_period, parse_period

# Properties ---------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Stockholm",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Havana",
    "Asia/Beirut",
    "America/Santiago",
    "America/St_Johns",
    "Pacific/Apia",
    "Antarctica/Troll",
]
SPECS = [
    "daily",
    "weekly",
    "monthly",
    "quarterly",
    "yearly",
    "1d",
    "30d",
    "2w",
    "12h",
    "90m",
    "45s",
    "0 0 1 * *",
    "0 9 * * 1",
    "30 2 * * *",
    "*/20 1-3 * * *",
    "0 0 29 2 *",
]
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2040, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
examples = settings(max_examples=150, deadline=None)


@examples
@given(now=instants, zone=st.sampled_from(ZONES), text=st.sampled_from(SPECS))
def test_the_period_contains_now(now: datetime, zone: str, text: str) -> None:
    """For every kind of period in every zone: start <= now < end, and the length is positive."""
    p = period(text, zone, now)
    assert p.end is not None
    assert p.start <= now < p.end
    length = p.length()
    assert length is not None
    assert length > timedelta(0)


@examples
@given(now=instants, zone=st.sampled_from(ZONES), text=st.sampled_from(SPECS))
def test_consecutive_periods_tile(now: datetime, zone: str, text: str) -> None:
    """The period at `end` starts exactly at `end`, and the one before `start` ends at it."""
    spec = parse_period(text)
    p = period(text, zone, now)
    assert p.end is not None
    after = period(text, zone, p.end)
    assert as_utc(after.start) == as_utc(p.end)
    assert next_period(p, spec).key == after.key
    before = period(text, zone, as_utc(p.start) - timedelta(microseconds=1))
    assert before.end is not None
    assert as_utc(before.end) == as_utc(p.start)


@examples
@given(
    now=instants,
    zone=st.sampled_from(ZONES),
    text=st.sampled_from(SPECS),
    share=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_the_key_is_the_same_anywhere_inside(
    now: datetime, zone: str, text: str, share: float
) -> None:
    """Any instant inside a period, its start included, finds the same period and key."""
    p = period(text, zone, now)
    assert p.end is not None
    length = p.length()
    assert length is not None
    inside = min(as_utc(p.start) + length * share, as_utc(p.end) - timedelta(microseconds=1))
    for at in (inside, p.start):
        q = period(text, zone, at)
        assert q.end is not None
        assert (q.key, as_utc(q.start), as_utc(q.end)) == (p.key, as_utc(p.start), as_utc(p.end))


@examples
@given(
    now=instants,
    zone=st.sampled_from(ZONES),
    days=st.integers(min_value=1, max_value=60),
    anchor=st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001
        max_value=datetime(2040, 12, 31),  # noqa: DTZ001
    ),
)
def test_day_periods_from_any_anchor(now: datetime, zone: str, days: int, anchor: datetime) -> None:
    """Periods of whole days from any anchor contain now and tile."""
    p = period(f"{days}d", zone, now, anchor)
    assert p.end is not None
    assert p.start <= now < p.end
    assert as_utc(period(f"{days}d", zone, p.end, anchor).start) == as_utc(p.end)
