"""Operator settings: one YAML file (--config / WATCHDOG_CONFIG) plus WATCHDOG_* overrides.

Secrets are written as `os.environ/NAME` (LiteLLM's convention), resolved at load into `Secret`
values that never print themselves. Errors name the file, line and field.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from watchdog import windows, yamlfile
from watchdog.errors import ConfigError, Problem
from watchdog.evaluate import QuietHours
from watchdog.model import Scope
from watchdog.rules import DurationField, Routing, RuleSet, ZoneField

ENV_PREFIX = "WATCHDOG_"
_ENV_REF = re.compile(r"^os\.environ/([A-Za-z_][A-Za-z0-9_]*)$")


class Secret:
    """A secret value: resolved from the environment, never shown in logs, repr or errors."""

    __slots__ = ("_source", "_value")

    def __init__(self, value: str, source: str = "") -> None:
        self._value = value
        self._source = source

    def reveal(self) -> str:
        """The secret itself, for the one call that needs it."""
        return self._value

    @property
    def source(self) -> str:
        """Where it came from ("os.environ/NAME" or "inline"), safe to show."""
        return self._source or "inline"

    def __repr__(self) -> str:
        return f"Secret({self.source!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def resolve_secret(value: object, env: Mapping[str, str] | None = None) -> Secret:
    """`os.environ/NAME` → the variable's value; anything else is taken literally."""
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str):
        raise ValueError("expected text or os.environ/NAME")
    match = _ENV_REF.match(value.strip())
    if not match:
        return Secret(value, "inline")
    source = env if env is not None else os.environ
    name = match[1]
    if name not in source:
        raise ValueError(
            f"environment variable {name} is not set (referenced as os.environ/{name})"
        )
    return Secret(source[name], f"os.environ/{name}")


def _secret(value: object, info: ValidationInfo) -> Secret:
    return resolve_secret(value, _env(info))


def _env(info: ValidationInfo) -> Mapping[str, str] | None:
    context = info.context if isinstance(info.context, dict) else {}
    env = context.get("env")
    return env if isinstance(env, Mapping) else None


SecretField = Annotated[
    Secret,
    BeforeValidator(_secret),
    PlainSerializer(lambda s: s.source),
]


def _env_text(value: object, info: ValidationInfo) -> object:
    """Plain settings may also be written as os.environ/NAME (e.g. a URL from a Secret)."""
    if isinstance(value, str) and _ENV_REF.match(value.strip()):
        return resolve_secret(value, _env(info)).reveal()
    return value


EnvStr = Annotated[str, BeforeValidator(_env_text)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, use_attribute_docstrings=True
    )


# Sources -------------------------------------------------------------------------------------


class LiteLLMSettings(_Model):
    """Where LiteLLM's admin API is and how to read it."""

    url: EnvStr = "http://localhost:4000"
    master_key: SecretField | None = None
    """Admin key for the API (os.environ/LITELLM_MASTER_KEY)."""
    timeout: DurationField = timedelta(seconds=15)
    """Deadline for each request."""
    page_size: int = Field(default=100, ge=1, le=100)
    """Rows per page of /key/list, /v2/team/list and /user/list (LiteLLM allows 100)."""
    concurrency: int = Field(default=4, ge=1, le=32)
    """Pages fetched at once."""
    retries: int = Field(default=3, ge=0, le=10)
    """Attempts after a timeout or 5xx before the source is marked failing for the cycle."""
    scopes: tuple[Scope, ...] = (
        Scope.KEY,
        Scope.TEAM,
        Scope.USER,
        Scope.CUSTOMER,
        Scope.TAG,
        Scope.GLOBAL,
    )
    """Which lists to read each cycle (fewer is cheaper on a large proxy)."""


class PrometheusSettings(_Model):
    """Optional Prometheus that scrapes LiteLLM's /metrics."""

    url: EnvStr
    timeout: DurationField = timedelta(seconds=15)
    headers: dict[str, SecretField] = {}
    """Extra request headers, e.g. Authorization: os.environ/PROM_TOKEN."""
    windows: tuple[str, ...] = ("1h", "24h", "7d")
    """Trailing windows for spend rates used by forecasts."""


# Channels ------------------------------------------------------------------------------------


class Quiet(_Model):
    """Quiet hours for a channel: notices wait until they end (never dropped)."""

    start: str = Field(alias="from", pattern=r"^\d{1,2}:\d{2}$")
    end: str = Field(alias="to", pattern=r"^\d{1,2}:\d{2}$")
    timezone: ZoneField = windows.parse_zone("UTC")
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = (
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
    )

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, arbitrary_types_allowed=True
    )

    def compile(self) -> QuietHours:
        order = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        return QuietHours(
            start=_minutes(self.start),
            end=_minutes(self.end),
            tz=self.timezone,
            days=frozenset(order.index(d) for d in self.days),
        )


