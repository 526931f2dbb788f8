"""Budget rules from `rules/*.yaml`: validated once into frozen models, errors as file:line:col.

Pure apart from reading the files named by the caller. Finance edits these files; every
message here is written for them, naming the field and what it accepts.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import ErrorDetails

from watchdog import windows, yamlfile
from watchdog.errors import Problem, RuleError
from watchdog.model import BLOCKABLE, BUDGETED, RESETTABLE, Scope, empty
from watchdog.money import MoneyError, fmt_money, parse_money

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
            raise ValueError(f"a threshold must be above $0, got {_shown(value)}")
        return Threshold("amount", amount)
    number = _number(value)
    if number is None:
        raise ValueError(
            f"expected a percentage such as 80%, a fraction such as 0.8 or an "
            f'amount such as "$4000", got {_shown(value)}'
        )
    if number <= 0:
        raise ValueError(f"a threshold must be above 0 (e.g. 80% or 0.8), got {_shown(value)}")
    if number <= 1:
        return Threshold("percent", number)
    raise ValueError(
        f'{_shown(value)} is ambiguous: write {number}% for a share of the budget or "${number}" '
        "for an amount in USD (bare numbers are fractions between 0 and 1, e.g. 0.8)"
    )


def _shown(value: object) -> str:
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
        raise ValueError(f"an amount cannot be negative, got {_shown(value)}")
    return amount


def _as_budget_amount(value: object) -> Decimal | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "litellm"):
        return None
    amount = _as_money(value)
    if amount <= 0:
        raise ValueError(f"a budget must be above $0, got {_shown(value)}")
    return amount


def _as_period(value: object) -> windows.PeriodSpec:
    if isinstance(value, windows.PeriodSpec):
        return value
    if not isinstance(value, str):
        raise ValueError(
            f'expected a period such as monthly, 30d or "0 0 1 * *", got {_shown(value)}'
        )
    try:
        return windows.parse_period(value)
    except windows.PeriodError as exc:
        raise ValueError(str(exc)) from None


def _as_zone(value: object) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a time zone name such as Europe/Stockholm, got {_shown(value)}")
    try:
        return windows.parse_zone(value)
    except windows.PeriodError as exc:
        raise ValueError(str(exc)) from None


def _as_duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a duration such as 30m, 12h or 3d, got {_shown(value)}")
    try:
        return windows.parse_duration(value)
    except windows.PeriodError as exc:
        raise ValueError(str(exc)) from None


def _as_names(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    names = []
    for item in items:
        if item is None or isinstance(item, dict | list | bool):
            raise ValueError(f"expected a name or a list of names, got {_shown(item)}")
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

_UNSET: Any = object()
_BROKEN: Any = object()
"""Marks a `defaults:` field whose value was refused."""


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        arbitrary_types_allowed=True,
        use_attribute_docstrings=True,
        validate_default=False,
    )


class Forecast(_Model):
    """Alert on projected spend: where the period will end at the current pace."""

    alert_if_projected_over: ThresholdField = Threshold("percent", Decimal(1))
    """Alert when spend projected to the end of the period passes this share or amount."""
    min_elapsed: DurationField | None = None
    """Data this period needs before projecting, unless readings from before the period cover
    `window` (default: 10% of the period, and a week for periods of two weeks or more)."""
    min_spend: MoneyField = Decimal(0)
    """Do not project while period spend is below this amount in USD."""
    min_samples: int = 3
    """Spend readings needed in the period before projecting."""
    method: Literal["auto", "run_rate", "trailing"] = "auto"
    """run_rate: average pace since the period start; trailing: pace over `window`;
    auto: trailing once history covers the window, run rate before."""
    window: DurationField = timedelta(days=7)
    """Trailing window for the steady pace; 7d absorbs weekday/weekend swings and spikes."""
    exhaustion_within: DurationField | None = timedelta(hours=24)
    """Also warn when the last hour's pace would use up the budget within this time
    (runaway loops); null turns it off."""
    consecutive: int = 2
    """Evaluations in a row the projection must stay over before alerting (hysteresis)."""
    margin: ThresholdField = Threshold("percent", Decimal("0.05"))
    """Alert only when the projection passes the alert point by this share (5%), so a
    forecast hovering at the line does not fire."""
    clear_below: ThresholdField | None = None
    """Projection under which a forecast alert clears (default: 95% of the alert point)."""

    @model_validator(mode="after")
    def _check(self) -> Forecast:
        if self.min_samples < 2:
            raise ValueError("min_samples: at least 2 readings are needed to measure a pace")
        if self.consecutive < 1:
            raise ValueError("consecutive: must be 1 or more")
        if self.margin.kind != "percent" or self.margin.value > 1:
            raise ValueError("margin: a share of the alert point between 0% and 100%, e.g. 5%")
        return self


class Defaults(_Model):
    """Values every budget in this file starts from; a budget's own fields win."""

    scope: Scope | None = None
    period: PeriodField | None = None
    timezone: ZoneField | None = None
    soft_limit: LimitField = None
    hard_limit: LimitField = None
    alert_at: tuple[ThresholdField, ...] | None = None
    forecast: Forecast | None = None
    on_hard_limit: Literal["notify", "block"] | None = None
    notify: NamesField | None = None
    reset: bool | None = None
    renotify: DurationField | None = None


