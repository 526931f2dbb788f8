"""Reading periods, durations and zones; the Period value itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.core.periods import period, utc
from watchdog.windows import (
    Period,
    PeriodError,
    current_period,
    next_period,
    parse_duration,
    parse_period,
    parse_zone,
)

# Parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("montly", r"unknown period 'montly' \(did you mean 'monthly'\?\)", id="typo"),
        pytest.param("Monthly", r"did you mean 'monthly'", id="capitalised"),
        pytest.param("0d", r"longer than zero", id="a zero-length period"),
        pytest.param("0 0 32 * *", r"invalid cron expression '0 0 32 \* \*'", id="day 32"),
        pytest.param("0 0 30 2 *", r"never occurs", id="February 30"),
        pytest.param("0 0 0 1 * *", r"unknown period .*a cron expression", id="six fields"),
        pytest.param("@monthly", r"unknown period", id="cron nicknames"),
        pytest.param("3 days", r"unknown period", id="words"),
    ],
)
def test_bad_periods_say_what_is_accepted(text: str, message: str) -> None:
    """A period that cannot be read names what can."""
    with pytest.raises(PeriodError, match=message):
        parse_period(text)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        pytest.param("90s", timedelta(seconds=90), id="seconds"),
        pytest.param("30m", timedelta(minutes=30), id="minutes"),
        pytest.param(" 12h ", timedelta(hours=12), id="hours with spaces"),
        pytest.param("3d", timedelta(days=3), id="days"),
        pytest.param("2w", timedelta(weeks=2), id="weeks"),
    ],
)
def test_durations(text: str, length: timedelta) -> None:
    """Durations are a whole number and one unit."""
    assert parse_duration(text) == length


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("3 days", id="words"),
        pytest.param("0h", id="zero"),
        pytest.param("1.5h", id="fractions"),
        pytest.param("1h30m", id="two units"),
        pytest.param("", id="nothing"),
    ],
)
def test_bad_durations(text: str) -> None:
    """A duration that cannot be read shows examples of good ones."""
    with pytest.raises(PeriodError, match="30m, 12h, 3d or 2w"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        pytest.param("Europe/Stokholm", "did you mean 'Europe/Stockholm'?", id="typo"),
        pytest.param("Stockholm", "did you mean 'Europe/Stockholm'?", id="city only"),
        pytest.param("Mars/Olympus", "IANA name", id="no such zone"),
        pytest.param("../../etc/passwd", "IANA name", id="a path is not a zone"),
    ],
)
def test_unknown_zones(name: str, hint: str) -> None:
    """An unknown time zone suggests the closest IANA name."""
    with pytest.raises(PeriodError, match="unknown time zone") as caught:
        parse_zone(name)
    assert hint in str(caught.value)


def test_naive_times_are_refused() -> None:
    """A datetime without a time zone is a programming error, caught early."""
    with pytest.raises(PeriodError, match="time zone"):
        period("daily", "UTC", datetime(2026, 1, 1))  # noqa: DTZ001


def test_litellm_periods_need_the_entity() -> None:
    """current_period cannot place a LiteLLM cycle without the entity's reset time."""
    with pytest.raises(PeriodError, match="litellm_period"):
        period("litellm", "UTC", utc(2026, 1, 1))


# The Period value ---------------------------------------------------------------------------


def test_period_key_length_and_elapsed_use_real_time() -> None:
    """The key is the UTC start; length and elapsed count real hours, even on a DST day."""
    p = period("daily", "Europe/Stockholm", utc(2026, 3, 29, 12))
    assert p.key == "2026-03-28T23:00:00Z"
    assert p.length() == timedelta(hours=23)
    assert p.elapsed(utc(2026, 3, 29, 10)) == timedelta(hours=11)
    assert p.elapsed(p.start.replace(hour=12)) == timedelta(hours=11)
    assert p.elapsed(utc(2026, 3, 28)) == timedelta(0)
    assert p.fraction_elapsed(utc(2026, 3, 29, 10)) == pytest.approx(11 / 23)
    assert p.fraction_elapsed(utc(2026, 4, 2)) == 1.0


def test_a_named_period_keeps_its_key() -> None:
    """A period built with an explicit name uses it as its key."""
    named = Period(start=utc(2026, 1, 1), end=None, tz=UTC, name="incidents")
    assert named.key == "incidents"


def test_next_period_starts_where_the_last_ended() -> None:
    """The next period of a cron schedule starts at the end of the current one."""
    spec = parse_period("0 9 * * 1")
    p = current_period(spec, ZoneInfo("America/New_York"), utc(2026, 3, 4))
    nxt = next_period(p, spec)
    assert nxt.start == p.end
    assert nxt.start.isoformat() == "2026-03-09T09:00:00-04:00"
