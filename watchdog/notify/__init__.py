"""Channels that deliver messages: Slack, signed webhooks, email, console. Unaware of each other.

Every notifier sends one rendered `Message` and either returns a `Receipt` or raises
`DeliveryError(retryable=..., retry_after=...)`; the delivery stage decides about retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from watchdog.render import Message


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a channel returned for a delivered message."""

    ref: str | None = None
    """The channel's id for the message (Slack "channel:ts", email Message-ID)."""
    thread: str | None = None
    """Reference to reply under next time (Slack root "channel:ts"); None when unsupported."""


class Notifier(Protocol):
    """Delivers messages to one configured channel."""

    @property
    def name(self) -> str: ...

    async def send(self, message: Message, *, thread: str | None = None) -> Receipt:
        """Deliver `message` (as a reply in `thread` when given); DeliveryError on failure."""
        ...

    async def aclose(self) -> None: ...
