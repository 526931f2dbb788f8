"""Budget rules from `rules/*.yaml`: validated once into frozen models.

Finance edits these files; every check here is written for them, naming the field and what
it accepts. Reading the files and placing errors at file:line:col is `rule_files`. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, model_validator

from watchdog import windows
from watchdog.model import BLOCKABLE, BUDGETED, RESETTABLE, Scope, empty
from watchdog.rule_fields import (
    BudgetAmountField,
    DurationField,
    LimitField,
    MoneyField,
    NamesField,
    PeriodField,
    Threshold,
    ThresholdField,
    ZoneField,
)


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