class Rule(_Model):
    """One budget: who it covers, how much, over which period, and whom to tell."""

    name: str
    """Unique name, shown in every alert."""
    scope: Scope
    """What the budget is about: key, team, user, customer, tag, global, dimension or query."""
    match: NamesField = ()
    """Which entities: alias, name, id or email; "*" for every entity of the scope; globs such as
    "eng-*" and lists are accepted. Not used for global."""
    exclude: NamesField = ()
    """Entities to leave out even when `match` covers them."""
    team: str | None = None
    """Only keys or users that belong to this team (alias or id)."""
    description: str = ""
    """Free text shown in alerts, e.g. who owns the budget."""
    amount: BudgetAmountField = None
    """The budget in USD. Omitted or "litellm": each entity's own max_budget in LiteLLM."""
    period: PeriodField = windows.PeriodSpec("calendar", "monthly", unit="monthly")
    """daily, weekly, monthly, quarterly, yearly; a fixed length such as 30d or 12h; a cron
    expression such as "0 0 1 * *"; or litellm to follow each entity's budget_reset_at."""
    timezone: ZoneField = ZoneInfo("UTC")
    """Time zone in which periods start and reset times are shown."""
    anchor: datetime | None = None
    """For fixed-length periods (30d, 12h): a start of one period; default Monday 2000-01-03."""
    soft_limit: LimitField = None
    """Warn when spend reaches this ("80%", "$4000", or litellm for LiteLLM's soft_budget)."""
    hard_limit: LimitField = Threshold("percent", Decimal(1))
    """Budget exceeded ("100%" by default; litellm for LiteLLM's max_budget; null for none)."""
    alert_at: tuple[ThresholdField, ...] = ()
    """Further steps of the ladder, e.g. [50%, 75%, 90%]."""
    forecast: Forecast | None = None
    """Alert on projected spend at the end of the period."""
    on_hard_limit: Literal["notify", "block"] = "notify"
    """notify only, or also block the key/team/customer in LiteLLM until the next period."""
    notify: NamesField = ()
    """Channel names from the ops config; empty: the routing defaults."""
    reset: bool = False
    """Set the entity's LiteLLM spend to zero at the start of each period."""
    renotify: DurationField | None = None
    """Remind again this often while spend stays over the hard limit (default: never)."""
    enabled: bool = True
    """false keeps the rule in the file but evaluates nothing."""
    dimension: str | None = None
    """For scope dimension: the request attribute to budget, e.g. department or agent."""
    query: str | None = None
    """For scope query: PromQL returning USD per series; `$__range` is the period so far."""

    @model_validator(mode="before")
    @classmethod
    def _period_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and "period" not in data:
            amount = data.get("amount")
            if amount is None or (isinstance(amount, str) and amount.strip().lower() == "litellm"):
                scope = str(data.get("scope", ""))
                if scope in {s.value for s in BUDGETED}:
                    return {**data, "period": "litellm"}
        return data

    @model_validator(mode="after")
    def _check(self) -> Rule:
        _check_rule(self)
        return self

    @property
    def uses_litellm_budget(self) -> bool:
        return self.amount is None