def _minutes(text: str) -> int:
    hours, minutes = (int(p) for p in text.split(":"))
    if hours > 24 or minutes > 59:
        raise ValueError(f"not a time of day: {text!r}")
    return hours * 60 + minutes


class _Channel(_Model):
    quiet_hours: Quiet | None = None
    """Hold notices back during these hours; they are sent when the hours end."""


class SlackChannel(_Channel):
    """Slack: a bot token (threads, in-place updates) or an incoming webhook URL."""

    type: Literal["slack"]
    token: SecretField | None = None
    """Bot token (xoxb-…, scope chat:write) as os.environ/NAME."""
    channel: str | None = None
    """Channel for the bot token, e.g. #eng-budgets or C0123456."""
    webhook_url: SecretField | None = None
    """Incoming webhook URL (no threads, no updates)."""
    base_url: str = "https://slack.com/api/"
    """Slack API base URL (tests point this at a local server)."""
    timeout: DurationField = timedelta(seconds=10)
    mention: str | None = None
    """Prefix for critical alerts, e.g. <!here> or <@U0123>."""

    @model_validator(mode="after")
    def _one_way(self) -> SlackChannel:
        if bool(self.token) == bool(self.webhook_url):
            raise ValueError("give either token (with channel) or webhook_url")
        if self.token and not self.channel:
            raise ValueError('channel: required with a bot token, e.g. "#eng-budgets"')
        return self


class WebhookChannel(_Channel):
    """An HTTPS endpoint receiving signed JSON (Standard Webhooks)."""

    type: Literal["webhook"]
    url: EnvStr
    secret: SecretField | None = None
    """Signing secret (whsec_… base64, or any text) as os.environ/NAME."""
    headers: dict[str, SecretField] = {}
    timeout: DurationField = timedelta(seconds=10)
    max_attempts: int = Field(default=8, ge=1, le=50)
    """Tries before the notice goes to the dead-letter list (see `budget-watchdog replay`)."""


class EmailChannel(_Channel):
    """Email through an SMTP server (STARTTLS on 587, implicit TLS on 465)."""

    type: Literal["email"]
    host: EnvStr
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    """starttls (587), tls (465) or none (local relays only)."""
    username: EnvStr | None = None
    password: SecretField | None = None
    sender: str
    to: tuple[str, ...] = Field(min_length=1)
    timeout: DurationField = timedelta(seconds=20)


class ConsoleChannel(_Channel):
    """Print notices to standard output (demos, debugging, kubectl logs)."""

    type: Literal["console"]


Channel = Annotated[
    SlackChannel | WebhookChannel | EmailChannel | ConsoleChannel, Field(discriminator="type")
]


# Routing -------------------------------------------------------------------------------------


class RoutingSettings(_Model):
    """Who hears about what, beyond each rule's own `notify:`."""

    default: tuple[str, ...] = ()
    """Channels for budgets whose rule names none and no owner matches."""
    meta: tuple[str, ...] = ()
    """Channels for watchdog's own health alerts (default: the default channels)."""
    owners: dict[Scope, dict[str, tuple[str, ...]]] = {}
    """Extra channels per entity, e.g. team: {engineering: [eng-slack]}; a team's channels
    also hear about the team's keys."""
    urgent_overrides_quiet: bool = True
    """Hard-limit alerts ignore quiet hours."""


class HistorySettings(_Model):
    """Spend samples kept for period baselines and forecasts."""

    resolution: DurationField = timedelta(minutes=5)
    """At most one stored sample per entity per this interval (while spend changes)."""
    retention: DurationField = timedelta(days=35)


class HttpSettings(_Model):
    host: str = "0.0.0.0"  # noqa: S104 - a container serves probes and metrics on all interfaces
    port: int = Field(default=9464, ge=0, le=65535)
    callback_token: SecretField | None = None
    """Bearer token LiteLLM's generic_api logger must send to /callbacks/litellm."""


