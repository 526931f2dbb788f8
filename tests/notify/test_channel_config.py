"""Channel settings: what the ops config accepts, and clear errors for what it does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from watchdog import config
from watchdog.errors import ConfigError
from watchdog.notify.console import ConsoleNotifier
from watchdog.notify.email import EmailNotifier
from watchdog.notify.factory import build_notifiers
from watchdog.notify.slack import SlackNotifier, SlackWebhookNotifier
from watchdog.notify.webhook import WebhookNotifier

ENV = {
    "SLACK_TOKEN": "xoxb-1",
    "SLACK_HOOK": "not a url at all (secret-ish)",
    "HOOK_SECRET": "whsec_!!!not-base64",
    "SMTP_PASSWORD": "pw",
}
SMTP = {"type": "email", "host": "smtp.example.com", "sender": "a@example.com", "to": ["b@x.io"]}


def load(tmp_path: Path, channel: dict[str, Any]) -> config.Settings:
    path = tmp_path / "watchdog.yaml"
    path.write_text(yaml.safe_dump({"channels": {"ch": channel}}), encoding="utf-8")
    return config.load(path, env=ENV)


@pytest.mark.parametrize(
    ("channel", "says"),
    [
        pytest.param(
            {"type": "slack", "token": "os.environ/SLACK_TOKEN", "webhook_url": "https://h.io/x"},
            "give either token (with channel) or webhook_url",
            id="slack: token and webhook both",
        ),
        pytest.param(
            {"type": "slack", "token": "os.environ/SLACK_TOKEN"},
            'channel: required with a bot token, e.g. "#eng-budgets"',
            id="slack: token without channel",
        ),
        pytest.param(
            {"type": "slack", "webhook_url": "os.environ/SLACK_HOOK"},
            "webhook_url (os.environ/SLACK_HOOK): expected an https:// URL",
            id="slack: webhook_url is not a URL",
        ),
        pytest.param(
            {"type": "webhook", "url": "ftp://example.com/x"},
            "channels.ch.url: expected an http:// or https:// URL",
            id="webhook: not http",
        ),
        pytest.param(
            {"type": "webhook", "url": "https://x.io", "secret": "os.environ/HOOK_SECRET"},
            "os.environ/HOOK_SECRET: a whsec_ secret must be base64 after the prefix",
            id="webhook: whsec_ not base64",
        ),
        pytest.param(
            {**SMTP, "security": "none", "username": "u", "password": "os.environ/SMTP_PASSWORD"},
            "password: refused with security: none",
            id="email: password in clear text",
        ),
        pytest.param(
            {**SMTP, "username": "u"},
            "give username and password together",
            id="email: username without password",
        ),
        pytest.param(
            {**SMTP, "to": ["finance"]},
            "not an email address: 'finance'",
            id="email: bad recipient",
        ),
        pytest.param(
            {**SMTP, "sender": "watchdog"},
            "channels.ch.sender: not an email address",
            id="email: bad sender",
        ),
        pytest.param(
            {**SMTP, "port": 70000},
            "channels.ch.port: Input should be less than or equal to 65535",
            id="email: port out of range",
        ),
        pytest.param(
            {**SMTP, "ca_file": "/nonexistent/ca.pem"},
            "channels.ch.ca_file: no such file: /nonexistent/ca.pem",
            id="email: missing CA file",
        ),
        pytest.param(
            {**SMTP, "to": []},
            "channels.ch.to",
            id="email: no recipients",
        ),
    ],
)
def test_bad_channels_are_refused_clearly(
    tmp_path: Path, channel: dict[str, Any], says: str
) -> None:
    """Each mistake names the setting and what is accepted, and never prints the secret."""
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, channel)
    assert says in str(caught.value)
    assert "secret-ish" not in str(caught.value)


async def test_every_channel_type_gets_its_notifier(tmp_path: Path) -> None:
    """The factory builds one notifier per configured channel, by name."""
    path = tmp_path / "watchdog.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "channels": {
                    "bot": {"type": "slack", "token": "os.environ/SLACK_TOKEN", "channel": "#a"},
                    "hook": {"type": "slack", "webhook_url": "https://hooks.slack.com/x"},
                    "json": {"type": "webhook", "url": "https://example.com/hook"},
                    "mail": SMTP,
                    "demo": {"type": "console"},
                }
            }
        ),
        encoding="utf-8",
    )
    settings = config.load(path, env=ENV)
    async with aiohttp.ClientSession() as session:
        built = build_notifiers(settings, session=session)
    kinds = {name: type(n) for name, n in built.items()}
    assert kinds == {
        "bot": SlackNotifier,
        "hook": SlackWebhookNotifier,
        "json": WebhookNotifier,
        "mail": EmailNotifier,
        "demo": ConsoleNotifier,
    }
    assert all(n.name == name for name, n in built.items())