def _check_rule(rule: Rule) -> None:
    """Cross-field checks; each ValueError names the field first."""
    if not rule.name.strip():
        raise ValueError("name: cannot be empty")
    scope = rule.scope
    if scope is Scope.GLOBAL:
        if rule.match and rule.match != ("*",):
            raise ValueError("match: not used for scope global (it is the proxy-wide total)")
    elif not rule.match and scope is not Scope.QUERY:
        raise ValueError(f'match: required for scope {scope}; use "*" for every {scope}')
    if rule.team is not None and scope not in (Scope.KEY, Scope.USER):
        raise ValueError("team: only keys and users belong to a team")
    _check_litellm_budget(rule)
    if rule.period.kind == "litellm" and scope not in BUDGETED:
        raise ValueError(
            f"period: litellm follows an entity's budget_reset_at, which scope "
            f"{scope} does not have; use monthly, 30d or a cron expression"
        )
    _check_limits(rule)
    _check_actions(rule)
    if scope is Scope.DIMENSION and not rule.dimension:
        raise ValueError("dimension: required for scope dimension, e.g. department")
    if scope is Scope.QUERY and not rule.query:
        raise ValueError("query: required for scope query (PromQL returning USD per series)")
    if rule.anchor is not None and rule.period.kind != "every":
        raise ValueError("anchor: only used with fixed-length periods such as 30d or 12h")


def _check_litellm_budget(rule: Rule) -> None:
    scope = rule.scope
    if scope not in (Scope.TAG, Scope.DIMENSION, Scope.QUERY):
        return
    if rule.amount is None:
        raise ValueError(f"amount: required for scope {scope} (LiteLLM keeps no budget for it)")
    for name in ("soft_limit", "hard_limit"):
        limit = getattr(rule, name)
        if limit is not None and limit.kind == "litellm":
            raise ValueError(f"{name}: LiteLLM keeps no budget for scope {scope}")


def _check_limits(rule: Rule) -> None:
    soft, hard = rule.soft_limit, rule.hard_limit
    comparable = soft and hard and soft.kind == hard.kind != "litellm"
    if comparable and soft and hard and soft.value > hard.value:
        raise ValueError(f"soft_limit: {soft} is above hard_limit {hard}")
    labels = [t.label for t in rule.alert_at]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise ValueError(f"alert_at: {', '.join(twice)} is listed twice; list each step once")
    if not (soft or hard or rule.alert_at or rule.forecast):
        raise ValueError(
            "hard_limit: a budget needs at least one of hard_limit, soft_limit, "
            "alert_at or forecast"
        )


_NO_BLOCK = {
    Scope.CUSTOMER: "LiteLLM's open-source build does not enforce customer blocks (the flag is "
    "set, requests are still served); block the customer's keys instead, or give the customer "
    "a max_budget in LiteLLM",
}
_NO_RESET = {
    Scope.TEAM: "LiteLLM cannot set a team's spend to zero through its API (it ignores spend on "
    "/team/update); give the team a budget_duration in LiteLLM and use period: litellm, or "
    "reset the team's keys",
    Scope.CUSTOMER: "LiteLLM cannot set a customer's spend to zero through its API (it ignores "
    "spend on /customer/update); give the customer a budget_duration in LiteLLM and use "
    "period: litellm",
}


