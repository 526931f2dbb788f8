"""LiteLLM's own alerting settings as watchdog budgets and channels.

`derive` is pure: it takes the parsed proxy config (proxy_server_config.yaml) and the
environment and returns the derived rules and channels plus a located problem for anything it
cannot map; `load` is the thin reader of the file. Secrets stay `Secret` values throughout.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from watchdog import yamlfile
from watchdog.config import Settings
from watchdog.errors import Problem, RuleError
from watchdog.litellm_reader import GENERAL, LITELLM, LiteLLMChannel, Reader
from watchdog.litellm_rules import Budgets, derive_budgets
from watchdog.model import empty
from watchdog.rules import Origin, Rule, RuleSet
from watchdog.windows import window_name


@dataclass(frozen=True, slots=True)
class Derived:
    """What a LiteLLM config means to watchdog, and what it could not understand."""

    path: str
    rules: tuple[Rule, ...] = ()
    origins: Mapping[str, Origin] = field(default_factory=empty)
    channels: Mapping[str, LiteLLMChannel] = field(default_factory=empty, repr=False)
    """Channel models; a webhook URL may carry a token, so they are left out of repr."""
    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()


def load(path: str | Path, env: Mapping[str, str] | None = None) -> Derived:
    """Read a LiteLLM proxy config file and derive its budgets (problems carry file:line:col)."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        return Derived(name, errors=(Problem(name, 1, 1, f"cannot read LiteLLM config: {why}"),))
    try:
        doc = yamlfile.parse(text, name)
    except yamlfile.YamlError as exc:
        return Derived(name, errors=tuple(exc.problems))
    return derive(doc, os.environ if env is None else env)


def derive(doc: yamlfile.Document, env: Mapping[str, str]) -> Derived:
    """The budgets and channels a parsed LiteLLM config describes (never raises)."""
    if not isinstance(doc.data, dict):
        what = "an empty file" if doc.data is None else "not a mapping"
        problem = Problem(
            doc.path, 1, 1, f"{what}: expected a LiteLLM proxy config (general_settings: …)"
        )
        return Derived(doc.path, errors=(problem,))
    reader = Reader(doc, _environment(doc, env))
    budgets = derive_budgets(reader)
    _leftovers(reader)
    return _result(reader, budgets)


def _environment(doc: yamlfile.Document, env: Mapping[str, str]) -> dict[str, str]:
    """The process environment plus the config's own `environment_variables:` (which win, as
    LiteLLM copies them into its environment at start)."""
    merged = dict(env)
    section = doc.data.get("environment_variables")
    if isinstance(section, dict):
        for name, value in section.items():
            if value is None or isinstance(value, dict | list):
                continue
            text = str(value)
            match = re.fullmatch(r"os\.environ/([A-Za-z_][A-Za-z0-9_]*)", text.strip())
            if match and match[1] in env:
                merged[name] = env[match[1]]
            elif not match:
                merged[name] = text
    return merged


def _result(reader: Reader, budgets: Budgets) -> Derived:
    return Derived(
        path=reader.doc.path,
        rules=tuple(rule for rule, _ in budgets.rules),
        origins={rule.name: origin for rule, origin in budgets.rules},
        channels=dict(budgets.channels),
        errors=tuple(reader.errors),
        warnings=tuple(reader.warnings),
    )


# Settings watchdog does not map --------------------------------------------------------------

_ALERTISH = re.compile(r"alert|budget|smtp|email|slack|webhook|spend_report|threshold|projected")
_QUIET = frozenset(
    {
        "budget_exceeded_status_code",  # how LiteLLM rejects, not whom it tells
        "max_ui_session_budget",
        "proxy_budget_rescheduler_min_time",
        "proxy_budget_rescheduler_max_time",
        # defaults LiteLLM copies onto new users; the user budgets read each user's own
        "max_internal_user_budget",
        "default_max_internal_user_budget",
        "internal_user_budget_duration",
    }
)
_WHY = {
    "alert_type_config": "digest mode for LiteLLM's own Slack alerts; watchdog alerts once per "
    "threshold and period instead",
    "spend_report_frequency": "watchdog sends no periodic spend reports",
    "default_key_max_budget_alert_emails": "per-threshold recipient lists are not supported; "
    "use alerting_thresholds with email_alerts_to",
    "budget_reset_time": "watchdog periods start at midnight in litellm_settings.timezone",
    "max_end_user_budget": "write a `scope: customer` budget in a rules file to be alerted",
    "default_soft_budget": "watchdog reads each key's soft_budget from LiteLLM",
}


