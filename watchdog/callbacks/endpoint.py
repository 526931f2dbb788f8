"""POST /callbacks/litellm: LiteLLM's generic_api batches, authenticated, bounded, idempotent.

The route takes a bearer token (constant-time compare), refuses bodies over the size limit
(413) before reading them, and lets only a few batches be read and stored at once: a batch
arriving when every slot is busy gets 503 with Retry-After, so a burst never grows memory.
A stored request is identified by LiteLLM's request id, so a retried batch stores nothing
twice.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from aiohttp import web

from watchdog.callbacks.payload import PayloadError, describe, parse_batch
from watchdog.config import HttpSettings
from watchdog.config_fields import Secret
from watchdog.errors import StoreError
from watchdog.store.usage import RequestRecord

log = logging.getLogger(__name__)

PATH = "/callbacks/litellm"
RETRY_AFTER = 2
"""Seconds a refused batch should wait (503)."""


class RequestSink(Protocol):
    """Where batches go: the part of the Store the endpoint needs."""

    async def record_requests(
        self, items: Sequence[RequestRecord], *, received_at: datetime
    ) -> int: ...


class Slots:
    """At most `capacity` batches in hand at once; `take` never waits."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.busy = 0

    def take(self) -> bool:
        if self.busy >= self.capacity:
            return False
        self.busy += 1
        return True

    def give(self) -> None:
        self.busy -= 1


@dataclass
class Ingest:
    """The callback route's dependencies, built once by the service.

    `settings` is asked on every batch, so a reload's new token, headers or limits apply at
    once.
    """

    sink: RequestSink
    settings: Callable[[], HttpSettings]
    clock: Callable[[], datetime]
    slots: Slots = field(default_factory=lambda: Slots(2))
    timeout: timedelta = timedelta(seconds=30)
    """Deadline for storing one batch."""
    received: int = 0
    stored: int = 0
    _last_problem: str = field(default="", repr=False)

    async def handle(self, request: web.Request) -> web.Response:
        http = self.settings()
        if http.callback_token is None or not http.callback_token.reveal():
            return _answer(404, "callback ingest is off: set http.callback_token in the config")
        if not _authorised(request.headers.get("Authorization", ""), http.callback_token):
            self._problem("refused a callback without the right bearer token")
            return _answer(401, "missing or wrong bearer token", WWW_Authenticate="Bearer")
        self.slots.capacity = http.callback_concurrency
        size = request.content_length
        if size is not None and size > http.callback_max_bytes:
            return self._too_large(http.callback_max_bytes)
        if not self.slots.take():
            self._problem("callback batches arrive faster than they are stored; asked to retry")
            return _busy("busy storing earlier batches; retry later")
        try:
            return await self._take(request, http)
        finally:
            self.slots.give()

    async def _take(self, request: web.Request, http: HttpSettings) -> web.Response:
        body = await _read(request, http.callback_max_bytes)
        if body is None:
            return self._too_large(http.callback_max_bytes)
        now = self.clock()
        headers = http.callback_headers
        try:
            batch = await asyncio.to_thread(parse_batch, body, headers=headers, received=now)
        except PayloadError as exc:
            self._problem(f"refused a callback body: {exc}")
            return _answer(400, str(exc))
        try:
            async with asyncio.timeout(self.timeout.total_seconds()):
                new = await self.sink.record_requests(batch.records, received_at=now)
        except (StoreError, TimeoutError) as exc:
            self._problem(f"could not store a callback batch, asked to retry: {exc}")
            return _busy("the state store is unavailable; retry later")
        if batch.skipped:
            log.warning("callback items left out: %s", describe(batch.skipped))
        self.received += len(batch.records)
        self.stored += new
        if self._last_problem:
            log.info("callbacks are stored again")
            self._last_problem = ""
        return web.json_response(
            {
                "received": len(batch.records),
                "stored": new,
                "duplicates": len(batch.records) - new,
                "skipped": len(batch.skipped),
            }
        )

    def _too_large(self, limit: int) -> web.Response:
        self._problem(f"refused a callback body over {limit} bytes")
        return _answer(
            413,
            f"body over {limit} bytes; lower LiteLLM's DEFAULT_BATCH_SIZE "
            "or raise http.callback_max_bytes",
        )

    def _problem(self, text: str) -> None:
        """Log a problem when it starts, not on every batch."""
        if text != self._last_problem:
            log.warning(text)
            self._last_problem = text


def _authorised(header: str, token: Secret) -> bool:
    """A constant-time comparison of "Bearer <token>" with the configured token."""
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        given = ""
    return hmac.compare_digest(given.strip().encode(), token.reveal().encode())


async def _read(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes `limit` bytes (the rest is never held)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(status: int, detail: str, **headers: str) -> web.Response:
    named = {k.replace("_", "-"): v for k, v in headers.items()}
    return web.json_response({"error": detail}, status=status, headers=named)


def _busy(detail: str) -> web.Response:
    return _answer(503, detail, Retry_After=str(RETRY_AFTER))


def attach(app: web.Application, ingest: Ingest) -> None:
    """Add the callback route to the daemon's HTTP app (before it starts)."""
    app.router.add_post(PATH, ingest.handle)
