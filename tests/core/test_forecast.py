"""Projected spend: unit cases, and backtests that replay a month hour by hour through the core."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

import pytest

from tests.builders import rule, rules, snap, team
from watchdog.decisions import Action, Reason
from watchdog.evaluate import evaluate
from watchdog.forecast import project
from watchdog.measure import Basis, Measurement
from watchdog.model import LedgerState, Sample
from watchdog.rules import Forecast
from watchdog.testing import remember
from watchdog.windows import current_period, parse_period

START = datetime(2026, 11, 1, tzinfo=UTC)  # November: 30 days
PERIOD = current_period(parse_period("monthly"), UTC, START + timedelta(hours=1))
SETTINGS = Forecast()

# Unit cases ---------------------------------------------------------------------------------


def _hourly(rate_per_hour: str, hours: int, start: datetime = START) -> list[Sample]:
    return [Sample(start + timedelta(hours=h), Decimal(rate_per_hour) * h) for h in range(hours)]


@pytest.mark.parametrize(
    ("min_elapsed", "reason"),
    [
        pytest.param(
            None,
            "2d of data in this period, needs 7d",
            id="monthly on a fresh install: a week of readings first",
        ),
        pytest.param("3d", "2d of data in this period, needs 3d", id="min_elapsed: 3d"),
    ],
)
def test_too_early_in_the_period_is_insufficient_data(min_elapsed: str | None, reason: str) -> None:
    """Without enough of this period's data, the forecast abstains and says why."""
    now = START + timedelta(days=2)
    spent = Measurement(Decimal(200), Basis.CREATED, START, complete=True)
    settings = Forecast.model_validate({"min_elapsed": min_elapsed} if min_elapsed else {})
    result = project(
        spent,
        PERIOD,
        now,
        settings,
        budget=Decimal(3000),
        history=_hourly("4", 48),
        current=Decimal(192),
    )
    assert not result.ok
    assert result.reason == reason


def test_last_periods_readings_make_day_one_forecasts_possible() -> None:
    """A daemon that ran last month knows the pace on the first day of this one."""
    now = START + timedelta(hours=6)
    history = _hourly("5", 24 * 10, start=START - timedelta(days=10))
    spent = Measurement(Decimal(30), Basis.DELTA, START, complete=True)
    result = project(
        spent, PERIOD, now, SETTINGS, budget=Decimal(4000), history=history, current=Decimal(1230)
    )
    assert result.ok
    assert result.projected == Decimal(30) + Decimal(120) * (30 - Decimal("0.25"))
    assert result.steady is not None
    assert result.steady.method == "typical daily pace over the last 7d (busiest day left out)"


def test_a_steady_pace_projects_to_the_period_end() -> None:
    """$5/h for 8 days projects $3,600 for a 30-day month."""
    now = START + timedelta(days=8)
    history = _hourly("5", 24 * 8)
    spent = Measurement(Decimal(960), Basis.CREATED, START, complete=True)
    result = project(
        spent, PERIOD, now, SETTINGS, budget=Decimal(4000), history=history, current=Decimal(960)
    )
    assert result.ok
    assert result.projected == Decimal(3600)
    assert result.steady is not None
    assert result.steady.method == "typical daily pace over the last 7d (busiest day left out)"


def test_before_a_week_of_history_the_pace_counts_from_the_period_start() -> None:
    """Four days of readings and min_elapsed 3d: the typical day since the period began."""
    now = START + timedelta(days=4)
    spent = Measurement(Decimal(480), Basis.CREATED, START, complete=True)
    settings = Forecast.model_validate({"min_elapsed": "3d"})
    result = project(
        spent,
        PERIOD,
        now,
        settings,
        budget=Decimal(4000),
        history=_hourly("5", 24 * 4),
        current=Decimal(480),
    )
    assert result.steady is not None
    assert (
        result.steady.method == "typical daily pace since the period start (busiest day left out)"
    )
    assert result.projected == Decimal(3600)


def test_exhaustion_time_at_the_last_hours_pace() -> None:
    """At $100/h with $500 left, the budget runs out in 5 hours and it is called runaway."""
    now = START + timedelta(days=5)
    history = [
        *_hourly("1", 24 * 5 - 1),
        Sample(now - timedelta(hours=1), Decimal(2000)),
    ]
    spent = Measurement(Decimal(2100), Basis.CREATED, START, complete=True)
    result = project(
        spent, PERIOD, now, SETTINGS, budget=Decimal(2600), history=history, current=Decimal(2100)
    )
    assert result.exhausts_at == now + timedelta(hours=5)
    assert result.runaway


