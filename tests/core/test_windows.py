"""Budget periods: calendar units, fixed durations and cron, across DST and month ends."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.core.periods import hours, period, utc
from watchdog.windows import Period, same_point

# Calendar periods ---------------------------------------------------------------------------

# fmt: off
CALENDAR = [
    pytest.param(
        "monthly", "Europe/Stockholm", utc(2026, 11, 18, 12),
        "2026-11-01T00:00:00+01:00", "2026-12-01T00:00:00+01:00", 720,
        id="November in Stockholm",
    ),
    pytest.param(
        "monthly", "Asia/Kolkata", utc(2026, 1, 31, 20),
        "2026-02-01T00:00:00+05:30", "2026-03-01T00:00:00+05:30", 672,
        id="Jan 31 20:00 UTC is already February in Kolkata (+05:30)",
    ),
    pytest.param(
        "monthly", "UTC", utc(2026, 1, 31, 23, 59),
        "2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00", 744,
        id="Jan 31 23:59 UTC is still January in UTC",
    ),
    pytest.param(
        "monthly", "Asia/Kolkata", utc(2028, 2, 29, 12),
        "2028-02-01T00:00:00+05:30", "2028-03-01T00:00:00+05:30", 696,
        id="leap day 2028: February has 29 days",
    ),
    pytest.param(
        "monthly", "America/New_York", utc(2027, 2, 28, 12),
        "2027-02-01T00:00:00-05:00", "2027-03-01T00:00:00-05:00", 672,
        id="February 2027 has 28 days",
    ),
    pytest.param(
        "daily", "Europe/Stockholm", utc(2026, 3, 29, 12),
        "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23,
        id="the spring-forward day in Stockholm is 23 hours",
    ),
    pytest.param(
        "daily", "Europe/Stockholm", utc(2026, 10, 25, 12),
        "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 25,
        id="the fall-back day in Stockholm is 25 hours",
    ),
    pytest.param(
        "daily", "America/New_York", utc(2026, 3, 8, 12),
        "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", 23,
        id="the spring-forward day in New York is 23 hours",
    ),
    pytest.param(
        "daily", "America/New_York", utc(2026, 11, 1, 12),
        "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 25,
        id="the fall-back day in New York is 25 hours",
    ),
    pytest.param(
        "daily", "Asia/Kolkata", utc(2026, 6, 1, 20),
        "2026-06-02T00:00:00+05:30", "2026-06-03T00:00:00+05:30", 24,
        id="20:00 UTC is the next day in Kolkata",
    ),
    pytest.param(
        "daily", "Australia/Lord_Howe", utc(2026, 4, 5, 3),
        "2026-04-05T00:00:00+11:00", "2026-04-06T00:00:00+10:30", 24.5,
        id="Lord Howe's half-hour DST ends: a 24.5-hour day",
    ),
    pytest.param(
        "daily", "Australia/Lord_Howe", utc(2026, 10, 4, 3),
        "2026-10-04T00:00:00+10:30", "2026-10-05T00:00:00+11:00", 23.5,
        id="Lord Howe's half-hour DST starts: a 23.5-hour day",
    ),
    pytest.param(
        "daily", "Pacific/Chatham", utc(2026, 9, 27, 3),
        "2026-09-27T00:00:00+12:45", "2026-09-28T00:00:00+13:45", 23,
        id="Chatham (+12:45) springs forward",
    ),
    pytest.param(
        "daily", "Pacific/Chatham", utc(2026, 4, 5, 3),
        "2026-04-05T00:00:00+13:45", "2026-04-06T00:00:00+12:45", 25,
        id="Chatham falls back",
    ),
    pytest.param(
        "daily", "America/Havana", utc(2026, 3, 8, 12),
        "2026-03-08T01:00:00-04:00", "2026-03-09T00:00:00-04:00", 23,
        id="Havana skips midnight: the day starts at 01:00",
    ),
    pytest.param(
        "daily", "America/Havana", utc(2026, 3, 8, 4, 30),
        "2026-03-07T00:00:00-05:00", "2026-03-08T01:00:00-04:00", 24,
        id="Havana: the day before the skipped midnight ends at 01:00",
    ),
    pytest.param(
        "daily", "America/Havana", utc(2026, 11, 1, 4, 30),
        "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 25,
        id="Havana has midnight twice: the day starts at the first",
    ),
    pytest.param(
        "daily", "America/Havana", utc(2026, 11, 1, 5, 30),
        "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 25,
        id="Havana: during the second midnight hour it is the same day",
    ),
    pytest.param(
        "daily", "Asia/Beirut", utc(2026, 3, 29, 12),
        "2026-03-29T01:00:00+03:00", "2026-03-30T00:00:00+03:00", 23,
        id="Beirut skips midnight in spring",
    ),
    pytest.param(
        "daily", "Asia/Beirut", utc(2026, 10, 24, 12),
        "2026-10-24T00:00:00+03:00", "2026-10-25T00:00:00+02:00", 25,
        id="Beirut repeats the last hour before midnight in autumn",
    ),
    pytest.param(
        "daily", "America/Santiago", utc(2026, 9, 6, 12),
        "2026-09-06T01:00:00-03:00", "2026-09-07T00:00:00-03:00", 23,
        id="Santiago skips midnight in September",
    ),
    pytest.param(
        "weekly", "Europe/Stockholm", utc(2026, 3, 29, 12),
        "2026-03-23T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 167,
        id="a week with the spring-forward Sunday, Monday to Monday",
    ),
    pytest.param(
        "weekly", "America/New_York", utc(2026, 11, 4, 12),
        "2026-11-02T00:00:00-05:00", "2026-11-09T00:00:00-05:00", 168,
        id="a Wednesday's week starts on Monday",
    ),
    pytest.param(
        "quarterly", "America/New_York", utc(2026, 3, 31, 12),
        "2026-01-01T00:00:00-05:00", "2026-04-01T00:00:00-04:00", 2159,
        id="Q1 loses the spring hour",
    ),
    pytest.param(
        "quarterly", "Europe/Stockholm", utc(2026, 12, 31, 23, 30),
        "2027-01-01T00:00:00+01:00", "2027-04-01T00:00:00+02:00", 2159,
        id="New Year's Eve 23:30 UTC is already Q1 in Stockholm",
    ),
    pytest.param(
        "yearly", "Pacific/Chatham", utc(2026, 12, 31, 12),
        "2027-01-01T00:00:00+13:45", "2028-01-01T00:00:00+13:45", 8760,
        id="Chatham greets the new year first",
    ),
    pytest.param(
        "yearly", "UTC", utc(2028, 6, 1),
        "2028-01-01T00:00:00+00:00", "2029-01-01T00:00:00+00:00", 8784,
        id="a leap year has 366 days",
    ),
]
# fmt: on


@pytest.mark.parametrize(("text", "zone", "now", "start", "end", "length"), CALENDAR)
def test_calendar_periods(
    text: str, zone: str, now: datetime, start: str, end: str, length: float
) -> None:
    """Calendar periods start at local midnight (or the first instant after a skipped one)."""
    p = period(text, zone, now)
    assert p.start.isoformat() == start
    assert p.end is not None
    assert p.end.isoformat() == end
    assert hours(p) == length
    assert p.contains(now)


# Fixed durations ----------------------------------------------------------------------------

# fmt: off
FIXED = [
    pytest.param(
        "30d", "Europe/Stockholm", utc(2026, 3, 29, 12), None,
        "2026-03-17T00:00:00+01:00", "2026-04-16T00:00:00+02:00", 719,
        id="30 days keep local midnight across the spring change",
    ),
    pytest.param(
        "1d", "Europe/Stockholm", utc(2026, 3, 29, 12), None,
        "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23,
        id="1d on the spring day is the local day, 23 hours",
    ),
    pytest.param(
        "2w", "America/New_York", utc(2026, 3, 10, 12), None,
        "2026-03-09T00:00:00-04:00", "2026-03-23T00:00:00-04:00", 336,
        id="two weeks from a Monday",
    ),
    pytest.param(
        "30d", "Europe/Stockholm", utc(2026, 3, 29, 12), datetime(2026, 1, 5, 9),  # noqa: DTZ001
        "2026-03-06T09:00:00+01:00", "2026-04-05T09:00:00+02:00", 719,
        id="an anchor at 09:00 local keeps 09:00 across DST",
    ),
    pytest.param(
        "7d", "America/New_York", utc(2026, 3, 10, 12), utc(2026, 3, 2, 14),
        "2026-03-09T09:00:00-04:00", "2026-03-16T09:00:00-04:00", 168,
        id="an aware anchor (09:00 EST) stays at 09:00 local after DST",
    ),
    pytest.param(
        "12h", "Europe/Stockholm", utc(2026, 1, 10, 12), None,
        "2026-01-10T12:00:00+01:00", "2026-01-11T00:00:00+01:00", 12,
        id="12h in winter: noon to midnight",
    ),
    pytest.param(
        "12h", "Europe/Stockholm", utc(2026, 7, 10, 12), None,
        "2026-07-10T13:00:00+02:00", "2026-07-11T01:00:00+02:00", 12,
        id="12h are real hours: in summer the boundaries read 13:00 and 01:00",
    ),
    pytest.param(
        "12h", "Europe/Stockholm", utc(2026, 3, 30, 10, 30), None,
        "2026-03-30T01:00:00+02:00", "2026-03-30T13:00:00+02:00", 12,
        id="12h the day after spring forward still contain now",
    ),
    pytest.param(
        "90m", "Asia/Kolkata", utc(2026, 3, 10, 12), None,
        "2026-03-10T16:30:00+05:30", "2026-03-10T18:00:00+05:30", 1.5,
        id="90 minutes in a half-hour zone",
    ),
]
# fmt: on


@pytest.mark.parametrize(("text", "zone", "now", "anchor", "start", "end", "length"), FIXED)
def test_fixed_durations(
    text: str,
    zone: str,
    now: datetime,
    anchor: datetime | None,
    start: str,
    end: str,
    length: float,
) -> None:
    """Days and weeks keep the anchor's wall-clock time; hours and minutes are real time."""
    p = period(text, zone, now, anchor)
    assert p.start.isoformat() == start
    assert p.end is not None
    assert p.end.isoformat() == end
    assert hours(p) == length
    assert p.contains(now)


