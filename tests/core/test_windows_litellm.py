"""Periods that follow LiteLLM's own budget cycle (budget_reset_at, budget_duration)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.core.periods import utc
from watchdog.windows import PeriodError, PeriodSpec, litellm_duration, litellm_period, next_period

# LiteLLM's own cycle ------------------------------------------------------------------------

RESET = utc(2026, 12, 1)


# fmt: off
LITELLM = [
    pytest.param(
        RESET, "30d", utc(2026, 11, 18), utc(2026, 11, 1), RESET,
        id="a 30-day cycle ends at budget_reset_at",
    ),
    pytest.param(
        RESET, "1mo", utc(2026, 11, 18), utc(2026, 11, 1), RESET,
        id="1mo is counted as 30 days",
    ),
    pytest.param(
        RESET, "30d", utc(2026, 12, 1, 0, 7), utc(2026, 11, 1), RESET,
        id="reset_at in the past: LiteLLM has not reset yet, still the same period",
    ),
    pytest.param(
        RESET, "1d", utc(2026, 11, 18), utc(2026, 11, 18), RESET,
        id="a reset far ahead of its duration never starts in the future",
    ),
    pytest.param(
        RESET, None, utc(2026, 11, 18), datetime(1970, 1, 1, tzinfo=UTC), None,
        id="no budget_duration: a lifetime budget",
    ),
    pytest.param(
        None, "30d", utc(2026, 11, 18), datetime(1970, 1, 1, tzinfo=UTC), None,
        id="no reset time: a lifetime budget",
    ),
    pytest.param(
        RESET, "soon", utc(2026, 11, 18), datetime(1970, 1, 1, tzinfo=UTC), None,
        id="an unreadable duration: a lifetime budget",
    ),
]
# fmt: on


@pytest.mark.parametrize(("reset_at", "duration", "now", "start", "end"), LITELLM)
def test_litellm_periods(
    reset_at: datetime | None,
    duration: str | None,
    now: datetime,
    start: datetime,
    end: datetime | None,
) -> None:
    """The entity's LiteLLM cycle ends at budget_reset_at; without one it never resets."""
    p = litellm_period(reset_at, duration, now)
    assert (p.start, p.end) == (start, end)
    if end is None:
        assert p.key == "lifetime"
        assert p.length() is None
        assert p.fraction_elapsed(now) is None
        with pytest.raises(PeriodError, match="no next period"):
            next_period(p, PeriodSpec("litellm", "litellm"))


@pytest.mark.parametrize(
    ("text", "length"),
    [
        pytest.param("60s", timedelta(seconds=60), id="seconds"),
        pytest.param("1m", timedelta(minutes=1), id="m is minutes, as in LiteLLM"),
        pytest.param("24h", timedelta(hours=24), id="hours"),
        pytest.param("30d", timedelta(days=30), id="days"),
        pytest.param("2w", timedelta(weeks=2), id="weeks"),
        pytest.param("1mo", timedelta(days=30), id="a month is 30 days"),
        pytest.param(None, None, id="absent"),
        pytest.param("", None, id="empty"),
        pytest.param("monthly", None, id="not a LiteLLM duration"),
    ],
)
def test_litellm_durations(text: str | None, length: timedelta | None) -> None:
    """LiteLLM's budget_duration strings are read as LiteLLM reads them."""
    assert litellm_duration(text) == length