def test_prometheus_rates_stand_in_for_missing_history() -> None:
    """Without stored readings, Prometheus' 7d increase gives the steady pace."""
    now = START + timedelta(days=10)
    spent = Measurement(Decimal(1000), Basis.LITELLM, START, complete=True)
    result = project(
        spent,
        PERIOD,
        now,
        SETTINGS,
        budget=Decimal(5000),
        history=(),
        rates={"7d": Decimal(700)},
        current=Decimal(1000),
    )
    assert result.steady is not None
    assert result.steady.method == "pace over the last 7d (Prometheus)"
    assert result.projected == Decimal(1000) + Decimal(100) * 20


def test_lifetime_budgets_have_no_forecast() -> None:
    """A budget that never resets has no period end to project to."""
    from watchdog.windows import Period

    lifetime = Period(start=START, end=None, tz=UTC)
    spent = Measurement(Decimal(10), Basis.LITELLM, START, complete=True)
    result = project(spent, lifetime, START + timedelta(days=3), SETTINGS, budget=Decimal(5))
    assert not result.ok
    assert "never resets" in result.reason


# Backtests ----------------------------------------------------------------------------------


@dataclass
class Backtest:
    """What the core did over a simulated month."""

    alerts: list[datetime]
    cleared: list[datetime]
    final_spend: Decimal


def replay(
    spend_per_hour: Callable[[int], float],
    budget: int,
    *,
    warmup_days: int = 31,
    **forecast: object,
) -> Backtest:
    """Run the core every hour of November with hourly samples, like the daemon would.

    `spend_per_hour(h)` gives the spend in hour h (h < 0 is before November); the warm-up
    is the history a running daemon already holds (the previous month), 0 for a fresh install.
    """
    ruleset = rules(
        rule(
            amount=budget,
            hard_limit=None,
            soft_limit=None,
            forecast={"alert_if_projected_over": "100%", **forecast},
        )
    )
    born = START - timedelta(days=warmup_days + 1)
    samples: list[Sample] = []
    total = Decimal(0)
    for hour in range(-warmup_days * 24, 0):
        total += Decimal(str(spend_per_hour(hour)))
        samples.append(Sample(START + timedelta(hours=hour), total))
    at_start = total
    state = LedgerState()
    alerts: list[datetime] = []
    cleared: list[datetime] = []
    for hour in range(30 * 24):
        now = START + timedelta(hours=hour)
        total += Decimal(str(spend_per_hour(hour)))
        state = replace(state, history=MappingProxyType({team(0).ref: tuple(samples)}))
        entity = team(str(total), created_at=born if warmup_days else START)
        decisions = evaluate(ruleset, snap(entity, at=now), state, now)
        for d in decisions:
            if d.action is Action.NOTIFY and d.reason is Reason.FORECAST:
                alerts.append(now)
            if d.action is Action.NOTIFY and d.reason is Reason.FORECAST_CLEARED:
                cleared.append(now)
        state = remember(state, decisions, now)
        samples.append(Sample(now, total))
    return Backtest(alerts, cleared, total - at_start)


def _weekday(hour: int) -> int:
    return (START + timedelta(hours=hour)).weekday()


def test_backtest_steady_under_budget_never_alerts() -> None:
    """$100 a day against $4,000: the month ends at $3,000 and nobody is bothered."""
    result = replay(lambda h: 100 / 24, 4000)
    assert result.final_spend == pytest.approx(Decimal(3000), abs=Decimal("0.01"))
    assert result.alerts == []


@pytest.mark.parametrize(
    ("warmup_days", "earliest", "latest"),
    [
        pytest.param(
            31,
            timedelta(0),
            timedelta(hours=2),
            id="running daemon: known pace, alert in the first hours",
        ),
        pytest.param(
            0,
            timedelta(days=7),
            timedelta(days=7, hours=2),
            id="fresh install: alert once a week of readings exists",
        ),
    ],
)
def test_backtest_steady_over_budget_alerts_once(
    warmup_days: int, earliest: timedelta, latest: timedelta
) -> None:
    """$150 a day against $4,000 ($4,500 by month end): exactly one forecast alert."""
    result = replay(lambda h: 150 / 24, 4000, warmup_days=warmup_days)
    assert len(result.alerts) == 1
    assert START + earliest <= result.alerts[0] <= START + latest
    assert result.cleared == []