def _check_actions(rule: Rule) -> None:
    if rule.on_hard_limit == "block":
        if rule.scope not in BLOCKABLE:
            why = _NO_BLOCK.get(rule.scope, f"LiteLLM can block keys and teams, not {rule.scope}")
            raise ValueError(f"on_hard_limit: {why}")
        if rule.hard_limit is None:
            raise ValueError("on_hard_limit: block needs a hard_limit")
    if rule.reset:
        if rule.scope not in RESETTABLE:
            why = _NO_RESET.get(
                rule.scope, f"LiteLLM can reset the spend of keys and users, not {rule.scope}"
            )
            raise ValueError(f"reset: {why}")
        if rule.period.kind == "litellm":
            raise ValueError(
                "reset: LiteLLM already resets spend for period: litellm; "
                "pick a period such as monthly to reset on your own schedule"
            )


class RuleFile(_Model):
    """A rules file: optional defaults and a list of budgets."""

    defaults: Defaults | None = None
    """Values every budget in this file starts from."""
    budgets: list[Rule]
    """The budgets."""


# Loaded rule set -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a rule was written."""

    path: str
    line: int
    col: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class Routing:
    """Who hears about what, from the ops config. Pure data for the core."""

    default: tuple[str, ...] = ()
    """Channels for budgets whose rule names none and no owner mapping matches."""
    owners: Mapping[Scope, Mapping[str, tuple[str, ...]]] = field(default_factory=empty)
    """Extra channels per entity, e.g. team engineering → eng-slack (keys of that team too)."""
    meta: tuple[str, ...] = ()
    """Channels for watchdog's own health alerts (source down, rules invalid)."""
    quiet: Mapping[str, Any] = field(default_factory=empty)
    """Per-channel quiet hours (channel name → QuietHours)."""
    urgent_overrides_quiet: bool = True
    """Hard-limit alerts are delivered even in quiet hours."""


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Every valid rule, the routing, and the knobs the core needs. Swapped whole on reload."""

    rules: tuple[Rule, ...] = ()
    origins: Mapping[str, Origin] = field(default_factory=empty)
    routing: Routing = field(default_factory=Routing)
    stale_after: timedelta = timedelta(minutes=5)
    """Data older than this is stale: no alerts, resets or blocks from it; a meta-alert instead."""
    files: tuple[str, ...] = ()

    def with_routing(self, routing: Routing, *, stale_after: timedelta | None = None) -> RuleSet:
        return RuleSet(
            self.rules,
            self.origins,
            routing,
            stale_after if stale_after is not None else self.stale_after,
            self.files,
        )

    def enabled(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.enabled)


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories to their *.yaml / *.yml files, sorted; keep files as given."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(
                sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
            )
        else:
            out.append(path)
    return out


def load_rules(paths: Iterable[str | Path]) -> RuleSet:
    """Read and validate every rule file; raise RuleError listing every problem in every file."""
    files = rule_files(paths)
    problems: list[Problem] = []
    rules: list[Rule] = []
    origins: dict[str, Origin] = {}
    if not files:
        raise RuleError([Problem(str(p), 1, 1, "no rule files (*.yaml) found") for p in paths])
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(_unreadable(str(path), exc))
            continue
        file_rules, file_problems = parse_rules(text, str(path))
        problems.extend(file_problems)
        for rule, origin in file_rules:
            if rule.name in origins:
                first = origins[rule.name]
                problems.append(
                    Problem(
                        origin.path,
                        origin.line,
                        origin.col,
                        f"name: duplicate budget name {rule.name!r} (first defined at {first})",
                    )
                )
                continue
            origins[rule.name] = origin
            rules.append(rule)
    if problems:
        raise RuleError(problems)
    return RuleSet(rules=tuple(rules), origins=origins, files=tuple(map(str, files)))


def _unreadable(path: str, exc: OSError | UnicodeDecodeError) -> Problem:
    if isinstance(exc, OSError):
        return Problem(path, 1, 1, f"cannot read file: {exc.strerror or type(exc).__name__}")
    data = bytes(exc.object)
    line_start = data.rfind(b"\n", 0, exc.start) + 1
    line = data.count(b"\n", 0, exc.start) + 1
    col = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
    return Problem(
        path,
        line,
        col,
        f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
    )


def parse_rules(text: str, path: str) -> tuple[list[tuple[Rule, Origin]], list[Problem]]:
    """Validate one file's text; return the good rules and the problems (never raises)."""
    try:
        doc = yamlfile.parse(text, path)
    except yamlfile.YamlError as exc:
        return [], exc.problems
    data = doc.data
    if data is None:
        return [], [Problem(path, 1, 1, "empty file: expected a mapping with a `budgets:` list")]
    if isinstance(data, list):
        return [], [
            doc.problem(
                (),
                "expected a mapping with a `budgets:` list at the top; "
                "indent this list under `budgets:`",
            )
        ]
    if not isinstance(data, dict):
        return [], [
            doc.problem((), f"expected a mapping with a `budgets:` list, got {_shown(data)}")
        ]
    problems = [
        doc.problem((key,), _unknown_field(key, ("budgets", "defaults")), key=True)
        for key in data
        if key not in ("budgets", "defaults")
    ]
    defaults, default_problems = _defaults(doc)
    problems.extend(default_problems)
    budgets = data.get("budgets")
    if "budgets" not in data:
        problems.append(doc.problem((), "missing `budgets:` (the list of budgets in this file)"))
        return [], problems
    if not isinstance(budgets, list):
        problems.append(
            doc.problem(
                ("budgets",), "budgets: expected a list of budgets, each starting with `- name:`"
            )
        )
        return [], problems
    rules = []
    for index, item in enumerate(budgets):
        rule, rule_problems = _rule(doc, index, item, defaults)
        problems.extend(rule_problems)
        if rule is not None:
            rules.append((rule, Origin(path, *doc.at(("budgets", index, "name")))))
    return rules, problems