def _leftovers(reader: Reader) -> None:
    """Report every alerting-related setting that nothing above used."""
    for section in (GENERAL, LITELLM):
        for key in reader.section(section):
            if (section, key) in reader.seen or key in _QUIET or not _ALERTISH.search(key):
                continue
            why = _WHY.get(key, "watchdog ignores it")
            reader.warn((section, key), f"not understood: {section}.{key}; {why}", key=True)
    for key in reader.doc.data:
        if key not in (GENERAL, LITELLM) and _ALERTISH.search(str(key)):
            reader.warn(
                (key,),
                f"not understood: {key} at the top level; LiteLLM reads alerting settings "
                "under general_settings or litellm_settings, so watchdog ignores it",
                key=True,
            )


# Combining with native rules -----------------------------------------------------------------


def combine(native: RuleSet, derived: Derived) -> RuleSet:
    """Native rules plus the derived ones; a name used by both is an error naming both places."""
    problems = []
    for rule in derived.rules:
        if rule.name in native.origins:
            here, there = derived.origins[rule.name], native.origins[rule.name]
            problems.append(
                Problem(
                    here.path,
                    here.line,
                    here.col,
                    f"budget {rule.name!r} is derived from this LiteLLM setting and also "
                    f"defined at {there}; rename the budget in {there.path}",
                )
            )
    if problems:
        raise RuleError(problems)
    return RuleSet(
        rules=(*native.rules, *derived.rules),
        origins={**native.origins, **derived.origins},
        routing=native.routing,
        stale_after=native.stale_after,
        files=(*native.files, derived.path),
    )


def with_channels(settings: Settings, derived: Derived) -> tuple[Settings, list[str]]:
    """The settings with the derived channels added; a channel of the same name in the ops
    config wins, and each such replacement is described in the returned notes."""
    replaced = [
        f"channel {name!r} from {derived.path} is replaced by the one of the same name in the "
        "ops config"
        for name in derived.channels
        if name in settings.channels
    ]
    channels = {**derived.channels, **settings.channels}
    return settings.model_copy(update={"channels": channels}), replaced


# A readable summary (for `check`) ------------------------------------------------------------


def describe(derived: Derived) -> list[str]:
    """The derived budgets and channels as lines for people; secrets show only their source."""
    lines = [f"From the LiteLLM config {derived.path}:"]
    if not derived.rules and not derived.channels:
        lines.append("  no budgets or channels (no alerting settings found)")
    for rule in derived.rules:
        lines.append(f"  budget {rule.name!r} ({derived.origins[rule.name]})")
        lines.extend(f"    {line}" for line in _rule_lines(rule))
    for name, channel in derived.channels.items():
        lines.append(f"  channel {name}: {_channel_text(channel)}")
    return lines


def _rule_lines(rule: Rule) -> list[str]:
    who = (
        "the whole proxy"
        if not rule.match
        else f"every {rule.scope}"
        if rule.match == ("*",)
        else f"{rule.scope} {', '.join(rule.match)}"
    )
    if rule.exclude:
        who += f" except {', '.join(rule.exclude)}"
    amount = "LiteLLM's max_budget" if rule.amount is None else f"${rule.amount:,.2f}"
    steps = [t.label for t in rule.alert_at]
    limits = [
        f"{label} {t.label if t.kind != 'litellm' else 'LiteLLM ' + kind}"
        for label, t, kind in (
            ("soft limit", rule.soft_limit, "soft_budget"),
            ("hard limit", rule.hard_limit, "max_budget"),
        )
        if t is not None
    ]
    out = [
        f"covers {who}",
        f"amount {amount}, period {rule.period}, timezone {rule.timezone}",
        f"alerts at {', '.join(steps) or '–'}; {', '.join(limits) or 'no limits'}",
    ]
    if rule.forecast is not None:
        out.append(f"forecast: projected spend over {rule.forecast.alert_if_projected_over}")
    if rule.renotify is not None:
        out.append(f"repeats every {window_name(rule.renotify)} while over the hard limit")
    out.append(f"notify {', '.join(rule.notify) or 'the routing defaults'}")
    return out


def _channel_text(channel: LiteLLMChannel) -> str:
    if channel.type == "slack":
        source = channel.webhook_url.source if channel.webhook_url else "?"
        return f"slack incoming webhook ({source})"
    if channel.type == "webhook":
        return f"webhook {_masked_url(channel.url)}"
    login = (
        f", login {channel.username} / password {channel.password.source}"
        if (channel.username and channel.password)
        else ""
    )
    return (
        f"email via {channel.host}:{channel.port} ({channel.security}) from {channel.sender} "
        f"to {', '.join(channel.to)}{login}"
    )


def _masked_url(url: str) -> str:
    """scheme://host/… : paths and queries of webhook URLs often carry tokens."""
    match = re.match(r"^([a-z]+://[^/?#@]*@?[^/?#]*)", url)
    host = match[1] if match else "?"
    host = re.sub(r"//[^/@]*@", "//", host)
    return host + ("/…" if len(url) > len(host) else "")
