"""Reading a LiteLLM proxy config: where each setting lives, its os.environ/NAME values, and the
channels its alerting settings describe. Pure: the caller passes the parsed file and the env.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError

from watchdog import yamlfile
from watchdog.channel_settings import EmailChannel, SlackChannel, WebhookChannel
from watchdog.config_fields import Secret, resolve_secret
from watchdog.errors import Problem

GENERAL, LITELLM = "general_settings", "litellm_settings"
KINDS = ("slack", "webhook", "email")
"""The `alerting:` integrations watchdog can deliver to."""

LiteLLMChannel = SlackChannel | WebhookChannel | EmailChannel
DESTINATIONS = (
    ("slack_webhook_url", "slack"),
    ("webhook_url", "webhook"),
    ("email_alerts_to", "email"),
)
"""Settings that name a destination, and the integration each implies."""


@dataclass(frozen=True, slots=True)
class Found:
    """A setting's value and where it is written (a path into the YAML document)."""

    loc: yamlfile.Path
    value: Any


Getter = Callable[[str], Found | None]


@dataclass
class Reader:
    """The parsed file, the environment, and the problems found while reading them."""

    doc: yamlfile.Document
    env: Mapping[str, str]
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)
    """(section, key) pairs read, so leftovers can be reported."""

    def error(self, loc: yamlfile.Path, message: str, *, key: bool = False) -> None:
        problem = self.doc.problem(loc, message, key=key)
        if problem not in self.errors:
            self.errors.append(problem)

    def warn(self, loc: yamlfile.Path, message: str, *, key: bool = False) -> None:
        problem = self.doc.problem(loc, "warning: " + message, key=key)
        if problem not in self.warnings:
            self.warnings.append(problem)

    def section(self, name: str) -> dict[str, Any]:
        """One top-level section as a mapping (empty when absent or not a mapping)."""
        data = self.doc.data.get(name) if isinstance(self.doc.data, dict) else None
        return data if isinstance(data, dict) else {}

    def get(self, key: str, home: str | None = None) -> Found | None:
        """`key` from general_settings or litellm_settings; `home` is where LiteLLM reads it."""
        hits = [s for s in (GENERAL, LITELLM) if self.section(s).get(key) is not None]
        for name in (GENERAL, LITELLM):
            self.seen.add((name, key))
        if not hits:
            return None
        chosen = home if home in hits else hits[0]
        for other in hits:
            if other != chosen:
                self.warn(
                    (other, key),
                    f"{other}.{key}: also set in {chosen}; watchdog uses the one in {chosen}",
                    key=True,
                )
        if home is not None and chosen != home:
            self.warn(
                (chosen, key),
                f"{chosen}.{key}: LiteLLM reads {key} from {home} only, so the proxy ignores "
                "it here; watchdog uses it",
                key=True,
            )
        return Found((chosen, key), self.section(chosen)[key])

    # Values ------------------------------------------------------------------------------

    def text(self, found: Found) -> str | None:
        """A plain value, os.environ/NAME resolved (None and an error when it cannot be)."""
        value = found.value
        if isinstance(value, bool | dict | list) or value is None:
            self.error(found.loc, f"{setting_name(found.loc)}: expected text, got a {_kind(value)}")
            return None
        secret = self.secret(found)
        return secret.reveal() if secret is not None else None

    def secret(self, found: Found) -> Secret | None:
        """A value that may be secret: os.environ/NAME resolved; never shown in messages."""
        value = found.value if isinstance(found.value, str) else str(found.value)
        try:
            return resolve_secret(value, self.env)
        except ValueError as exc:
            self.error(found.loc, f"{setting_name(found.loc)}: {exc}")
            return None

    def from_env(self, *names: str) -> Secret | None:
        """The first of these environment variables that is set (LiteLLM's own fallbacks)."""
        for name in names:
            if self.env.get(name):
                return Secret(self.env[name], f"os.environ/{name}")
        return None

    def names(self, found: Found) -> list[Found]:
        """A list (or one value, or "a, b") as separate located items."""
        if isinstance(found.value, list):
            return [Found((*found.loc, i), v) for i, v in enumerate(found.value)]
        if isinstance(found.value, str):
            parts = [p.strip() for p in found.value.split(",") if p.strip()]
            return [Found(found.loc, p) for p in parts]
        kind = _kind(found.value)
        self.error(found.loc, f"{setting_name(found.loc)}: expected a list, got a {kind}")
        return []