def _defaults(doc: yamlfile.Document) -> tuple[dict[str, Any], list[Problem]]:
    raw = doc.data.get("defaults")
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [
            doc.problem(
                ("defaults",),
                "defaults: expected a mapping of fields, e.g. `timezone: Europe/Stockholm`",
            )
        ]
    try:
        Defaults.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        problems = [_problem(doc, ("defaults",), err, raw, where="defaults: ") for err in errors]
        # Budgets start from the valid defaults; a bad one stays, marked, so that a budget
        # taking it is not reported again (one mistake, one message).
        bad = {str(err["loc"][0]) for err in errors if err["loc"]}
        return {k: _BROKEN if k in bad else v for k, v in raw.items()}, problems
    return raw, []


def _rule(
    doc: yamlfile.Document, index: int, item: Any, defaults: Mapping[str, Any]
) -> tuple[Rule | None, list[Problem]]:
    base = ("budgets", index)
    if not isinstance(item, dict):
        return None, [
            doc.problem(
                base,
                f"budgets[{index}]: expected a mapping starting with `name:`, got {_shown(item)}",
            )
        ]
    broken = {k for k, v in defaults.items() if v is _BROKEN and k not in item}
    merged = {**{k: v for k, v in defaults.items() if k not in item and k not in broken}, **item}
    try:
        return Rule.model_validate(merged), []
    except ValidationError as exc:
        name = item.get("name")
        where = f"budget {name!r}: " if isinstance(name, str) else ""
        problems = []
        for err in exc.errors():
            # A value this budget took from `defaults:` is reported where it is written.
            field_name = str(err["loc"][0]) if err["loc"] else _field_named(err)
            if field_name in broken:  # already reported in defaults
                continue
            inherited = field_name in defaults and field_name not in item
            at = ("defaults",) if inherited else base
            problems.append(_problem(doc, at, err, merged, where=where))
        return None, problems


