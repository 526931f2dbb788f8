"""Budget periods: calendar units, fixed durations, cron schedules and LiteLLM's own cycles. Pure.

The only module that imports croniter. Every function takes `now`; none reads the clock.
A period is the half-open interval [start, end); its `key` identifies it across restarts and
replicas, so a new period is a new dedup identity and re-arms every threshold.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterBadDateError, croniter

CALENDAR_UNITS = ("daily", "weekly", "monthly", "quarterly", "yearly")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_ANCHOR = datetime(2000, 1, 3)  # noqa: DTZ001 - a wall time in the rule's zone (a Monday)
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_LITELLM_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w|mo)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

Kind = Literal["calendar", "every", "cron", "litellm"]


class PeriodError(ValueError):
    """A period, duration, cron expression or time zone is not understood."""


@dataclass(frozen=True, slots=True)
class PeriodSpec:
    """How a rule's budget period repeats, as parsed from `period:`."""

    kind: Kind
    text: str
    unit: str = ""
    """Calendar unit (daily … yearly) or duration unit (s, m, h, d, w)."""
    count: int = 0
    """Number of duration units for `every` periods."""

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Period:
    """One occurrence of a budget period: [start, end) in a time zone."""

    start: datetime
    end: datetime | None
    """None for a budget that never resets (LiteLLM entity without budget_duration)."""
    tz: tzinfo
    name: str = ""
    """An explicit identity for periods that are not about time (e.g. "incidents")."""
    utc_start: datetime = field(init=False, repr=False, compare=False)
    """`start` in UTC, the zone spend history is kept in (worked out once: converting from
    the rule's zone costs about a microsecond, and every budget of a rule reads it)."""
    utc_end: datetime | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "utc_start", self.start.astimezone(UTC))
        end = self.end.astimezone(UTC) if self.end is not None else None
        object.__setattr__(self, "utc_end", end)

    @property
    def key(self) -> str:
        """Stable identity of this period, the same on every replica and after restarts."""
        if self.name:
            return self.name
        if self.end is None:
            return "lifetime"
        return _iso_utc(self.start)

    def elapsed(self, now: datetime) -> timedelta:
        """Real time since the start (UTC arithmetic: a DST day is 23 or 25 hours)."""
        return max(timedelta(0), now.astimezone(UTC) - self.utc_start)

    def length(self) -> timedelta | None:
        """Real length of the period; None for a lifetime budget."""
        if self.utc_end is None:
            return None
        return self.utc_end - self.utc_start

    def fraction_elapsed(self, now: datetime) -> float | None:
        length = self.length()
        if length is None or length <= timedelta(0):
            return None
        return min(1.0, self.elapsed(now) / length)

    def contains(self, at: datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)


# Parsing -------------------------------------------------------------------------------------


