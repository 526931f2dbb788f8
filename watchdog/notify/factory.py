"""Build one notifier per configured channel, once; the caller owns the shared HTTP session."""

from __future__ import annotations

import aiohttp

from watchdog.channel_settings import (
    Channel,
    ConsoleChannel,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
)
from watchdog.config import Settings
from watchdog.notify import Notifier
from watchdog.notify.console import ConsoleNotifier
from watchdog.notify.webhook import WebhookNotifier


def build_notifiers(settings: Settings, *, session: aiohttp.ClientSession) -> dict[str, Notifier]:
    """A notifier for every channel in the config, by channel name."""
    return {
        name: build_notifier(name, channel, session=session)
        for name, channel in settings.channels.items()
    }


def build_notifier(name: str, channel: Channel, *, session: aiohttp.ClientSession) -> Notifier:
    """The notifier for one configured channel.

    Slack's and email's modules are imported only when a channel needs them: their
    libraries cost memory in every daemon that does not use them.
    """
    if isinstance(channel, SlackChannel):
        from watchdog.notify.slack import Pacer, SlackNotifier, SlackWebhookNotifier  # noqa: PLC0415

        if channel.webhook_url:
            return SlackWebhookNotifier(name, channel, session=session, pacer=Pacer())
        return SlackNotifier(name, channel, session=session, pacer=Pacer())
    if isinstance(channel, WebhookChannel):
        return WebhookNotifier(name, channel, session=session)
    if isinstance(channel, EmailChannel):
        from watchdog.notify.email import EmailNotifier  # noqa: PLC0415

        return EmailNotifier(name, channel)
    if isinstance(channel, ConsoleChannel):
        return ConsoleNotifier(name)
    raise TypeError(f"unknown channel type for {name!r}: {type(channel).__name__}")
