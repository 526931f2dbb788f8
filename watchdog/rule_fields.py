"""What a rule file's values mean: thresholds, money, periods, time zones, durations, names.

Each field type parses what finance writes ("80%", "$4,000", "monthly", "Europe/Stockholm",
"12h") and describes it in the JSON Schema editors read; a value it refuses says what it got
and what it accepts. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from watchdog import windows
from watchdog.money import MoneyError, fmt_money, parse_money

T = TypeVar("T")

# Thresholds ----------------------------------------------------------------------------------


_PERCENT = re.compile(r"^\s*([-+]?[0-9]+(?:\.[0-9]+)?)\s*%\s*$")


MAX_PERCENT = Decimal(10)  # 1000 %


@dataclass(frozen=True, slots=True)
class Threshold:
    """A point on a budget: a share ("80%", 0.8), a dollar amount ("$4000") or LiteLLM's own."""

    kind: Literal["percent", "amount", "litellm"]
    value: Decimal = Decimal(0)
    """Fraction of the budget for percent (0.8), USD for amount, unused for litellm."""

    @property
    def label(self) -> str:
        if self.kind == "percent":
            pct = (self.value * 100).normalize()
            return f"{pct:f}%"
        if self.kind == "amount":
            return f"${self.value.normalize():f}"
        return "litellm"

    def __str__(self) -> str:
        if self.kind == "amount":
            return fmt_money(self.value)
        return self.label


def parse_threshold(value: object, *, allow_litellm: bool = False) -> Threshold:
    """Read "80%", 0.8, "$4000" (or "litellm" where LiteLLM's own budget may be used)."""
    if isinstance(value, Threshold):
        return value
    if isinstance(value, str) and value.strip().lower() == "litellm":
        if not allow_litellm:
            raise ValueError('"litellm" is only accepted for soft_limit and hard_limit')
        return Threshold("litellm")
    if isinstance(value, str) and (match := _PERCENT.match(value)):
        return _percent(Decimal(match[1]) / 100, value)
    if isinstance(value, str) and "$" in value:
        try:
            amount = parse_money(value)
        except MoneyError as exc:
            raise ValueError(str(exc)) from None
        if amount <= 0:
            raise ValueError(f"a threshold must be above $0, got {shown(value)}")
        return Threshold("amount", amount)
    number = _number(value)
    if number is None:
        raise ValueError(
            f"expected a percentage such as 80%, a fraction such as 0.8 or an "
            f'amount such as "$4000", got {shown(value)}'
        )
    if number <= 0:
        raise ValueError(f"a threshold must be above 0 (e.g. 80% or 0.8), got {shown(value)}")
    if number <= 1:
        return Threshold("percent", number)
    raise ValueError(
        f'{shown(value)} is ambiguous: write {number}% for a share of the budget or "${number}" '
        "for an amount in USD (bare numbers are fractions between 0 and 1, e.g. 0.8)"
    )


