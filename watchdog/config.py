"""Operator settings: one YAML file (--config / WATCHDOG_CONFIG) plus WATCHDOG_* overrides.

Secrets are written as `os.environ/NAME` (LiteLLM's convention), resolved at load into `Secret`
values that never print themselves (`config_fields`); channels are `channel_settings`. Errors
name the file, line and field.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from watchdog import windows, yamlfile
from watchdog.channel_settings import (
    Channel,
    ConsoleChannel,
    EmailChannel,
    Quiet,
    SlackChannel,
    WebhookChannel,
)
from watchdog.config_fields import ConfigModel, EnvStr, Secret, SecretField
from watchdog.dimensions import DEFAULT_HEADERS
from watchdog.errors import ConfigError, Problem
from watchdog.model import Scope
from watchdog.rule_fields import DurationField
from watchdog.rules import Routing, RuleSet

ENV_PREFIX = "WATCHDOG_"
DERIVED_PREFIX = "litellm-"
"""Channels made from a LiteLLM config are named so; `routing:` may name them before they exist."""


# Sources -------------------------------------------------------------------------------------


class LiteLLMSettings(ConfigModel):
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


class PrometheusSettings(ConfigModel):
    """Optional Prometheus that scrapes LiteLLM's /metrics."""

    url: EnvStr
    timeout: DurationField = timedelta(seconds=15)
    headers: dict[str, SecretField] = Field(default_factory=dict)
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


# Routing -------------------------------------------------------------------------------------


class RoutingSettings(ConfigModel):
    """Who hears about what, beyond each rule's own `notify:`."""

    default: tuple[str, ...] = ()
    """Channels for budgets whose rule names none and no owner matches."""
    meta: tuple[str, ...] = ()
    """Channels for watchdog's own health alerts (default: the default channels)."""
    owners: dict[Scope, dict[str, tuple[str, ...]]] = Field(default_factory=dict)
    """Extra channels per entity, e.g. team: {engineering: [eng-slack]}; a team's channels
    also hear about the team's keys."""
    urgent_overrides_quiet: bool = True
    """Hard-limit alerts ignore quiet hours."""


class HistorySettings(ConfigModel):
    """Spend samples kept for period baselines and forecasts."""

    resolution: DurationField = timedelta(minutes=5)
    """At most one stored sample per entity per this interval (while spend changes)."""
    retention: DurationField = timedelta(days=35)


class DeliverySettings(ConfigModel):
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


class HttpSettings(ConfigModel):
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


class Settings(ConfigModel):
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
    channels: dict[str, Channel] = Field(default_factory=dict)
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


def rule_channel_problems(rules: RuleSet, known: set[str], config_path: str) -> list[Problem]:
    """A problem at every budget whose `notify:` names a channel that is not in `known`, at
    the budget's place in its rule file (else at the top of the config)."""
    problems = []
    for rule in rules.rules:
        for name in rule.notify:
            problem = unknown_channel(f"budget {rule.name!r}: notify", name, known)
            if problem is None:
                continue
            origin = rules.origins.get(rule.name)
            if origin is None:
                problems.append(Problem(config_path, 1, 1, problem))
            else:
                problems.append(Problem(origin.path, origin.line, origin.col, problem))
    return problems


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
    try:
        return _read(path)
    except ConfigError:
        return yamlfile.Document(path=str(path), data={})


# Loading -------------------------------------------------------------------------------------


def load(path: str | Path | None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the config file (or defaults) and apply WATCHDOG_* overrides from `env`."""
    environ = dict(os.environ if env is None else env)
    doc = _read(path)
    data = _overrides(dict(doc.data), environ)
    try:
        return Settings.model_validate(data, context={"env": environ})
    except ValidationError as exc:
        raise ConfigError([_problem(doc, err, environ) for err in exc.errors()]) from None
    except ValueError as exc:
        raise ConfigError([Problem(doc.path, 1, 1, str(exc))]) from None


def _read(path: str | Path | None) -> yamlfile.Document:
    """The config file parsed (no file: an empty document named <defaults>); ConfigError with
    the position when it cannot be read or is not a mapping of settings."""
    name = str(path) if path else "<defaults>"
    if not path:
        return yamlfile.Document(path=name, data={})
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(name, 1, 1, f"cannot read config: {exc.strerror}")]) from None
    try:
        doc = yamlfile.parse(text, name)
    except yamlfile.YamlError as exc:
        raise ConfigError(exc.problems) from None
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise ConfigError([doc.problem((), "expected a mapping of settings")])
    return doc


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
