"""LiteLLM's budget settings as watchdog rules: the proxy budget, the teams of
`default_team_settings`, and the key/team/user budgets LiteLLM itself alerts on. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from watchdog import windows
from watchdog.litellm_reader import (
    DESTINATIONS,
    GENERAL,
    KINDS,
    LITELLM,
    Found,
    Getter,
    LiteLLMChannel,
    Reader,
    channels_for,
    setting_name,
    slug,
)
from watchdog.money import MoneyError, parse_money
from watchdog.rule_fields import Threshold, parse_threshold
from watchdog.rules import Origin, Rule

NATIVE_LADDER = (Threshold("percent", Decimal("0.85")), Threshold("percent", Decimal("0.95")))
"""LiteLLM's threshold_crossed alerts: 15% and 5% of the budget left."""
_FULL = Threshold("percent", Decimal(1))
_HOMES = {
    "alerting": GENERAL,
    "alerting_threshold": GENERAL,
    "alert_types": GENERAL,
    "alert_to_webhook_url": GENERAL,
    "alerting_args": GENERAL,
    "max_budget": LITELLM,
    "budget_duration": LITELLM,
    "default_team_settings": LITELLM,
    "timezone": LITELLM,
}
"""Where LiteLLM reads each setting; the others are read from either section."""
_TEAM_KEYS = frozenset(
    {
        "alerting",
        "alerting_threshold",
        "alerting_thresholds",
        "slack_webhook_url",
        "webhook_url",
        "email_alerts_to",
        "max_budget",
        "budget_duration",
        "soft_budget",
        "projected_spend_alerts",
        "projected_spend_threshold",
    }
)
_ALERTISH = re.compile(r"alert|budget|smtp|email|slack|webhook|threshold|projected")


@dataclass
class Budgets:
    """Derived rules (with where each comes from) and channels."""

    rules: list[tuple[Rule, Origin]] = field(default_factory=list)
    channels: dict[str, LiteLLMChannel] = field(default_factory=dict)


@dataclass
class Common:
    """Settings of the proxy that every derived budget shares."""

    ladder: tuple[Threshold, ...] | None = None
    forecast: dict[str, Any] | None = None
    renotify: str | None = None
    timezone: str | None = None
    notify: tuple[str, ...] = ()


def derive_budgets(r: Reader) -> Budgets:
    """Every budget and channel the proxy's alerting settings describe."""
    out = Budgets()

    def get(key: str) -> Found | None:
        return r.get(key, _HOMES.get(key))

    kinds = _alerting(r, get("alerting"))
    budget_alerts = _alert_types(r, get("alert_types"))
    common = Common(
        ladder=_ladder(r, get),
        forecast=_forecast(r, get),
        renotify=_renotify(r, get("alerting_args")),
        timezone=_timezone(r, get("timezone")),
    )
    common.notify = channels_for(r, get, kinds, out.channels, prefix="litellm", proxy=None)
    _proxy_budget(r, get, common, out)
    teams = _teams(r, get("default_team_settings"), common, out)
    if kinds and budget_alerts:
        _native(r, get("alerting"), common, teams, out)
    return out


# Settings of the proxy -----------------------------------------------------------------------


def _alerting(r: Reader, found: Found | None) -> dict[str, Any]:
    kinds: dict[str, Any] = {}
    for item in r.names(found) if found is not None else []:
        name = str(item.value).strip().lower()
        if name in KINDS:
            kinds.setdefault(name, item.loc)
        else:
            r.warn(
                item.loc,
                f"not understood: {setting_name(item.loc)}: {item.value}; watchdog delivers "
                "to slack, webhook and email only and ignores it",
            )
    return kinds


def _alert_types(r: Reader, found: Found | None) -> bool:
    """Whether LiteLLM would send budget alerts (alert_types absent means every type)."""
    if found is None:
        return True
    names = [str(item.value) for item in r.names(found)]
    others = [n for n in names if n != "budget_alerts"]
    if others:
        r.warn(
            found.loc,
            f"{setting_name(found.loc)}: {', '.join(others)} are not budget alerts; "
            "watchdog ignores them",
        )
    if "budget_alerts" not in names:
        r.warn(
            found.loc,
            f"{setting_name(found.loc)}: budget_alerts is not listed, so LiteLLM sends no budget "
            "alerts and watchdog derives no key, team or user budgets from `alerting`",
        )
        return False
    return True