class Settings(_Model):
    """The whole ops configuration."""

    litellm: LiteLLMSettings | None = LiteLLMSettings()
    prometheus: PrometheusSettings | None = None
    snapshot_file: str | None = None
    """Read spend from this snapshot file instead of LiteLLM (offline demos and tests)."""
    rules: tuple[str, ...] = ("rules",)
    """Rule files or directories."""
    database_url: SecretField | None = None
    """postgresql://… for production and HA; empty: the embedded SQLite file."""
    state_file: str = "watchdog-state.db"
    """The embedded store when no database_url is set."""
    poll_interval: DurationField = timedelta(seconds=60)
    stale_after: DurationField | None = None
    """Data older than this is stale (default: 3 poll intervals, at least 5 minutes)."""
    retention: DurationField = timedelta(days=90)
    """How long notices, decisions and actions are kept."""
    history: HistorySettings = HistorySettings()
    http: HttpSettings = HttpSettings()
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"
    channels: dict[str, Channel] = {}
    routing: RoutingSettings = RoutingSettings()
    leader_lock: bool = True
    """With PostgreSQL: only the replica holding the advisory lock evaluates and sends."""

    @model_validator(mode="after")
    def _check_names(self) -> Settings:
        known = set(self.channels)
        for where, names in (
            ("routing.default", self.routing.default),
            ("routing.meta", self.routing.meta),
        ):
            _known_channels(where, names, known)
        for scope, owners in self.routing.owners.items():
            for owner, names in owners.items():
                _known_channels(f"routing.owners.{scope}.{owner}", names, known)
        return self

    @property
    def effective_stale_after(self) -> timedelta:
        if self.stale_after is not None:
            return self.stale_after
        return max(self.poll_interval * 3, timedelta(minutes=5))

    def routing_for_rules(self) -> Routing:
        quiet = {
            name: ch.quiet_hours.compile()
            for name, ch in self.channels.items()
            if ch.quiet_hours is not None
        }
        owners = {scope: MappingProxyType(dict(m)) for scope, m in self.routing.owners.items()}
        return Routing(
            default=self.routing.default,
            owners=MappingProxyType(owners),
            meta=self.routing.meta,
            quiet=MappingProxyType(quiet),
            urgent_overrides_quiet=self.routing.urgent_overrides_quiet,
        )

    def apply(self, rules: RuleSet) -> RuleSet:
        """The rule set with this config's routing and staleness limit."""
        return rules.with_routing(self.routing_for_rules(), stale_after=self.effective_stale_after)


def _known_channels(where: str, names: tuple[str, ...], known: set[str]) -> None:
    for name in names:
        if name not in known:
            hint = difflib.get_close_matches(name, sorted(known), n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ValueError(
                f"{where}: unknown channel {name!r}{extra}; defined channels: "
                f"{', '.join(sorted(known)) or 'none'}"
            )


# Loading -------------------------------------------------------------------------------------


def load(path: str | Path | None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the config file (or defaults) and apply WATCHDOG_* overrides from `env`."""
    environ = dict(os.environ if env is None else env)
    name = str(path) if path else "<defaults>"
    doc = yamlfile.Document(path=name, data={})
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                [Problem(name, 1, 1, f"cannot read config: {exc.strerror}")]
            ) from None
        try:
            doc = yamlfile.parse(text, name)
        except yamlfile.YamlError as exc:
            raise ConfigError(exc.problems) from None
        if doc.data is None:
            doc.data = {}
        if not isinstance(doc.data, dict):
            raise ConfigError([doc.problem((), "expected a mapping of settings")])
    data = _overrides(dict(doc.data), environ)
    try:
        return Settings.model_validate(data, context={"env": environ})
    except ValidationError as exc:
        raise ConfigError([_problem(doc, err) for err in exc.errors()]) from None
    except ValueError as exc:
        raise ConfigError([Problem(name, 1, 1, str(exc))]) from None


def _overrides(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """WATCHDOG_POLL_INTERVAL=30s → poll_interval; WATCHDOG_LITELLM__URL → litellm.url."""
    for var, value in sorted(env.items()):
        if not var.startswith(ENV_PREFIX) or var == "WATCHDOG_CONFIG":
            continue
        path = [p.lower() for p in var[len(ENV_PREFIX) :].split("__") if p]
        if not path or path[0] not in Settings.model_fields:
            continue
        target = data
        for part in path[:-1]:
            target = target.setdefault(part, {}) if isinstance(target.get(part, {}), dict) else {}
        leaf = path[-1]
        target[leaf] = value.split(",") if leaf == "rules" else value
    return data


def _problem(doc: yamlfile.Document, err: Any) -> Problem:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in _UNION_TAGS))
    name = ".".join(str(p) for p in loc) or "config"
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        hint = difflib.get_close_matches(str(loc[-1]), sorted(_ALL_FIELDS), n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        return doc.problem(loc, f"{name}: unknown setting{extra}", key=True)
    if err["type"] == "missing":
        return doc.problem(loc[:-1], f"{name}: missing required setting")
    if err["type"] == "union_tag_invalid":
        return doc.problem(
            loc, f"{name}: unknown channel type; use slack, webhook, email or console"
        )
    return doc.problem(loc, f"{name}: {message}")


_UNION_TAGS = {"slack", "webhook", "email", "console"}
_ALL_FIELDS = {
    f
    for model in (
        Settings,
        LiteLLMSettings,
        PrometheusSettings,
        SlackChannel,
        WebhookChannel,
        EmailChannel,
        RoutingSettings,
        HttpSettings,
        HistorySettings,
        Quiet,
    )
    for f in model.model_fields
}


def config_path(cli_value: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """--config wins, then WATCHDOG_CONFIG, then ./watchdog.yaml if present."""
    environ = os.environ if env is None else env
    if cli_value:
        return cli_value
    if environ.get("WATCHDOG_CONFIG"):
        return environ["WATCHDOG_CONFIG"]
    return "watchdog.yaml" if Path("watchdog.yaml").is_file() else None
