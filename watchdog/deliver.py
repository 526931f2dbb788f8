"""Delivery: send claimed notices from the outbox, record each outcome, retry with backoff.

Claims are made before sending and outcomes recorded after (an outbox): a crash re-sends at
most what was in flight, and a delivered notice is never sent again. Each channel is worked
by its own task, so a slow or failing channel never delays the others; a channel that fails
with a retryable error is paused (its Retry-After honoured) instead of being hammered.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from watchdog.errors import DeliveryError
from watchdog.notify import Notifier
from watchdog.store import Outgoing, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Full-jitter exponential backoff: wait random(0, min(cap, base × 2^attempt))."""

    base: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 10
    """Attempts before a notice moves to the dead-letter list (per channel overrides win)."""
    send_timeout: timedelta = timedelta(seconds=30)
    """Deadline for one send, on top of the channel's own request timeouts."""

    def delay(
        self, attempts: int, rng: random.Random, retry_after: float | None = None
    ) -> timedelta:
        if retry_after is not None and retry_after > 0:
            return timedelta(seconds=retry_after)
        ceiling = min(self.cap.total_seconds(), self.base.total_seconds() * 2**attempts)
        return timedelta(seconds=rng.uniform(0, ceiling))


@dataclass
class Outcome:
    """What one delivery round did, for logs and metrics."""

    sent: list[Outgoing] = field(default_factory=list)
    retrying: list[tuple[Outgoing, str]] = field(default_factory=list)
    dead: list[tuple[Outgoing, str]] = field(default_factory=list)
    paused: set[str] = field(default_factory=set)


@dataclass
class Courier:
    """Delivers due notices; keeps per-channel pauses between rounds."""

    store: Store
    notifiers: Mapping[str, Notifier]
    clock: Callable[[], datetime]
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    max_attempts: Mapping[str, int] = field(default_factory=dict)
    """Per-channel attempt limits (e.g. a webhook's max_attempts)."""
    rng: random.Random = field(default_factory=random.Random)
    paused_until: dict[str, datetime] = field(default_factory=dict)

    async def round(self, *, limit: int = 500) -> Outcome:
        """Send everything due now, channel by channel in parallel."""
        now = self.clock()
        items = await self.store.due(now=now, limit=limit)
        outcome = Outcome()
        by_channel: dict[str, list[Outgoing]] = {}
        for item in items:
            by_channel.setdefault(item.channel, []).append(item)
        async with asyncio.TaskGroup() as group:
            for channel, queue in sorted(by_channel.items()):
                group.create_task(self._channel(channel, queue, outcome), name=f"deliver:{channel}")
        return outcome

    async def _channel(self, channel: str, queue: Sequence[Outgoing], outcome: Outcome) -> None:
        paused = self.paused_until.get(channel)
        if paused is not None and paused > self.clock():
            outcome.paused.add(channel)
            return
        self.paused_until.pop(channel, None)
        notifier = self.notifiers.get(channel)
        for item in queue:
            if notifier is None:
                await self._dead(item, f"channel {channel!r} is no longer configured", outcome)
                continue
            if not await self._one(notifier, item, outcome):
                outcome.paused.add(channel)
                return  # keep the channel's order; the rest waits for the pause to end

    async def _one(self, notifier: Notifier, item: Outgoing, outcome: Outcome) -> bool:
        """Send one item; False when the channel should pause."""
        try:
            thread = await self.store.thread_ref(item.thread_key, item.channel)
            async with asyncio.timeout(self.policy.send_timeout.total_seconds()):
                receipt = await notifier.send(item.message, thread=thread)
        except DeliveryError as exc:
            return await self._failed(item, exc, outcome)
        except TimeoutError:
            error = DeliveryError(f"no answer within {self.policy.send_timeout}", retryable=True)
            return await self._failed(item, error, outcome)
        await self.store.delivered(item, at=self.clock(), ref=receipt.ref, thread=receipt.thread)
        outcome.sent.append(item)
        return True

    async def _failed(self, item: Outgoing, exc: DeliveryError, outcome: Outcome) -> bool:
        now = self.clock()
        limit = self.max_attempts.get(item.channel, self.policy.max_attempts)
        if not exc.retryable or item.attempts + 1 >= limit:
            reason = str(exc) if not exc.retryable else f"gave up after {limit} attempts: {exc}"
            await self._dead(item, reason, outcome)
            return exc.retryable is False
        retry_at = now + self.policy.delay(item.attempts, self.rng, exc.retry_after)
        await self.store.failed(item, at=now, error=str(exc), retry_at=retry_at)
        self.paused_until[item.channel] = retry_at
        outcome.retrying.append((item, str(exc)))
        return False

    async def _dead(self, item: Outgoing, reason: str, outcome: Outcome) -> None:
        await self.store.failed(item, at=self.clock(), error=reason, retry_at=None)
        outcome.dead.append((item, reason))
