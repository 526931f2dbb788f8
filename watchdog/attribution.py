"""Who drove a budget's spend: the top keys, users, models and tags, and the change against
the same point of the previous period. Pure values: the daemon fills them, `render` shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from watchdog.model import empty
from watchdog.money import fmt_money

KINDS = ("keys", "users", "teams", "models", "tags")
"""The lists an attribution may hold, in the order messages show them."""
CALLBACKS = "callbacks"
DAILY_ACTIVITY = "litellm daily activity"

_PREVIOUS = {
    "daily": "yesterday",
    "weekly": "last week",
    "monthly": "last month",
    "quarterly": "last quarter",
    "yearly": "last year",
}


@dataclass(frozen=True, slots=True)
class Contributor:
    """One key, user, team, model or tag and what it spent in the window."""

    name: str
    """As people read it: a key's alias and masked form, a model, an email."""
    spend: Decimal
    id: str | None = None
    """LiteLLM's id when it differs from the name (key hash, team id)."""


@dataclass(frozen=True, slots=True)
class Attribution:
    """What drove one budget's spend in its period so far."""

    source: str
    """Where the figures come from: "callbacks" or "litellm daily activity"."""
    start: datetime
    end: datetime
    """The window counted: the period's start up to when it was read."""
    spend: Decimal
    """Spend in the window as that source counts it."""
    top: Mapping[str, tuple[Contributor, ...]] = field(default_factory=empty)
    """Largest first, per kind in KINDS."""
    previous: Decimal | None = None
    """Spend over the same stretch of the previous period (None: unknown)."""
    previous_label: str = "the previous period"
    """How the previous period is named: "last month", "last week" …"""
    whole_days: bool = False
    """True when the source counts whole UTC days (LiteLLM's daily tables)."""

    @property
    def change(self) -> Decimal | None:
        """Relative change against the previous period (0.38 = +38%); None if not comparable."""
        if self.previous is None or self.previous <= 0:
            return None
        return (self.spend - self.previous) / self.previous


def previous_label(unit: str) -> str:
    """How the previous period is named: last month for a monthly period, and so on."""
    return _PREVIOUS.get(unit, "the previous period")


def change_text(attribution: Attribution) -> str | None:
    """The change, e.g. +38% ($3,000.00 by this point last month); None when not known."""
    a = attribution
    if a.previous is None:
        return None
    before = f"{fmt_money(a.previous)} by this point {a.previous_label}"
    change = a.change
    if change is None:
        return f"nothing spent by this point {a.previous_label}" if a.spend > 0 else None
    pct = (change * 100).quantize(Decimal(1))
    sign = "+" if pct > 0 else ("±" if pct == 0 else "")
    return f"{sign}{pct}% ({before})"


def top_text(people: tuple[Contributor, ...]) -> str:
    """The contributors in one line: ci-bot (sk-...abcd) $1,200.00 · etl $800.00."""
    return " · ".join(f"{c.name} {fmt_money(c.spend)}" for c in people)


def attribution_fields(attribution: Attribution | None) -> list[tuple[str, str]]:
    """Message fields: "Top keys", "Top models" … and "vs last month", when known."""
    if attribution is None:
        return []
    out = [
        (f"Top {kind}", top_text(people)) for kind in KINDS if (people := attribution.top.get(kind))
    ]
    change = change_text(attribution)
    if change is not None:
        days = " (whole UTC days)" if attribution.whole_days else ""
        out.append((f"vs {attribution.previous_label}", change + days))
    return out


def attribution_json(attribution: Attribution | None) -> dict[str, Any] | None:
    """The webhook payload's `attribution` object (money as JSON numbers, times in UTC)."""
    if attribution is None:
        return None
    a = attribution
    return {
        "source": a.source,
        "start": _iso(a.start),
        "end": _iso(a.end),
        "whole_days": a.whole_days,
        "spend": _number(a.spend),
        "top": {
            kind: [{"name": c.name, "id": c.id, "spend": _number(c.spend)} for c in a.top[kind]]
            for kind in KINDS
            if kind in a.top
        },
        "previous_period": None
        if a.previous is None
        else {
            "label": a.previous_label,
            "spend": _number(a.previous),
            "change": None if a.change is None else _number(a.change, "0.0001"),
        },
    }


def _number(value: Decimal, quantum: str = "0.000000001") -> float:
    return float(value.quantize(Decimal(quantum), rounding=ROUND_HALF_UP).normalize())


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