def parse_zone(name: str) -> ZoneInfo:
    """An IANA time zone such as "Europe/Stockholm" or "UTC"."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        close = difflib.get_close_matches(name, sorted(available_timezones()), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise PeriodError(
            f"unknown time zone {name!r}{hint}; use an IANA name such as UTC, "
            "Europe/Stockholm or America/New_York"
        ) from exc


def parse_duration(text: str) -> timedelta:
    """A duration such as "90s", "30m", "12h", "3d" or "2w"."""
    match = _DURATION.match(text)
    if not match or int(match[1]) <= 0:
        raise PeriodError(f"expected a duration such as 30m, 12h, 3d or 2w, got {text!r}")
    return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


def parse_period(text: str) -> PeriodSpec:
    """Read `period:`: a calendar unit, a duration ("30d"), a 5-field cron, or "litellm"."""
    raw = text.strip()
    if raw in CALENDAR_UNITS:
        return PeriodSpec("calendar", raw, unit=raw)
    if raw == "litellm":
        return PeriodSpec("litellm", raw)
    match = _DURATION.match(raw)
    if match:
        if int(match[1]) <= 0:
            raise PeriodError(f"a period must be longer than zero, got {text!r}")
        return PeriodSpec("every", raw, unit=match[2], count=int(match[1]))
    fields = raw.split()
    if len(fields) == 5:
        if not croniter.is_valid(raw):
            raise PeriodError(
                f"invalid cron expression {text!r}: expected 5 fields "
                '(minute hour day-of-month month day-of-week), e.g. "0 0 1 * *"'
            )
        if not _occurs(raw):
            raise PeriodError(
                f"cron expression {text!r} never occurs (no such date); "
                'e.g. "0 0 1 * *" for the first of every month'
            )
        return PeriodSpec("cron", raw)
    close = difflib.get_close_matches(raw.lower(), [*CALENDAR_UNITS, "litellm"], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise PeriodError(
        f"unknown period {text!r}{hint}; use daily, weekly, monthly, quarterly, yearly, a "
        'duration such as 30d or 12h, a cron expression such as "0 9 * * 1", or litellm'
    )


def _occurs(expr: str) -> bool:
    """Whether a valid cron expression names any real date (not e.g. February 30)."""
    try:
        croniter(expr, datetime(2000, 1, 1)).get_next(datetime)  # noqa: DTZ001 - a wall time
    except CroniterBadDateError:
        return False
    return True


def window_name(span: timedelta) -> str:
    """The one name of a trailing window, shared by Prometheus rates and forecasts: "1h",
    "1d" (also for 24h), "7d", "30m", else whole seconds."""
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def litellm_duration(text: str | None) -> timedelta | None:
    """LiteLLM's `budget_duration` ("60s", "1m", "30d", "1mo") as a timedelta; None if absent."""
    if not text:
        return None
    match = _LITELLM_DURATION.match(text)
    if not match:
        return None
    if match[2] == "mo":
        return timedelta(days=30 * int(match[1]))
    return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


# Current period ------------------------------------------------------------------------------


def current_period(
    spec: PeriodSpec, tz: tzinfo, now: datetime, *, anchor: datetime | None = None
) -> Period:
    """The period of `spec` in time zone `tz` that contains `now` (start <= now < end)."""
    _require_aware(now)
    if spec.kind == "calendar":
        return _calendar(spec.unit, tz, now)
    if spec.kind == "every":
        return _every(spec, tz, now, anchor or DEFAULT_ANCHOR)
    if spec.kind == "cron":
        return _cron(spec.text, tz, now)
    raise PeriodError("litellm periods depend on the entity; use litellm_period()")


def next_period(period: Period, spec: PeriodSpec, *, anchor: datetime | None = None) -> Period:
    """The period that starts where `period` ends."""
    if period.end is None:
        raise PeriodError("a lifetime budget has no next period")
    return current_period(spec, period.tz, period.end, anchor=anchor)


def litellm_period(
    reset_at: datetime | None, duration: str | None, now: datetime, tz: tzinfo = UTC
) -> Period:
    """The entity's own LiteLLM cycle: it ends at `budget_reset_at`.

    LiteLLM resets late (up to one scheduler tick after `budget_reset_at`), so a reset time in
    the past still names the current period until LiteLLM advances it. Without a duration the
    budget never resets: a lifetime period.
    """
    length = litellm_duration(duration)
    if reset_at is None or length is None:
        return Period(start=EPOCH, end=None, tz=tz)
    _require_aware(reset_at)
    start = reset_at - length
    if reset_at - length > now:  # clock skew or an odd alignment: never start in the future
        start = min(start, now)
    return Period(start=start, end=reset_at, tz=tz)


def same_point(period: Period, before: Period, at: datetime) -> datetime:
    """The instant as far into `before` as `at` is into `period` on the local clock: 14:00 on
    the 28th is compared with 14:00 on the 28th of the month before, also when summer time
    began or ended in between (the same duration would be an hour off)."""
    tz = period.tz
    into = _wall(at, tz) - _wall(period.start, tz)
    return _localize(_wall(before.start, tz) + into, tz).astimezone(UTC)


# Implementation ------------------------------------------------------------------------------


def _calendar(unit: str, tz: tzinfo, now: datetime) -> Period:
    local = now.astimezone(tz).date()
    start_day, end_day = _calendar_days(unit, local)
    return Period(start=_local_midnight(start_day, tz), end=_local_midnight(end_day, tz), tz=tz)