def _ladder(r: Reader, get: Getter) -> tuple[Threshold, ...] | None:
    steps: list[Threshold] = []
    single = get("alerting_threshold")
    if single is not None:
        value = single.value
        if isinstance(value, int | Decimal) and not isinstance(value, bool) and value > 1:
            r.warn(
                single.loc,
                f"{setting_name(single.loc)}: {value} is LiteLLM's limit in seconds for slow "
                "and hanging requests, not a budget threshold; watchdog ignores it",
            )
        elif (step := _threshold(r, single)) is not None:
            r.warn(
                single.loc,
                f"{setting_name(single.loc)}: LiteLLM reads this as seconds for slow and "
                f"hanging requests; watchdog reads it as {step.label} of the budget",
            )
            steps.append(step)
    found = get("alerting_thresholds")
    if found is not None:
        steps = [t for item in r.names(found) if (t := _threshold(r, item)) is not None]
    if single is None and found is None:
        return None
    return tuple(dict.fromkeys(steps))


def _threshold(r: Reader, found: Found) -> Threshold | None:
    try:
        return parse_threshold(found.value)
    except ValueError as exc:
        r.error(found.loc, f"{setting_name(found.loc)}: {exc}")
        return None


def _forecast(r: Reader, get: Getter) -> dict[str, Any] | None:
    alerts, over = get("projected_spend_alerts"), get("projected_spend_threshold")
    if alerts is not None and not isinstance(alerts.value, bool):
        r.error(alerts.loc, f"{setting_name(alerts.loc)}: expected true or false")
        return None
    if alerts is not None and alerts.value is False:
        if over is not None:
            r.warn(
                over.loc, f"{setting_name(over.loc)}: unused while projected_spend_alerts is false"
            )
        return None
    if alerts is None and over is None:
        return None
    threshold = _threshold(r, over) if over is not None else _FULL
    return None if threshold is None else {"alert_if_projected_over": threshold}


def _renotify(r: Reader, found: Found | None) -> str | None:
    if found is None:
        return None
    if not isinstance(found.value, dict):
        r.error(found.loc, f"{setting_name(found.loc)}: expected a mapping")
        return None
    renotify = None
    for key, value in found.value.items():
        loc = (*found.loc, key)
        if key == "budget_alert_ttl" and isinstance(value, int) and value > 0:
            renotify = f"{value}s"
        else:
            r.warn(loc, f"not understood: {setting_name(loc)}; watchdog ignores it", key=True)
    return renotify


def _timezone(r: Reader, found: Found | None) -> str | None:
    name = r.text(found) if found is not None else None
    if found is None or name is None:
        return None
    try:
        windows.parse_zone(name)
    except windows.PeriodError as exc:
        r.error(found.loc, f"{setting_name(found.loc)}: {exc}")
        return None
    return name


def _period(r: Reader, found: Found) -> str | None:
    """LiteLLM's budget_duration as a watchdog period (30d and 1mo are calendar months)."""
    text = r.text(found)
    match = re.fullmatch(r"\s*(\d+)\s*(mo|s|m|h|d|w)\s*", text or "")
    if text is None or not match or int(match[1]) == 0:
        if text is not None:
            r.error(
                found.loc,
                f"{setting_name(found.loc)}: expected a LiteLLM duration such as 30d, 1mo, 7d "
                f"or 24h, got {text!r}",
            )
        return None
    count, unit = int(match[1]), match[2]
    if unit == "mo":
        by_months = {1: "monthly", 3: "quarterly", 12: "yearly"}
        return by_months.get(count, f"0 0 1 */{count} *" if 12 % count == 0 else f"{30 * count}d")
    if unit == "d" and count in (1, 30):
        return "daily" if count == 1 else "monthly"
    return f"{count}{unit}"


def _money(r: Reader, found: Found) -> Decimal | None:
    try:
        amount = parse_money(found.value)
    except MoneyError as exc:
        r.error(found.loc, f"{setting_name(found.loc)}: {exc}")
        return None
    if amount < 0:
        r.error(found.loc, f"{setting_name(found.loc)}: cannot be negative")
        return None
    return amount


# Budgets -------------------------------------------------------------------------------------