# Cron ---------------------------------------------------------------------------------------

# fmt: off
CRON = [
    pytest.param(
        "0 0 1 * *", "Europe/Stockholm", utc(2026, 3, 10, 12),
        "2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00", 743,
        id="the first of the month, March loses an hour",
    ),
    pytest.param(
        "0 0 1 * *", "Europe/Stockholm", utc(2026, 2, 28, 23),
        "2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00", 743,
        id="a boundary exactly at now starts the new period",
    ),
    pytest.param(
        "0 9 * * 1", "America/New_York", utc(2026, 3, 10, 12),
        "2026-03-09T09:00:00-04:00", "2026-03-16T09:00:00-04:00", 168,
        id="Mondays 09:00 after the change",
    ),
    pytest.param(
        "0 9 * * 1", "America/New_York", utc(2026, 3, 9, 12, 59),
        "2026-03-02T09:00:00-05:00", "2026-03-09T09:00:00-04:00", 167,
        id="Mondays 09:00 across the change: 167 hours",
    ),
    pytest.param(
        "30 2 * * *", "Europe/Stockholm", utc(2026, 3, 28, 12),
        "2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", 23.5,
        id="02:30 does not exist on the spring day: the boundary is 03:00",
    ),
    pytest.param(
        "30 2 * * *", "Europe/Stockholm", utc(2026, 3, 29, 12),
        "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00", 23.5,
        id="the period after the skipped 02:30",
    ),
    pytest.param(
        "30 2 * * *", "Europe/Stockholm", utc(2026, 10, 25, 0, 20),
        "2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", 24,
        id="02:30 happens twice on the autumn day: the first one ends the day before",
    ),
    pytest.param(
        "30 2 * * *", "Europe/Stockholm", utc(2026, 10, 25, 0, 40),
        "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", 25,
        id="after the first 02:30: one period of 25 hours",
    ),
    pytest.param(
        "30 2 * * *", "Europe/Stockholm", utc(2026, 10, 25, 1, 10),
        "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", 25,
        id="02:10 the second time: still the period that began at the first 02:30",
    ),
    pytest.param(
        "30 2 * * *", "Europe/Stockholm", utc(2026, 10, 25, 1, 40),
        "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", 25,
        id="the second 02:30 is not a new boundary",
    ),
    pytest.param(
        "0 0 * * *", "America/Havana", utc(2026, 3, 8, 12),
        "2026-03-08T01:00:00-04:00", "2026-03-09T00:00:00-04:00", 23,
        id="cron midnight in Havana on the day without one",
    ),
]
# fmt: on


