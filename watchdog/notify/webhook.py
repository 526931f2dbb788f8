"""Signed JSON webhooks (Standard Webhooks): POST the payload, sign it, classify the answer.

Headers: `webhook-id` (the message id, the same on every retry), `webhook-timestamp` (unix
seconds) and `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`. The
key is the base64-decoded part after `whsec_`, or the secret's UTF-8 bytes. `sign` and `verify`
are pure, for receivers and tests.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import aiohttp

from watchdog import __version__
from watchdog.channel_settings import WebhookChannel
from watchdog.errors import DeliveryError
from watchdog.notify import Receipt
from watchdog.notify.outcome import Transitions, excerpt, retry_after, retryable_status
from watchdog.render import Message

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
TOLERANCE = 300
"""Seconds a receiver should accept between webhook-timestamp and its own clock."""
USER_AGENT = f"budget-watchdog/{__version__}"


def signing_key(secret: str) -> bytes:
    """The HMAC key: base64 after `whsec_`, else the secret's UTF-8 bytes."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except binascii.Error:
            raise ValueError("a whsec_ secret must be base64 after the prefix") from None
    return secret.encode()


def sign(secret: str, msg_id: str, timestamp: int, body: str | bytes) -> str:
    """The `webhook-signature` header value: "v1,<base64 HMAC-SHA256>"."""
    raw = body if isinstance(body, bytes) else body.encode()
    content = f"{msg_id}.{timestamp}.".encode() + raw
    digest = hmac.new(signing_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: str | bytes,
    *,
    now: float,
    tolerance: float = TOLERANCE,
) -> bool:
    """True when `headers` carry a valid signature of `body` made within `tolerance` of `now`."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp = lower.get("webhook-id"), lower.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    expected = sign(secret, msg_id, int(stamp), body).encode()
    offered = lower.get("webhook-signature", "").split()
    return any(hmac.compare_digest(expected, candidate.encode()) for candidate in offered)


def body_of(message: Message) -> str:
    """The JSON sent: the rendered payload, with "test": true for test messages."""
    payload = dict(message.payload)
    if message.test:
        payload["test"] = True
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class WebhookNotifier:
    """POSTs signed JSON to one endpoint through a shared aiohttp session."""

    def __init__(
        self,
        name: str,
        channel: WebhookChannel,
        *,
        session: aiohttp.ClientSession,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._name = name
        self._channel = channel
        self._session = session
        self._clock = clock
        self._health = Transitions(log, name)
        self._where = f"webhook {name} ({urlsplit(channel.url).hostname or 'no host'})"

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"WebhookNotifier({self._name!r})"

    async def aclose(self) -> None:
        return None

    async def send(self, message: Message, *, thread: str | None = None) -> Receipt:
        del thread  # receivers group by payload fields (rule, entity, period)
        body = body_of(message)
        headers = self._headers(message.id, int(self._clock()), body)
        timeout = self._channel.timeout.total_seconds()
        try:
            async with (
                asyncio.timeout(timeout),
                self._session.post(
                    self._channel.url, data=body.encode(), headers=headers, allow_redirects=False
                ) as response,
            ):
                status = response.status
                answer = await response.text(errors="replace") if status >= 300 else ""
                wait = retry_after(response.headers.get("Retry-After"), now=self._clock())
        except TimeoutError:
            error = DeliveryError(f"{self._where}: no answer within {timeout:g} s", retryable=True)
            raise self._health.failed(error) from None
        except aiohttp.ClientError as exc:
            error = DeliveryError(
                f"{self._where}: cannot reach the endpoint ({type(exc).__name__})", retryable=True
            )
            raise self._health.failed(error) from None
        if 200 <= status < 300:
            self._health.ok()
            return Receipt(ref=message.id)
        raise self._health.failed(self._refused(status, answer, wait))

    def _headers(self, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
        headers = {name: value.reveal() for name, value in self._channel.headers.items()}
        headers.update(
            {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
            }
        )
        if self._channel.secret:
            headers["webhook-signature"] = sign(
                self._channel.secret.reveal(), msg_id, timestamp, body
            )
        return headers

    def _refused(self, status: int, answer: str, wait: float | None) -> DeliveryError:
        text = f"{self._where}: HTTP {status}" + (
            f": {excerpt(self._scrub(answer))}" if answer else ""
        )
        if retryable_status(status):
            after = f", retry after {wait:g} s" if wait is not None else ""
            return DeliveryError(text + after, retryable=True, retry_after=wait)
        if 300 <= status < 400:
            text += " (redirects are not followed; configure the final URL)"
        return DeliveryError(text, retryable=False)

    def _scrub(self, text: str) -> str:
        """A receiver may echo what it got; never let our secrets ride back into an error."""
        secrets = [v.reveal() for v in self._channel.headers.values()]
        if self._channel.secret:
            secrets.append(self._channel.secret.reveal())
        for secret in sorted(filter(None, secrets), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text
