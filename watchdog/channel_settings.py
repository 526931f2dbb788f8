"""The `channels:` section of the ops config: Slack, webhook, email and console channels, and
their quiet hours. Each checks what it can at load (URLs, addresses) and says what it expects.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator, model_validator

from watchdog import windows
from watchdog.config_fields import ConfigModel, EnvStr, Secret, SecretField
from watchdog.routing import QuietHours
from watchdog.rule_fields import DurationField, ZoneField


class Quiet(ConfigModel):
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


class _Channel(ConfigModel):
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
    headers: dict[str, SecretField] = Field(default_factory=dict)
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
