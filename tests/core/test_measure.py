"""Spend inside a rule's period: which counter or history answers, and how much it covers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest

from watchdog.measure import Basis, counter_since, growth, period_spend
from watchdog.model import DailySeries, Entity, Sample, Scope
from watchdog.windows import Period, current_period, parse_period

NOV = Period(start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 12, 1, tzinfo=UTC), tz=UTC)
"""The rule's period: November 2026 in UTC."""
NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def usd(value: str | int) -> Decimal:
    return Decimal(str(value))


def samples(*points: tuple[datetime, str | int]) -> tuple[Sample, ...]:
    return tuple(Sample(when, usd(spend)) for when, spend in points)


@dataclass(frozen=True)
class Story:
    """The entity and what watchdog knows about it."""

    spend: str | int
    created_at: datetime | None = datetime(2026, 6, 1, tzinfo=UTC)
    budget_duration: str | None = None
    budget_reset_at: datetime | None = None
    history: tuple[Sample, ...] = ()
    follows_litellm: bool = False
    watchdog_reset_at: datetime | None = None
    daily: DailySeries | None = None
    period: Period = field(default=NOV)


@dataclass(frozen=True)
class Expect:
    spend: str | int
    basis: Basis
    since: datetime
    complete: bool


def daily(start: date, **days: int) -> DailySeries:
    """Daily totals by "d<day of November>" keyword, e.g. d1=10."""
    return DailySeries(
        start=start,
        days=MappingProxyType({date(2026, 11, int(k[1:])): usd(v) for k, v in days.items()}),
    )


CASES = [
    pytest.param(
        Story(spend=420, follows_litellm=True),
        Expect(420, Basis.LITELLM, NOV.start, complete=True),
        id="the rule follows LiteLLM's cycle: the counter is the period's spend",
    ),
    pytest.param(
        Story(spend=420, budget_duration="30d", budget_reset_at=at(1, month=12)),
        Expect(420, Basis.LITELLM, NOV.start, complete=True),
        id="LiteLLM last reset the counter exactly at the period start",
    ),
    pytest.param(
        Story(spend=420, budget_duration="30d", budget_reset_at=at(1, 0, 10, month=12)),
        Expect(420, Basis.LITELLM, NOV.start, complete=True),
        id="LiteLLM reset ten minutes late: still the whole period",
    ),
    pytest.param(
        Story(spend=420, period=Period(start=at(1), end=None, tz=UTC)),
        Expect(420, Basis.LITELLM, at(1), complete=True),
        id="a lifetime budget is the counter itself",
    ),
    pytest.param(
        Story(spend=75, watchdog_reset_at=at(1, 0, 2)),
        Expect(75, Basis.WATCHDOG_RESET, NOV.start, complete=True),
        id="watchdog reset the spend two minutes into the period",
    ),
    pytest.param(
        Story(spend=30, created_at=at(10)),
        Expect(30, Basis.CREATED, NOV.start, complete=True),
        id="a key created on the 10th has only spent this period",
    ),
    pytest.param(
        Story(spend=180, history=samples((at(31, 23, 55, month=10), 100), (at(10), 150))),
        Expect(80, Basis.DELTA, NOV.start, complete=True),
        id="an old counter: growth since the last sample before the period",
    ),
    pytest.param(
        Story(spend=180, history=samples((at(1), 100), (at(10), 150))),
        Expect(80, Basis.DELTA, NOV.start, complete=True),
        id="a sample exactly at the period start is the baseline",
    ),
    pytest.param(
        Story(
            spend=30,
            history=samples((at(31, 23, month=10), 100), (at(5), 140), (at(8), 10)),
        ),
        Expect(70, Basis.DELTA, NOV.start, complete=True),
        id="the counter was reset inside the period: 40 before, 10 and 20 after",
    ),
    pytest.param(
        Story(
            spend=25,
            history=samples((at(31, 23, month=10), 100), (at(5), 140), (at(8), 0), (at(9), 5)),
        ),
        Expect(65, Basis.DELTA, NOV.start, complete=True),
        id="a reset to zero then new spend: 40 before, 25 after",
    ),
    pytest.param(
        Story(spend=180, history=samples((at(31, month=10), 100), (at(20), 999))),
        Expect(80, Basis.DELTA, NOV.start, complete=True),
        id="samples after now are ignored",
    ),
    pytest.param(
        Story(spend=75, history=samples((at(10), 50), (at(12), 60))),
        Expect(25, Basis.PARTIAL, at(10), complete=False),
        id="first seen on the 10th: growth since then, the start of the month is unknown",
    ),
    pytest.param(
        Story(spend=75),
        Expect(0, Basis.PARTIAL, NOW, complete=False),
        id="nothing known about this period yet: zero from now",
    ),
    pytest.param(
        Story(
            spend=40,
            watchdog_reset_at=at(10),
            history=samples((at(31, month=10), 100), (at(9), 160), (at(10, 0, 5), 0)),
        ),
        Expect(100, Basis.DELTA, NOV.start, complete=True),
        id="a reset in mid-period with history: 60 before the reset, 40 after",
    ),
    pytest.param(
        Story(spend=40, watchdog_reset_at=at(10)),
        Expect(40, Basis.PARTIAL, at(10), complete=False),
        id="a reset in mid-period without history: only what came after is known",
    ),
    pytest.param(
        Story(spend=5, daily=daily(date(2026, 10, 1), d1=10, d2=20, d17=5)),
        Expect(35, Basis.DAILY, NOV.start, complete=True),
        id="daily totals covering the whole period",
    ),
    pytest.param(
        Story(spend=5, daily=daily(date(2026, 11, 5), d5=7, d6=8)),
        Expect(15, Basis.DAILY, at(5), complete=False),
        id="daily totals starting on the 5th: incomplete, counted from the 5th",
    ),
]