def _proxy_budget(r: Reader, get: Getter, common: Common, out: Budgets) -> None:
    found, duration = get("max_budget"), get("budget_duration")
    amount = _money(r, found) if found is not None else None
    period = _period(r, duration) if duration is not None else "monthly"
    if found is None or not amount:  # LiteLLM: 0 means no proxy budget
        if duration is not None and found is None:
            r.warn(duration.loc, f"{setting_name(duration.loc)}: no max_budget to reset")
        return
    if period is None:
        return
    if duration is None:
        r.warn(
            found.loc,
            f"{setting_name(found.loc)}: no budget_duration, so LiteLLM never resets the proxy "
            "budget; watchdog budgets it per calendar month (set budget_duration: 30d to match)",
        )
    data = {"name": "LiteLLM: proxy budget", "scope": "global", "amount": amount, "period": period}
    _add(r, found.loc, _fields(data, common, common.ladder or NATIVE_LADDER), out)


def _teams(r: Reader, found: Found | None, common: Common, out: Budgets) -> list[str]:
    if found is None:
        return []
    if not isinstance(found.value, list):
        r.error(found.loc, f"{setting_name(found.loc)}: expected a list of teams (- team_id: …)")
        return []
    own: list[str] = []
    for index, item in enumerate(found.value):
        loc = (*found.loc, index)
        if not isinstance(item, dict) or item.get("team_id") is None:
            r.error(loc, f"{setting_name(loc)}: team_id missing (LiteLLM refuses to start)")
            continue
        if _team(r, loc, item, common, out):
            own.append(str(item["team_id"]))
    return own


def _team(r: Reader, loc: Any, item: dict[str, Any], common: Common, out: Budgets) -> bool:
    team_id = str(item["team_id"])

    def get(key: str) -> Found | None:
        return Found((*loc, key), item[key]) if item.get(key) is not None else None

    for key in item:
        if key not in _TEAM_KEYS and key != "team_id" and _ALERTISH.search(key):
            r.warn(
                (*loc, key),
                f"not understood: {setting_name((*loc, key))}; watchdog ignores it",
                key=True,
            )
    if not _TEAM_KEYS & set(item):
        return False
    kinds = _alerting(r, get("alerting"))
    if get("alerting") is None:  # no list: the destinations it names
        for key, kind in DESTINATIONS:
            if get(key) is not None:
                kinds[kind] = (*loc, key)
    prefix = f"litellm-team-{slug(team_id)}"
    notify = (
        channels_for(r, get, kinds, out.channels, prefix=prefix, proxy=common.notify)
        or common.notify
    )
    data: dict[str, Any] = {
        "name": f"LiteLLM: team {team_id} budget",
        "scope": "team",
        "match": team_id,
        "soft_limit": "litellm",
    }
    if (amount := get("max_budget")) is not None and (money := _money(r, amount)):
        data["amount"] = money
    if (soft := get("soft_budget")) is not None and (money := _money(r, soft)):
        data["soft_limit"] = f"${money}"
    duration = get("budget_duration")
    data["period"] = (_period(r, duration) if duration is not None else None) or "litellm"
    team = Common(
        ladder=_ladder(r, get) or common.ladder,
        forecast=_forecast(r, get) or common.forecast,
        renotify=common.renotify,
        timezone=common.timezone,
        notify=notify,
    )
    _add(r, (*loc, "team_id"), _fields(data, team, team.ladder or NATIVE_LADDER), out)
    return True


def _native(
    r: Reader, alerting: Found | None, common: Common, teams: Sequence[str], out: Budgets
) -> None:
    """The budgets LiteLLM alerts on itself: every key, team and user with a max_budget."""
    where = alerting.loc if alerting is not None else ()
    for scope in ("key", "team", "user"):
        data: dict[str, Any] = {
            "name": f"LiteLLM: {scope} budgets",
            "scope": scope,
            "match": "*",
            "soft_limit": "litellm",
        }
        if scope == "team" and teams:
            data["exclude"] = list(teams)
        _add(r, where, _fields(data, common, common.ladder or NATIVE_LADDER), out)


def _fields(
    data: dict[str, Any], common: Common, ladder: tuple[Threshold, ...] | None
) -> dict[str, Any]:
    steps = [t for t in ladder or () if t != _FULL]
    extra = {
        "alert_at": steps,
        "forecast": common.forecast,
        "renotify": common.renotify,
        "timezone": common.timezone,
        "notify": list(common.notify),
    }
    return {**data, **{k: v for k, v in extra.items() if v}}


def _add(r: Reader, loc: Any, data: dict[str, Any], out: Budgets) -> None:
    line, col = r.doc.at(loc)
    try:
        rule = Rule.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            message = str(err["msg"]).removeprefix("Value error, ")
            r.error(
                loc,
                f"{setting_name(loc) or 'alerting'}: derived budget {data['name']!r}: {message}",
            )
        return
    out.rules.append((rule, Origin(r.doc.path, line, col)))
