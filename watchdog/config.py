"""Operator settings: one YAML file (--config / WATCHDOG_CONFIG) plus WATCHDOG_* overrides.

Secrets are written as `os.environ/NAME` (LiteLLM's convention), resolved at load into `Secret`
values that never print themselves. Errors name the file, line and field.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import os
import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from watchdog import windows, yamlfile
from watchdog.dimensions import DEFAULT_HEADERS
from watchdog.errors import ConfigError, Problem
from watchdog.model import Scope
from watchdog.routing import QuietHours
from watchdog.rule_fields import DurationField, ZoneField
from watchdog.rules import Routing, RuleSet

ENV_PREFIX = "WATCHDOG_"
DERIVED_PREFIX = "litellm-"
"""Channels made from a LiteLLM config are named so; `routing:` may name them before they exist."""
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

    @field_validator("scopes")
    @classmethod
    def _readable(cls, value: tuple[Scope, ...]) -> tuple[Scope, ...]:
        readable = (Scope.KEY, Scope.TEAM, Scope.USER, Scope.CUSTOMER, Scope.TAG, Scope.GLOBAL)
        for scope in value:
            if scope not in readable:
                raise ValueError(
                    f"LiteLLM has no list for scope {scope}; choose from "
                    + ", ".join(s.value for s in readable)
                )
        return value


class PrometheusSettings(_Model):
    """Optional Prometheus that scrapes LiteLLM's /metrics."""

    url: EnvStr
    timeout: DurationField = timedelta(seconds=15)
    headers: dict[str, SecretField] = {}
    """Extra request headers, e.g. Authorization: os.environ/PROM_TOKEN."""
    windows: tuple[str, ...] = ("1h", "24h", "7d")
    """Trailing windows for spend rates used by forecasts."""
    retries: int = Field(default=2, ge=0, le=10)
    """Attempts after a timeout or 5xx before the source is marked failing for the cycle."""

    @field_validator("windows")
    @classmethod
    def _durations(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            windows.parse_duration(text)
        return value


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
    """Bot token (xoxb-…, scopes chat:write and chat:write.public) as os.environ/NAME."""
    channel: str | None = None
    """Channel for the bot token, e.g. #eng-budgets or C0123456."""
    webhook_url: SecretField | None = None
    """Incoming webhook URL as os.environ/NAME (no threads, no updates)."""
    base_url: str = "https://slack.com/api/"
    """Slack API base URL (tests point this at a local server)."""
    timeout: DurationField = timedelta(seconds=10)
    """Deadline for each call to Slack."""
    mention: str | None = None
    """Prefix for critical alerts, e.g. <!here> or <@U0123>."""

    @model_validator(mode="after")
    def _one_way(self) -> SlackChannel:
        if bool(self.token) == bool(self.webhook_url):
            raise ValueError("give either token (with channel) or webhook_url")
        if self.token and not (self.channel or "").strip():
            raise ValueError('channel: required with a bot token, e.g. "#eng-budgets"')
        if self.webhook_url and not _is_http(self.webhook_url.reveal()):
            raise ValueError(
                f"webhook_url ({self.webhook_url.source}): expected an https:// URL "
                "such as Slack's https://hooks.slack.com/services/…"
            )
        if not _is_http(self.base_url):
            raise ValueError(f"base_url: expected an http(s):// URL, got {self.base_url!r}")
        return self


class WebhookChannel(_Channel):
    """An HTTPS endpoint receiving signed JSON (Standard Webhooks)."""

    type: Literal["webhook"]
    url: EnvStr
    """Where to POST, e.g. https://hooks.example.com/budget."""
    secret: SecretField | None = None
    """Signing secret (whsec_… base64, or any text) as os.environ/NAME."""
    headers: dict[str, SecretField] = {}
    """Extra request headers, e.g. Authorization: os.environ/HOOK_TOKEN."""
    timeout: DurationField = timedelta(seconds=10)
    """Deadline for each request."""
    max_attempts: int = Field(default=8, ge=1, le=50)
    """Tries before the notice goes to the dead-letter list (see `budget-watchdog replay`)."""

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not _is_http(value):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: Secret | None) -> Secret | None:
        text = value.reveal() if value else ""
        if text.startswith("whsec_"):
            try:
                base64.b64decode(text[len("whsec_") :], validate=True)
            except binascii.Error:
                raise ValueError(
                    f"{value.source if value else 'secret'}: a whsec_ secret must be "
                    "base64 after the prefix (or use any text without the prefix)"
                ) from None
        return value