@pytest.mark.parametrize(("story", "expect"), CASES)
def test_period_spend(story: Story, expect: Expect) -> None:
    """Each way of knowing an entity's spend gives the right amount, basis and coverage."""
    entity = Entity(
        scope=Scope.TEAM,
        id="id-engineering",
        spend=usd(story.spend),
        created_at=story.created_at,
        budget_duration=story.budget_duration,
        budget_reset_at=story.budget_reset_at,
    )
    measured = period_spend(
        entity,
        story.period,
        NOW,
        history=story.history,
        follows_litellm=story.follows_litellm,
        watchdog_reset_at=story.watchdog_reset_at,
        daily=story.daily,
    )
    assert measured.spend == usd(expect.spend)
    assert isinstance(measured.spend, Decimal)
    assert (measured.basis, measured.since, measured.complete) == (
        expect.basis,
        expect.since,
        expect.complete,
    )


def test_daily_totals_count_whole_utc_days() -> None:
    """A Stockholm month starts at 23:00 UTC, so the UTC day holding that instant counts whole."""
    period = current_period(parse_period("monthly"), ZoneInfo("Europe/Stockholm"), NOW)
    assert period.start.astimezone(UTC) == at(31, 23, month=10)
    series = DailySeries(
        start=date(2026, 10, 1),
        days=MappingProxyType({date(2026, 10, 30): usd(1), date(2026, 10, 31): usd(2)}),
    )
    entity = Entity(scope=Scope.GLOBAL, id="proxy", spend=usd(0))
    measured = period_spend(entity, period, NOW, daily=series)
    assert (measured.spend, measured.complete) == (usd(2), True)


def test_a_reset_just_after_a_period_that_starts_at_a_dst_gap() -> None:
    """A period starting at 03:00 after the skipped hour still counts a reset 5 minutes later."""
    period = current_period(
        parse_period("30 2 * * *"), ZoneInfo("Europe/Stockholm"), at(29, 12, month=3)
    )
    assert period.start.isoformat() == "2026-03-29T03:00:00+02:00"
    entity = Entity(scope=Scope.KEY, id="hash", spend=usd(7), created_at=at(1, month=1))
    measured = period_spend(
        entity, period, at(29, 12, month=3), watchdog_reset_at=at(29, 1, 5, month=3)
    )
    assert (measured.spend, measured.basis, measured.complete) == (
        usd(7),
        Basis.WATCHDOG_RESET,
        True,
    )


@pytest.mark.parametrize(
    ("created", "reset_at", "duration", "litellm_reset", "since"),
    [
        pytest.param(None, None, None, None, None, id="nothing known"),
        pytest.param(at(1, month=6), None, None, None, at(1, month=6), id="creation only"),
        pytest.param(at(1, month=6), at(3), None, None, at(3), id="a later watchdog reset"),
        pytest.param(at(1, month=6), None, "7d", at(22), at(15), id="LiteLLM's last weekly reset"),
        pytest.param(
            at(1, month=6), None, "30d", at(1, month=12), at(1), id="LiteLLM's last monthly reset"
        ),
        pytest.param(
            at(1, month=6),
            None,
            "1d",
            at(25),
            at(1, month=6),
            id="a LiteLLM reset that would lie in the future is ignored",
        ),
    ],
)
def test_when_the_counter_last_started(
    created: datetime | None,
    reset_at: datetime | None,
    duration: str | None,
    litellm_reset: datetime | None,
    since: datetime | None,
) -> None:
    """The counter counts from the latest of creation, a watchdog reset and LiteLLM's reset."""
    entity = Entity(
        scope=Scope.KEY,
        id="hash",
        spend=usd(1),
        created_at=created,
        budget_duration=duration,
        budget_reset_at=litellm_reset,
    )
    assert counter_since(entity, NOW, reset_at) == since


@pytest.mark.parametrize(
    ("start", "readings", "total"),
    [
        pytest.param("10", ["12", "15"], "5", id="a rising counter"),
        pytest.param("10", ["10", "10"], "0", id="no spend"),
        pytest.param("10", ["4"], "4", id="a drop is a reset: the new value is new spend"),
        pytest.param("10", ["12", "0", "3"], "5", id="reset to zero then three more"),
        pytest.param("0.1", ["0.2", "0.3"], "0.2", id="cents add up exactly"),
        pytest.param(
            "0.05384000000000001",
            ["0.10768000000000002"],
            "0.05384000000000001",
            id="LiteLLM's float digits are kept exactly",
        ),
        pytest.param("5", [], "0", id="no readings"),
    ],
)
def test_counter_growth(start: str, readings: list[str], total: str) -> None:
    """Growth sums the increases and treats a drop as a reset, in exact Decimal."""
    points = [Sample(at(2 + i), usd(r)) for i, r in enumerate(readings)]
    assert growth(usd(start), points) == usd(total)
