"""Slack through slack-sdk: a bot token (threads per budget and period, resolve in place) or an
incoming webhook (no threads). Paced to one message per second; 429 hands back Retry-After.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from watchdog.channel_settings import SlackChannel
from watchdog.errors import DeliveryError
from watchdog.notify import Receipt
from watchdog.notify.blocks import blocks, fallback_text, mention_for
from watchdog.notify.outcome import Transitions, excerpt, retry_after
from watchdog.render import Message

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

_AUTH = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)
_TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class Pacer:
    """At most one message per `interval` seconds; waits with an injectable clock and sleep."""

    def __init__(
        self, interval: float = 1.0, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Return when the next message may go out, and book that slot."""
        async with self._lock:
            now = self._clock()
            if self._next is not None and now < self._next:
                await self._sleep(self._next - now)
                now = max(self._clock(), self._next)
            self._next = now + self._interval


class SlackNotifier:
    """Posts with a bot token: `chat.postMessage`, replies in threads, `chat.update` on resolve."""

    def __init__(
        self, name: str, channel: SlackChannel, *, session: aiohttp.ClientSession, pacer: Pacer
    ) -> None:
        assert channel.token is not None
        assert channel.channel is not None
        self._name = name
        self._channel = channel
        self._session = session
        self._pacer = pacer
        self._health = Transitions(log, name)

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"SlackNotifier({self._name!r}, channel={self._channel.channel!r})"

    async def aclose(self) -> None:
        return None

    async def send(self, message: Message, *, thread: str | None = None) -> Receipt:
        mention = mention_for(message, self._channel.mention)
        body: dict[str, Any] = {
            "channel": self._channel.channel,
            "text": fallback_text(message, mention=mention),
            "blocks": blocks(message, mention=mention),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        root = split_ref(thread) if thread else None
        if root is not None:
            body["channel"], body["thread_ts"] = root
            body["reply_broadcast"] = message.severity == "critical"
        await self._pacer.wait()
        try:
            answer = await self._call("chat.postMessage", body)
        except DeliveryError as exc:
            raise self._health.failed(exc) from None
        ref = f"{answer['channel']}:{answer['ts']}"
        if root is not None and message.severity == "resolved":
            await self._resolve_root(root, message)
        self._health.ok()
        return Receipt(ref=ref, thread=thread if root is not None else ref)

    async def _resolve_root(self, root: tuple[str, str], message: Message) -> None:
        """Show the thread's first message as resolved; the reply already went out."""
        channel, ts = root
        body = {
            "channel": channel,
            "ts": ts,
            "text": fallback_text(message),
            "blocks": blocks(message),
        }
        try:
            await self._call("chat.update", body)
        except DeliveryError as exc:
            log.warning(
                "channel %s: reply sent, but the thread's first message was not updated: %s",
                self._name,
                exc,
                extra={"channel": self._name},
            )

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        timeout = self._channel.timeout.total_seconds()
        client = AsyncWebClient(
            token=self._channel.token.reveal() if self._channel.token else None,
            base_url=self._channel.base_url,
            timeout=max(1, math.ceil(timeout)),
            session=self._session,
            logger=_sdk_logger(),
            retry_handlers=[],
        )
        try:
            async with asyncio.timeout(timeout):
                response = await client.api_call(method, json=body)
        except SlackApiError as exc:
            raise self._api_error(method, exc) from None
        except (TimeoutError, aiohttp.ClientError, SlackClientError) as exc:
            raise _transport_error(self._name, exc, timeout) from None
        data = response.data
        return data if isinstance(data, dict) else {}

    def _api_error(self, method: str, exc: SlackApiError) -> DeliveryError:
        status = int(getattr(exc.response, "status_code", 0) or 0)
        data = getattr(exc.response, "data", None)
        code = str(data.get("error", "")) if isinstance(data, dict) else ""
        headers = getattr(exc.response, "headers", None) or {}
        where = f"slack {self._name}: {method}"
        if status == 429 or code == "ratelimited":
            wait = retry_after(_header(headers, "Retry-After"), now=time.time()) or 1.0
            return DeliveryError(
                f"{where}: rate limited by Slack, retry after {wait:g} s",
                retryable=True,
                retry_after=wait,
            )
        if status >= 500 or code in _TRANSIENT:
            return DeliveryError(f"{where}: Slack answered {code or status}", retryable=True)
        return DeliveryError(f"{where}: {self._hint(code or f'HTTP {status}')}", retryable=False)

    def _hint(self, code: str) -> str:
        target = self._channel.channel
        token = self._channel.token.source if self._channel.token else "token"
        if code in _AUTH:
            return f"Slack refused the bot token ({code}); check the xoxb- token in {token}"
        if code == "missing_scope":
            return (
                "the bot token lacks a scope (missing_scope); give the app chat:write, "
                "and chat:write.public to post in channels it has not joined"
            )
        if code == "channel_not_found":
            return (
                f"channel {target} not found (channel_not_found); use its ID (C…) or exact "
                "name, and check the app is installed in that workspace"
            )
        if code == "not_in_channel":
            return (
                f"the app is not in {target} (not_in_channel); invite it with /invite @app "
                "or give it the chat:write.public scope"
            )
        if code == "is_archived":
            return f"channel {target} is archived (is_archived); pick another channel"
        return f"Slack refused the message ({code})"


class SlackWebhookNotifier:
    """Posts to an incoming webhook URL: one fixed channel, no threads, no updates."""

    def __init__(
        self, name: str, channel: SlackChannel, *, session: aiohttp.ClientSession, pacer: Pacer
    ) -> None:
        assert channel.webhook_url is not None
        self._name = name
        self._channel = channel
        self._session = session
        self._pacer = pacer
        self._health = Transitions(log, name)

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"SlackWebhookNotifier({self._name!r})"

    async def aclose(self) -> None:
        return None

    async def send(self, message: Message, *, thread: str | None = None) -> Receipt:
        del thread  # incoming webhooks cannot reply in threads
        assert self._channel.webhook_url is not None
        timeout = self._channel.timeout.total_seconds()
        mention = mention_for(message, self._channel.mention)
        client = AsyncWebhookClient(
            url=self._channel.webhook_url.reveal(),
            timeout=max(1, math.ceil(timeout)),
            session=self._session,
            logger=_sdk_logger(),
            retry_handlers=[],
        )
        await self._pacer.wait()
        try:
            async with asyncio.timeout(timeout):
                response = await client.send(
                    text=fallback_text(message, mention=mention),
                    blocks=blocks(message, mention=mention),
                    unfurl_links=False,
                    unfurl_media=False,
                )
        except (TimeoutError, aiohttp.ClientError, SlackClientError) as exc:
            raise self._health.failed(_transport_error(self._name, exc, timeout)) from None
        status, text = response.status_code, response.body or ""
        if status == 200:
            self._health.ok()
            return Receipt()
        where = f"slack {self._name}: incoming webhook answered HTTP {status} {excerpt(text)}"
        if status == 429:
            wait = retry_after(_header(response.headers, "Retry-After"), now=time.time()) or 1.0
            error = DeliveryError(
                f"{where}, retry after {wait:g} s", retryable=True, retry_after=wait
            )
        else:
            error = DeliveryError(where, retryable=status >= 500)
        raise self._health.failed(error)


def split_ref(ref: str) -> tuple[str, str]:
    """ "C0123:1700000000.000100" → ("C0123", "1700000000.000100")."""
    channel, sep, ts = ref.rpartition(":")
    if not sep or not channel or not ts:
        raise DeliveryError(
            f"not a Slack thread reference: {ref!r} (expected CHANNEL_ID:ts)", retryable=False
        )
    return channel, ts


def _transport_error(name: str, exc: BaseException, timeout: float) -> DeliveryError:
    if isinstance(exc, TimeoutError):
        return DeliveryError(f"slack {name}: no answer within {timeout:g} s", retryable=True)
    return DeliveryError(f"slack {name}: cannot reach Slack ({type(exc).__name__})", retryable=True)


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers).items():
        if str(key).lower() == name.lower():
            return str(value[0] if isinstance(value, list) else value)
    return None


def _sdk_logger() -> logging.Logger:
    """slack-sdk's logger, kept above DEBUG: its debug lines would print webhook URLs."""
    sdk = logging.getLogger(f"{__name__}.sdk")
    if sdk.level == logging.NOTSET or sdk.level < logging.INFO:
        sdk.setLevel(logging.INFO)
    return sdk