class EmailChannel(_Channel):
    """Email through an SMTP server (STARTTLS on 587, implicit TLS on 465)."""

    type: Literal["email"]
    host: EnvStr
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    """starttls (587), tls (465) or none (local relays only)."""
    username: EnvStr | None = None
    password: SecretField | None = None
    """Password for username, as os.environ/NAME."""
    sender: str
    """From address, e.g. "Budget watchdog <budgets@example.com>"."""
    to: tuple[str, ...] = Field(min_length=1)
    """Recipients (each gets the same mail)."""
    ca_file: str | None = None
    """PEM file of CA certificates to trust for this server (a private relay's CA)."""
    timeout: DurationField = timedelta(seconds=20)
    """Deadline for the whole SMTP conversation."""

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _address(value)

    @field_validator("to")
    @classmethod
    def _recipients(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_address(item) for item in value)

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _login(self) -> EmailChannel:
        if bool(self.username) != bool(self.password):
            raise ValueError("give username and password together (or neither)")
        if self.password and self.security == "none":
            raise ValueError(
                "password: refused with security: none (it would cross the network in clear "
                "text); use starttls (port 587) or tls (port 465)"
            )
        return self


def _is_http(url: str) -> bool:
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _address(value: str) -> str:
    address = parseaddr(value)[1]
    local, at, domain = address.rpartition("@")
    if not (local and at and domain):
        raise ValueError(
            f"not an email address: {value!r} (expected name@example.com "
            'or "Name <name@example.com>")'
        )
    return value


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


class DeliverySettings(_Model):
    """Retries and leases of the outbox."""

    max_attempts: int = Field(default=10, ge=1, le=100)
    """Attempts before a notice goes to the dead-letter list (a webhook's own max_attempts
    wins); see `budget-watchdog replay`."""
    backoff_base: DurationField = timedelta(seconds=5)
    """First retry waits up to this; each later one up to twice as long (full jitter)."""
    backoff_cap: DurationField = timedelta(hours=1)
    """Longest wait between two attempts."""
    send_timeout: DurationField = timedelta(seconds=30)
    """Deadline for one send, on top of the channel's own request timeouts."""
    lease: DurationField = timedelta(minutes=2)
    """With several replicas: how long a notice being sent belongs to one of them; if that
    replica dies, another sends it after this."""


CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"}
)
"""Headers `http.callback_headers` may not keep: they hold keys and sessions."""