def shown(value: object) -> str:
    """A value as it was written: text quoted, numbers plain (0.5, never Decimal('0.5'))."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    return repr(value)


def _percent(fraction: Decimal, text: str) -> Threshold:
    if fraction <= 0 or fraction > MAX_PERCENT:
        raise ValueError(f"a percentage must be above 0% and at most 1000%, got {text!r}")
    return Threshold("percent", fraction)


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except ArithmeticError:
            return None
    return None


# Annotated field types (parse what people write; describe it in the JSON Schema) -------------


_THRESHOLD_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$", "examples": ["80%"]},
        {"type": "string", "pattern": r"^\s*\$", "examples": ["$4000"]},
        {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "examples": [0.8]},
    ],
    "description": 'A share of the budget ("80%" or 0.8) or an amount in USD ("$4000").',
}


_LIMIT_SCHEMA: dict[str, Any] = {
    "anyOf": [*_THRESHOLD_SCHEMA["anyOf"], {"const": "litellm"}, {"type": "null"}],
    "description": _THRESHOLD_SCHEMA["description"]
    + ' "litellm" uses the entity\'s own LiteLLM budget; null turns the limit off.',
}


def _as_threshold(value: object) -> Threshold:
    return parse_threshold(value)


def _as_limit(value: object) -> Threshold | None:
    return None if value is None else parse_threshold(value, allow_litellm=True)


def _as_money(value: object) -> Decimal:
    try:
        amount = parse_money(value)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None
    if amount < 0:
        raise ValueError(f"an amount cannot be negative, got {shown(value)}")
    return amount


def _as_budget_amount(value: object) -> Decimal | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "litellm"):
        return None
    amount = _as_money(value)
    if amount <= 0:
        raise ValueError(f"a budget must be above $0, got {shown(value)}")
    return amount


def _parsed(value: object, kind: type[T], parse: Callable[[str], T], example: str) -> T:
    """`value` as `kind`: as it is, or parsed from text by `parse` (its error as the message)."""
    if isinstance(value, kind):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected {example}, got {shown(value)}")
    try:
        return parse(value)
    except windows.PeriodError as exc:
        raise ValueError(str(exc)) from None


def _as_period(value: object) -> windows.PeriodSpec:
    example = 'a period such as monthly, 30d or "0 0 1 * *"'
    return _parsed(value, windows.PeriodSpec, windows.parse_period, example)


def _as_zone(value: object) -> ZoneInfo:
    example = "a time zone name such as Europe/Stockholm"
    return _parsed(value, ZoneInfo, windows.parse_zone, example)


def _as_duration(value: object) -> timedelta:
    example = "a duration such as 30m, 12h or 3d"
    return _parsed(value, timedelta, windows.parse_duration, example)


def _as_names(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    names = []
    for item in items:
        if item is None or isinstance(item, dict | list | bool):
            raise ValueError(f"expected a name or a list of names, got {shown(item)}")
        text = str(item).strip()
        if not text:
            raise ValueError("names cannot be empty")
        names.append(text)
    return tuple(names)


def _duration_text(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


ThresholdField = Annotated[
    Threshold,
    BeforeValidator(_as_threshold),
    PlainSerializer(lambda t: t.label),
    WithJsonSchema(_THRESHOLD_SCHEMA),
]


LimitField = Annotated[
    Threshold | None,
    BeforeValidator(_as_limit),
    PlainSerializer(lambda t: None if t is None else t.label),
    WithJsonSchema(_LIMIT_SCHEMA),
]


MoneyField = Annotated[
    Decimal,
    BeforeValidator(_as_money),
    PlainSerializer(lambda d: f"{d:f}"),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "examples": ["$5,000"]}]}
    ),
]


BudgetAmountField = Annotated[
    Decimal | None,
    BeforeValidator(_as_budget_amount),
    PlainSerializer(lambda d: None if d is None else f"{d:f}"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "examples": ["$5,000", "litellm"]},
                {"type": "null"},
            ]
        }
    ),
]


PeriodField = Annotated[
    windows.PeriodSpec,
    BeforeValidator(_as_period),
    PlainSerializer(str),
    WithJsonSchema(
        {
            "type": "string",
            "examples": [
                "monthly",
                "daily",
                "weekly",
                "quarterly",
                "yearly",
                "30d",
                "12h",
                "0 0 1 * *",
                "litellm",
            ],
        }
    ),
]


ZoneField = Annotated[
    ZoneInfo,
    BeforeValidator(_as_zone),
    PlainSerializer(str),
    WithJsonSchema({"type": "string", "examples": ["UTC", "Europe/Stockholm"]}),
]


DurationField = Annotated[
    timedelta,
    BeforeValidator(_as_duration),
    PlainSerializer(_duration_text),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*[0-9]+\s*(s|m|h|d|w)\s*$",
            "examples": ["30m", "12h", "3d"],
        }
    ),
]


NamesField = Annotated[
    tuple[str, ...],
    BeforeValidator(_as_names),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]