def _calendar_days(unit: str, day: date) -> tuple[date, date]:
    if unit == "daily":
        return day, day + timedelta(days=1)
    if unit == "weekly":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if unit == "monthly":
        start = day.replace(day=1)
        return start, _add_months(start, 1)
    if unit == "quarterly":
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return start, _add_months(start, 3)
    if unit == "yearly":
        start = date(day.year, 1, 1)
        return start, date(day.year + 1, 1, 1)
    raise PeriodError(f"unknown calendar unit {unit!r}")


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.month - 1 + months
    return date(first_of_month.year + index // 12, index % 12 + 1, 1)


def _every(spec: PeriodSpec, tz: tzinfo, now: datetime, anchor: datetime) -> Period:
    if spec.unit in ("d", "w"):
        days = spec.count * (7 if spec.unit == "w" else 1)
        return _every_days(days, tz, now, anchor)
    # Hours and minutes are real elapsed time: count them in UTC, not on the local wall clock.
    step = timedelta(seconds=spec.count * _UNIT_SECONDS[spec.unit])
    origin = (_localize(anchor, tz) if anchor.tzinfo is None else anchor).astimezone(UTC)
    start = origin + ((now - origin) // step) * step
    return Period(start=start.astimezone(tz), end=(start + step).astimezone(tz), tz=tz)


def _every_days(days: int, tz: tzinfo, now: datetime, anchor: datetime) -> Period:
    """Periods of whole local days: boundaries stay at the anchor's wall-clock time across DST."""
    anchor_local = anchor.astimezone(tz) if anchor.tzinfo else anchor
    wall = anchor_local.time().replace(tzinfo=None)
    today = now.astimezone(tz).date()
    offset = (today - anchor_local.date()).days
    start_day = anchor_local.date() + timedelta(days=(offset // days) * days)
    start = _localize(datetime.combine(start_day, wall), tz)
    if start > now:
        start_day -= timedelta(days=days)
        start = _localize(datetime.combine(start_day, wall), tz)
    end = _localize(datetime.combine(start_day + timedelta(days=days), wall), tz)
    return Period(start=start, end=end, tz=tz)


def _cron(expr: str, tz: tzinfo, now: datetime) -> Period:
    """Cron boundaries are local wall times; each maps to its first real instant.

    croniter walks naive wall times; `_localize` maps them to instants without ever going
    backwards (the first of a repeated hour, the end of a skipped one), so the boundaries are
    ordered in real time too. The start is the last boundary at or before `now`, the end the
    first one after it; a wall time that happens twice is one boundary, not two.
    """
    wall_now = now.astimezone(tz).replace(tzinfo=None, fold=0)
    # Every boundary up to the wall time of `now` has begun (croniter's get_prev is strict).
    prev = croniter(expr, wall_now + timedelta(microseconds=1)).get_prev(datetime)
    start = _localize(prev, tz)
    # In the second pass of a repeated hour, later wall times may already have begun.
    it = croniter(expr, wall_now)
    while True:
        instant = _localize(it.get_next(datetime), tz)
        if instant > now:
            return Period(start=start, end=instant, tz=tz)
        start = instant


def _local_midnight(day: date, tz: tzinfo) -> datetime:
    return _localize(datetime.combine(day, time(0)), tz)


def _wall(at: datetime, tz: tzinfo) -> datetime:
    """`at` as the clock on the wall in `tz` shows it (no zone)."""
    return at.astimezone(tz).replace(tzinfo=None)


def _localize(naive: datetime, tz: tzinfo) -> datetime:
    """Attach `tz` to a wall time; a time skipped by DST becomes the first instant after it."""
    aware = naive.replace(tzinfo=tz, fold=0)
    canonical = aware.astimezone(UTC).astimezone(tz)
    if canonical.replace(tzinfo=None) == naive:
        return canonical
    # In a DST gap: the transition instant lies between the two readings of the wall time.
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = aware.astimezone(UTC)
    low, high = min(low, high), max(low, high)
    before = low.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(tz).utcoffset() == before:
            low = mid
        else:
            high = mid
    return high.replace(microsecond=0).astimezone(tz)


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise PeriodError("datetimes must carry a time zone")


def _iso_utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
