"""Turn a decision into the words and fields every channel shows. Pure.

One `Message` per notice: a title that reads like "Budget alert: team engineering at 82% —
$4,100.00 of $5,000.00, resets 2026-12-01 00:00 Europe/Stockholm", labelled fields, a plain-text
body and the webhook payload (LiteLLM's budget-alert shape plus watchdog's own fields). Channel
adapters only lay these out (Block Kit, HTML); they never compute wording of their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from watchdog.attribution import attribution_fields, attribution_json
from watchdog.decisions import Alert, Decision, Reason, StepKind
from watchdog.health import SOURCE_RULE
from watchdog.model import Scope
from watchdog.money import fmt_money, fmt_percent

SCHEMA_VERSION = "1"
Severity = Literal["info", "warning", "critical", "resolved"]

_SEVERITY: dict[StepKind, Severity] = {
    StepKind.THRESHOLD: "info",
    StepKind.SOFT: "warning",
    StepKind.HARD: "critical",
    StepKind.FORECAST: "warning",
    StepKind.SOURCE: "critical",
}


@dataclass(frozen=True, slots=True)
class Message:
    """What a channel shows for one notice."""

    id: str
    """Stable across retries and replicas: webhook-id, email Message-ID."""
    thread: str
    """Stable per budget and period: Slack thread, email References."""
    severity: Severity
    title: str
    summary: str
    fields: tuple[tuple[str, str], ...]
    body: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    test: bool = False
    utilisation: Decimal | None = None
    """Spend over budget, for progress bars."""
    description: str = ""
    """The rule's own words (owner, how to ask for more), shown under the facts."""


def render(decision: Decision, *, tz: tzinfo | None = None) -> Message:
    """The message for a notice decision."""
    alert = decision.alert
    zone = tz or alert.period.tz
    if alert.rule == SOURCE_RULE:
        return _source_message(decision)
    severity = _severity(decision)
    title = _title(decision, zone)
    fields = _fields(alert, zone)
    summary = alert.detail[:1].upper() + alert.detail[1:] if alert.detail else title
    body = "\n".join([title, "", summary, "", *(f"{k}: {v}" for k, v in fields)])
    if alert.description:
        body += f"\n\n{alert.description}"
    return Message(
        id=message_id(decision),
        thread=thread_id(decision),
        severity=severity,
        title=title,
        summary=summary,
        fields=tuple(fields),
        body=body,
        payload=payload(decision, severity),
        utilisation=alert.ratio,
        description=alert.description,
    )


def _severity(decision: Decision) -> Severity:
    if decision.reason in (Reason.RESOLVED, Reason.FORECAST_CLEARED, Reason.UNBLOCK):
        return "resolved"
    if decision.reason is Reason.RESET:
        return "info"
    return _SEVERITY[decision.alert.kind]


def _title(decision: Decision, tz: tzinfo) -> str:
    a = decision.alert
    used = f" at {fmt_percent(a.ratio)}" if a.ratio is not None else ""
    budget = f" of {fmt_money(a.budget)}" if a.budget is not None else ""
    resets = f", resets {when(a.period.end, tz)}" if a.period.end is not None else ""
    reason = decision.reason
    changed = _change_title(decision, tz)
    if changed:
        return changed
    if reason is Reason.RESOLVED:
        return f"Back under budget step: {a.label}{used} — {fmt_money(a.spend)}{budget}{resets}"
    if reason is Reason.FORECAST_CLEARED:
        return f"Projection back under: {a.label}{used} — {fmt_money(a.spend)}{budget}"
    if reason is Reason.FORECAST:
        projected = a.projection.projected if a.projection else None
        target = f"{fmt_money(projected)} by period end" if projected is not None else "over"
        return (
            f"Budget forecast: {a.label} projected at {target}{budget} — "
            f"{fmt_money(a.spend)} spent so far{resets}"
        )
    head = {StepKind.HARD: "Budget exceeded", StepKind.SOFT: "Budget warning"}.get(
        a.kind, "Budget alert"
    )
    if reason is Reason.REPEAT:
        head += " (reminder)"
    return f"{head}: {a.label}{used} — {fmt_money(a.spend)}{budget}{resets}"


def _change_title(decision: Decision, tz: tzinfo) -> str:
    """Titles for changes watchdog made in LiteLLM (announced after the fact)."""
    a = decision.alert
    if decision.step == "reset":
        period = f"{when(a.period.start, tz)} → {when(a.period.end, tz)}"
        return f"Budget reset: {a.label} — {a.detail} for the period {period}"
    if decision.step == "block":
        until = f", until {when(a.period.end, tz)}" if a.period.end is not None else ""
        return f"Blocked in LiteLLM: {a.label} — over its hard limit{until}"
    if decision.step == "unblock":
        return f"Unblocked in LiteLLM: {a.label} — {decision.note}"
    return ""


