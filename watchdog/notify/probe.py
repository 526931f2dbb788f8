"""`budget-watchdog test-channel NAME`: one marked test message through one configured channel."""

from __future__ import annotations

import asyncio
from datetime import datetime

import aiohttp

from watchdog.config import Settings
from watchdog.notify import Receipt
from watchdog.notify.factory import build_notifier
from watchdog.notify.sample import sample_message

SESSION_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10)
CLOSE_GRACE = 0.25
"""Seconds for TLS connections to finish closing before the command's event loop ends."""


async def send_test(settings: Settings, name: str, *, now: datetime) -> Receipt:
    """Send the test message to channel `name`; DeliveryError when it does not arrive."""
    channel = settings.channels[name]
    async with aiohttp.ClientSession(timeout=SESSION_TIMEOUT) as session:
        notifier = build_notifier(name, channel, session=session)
        try:
            return await notifier.send(sample_message(name, now=now))
        finally:
            await notifier.aclose()
            await asyncio.sleep(CLOSE_GRACE)