def test_backtest_weekly_seasonality_does_not_flap() -> None:
    """Busy weekdays and quiet weekends ending at ~$4,460 against $5,000: no alert at all."""
    result = replay(lambda h: (200 if _weekday(h) < 5 else 20) / 24, 5000)
    assert Decimal(4300) < result.final_spend < Decimal(5000)
    assert result.alerts == []
    assert result.cleared == []


def test_backtest_weekly_seasonality_on_a_fresh_install() -> None:
    """Without last month's readings the first weekdays look busier; the margin absorbs it."""
    result = replay(lambda h: (200 if _weekday(h) < 5 else 20) / 24, 5000, warmup_days=0)
    assert result.alerts == []


def test_backtest_runaway_loop_is_caught_within_hours() -> None:
    """An agent loop at $100/h from day 10 is flagged within two hours of starting."""
    loop_start = 10 * 24

    def spend(hour: int) -> float:
        return 100.0 if hour >= loop_start else 50 / 24

    result = replay(spend, 3000)
    assert result.alerts
    assert result.alerts[0] - (START + timedelta(hours=loop_start)) <= timedelta(hours=2)


@pytest.mark.parametrize(
    "warmup_days", [pytest.param(31, id="running daemon"), pytest.param(0, id="fresh install")]
)
def test_backtest_day_one_spike_does_not_alert(warmup_days: int) -> None:
    """A $1,500 batch on day one then $40 a day ends at ~$2,700 under $3,000: no alert."""

    def spend(hour: int) -> float:
        return 1500.0 if hour == 5 else 40 / 24

    result = replay(spend, 3000, warmup_days=warmup_days)
    assert result.final_spend < Decimal(3000)
    assert result.alerts == []


def test_backtest_sustained_rise_is_not_mistaken_for_a_spike() -> None:
    """Spend that doubles from day 12 and stays there ends over budget: alerted once."""

    def spend(hour: int) -> float:
        return (90 if hour < 12 * 24 else 180) / 24

    result = replay(spend, 4000)
    assert result.final_spend > Decimal(4000)
    assert len(result.alerts) == 1


def test_backtest_hysteresis_needs_consecutive_evaluations() -> None:
    """With consecutive: 3 the alert comes two evaluations later than with 1."""
    quick = replay(lambda h: 150 / 24, 4000, consecutive=1)
    patient = replay(lambda h: 150 / 24, 4000, consecutive=3)
    assert patient.alerts[0] - quick.alerts[0] == timedelta(hours=2)


def test_backtest_projection_clears_when_spend_slows() -> None:
    """A fast first week, then a near stop: the forecast alert fires, then clears once."""

    def spend(hour: int) -> float:
        return (250 if hour < 8 * 24 else 5) / 24

    result = replay(spend, 4000)
    assert len(result.alerts) == 1
    assert len(result.cleared) == 1
    assert result.cleared[0] > result.alerts[0]


def test_streaks_are_recorded_only_when_they_change() -> None:
    """The bookkeeping decision appears when the streak moves, not every cycle."""
    ruleset = rules(rule(hard_limit=None, forecast={"consecutive": 5, "min_elapsed": "3d"}))
    now = START + timedelta(days=6)
    busy = LedgerState(history=MappingProxyType({team(0).ref: tuple(_hourly("30", 24 * 6))}))
    first = evaluate(ruleset, snap(team(30 * 144), at=now), busy, now)
    assert [(d.reason, d.streak) for d in first if d.action is Action.RECORD] == [
        (Reason.FORECAST_PENDING, 1)
    ]
    state = remember(busy, first, now)
    flat = tuple(Sample(START + timedelta(hours=h), Decimal(100)) for h in range(24 * 6))
    calm = replace(state, history=MappingProxyType({team(0).ref: flat}))
    later = now + timedelta(hours=1)
    quiet = evaluate(ruleset, snap(team(100), at=later), calm, later)
    assert [(d.reason, d.streak) for d in quiet if d.action is Action.RECORD] == [
        (Reason.FORECAST_STEADY, 0)
    ]
    settled = remember(calm, quiet, later)
    again = evaluate(ruleset, snap(team(100), at=later), settled, later)
    assert [d for d in again if d.action is Action.RECORD] == []