def _fields(alert: Alert, tz: tzinfo) -> list[tuple[str, str]]:
    out = [("Spent", fmt_money(alert.spend))]
    if alert.budget is not None:
        out.append(("Budget", fmt_money(alert.budget)))
        out.append(("Used", fmt_percent(alert.ratio)))
    if alert.step_amount is not None and alert.kind is not StepKind.FORECAST:
        out.append(("Step", _step_text(alert)))
    if alert.projection is not None:
        out.append(("Forecast", alert.projection.describe()))
        if alert.projection.exhausts_at is not None:
            out.append(("Runs out", _exhaustion(alert, tz)))
    out.extend(attribution_fields(alert.attribution))
    out.append(("Period", _period_text(alert, tz)))
    if alert.measurement is not None and not alert.measurement.complete:
        out.append(("Counted since", when(alert.measurement.since, tz)))
    out.append(("Rule", alert.rule))
    if alert.data_as_of is not None:
        out.append(("Data as of", when(alert.data_as_of, tz)))
    return out


_STEP_NAMES = {StepKind.SOFT: "soft limit", StepKind.HARD: "hard limit"}


def _step_text(alert: Alert) -> str:
    """How the step reads: "soft limit 80% ($4,000.00)", "hard limit set in LiteLLM ($0.01)"."""
    assert alert.step_amount is not None
    name = _STEP_NAMES.get(alert.kind, "alert step")
    money = fmt_money(alert.step_amount)
    if alert.step_label == "litellm":
        return f"{name} set in LiteLLM ({money})"
    if not alert.step_label or alert.step_label.startswith("$"):
        return f"{name} {money}"
    return f"{name} {alert.step_label} ({money})"


def _exhaustion(alert: Alert, tz: tzinfo) -> str:
    projection = alert.projection
    assert projection is not None
    assert projection.exhausts_at is not None
    pace = projection.fast or projection.steady
    assert pace is not None
    data_as_of = alert.data_as_of or projection.exhausts_at
    hours = (projection.exhausts_at - data_as_of).total_seconds() / 3600
    span = f"{hours:.0f} h" if hours >= 1 else f"{hours * 60:.0f} min"
    return (
        f"in {span}, {projection.exhausts_at.astimezone(tz):%a %H:%M} {zone_name(tz)} "
        f"at the {pace.method} ({fmt_money(pace.per_hour)}/h)"
    )


def _period_text(alert: Alert, tz: tzinfo) -> str:
    start, end = alert.period.start, alert.period.end
    if end is None:
        return "no reset (lifetime budget)"
    return f"{when(start, tz)} → {when(end, tz)}"


def when(at: datetime | None, tz: tzinfo) -> str:
    """A moment as people read it in the rule's zone: "2026-12-01 00:00 Europe/Stockholm"."""
    if at is None:
        return "–"
    return f"{at.astimezone(tz):%Y-%m-%d %H:%M} {zone_name(tz)}"


def zone_name(tz: tzinfo) -> str:
    key = getattr(tz, "key", None)
    return str(key) if key else (tz.tzname(None) or "UTC")


def _source_title(name: str, recovered: bool) -> str:
    if name == "rules":
        return (
            "Rule files valid again"
            if recovered
            else "Rule files invalid: the last good rules stay in force"
        )
    if recovered:
        return f"Spend source {name} recovered"
    return f"Spend source {name} unavailable: budgets it feeds are not being checked"


def _source_message(decision: Decision) -> Message:
    a = decision.alert
    recovered = decision.reason is Reason.SOURCE_RECOVERED
    name = a.entity_id
    title = _source_title(name, recovered)
    as_of = when(a.data_as_of, UTC) if a.data_as_of else "never"
    summary = a.detail if not recovered else "Readings are current again; alerts resume."
    fields: tuple[tuple[str, str], ...] = (
        ("Source", name),
        ("Last good data", as_of),
        ("Incident", a.step),
    )
    if name == "rules":
        fields = (("Problem", a.detail), ("Incident", a.step))
    body = "\n".join([title, "", summary, "", *(f"{k}: {v}" for k, v in fields)])
    return Message(
        id=message_id(decision),
        thread=thread_id(decision),
        severity="resolved" if recovered else "critical",
        title=title,
        summary=summary,
        fields=fields,
        body=body,
        payload=payload(decision, "resolved" if recovered else "critical"),
    )


# Identities ----------------------------------------------------------------------------------


