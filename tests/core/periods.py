"""Helpers for the period tests: UTC instants and periods by name."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from watchdog.windows import Period, current_period, parse_period


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def period(text: str, zone: str, now: datetime, anchor: datetime | None = None) -> Period:
    """The period of `text` (as written in a rule) in `zone` that contains `now`."""
    return current_period(parse_period(text), ZoneInfo(zone), now, anchor=anchor)


def hours(p: Period) -> float:
    length = p.length()
    assert length is not None
    return length.total_seconds() / 3600


def as_utc(at: datetime) -> datetime:
    """Arithmetic on local times is wall-clock arithmetic; compare and add in UTC."""
    return at.astimezone(UTC)