@pytest.mark.parametrize(("text", "zone", "now", "start", "end", "length"), CRON)
def test_cron_periods(
    text: str, zone: str, now: datetime, start: str, end: str, length: float
) -> None:
    """Cron boundaries are local wall times: one per wall time, the first of a repeated one."""
    p = period(text, zone, now)
    assert p.start.isoformat() == start
    assert p.end is not None
    assert p.end.isoformat() == end
    assert hours(p) == length
    assert p.contains(now)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(
            datetime(2026, 11, 28, 13, 0, tzinfo=UTC),  # 14:00 CET
            datetime(2026, 10, 28, 13, 0, tzinfo=UTC),  # 14:00 CET: summer time ended on the 25th
            id="summer time ended in the previous month",
        ),
        pytest.param(
            datetime(2026, 11, 18, 13, 0, tzinfo=UTC),  # 14:00 CET
            datetime(2026, 10, 18, 12, 0, tzinfo=UTC),  # 14:00 CEST
            id="before the change",
        ),
    ],
)
def test_the_same_point_last_month_is_the_same_time_on_the_local_clock(
    now: datetime, expected: datetime
) -> None:
    """The same point last month is the same date and time on the local clock, summer or not."""
    zone = ZoneInfo("Europe/Stockholm")
    november = Period(datetime(2026, 11, 1, tzinfo=zone), datetime(2026, 12, 1, tzinfo=zone), zone)
    october = Period(datetime(2026, 10, 1, tzinfo=zone), datetime(2026, 11, 1, tzinfo=zone), zone)
    assert same_point(november, october, now) == expected


def test_the_same_point_in_a_skipped_hour_is_the_first_instant_after_it() -> None:
    """02:30 on the day summer time began never happened: it is read as 03:00 CEST, as period
    boundaries are."""
    zone = ZoneInfo("Europe/Stockholm")
    march = Period(datetime(2026, 3, 1, tzinfo=zone), datetime(2026, 4, 1, tzinfo=zone), zone)
    april = Period(datetime(2026, 4, 1, tzinfo=zone), datetime(2026, 5, 1, tzinfo=zone), zone)
    now = datetime(2026, 4, 29, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert same_point(april, march, now) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