class HttpSettings(_Model):
    host: str = "0.0.0.0"  # noqa: S104 - a container serves probes and metrics on all interfaces
    port: int = Field(default=9464, ge=0, le=65535)
    callback_token: SecretField | None = None
    """Bearer token LiteLLM's generic_api logger must send to /callbacks/litellm; without
    one the route is off."""
    callback_headers: tuple[str, ...] = DEFAULT_HEADERS
    """Request headers kept from each callback (case does not matter), for dimension
    budgets such as `dimension: department` (X-Department)."""
    callback_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    """Largest callback body accepted (413 above it)."""
    callback_concurrency: int = Field(default=2, ge=1, le=64)
    """Callback batches read and stored at once; more get 503 with Retry-After."""

    @field_validator("callback_headers")
    @classmethod
    def _not_credentials(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for header in value:
            if header.strip().lower() in CREDENTIAL_HEADERS:
                raise ValueError(
                    f"{header} carries credentials and is never stored; keep only headers "
                    "that name who or what made a request (e.g. X-Department, X-Agent)"
                )
        return value


class Settings(_Model):
    """The whole ops configuration."""

    litellm: LiteLLMSettings | None = LiteLLMSettings()
    prometheus: PrometheusSettings | None = None
    snapshot_file: str | None = None
    """Read spend from this snapshot file instead of LiteLLM (offline demos and tests)."""
    rules: tuple[str, ...] = ("rules",)
    """Rule files or directories."""
    litellm_config: str | None = None
    """A LiteLLM proxy config file (proxy_server_config.yaml) whose alerting settings become
    budgets and channels, alongside `rules`."""
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
    delivery: DeliverySettings = DeliverySettings()
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
        later = self.litellm_config is not None  # its channels join after it is read
        for where, names in self.routing_names():
            for name in names:
                if later and name.startswith(DERIVED_PREFIX):
                    continue  # checked by `routing_problems` once they have joined
                problem = unknown_channel(".".join(where), name, known)
                if problem:
                    raise ValueError(problem)
        return self

    def routing_names(self) -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
        """Each place in `routing:` that names channels (as a YAML path), and the names."""
        yield ("routing", "default"), self.routing.default
        yield ("routing", "meta"), self.routing.meta
        for scope, owners in self.routing.owners.items():
            for owner, names in owners.items():
                yield ("routing", "owners", scope.value, owner), names

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

    def secrets(self) -> list[str]:
        """Every secret value in the settings, so logs can scrub them wherever they appear."""
        found: list[str] = []
        _collect_secrets(self, found)
        return found

    def apply(self, rules: RuleSet) -> RuleSet:
        """The rule set with this config's routing and staleness limit."""
        return rules.with_routing(self.routing_for_rules(), stale_after=self.effective_stale_after)


def _collect_secrets(value: object, found: list[str]) -> None:
    if isinstance(value, Secret):
        found.append(value.reveal())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _collect_secrets(getattr(value, name), found)
    elif isinstance(value, dict):
        for item in value.values():
            _collect_secrets(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect_secrets(item, found)


def unknown_channel(where: str, name: str, known: set[str], why: str = "") -> str | None:
    """What is wrong with naming `name` at `where`, None when it is a defined channel."""
    if name in known:
        return None
    hint = difflib.get_close_matches(name, sorted(known), n=1)
    extra = f" (did you mean {hint[0]!r}?)" if hint else ""
    because = f"; {why}" if why else ""
    return (
        f"{where}: unknown channel {name!r}{extra}{because}; defined channels: "
        f"{', '.join(sorted(known)) or 'none'}"
    )


def routing_problems(settings: Settings, path: str | None) -> list[Problem]:
    """Routing names of LiteLLM-derived channels that, with the derived channels added to
    `settings`, still name none; located in the config file `path`."""
    known = set(settings.channels)
    found: list[tuple[tuple[str | int, ...], str]] = []
    for where, names in settings.routing_names():
        for index, name in enumerate(names):
            why = f"the LiteLLM config {settings.litellm_config} makes no such channel"
            problem = unknown_channel(".".join(where), name, known, why)
            if problem:
                found.append(((*where, index), problem))
    if not found:
        return []
    doc = _document(path)
    return [doc.problem(loc, message) for loc, message in found]


def _document(path: str | None) -> yamlfile.Document:
    """The config file as parsed, for positions; an empty one when it cannot be read."""
    if path:
        try:
            return yamlfile.parse(Path(path).read_text(encoding="utf-8"), path)
        except (OSError, yamlfile.YamlError):
            return yamlfile.Document(path=path, data={})
    return yamlfile.Document(path="<defaults>", data={})


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
        raise ConfigError([_problem(doc, err, environ) for err in exc.errors()]) from None
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
        if leaf == "rules":  # a comma-separated list; empty means not set
            paths = [p.strip() for p in value.split(",") if p.strip()]
            if paths:
                target[leaf] = paths
            continue
        target[leaf] = value
    return data


def _problem(doc: yamlfile.Document, err: Any, env: Mapping[str, str]) -> Problem:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in _UNION_TAGS))
    name = ".".join(str(p) for p in loc) or "config"
    message = str(err["msg"]).removeprefix("Value error, ") + _from_env(loc, env)
    if not loc:  # a cross-field check names the setting it is about first
        where = tuple(message.split(":", 1)[0].split("."))
        return doc.problem(where, message)
    if err["type"] == "extra_forbidden":
        known = _settings_at(loc[:-1], doc.data)
        hint = difflib.get_close_matches(str(loc[-1]), known or sorted(_ALL_FIELDS), n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        accepted = f"; accepted settings: {', '.join(known)}" if known else ""
        return doc.problem(
            loc, f"{name}: unknown setting{extra}{accepted}{_from_env(loc, env)}", key=True
        )
    if err["type"] == "missing":
        return doc.problem(loc[:-1], f"{name}: missing required setting")
    if err["type"] == "union_tag_invalid":
        return doc.problem(
            loc, f"{name}: unknown channel type; use slack, webhook, email or console"
        )
    return doc.problem(loc, f"{name}: {message}")


_CHANNEL_TYPES: dict[str, type[BaseModel]] = {
    "slack": SlackChannel,
    "webhook": WebhookChannel,
    "email": EmailChannel,
    "console": ConsoleChannel,
}


def _settings_at(parents: tuple[Any, ...], data: Any) -> list[str]:
    """Setting names accepted in the section at `parents` (empty when it cannot be told)."""
    model: type[BaseModel] | None = Settings
    rest = list(parents)
    while rest and model is not None:
        part = str(rest.pop(0))
        if model is Settings and part == "channels" and rest:
            channel = data.get("channels", {}).get(rest.pop(0)) if isinstance(data, dict) else None
            kind = channel.get("type") if isinstance(channel, dict) else None
            model = _CHANNEL_TYPES.get(str(kind))
            continue
        field = model.model_fields.get(part)
        model = _submodel(field.annotation) if field else None
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _submodel(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _from_env(loc: tuple[Any, ...], env: Mapping[str, str]) -> str:
    """Name the WATCHDOG_* variable a bad value came from (never the value)."""
    for end in range(len(loc), 0, -1):
        var = ENV_PREFIX + "__".join(str(p).upper() for p in loc[:end])
        if var in env:
            return f" (set by {var})"
    return ""


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
        DeliverySettings,
        Quiet,
    )
    for f in model.model_fields
}


def has_native_rules(settings: Settings | None) -> bool:
    """Rules were configured, or the default rule paths exist; otherwise a LiteLLM config
    alone supplies the budgets."""
    if settings is not None and "rules" in settings.model_fields_set:
        return True
    paths = settings.rules if settings is not None else Settings.model_fields["rules"].default
    return any(Path(p).exists() for p in paths)


def config_path(cli_value: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """--config wins, then WATCHDOG_CONFIG, then ./watchdog.yaml if present."""
    environ = os.environ if env is None else env
    if cli_value:
        return cli_value
    if environ.get("WATCHDOG_CONFIG"):
        return environ["WATCHDOG_CONFIG"]
    return "watchdog.yaml" if Path("watchdog.yaml").is_file() else None