def _field_named(err: ErrorDetails) -> str:
    """The field a cross-field check is about: its message starts with `field:`."""
    return str(err["msg"]).removeprefix("Value error, ").split(":", 1)[0]


# Messages ------------------------------------------------------------------------------------

_TYPE_WORDS = {
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping of fields",
    "model_type": "a mapping of fields",
    "model_attributes_type": "a mapping of fields",
    "datetime_type": "a date and time such as 2026-01-05T00:00:00+01:00",
    "datetime_parsing": "a date and time such as 2026-01-05T00:00:00+01:00",
    "datetime_from_date_parsing": "a date and time such as 2026-01-05T00:00:00+01:00",
}


def _problem(
    doc: yamlfile.Document,
    base: yamlfile.Path,
    err: ErrorDetails,
    data: Any,
    *,
    where: str = "",
) -> Problem:
    loc = tuple(err["loc"])
    kind = err["type"]
    name = ".".join(_loc_text(loc)) or "budget"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1], base)
        return doc.problem(
            (*base, *loc), where + _unknown_field(str(loc[-1]), tuple(model.model_fields)), key=True
        )
    if kind == "missing":
        hint = _MISSING_HINTS.get(name, "")
        return doc.problem((*base, *loc[:-1]), f"{where}{name}: missing required field{hint}")
    if kind in ("enum", "literal_error"):
        expected = err.get("ctx", {}).get("expected", "")
        got = _value_at(data, loc)
        hint = _did_you_mean(
            str(got),
            [s.strip("' ") for s in str(expected).split(",") if s.strip()]
            + _or_split(str(expected)),
        )
        return doc.problem(
            (*base, *loc),
            f"{where}{name}: unknown value {_shown(got)}; use one of {expected}{hint}",
        )
    if kind in _TYPE_WORDS:
        got = _value_at(data, loc)
        return doc.problem(
            (*base, *loc), f"{where}{name}: expected {_TYPE_WORDS[kind]}, got {_shown(got)}"
        )
    message = str(err["msg"]).removeprefix("Value error, ")
    if not loc:  # cross-field check: the message starts with the field it is about
        field_name = _field_named(err)
        target = (*base, field_name) if field_name.isidentifier() else base
        return doc.problem(target, f"{where}{message}")
    return doc.problem((*base, *loc), f"{where}{name}: {message}")


_MISSING_HINTS = {
    "name": " (a unique name shown in alerts, e.g. `name: Engineering monthly`)",
    "scope": f"; use one of {', '.join(s.value for s in Scope)}",
}


def _loc_text(loc: tuple[Any, ...]) -> list[str]:
    out: list[str] = []
    for part in loc:
        if isinstance(part, int) and out:
            out[-1] = f"{out[-1]}[{part}]"
        else:
            out.append(str(part))
    return out


def _model_at(loc: tuple[Any, ...], base: yamlfile.Path) -> type[BaseModel]:
    names = [p for p in loc if isinstance(p, str)]
    if base == ("defaults",) and not names:
        return Defaults
    if names and names[-1] == "forecast":
        return Forecast
    return Rule


def _value_at(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _unknown_field(name: str, known: Sequence[str]) -> str:
    return (
        f"unknown field {name!r}{_did_you_mean(name, list(known))}; accepted fields: "
        f"{', '.join(known)}"
    )


def _or_split(text: str) -> list[str]:
    return [p.strip(" '") for p in text.replace(" or ", ",").split(",") if p.strip(" '")]


def _did_you_mean(got: str, options: list[str]) -> str:
    close = difflib.get_close_matches(got, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# JSON Schema for editors ---------------------------------------------------------------------


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a rules file, for editor autocompletion (rules/schema.json)."""
    schema = RuleFile.model_json_schema()
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["title"] = "watchdog budget rules"
    rule = schema["$defs"]["Rule"]
    # a budget may take its scope from the file's `defaults:`; `check` reports it if neither has
    rule["required"] = [name for name in rule.get("required", []) if name != "scope"]
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