def message_id(decision: Decision) -> str:
    """A stable id for this notice: the same on every retry, restart and replica."""
    raw = "\x1f".join(str(part) for part in decision.identity)
    return "wd_" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def thread_id(decision: Decision) -> str:
    """A stable id for the conversation about one budget in one period."""
    a = decision.alert
    raw = "\x1f".join([a.rule, a.scope.value, a.entity_id, a.period.key])
    return "wdt_" + hashlib.sha256(raw.encode()).hexdigest()[:24]


# Webhook payload -----------------------------------------------------------------------------


def payload(decision: Decision, severity: Severity) -> dict[str, Any]:
    """LiteLLM's budget-alert fields, then watchdog's (schema_version 1)."""
    a = decision.alert
    e = a.entity
    event = _event(decision)
    body: dict[str, Any] = {
        # LiteLLM's budget alert fields
        "event": event,
        "event_group": a.scope.value if a.scope is not Scope.GLOBAL else "proxy",
        "event_message": _event_message(decision),
        "timestamp": _iso(a.data_as_of),
        "spend": _number(a.spend),
        "max_budget": _number(a.budget),
        "soft_budget": _number(e.soft_budget) if e else None,
        "budget_threshold": _number(a.step_amount),
        "percentage": _number(a.ratio * 100 if a.ratio is not None else None, "0.01"),
        "budget_reset_at": _iso(a.period.end),
        "key": e.masked_key if e else None,
        "key_alias": e.name if e and a.scope is Scope.KEY else None,
        "token": e.id if e and a.scope is Scope.KEY else None,
        "user_id": _entity_field(a, Scope.USER),
        "team_id": e.team_id if e and a.scope is Scope.KEY else _entity_field(a, Scope.TEAM),
        "team_alias": e.team_name
        if e and a.scope is Scope.KEY
        else (e.name if e and a.scope is Scope.TEAM else None),
        "customer_id": _entity_field(a, Scope.CUSTOMER),
        "projected_spend": _number(a.projection.projected if a.projection else None),
        "projected_exceeded_date": _iso(a.projection.exhausts_at if a.projection else None),
        "metadata": dict(e.metadata) if e else {},
        # watchdog's fields
        "schema_version": SCHEMA_VERSION,
        "id": message_id(decision),
        "reason": decision.reason.value,
        "severity": severity,
        "rule": a.rule,
        "scope": a.scope.value,
        "entity": {"id": a.entity_id, "name": e.name if e else a.entity_id, "label": a.label},
        "period": {
            "key": a.period.key,
            "start": _iso(a.period.start),
            "end": _iso(a.period.end),
            "timezone": zone_name(a.period.tz),
        },
        "threshold": {
            "id": decision.step or a.step,
            "kind": a.kind.value,
            "label": a.step_label,
            "amount": _number(a.step_amount),
        },
        "resolved_to": decision.level
        if decision.event and decision.event.value == "resolved"
        else None,
        "detail": a.detail,
        "data_as_of": _iso(a.data_as_of),
        "measurement": None
        if a.measurement is None
        else {
            "basis": a.measurement.basis.name.lower(),
            "since": _iso(a.measurement.since),
            "complete": a.measurement.complete,
        },
        "forecast": _forecast(a),
        "attribution": attribution_json(a.attribution),
        "test": False,
    }
    return body


def _event(decision: Decision) -> str:
    reason, kind = decision.reason, decision.alert.kind
    if reason is Reason.RESOLVED:
        return "budget_resolved"
    if reason is Reason.FORECAST_CLEARED:
        return "projection_resolved"
    if reason is Reason.SOURCE_RECOVERED:
        return "source_recovered"
    if decision.step in ("reset", "block", "unblock"):
        return f"budget_{decision.step}"
    return kind.event


def _event_message(decision: Decision) -> str:
    a = decision.alert
    return f"{a.label}: {a.detail}" if a.detail else a.label


def _entity_field(alert: Alert, scope: Scope) -> str | None:
    return alert.entity_id if alert.scope is scope else None


def _forecast(alert: Alert) -> dict[str, Any] | None:
    p = alert.projection
    if p is None:
        return None
    return {
        "ok": p.ok,
        "reason": p.reason or None,
        "projected_spend": _number(p.projected),
        "method": p.steady.method if p.steady else None,
        "pace_per_hour": _number(p.steady.per_hour if p.steady else None, "0.000001"),
        "fast_pace_per_hour": _number(p.fast.per_hour if p.fast else None, "0.000001"),
        "exhausts_at": _iso(p.exhausts_at),
        "runaway": p.runaway,
    }


def _number(value: Decimal | None, quantum: str = "0.000000001") -> float | None:
    """A JSON number as LiteLLM sends them, without float noise from our own arithmetic."""
    if value is None:
        return None
    return float(value.quantize(Decimal(quantum), rounding=ROUND_HALF_UP).normalize())


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat().replace("+00:00", "Z")