def setting_name(loc: yamlfile.Path) -> str:
    """`general_settings.alerting[1]` for a path into the document."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "true/false value"
    return "number" if value is not None else "empty value"


# Channels ------------------------------------------------------------------------------------


def slack_channels(
    r: Reader, get: Getter, where: yamlfile.Path, *, proxy: bool
) -> list[tuple[SlackChannel, yamlfile.Path]]:
    """Slack incoming webhooks: slack_webhook_url (and, for the proxy, LiteLLM's env names)."""
    found = _budget_alerts_url(r, get("alert_to_webhook_url")) if proxy else None
    found = found or get("slack_webhook_url")
    urls = [(s, one.loc) for one in (r.names(found) if found else []) if (s := r.secret(one))]
    if not found and proxy and (env := r.from_env("SLACK_WEBHOOK_URL", "ALERTING_WEBHOOK_URL")):
        urls.append((env, where))
    out = []
    for secret, loc in urls:
        channel = _build(r, loc, SlackChannel, {"type": "slack", "webhook_url": secret})
        if channel is not None:
            out.append((channel, loc))
    return out


def _budget_alerts_url(r: Reader, found: Found | None) -> Found | None:
    """LiteLLM's per-alert-type Slack URLs: the one for budget_alerts, if any."""
    if found is None:
        return None
    if not isinstance(found.value, dict):
        r.error(found.loc, f"{setting_name(found.loc)}: expected a mapping of alert type to URL")
        return None
    others = sorted(str(k) for k in found.value if k != "budget_alerts")
    if others:
        r.warn(
            found.loc,
            f"{setting_name(found.loc)}: {', '.join(others)} are not budget alerts; "
            "watchdog ignores them",
        )
    value = found.value.get("budget_alerts")
    return None if value is None else Found((*found.loc, "budget_alerts"), value)


def webhook_channel(
    r: Reader, get: Getter, where: yamlfile.Path, *, proxy: bool
) -> tuple[WebhookChannel | None, yamlfile.Path]:
    """A webhook: webhook_url (and, for the proxy, LiteLLM's WEBHOOK_URL variable)."""
    found = get("webhook_url")
    url: str | None = None
    loc = where
    if found is not None:
        url, loc = r.text(found), found.loc
    elif proxy and (env := r.from_env("WEBHOOK_URL")) is not None:
        url = env.reveal()
    if url is None:
        return None, loc
    return _build(r, loc, WebhookChannel, {"type": "webhook", "url": url}), loc


_SMTP = {
    "host": (("smtp_host",), ("SMTP_HOST",)),
    "port": (("smtp_port",), ("SMTP_PORT",)),
    "username": (("smtp_username", "smtp_user"), ("SMTP_USERNAME",)),
    "password": (("smtp_password",), ("SMTP_PASSWORD",)),
    "sender": (("smtp_sender", "smtp_sender_email"), ("SMTP_SENDER_EMAIL",)),
    "tls": (("smtp_tls",), ("SMTP_TLS",)),
}
SMTP_KEYS = frozenset(k for keys, _ in _SMTP.values() for k in keys)


def email_channel(
    r: Reader, recipients: Found | None, where: yamlfile.Path
) -> tuple[EmailChannel | None, yamlfile.Path]:
    """Email through the SMTP server in smtp_* settings (or LiteLLM's SMTP_* variables)."""
    if recipients is None:
        r.warn(
            where,
            f"{setting_name(where)}: LiteLLM emails each key's owner; watchdog needs fixed "
            "recipients: set email_alerts_to (no email channel was made)",
        )
        return None, where
    before = len(r.errors)
    to = [t for one in r.names(recipients) if (t := r.text(one)) is not None]
    smtp: dict[str, Any] = {}
    for field_name, (keys, variables) in _SMTP.items():
        found = next((f for k in keys if (f := r.get(k)) is not None), None)
        if found is not None:
            value: Any = r.secret(found) if field_name == "password" else r.text(found)
        else:
            env = r.from_env(*variables)
            value = env if field_name == "password" or env is None else env.reveal()
        if value is not None:
            smtp[field_name] = value
    missing = [n for n in ("host", "sender") if n not in smtp]
    if len(r.errors) > before:
        return None, where
    if missing:
        r.error(
            where,
            f"{setting_name(where)}: email needs an SMTP server: set "
            + " and ".join(f"smtp_{n} (or {_SMTP[n][1][0]})" for n in missing),
        )
        return None, where
    tls = str(smtp.pop("tls", "true")).strip().lower() not in ("false", "0", "no")
    port = str(smtp.get("port", "587"))
    smtp["security"] = "tls" if port == "465" else ("starttls" if tls else "none")
    data = {"type": "email", "to": to, **smtp}
    return _build(r, recipients.loc, EmailChannel, data), recipients.loc


C = TypeVar("C", SlackChannel, WebhookChannel, EmailChannel)


def _build(r: Reader, loc: yamlfile.Path, model: type[C], data: dict[str, Any]) -> C | None:
    """Validate a derived channel; its problems are located at the setting that made it."""
    try:
        return model.model_validate(data, context={"env": r.env})
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            field_text = f"{where}: " if where else ""
            r.error(loc, f"{setting_name(loc)}: {data['type']} channel: {field_text}{message}")
        return None


# Channels of one owner ---------------------------------------------------------------------


def channels_for(
    r: Reader,
    get: Getter,
    kinds: dict[str, Any],
    out: dict[str, LiteLLMChannel],
    *,
    prefix: str,
    proxy: tuple[str, ...] | None,
) -> tuple[str, ...]:
    """Build the channels `kinds` asks for; their names. `proxy`: the proxy's channel names a
    team falls back to (None: these are the proxy's own)."""
    names: list[str] = []
    for kind, where in kinds.items():
        before = len(r.errors)
        made: list[LiteLLMChannel] = []
        if kind == "slack":
            made = [c for c, _ in slack_channels(r, get, where, proxy=proxy is None)]
        elif kind == "webhook":
            hook, _ = webhook_channel(r, get, where, proxy=proxy is None)
            made = [hook] if hook is not None else []
        elif get("email_alerts_to") is not None or proxy is None:
            mail, _ = email_channel(r, get("email_alerts_to"), where)
            made = [mail] if mail is not None else []
        for i, channel in enumerate(made):
            name = f"{prefix}-{kind}" + (f"-{i + 1}" if i else "")
            out[name] = channel
            names.append(name)
        if made or len(r.errors) > before:
            continue
        shared = [n for n in proxy or () if n.startswith(f"litellm-{kind}")]
        if shared:
            names.extend(shared)
        elif kind == "email":
            r.warn(where, f"{setting_name(where)}: email needs email_alerts_to (no email channel)")
        else:
            needs = {"slack": "slack_webhook_url", "webhook": "webhook_url"}[kind]
            env = " or the environment variable " + needs.upper() if proxy is None else ""
            r.error(where, f"{setting_name(where)}: {kind} needs a URL: set {needs}{env}")
    if proxy is None:
        for key, kind in DESTINATIONS:
            found = get(key)
            if found is not None and kind not in kinds:
                r.warn(
                    found.loc,
                    f"{setting_name(found.loc)}: set, but alerting does not list {kind}; "
                    f"no {kind} channel was made",
                )
    return tuple(names)


_SAFE = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """A channel-name-safe form of a team id."""
    return _SAFE.sub("-", text.lower()).strip("-") or "team"
