"""Signed webhooks: Standard Webhooks headers, a stable id, and answers classified for retry."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.notify import messages
from tests.notify.conftest import FakeTime
from tests.notify.receiver import SECRET, Receiver
from watchdog import __version__
from watchdog.channel_settings import WebhookChannel
from watchdog.errors import DeliveryError
from watchdog.notify.webhook import WebhookNotifier, sign, verify

Server = tuple[Receiver, str]


def notifier(
    server: Server,
    session: aiohttp.ClientSession,
    time: FakeTime | None = None,
    path: str = "/hook",
    **fields: Any,
) -> WebhookNotifier:
    settings = {"type": "webhook", "url": f"{server[1]}{path}", "secret": "os.environ/HOOK_SECRET"}
    channel = WebhookChannel.model_validate(
        settings | fields, context={"env": {"HOOK_SECRET": SECRET, "HOOK_TOKEN": "Bearer t0k3n"}}
    )
    clock = time or FakeTime()
    return WebhookNotifier("finance-hook", channel, session=session, clock=clock.clock)


async def test_the_payload_arrives_signed(
    receiver: Server, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    """The body is the rendered payload; the receiver's own HMAC check accepts it."""
    hooks, _ = receiver
    message = messages.warning()
    receipt = await notifier(receiver, session, fake_time).send(message)
    [attempt] = hooks.attempts
    assert attempt.signature_ok
    assert json.loads(attempt.body) == json.loads(json.dumps(dict(message.payload)))
    assert attempt.headers["webhook-id"] == message.id
    assert attempt.headers["webhook-timestamp"] == str(int(fake_time.now))
    assert attempt.headers["content-type"] == "application/json"
    assert attempt.headers["user-agent"] == f"budget-watchdog/{__version__}"
    assert receipt.ref == message.id
    assert receipt.thread is None


async def test_configured_headers_are_sent(
    receiver: Server, session: aiohttp.ClientSession
) -> None:
    """Extra headers (secrets from the environment) go with every request."""
    hooks, _ = receiver
    channel = notifier(receiver, session, headers={"Authorization": "os.environ/HOOK_TOKEN"})
    await channel.send(messages.warning())
    assert hooks.attempts[0].headers["authorization"] == "Bearer t0k3n"


async def test_test_messages_say_so_in_the_payload(
    receiver: Server, session: aiohttp.ClientSession
) -> None:
    """A test message carries "test": true so receivers can ignore it."""
    hooks, _ = receiver
    await notifier(receiver, session).send(messages.as_test())
    assert json.loads(hooks.attempts[0].body)["test"] is True


async def test_the_id_is_stable_across_retries(
    receiver: Server, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    """A retried notice has the same webhook-id (receivers dedupe on it), a fresh signature."""
    hooks, _ = receiver
    hooks.answer(500)
    hooks.answer(503)
    channel = notifier(receiver, session, fake_time)
    message = messages.critical()
    for _ in range(2):
        with pytest.raises(DeliveryError):
            await channel.send(message)
        fake_time.now += 30
    await channel.send(message)
    ids = {a.headers["webhook-id"] for a in hooks.attempts}
    stamps = [a.headers["webhook-timestamp"] for a in hooks.attempts]
    assert ids == {message.id}
    assert len(set(stamps)) == 3
    assert all(a.signature_ok for a in hooks.attempts)
    assert len(hooks.delivered) == 1


@pytest.mark.parametrize(
    ("status", "headers", "retryable", "retry_after"),
    [
        pytest.param(500, {}, True, None, id="500 retries"),
        pytest.param(503, {"Retry-After": "120"}, True, 120.0, id="503 with Retry-After"),
        pytest.param(429, {"Retry-After": "7"}, True, 7.0, id="429 honours seconds"),
        pytest.param(
            429,
            {"Retry-After": "Fri, 15 Jan 2027 08:00:30 GMT"},
            True,
            30.0,
            id="429 honours an HTTP date",
        ),
        pytest.param(408, {}, True, None, id="408 retries"),
        pytest.param(425, {}, True, None, id="425 retries"),
        pytest.param(400, {}, False, None, id="400 is final"),
        pytest.param(401, {}, False, None, id="401 is final"),
        pytest.param(404, {}, False, None, id="404 is final"),
        pytest.param(410, {}, False, None, id="410 is final"),
    ],
)
async def test_answers_are_classified(
    receiver: Server,
    session: aiohttp.ClientSession,
    status: int,
    headers: dict[str, str],
    retryable: bool,
    retry_after: float | None,
) -> None:
    """5xx, 408, 425 and 429 are worth retrying (Retry-After honoured); other 4xx are not."""
    hooks, _ = receiver
    hooks.answer(status, "nope: bad field 'spend'", **headers)
    time = FakeTime(now=1_800_000_000.0)  # 2027-01-15 08:00:00 UTC
    with pytest.raises(DeliveryError) as caught:
        await notifier(receiver, session, time).send(messages.warning())
    assert caught.value.retryable is retryable
    assert caught.value.retry_after == retry_after
    assert f"HTTP {status}" in str(caught.value)
    assert "nope: bad field 'spend'" in str(caught.value)


async def test_redirects_are_not_followed(receiver: Server, session: aiohttp.ClientSession) -> None:
    """A 3xx is a configuration problem: the error says to use the final URL."""
    with pytest.raises(DeliveryError, match=r"HTTP 301.*final URL") as caught:
        await notifier(receiver, session, path="/moved").send(messages.warning())
    assert caught.value.retryable is False
    assert receiver[0].attempts == []


async def test_connection_refused_is_retryable(
    session: aiohttp.ClientSession, closed_port: int
) -> None:
    """A receiver that is down is worth retrying."""
    server = (Receiver(), f"http://127.0.0.1:{closed_port}")
    with pytest.raises(DeliveryError, match="cannot reach") as caught:
        await notifier(server, session).send(messages.warning())
    assert caught.value.retryable is True


async def test_a_receiver_down_then_back_gets_the_notice_once(
    receiver: Server, session: aiohttp.ClientSession
) -> None:
    """Failures before recovery leave exactly one delivered copy."""
    hooks, _ = receiver
    for status in (502, 503, 504):
        hooks.answer(status)
    channel = notifier(receiver, session)
    message = messages.critical()
    for _ in range(3):
        with pytest.raises(DeliveryError):
            await channel.send(message)
    await channel.send(message)
    assert [a.status for a in hooks.attempts] == [502, 503, 504, 204]
    assert len(hooks.delivered) == 1


async def test_a_slow_receiver_times_out(receiver: Server, session: aiohttp.ClientSession) -> None:
    """Every request has a deadline; passing it is retryable."""

    async def slow(request: web.Request) -> web.Response:
        await request.read()
        await stop.wait()
        return web.Response()

    stop = asyncio.Event()
    app = web.Application()
    app.router.add_post("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        with pytest.raises(DeliveryError, match="no answer within") as caught:
            await notifier(
                (Receiver(), f"http://{host}:{port}"),
                session,
                path="/slow",
                timeout=timedelta(milliseconds=200),
            ).send(messages.warning())
        assert caught.value.retryable is True
    finally:
        stop.set()
        await runner.cleanup()


# sign / verify ---------------------------------------------------------------------------------


def _reference_signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


@pytest.mark.parametrize(
    ("secret", "key"),
    [
        pytest.param(
            "whsec_" + base64.b64encode(b"k" * 24).decode(), b"k" * 24, id="whsec_ is base64"
        ),
        pytest.param("plain text secret", b"plain text secret", id="other text is UTF-8"),
    ],
)
def test_sign_follows_standard_webhooks(secret: str, key: bytes) -> None:
    """sign() is HMAC-SHA256 over "id.timestamp.body", base64, prefixed "v1,"."""
    body = b'{"event":"budget_crossed"}'
    assert sign(secret, "wd_1", 1_800_000_000, body) == _reference_signature(
        key, "wd_1", 1_800_000_000, body
    )


def test_the_spec_example_verifies() -> None:
    """The Standard Webhooks specification's own example signature is accepted."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    assert verify(secret, headers, body, now=1614265330)


@pytest.mark.parametrize(
    ("change", "ok"),
    [
        pytest.param({}, True, id="untouched"),
        pytest.param({"body": b'{"spend":0}'}, False, id="body changed"),
        pytest.param({"now": 1_800_000_000 + 301}, False, id="too old"),
        pytest.param({"now": 1_800_000_000 - 301}, False, id="from the future"),
        pytest.param({"secret": "another secret"}, False, id="wrong secret"),
        pytest.param({"extra": "v1,bm9wZQ== "}, True, id="one of several signatures"),
    ],
)
def test_verify_rejects_what_it_should(change: dict[str, Any], ok: bool) -> None:
    """verify() checks the signature, the body and a five-minute window."""
    body = b'{"spend":4100}'
    headers = {
        "webhook-id": "wd_1",
        "webhook-timestamp": "1800000000",
        "webhook-signature": change.get("extra", "") + sign("s3cret", "wd_1", 1_800_000_000, body),
    }
    result = verify(
        change.get("secret", "s3cret"),
        headers,
        change.get("body", body),
        now=change.get("now", 1_800_000_000),
    )
    assert result is ok


def test_the_payload_keeps_litellms_fields() -> None:
    """The body LiteLLM consumers parse has LiteLLM's budget-alert fields first."""
    payload = messages.critical().payload
    first = list(payload)[:10]
    assert first == [
        "event",
        "event_group",
        "event_message",
        "timestamp",
        "spend",
        "max_budget",
        "soft_budget",
        "budget_threshold",
        "percentage",
        "budget_reset_at",
    ]


async def test_failures_are_logged_on_change_and_recovery_once(
    receiver: Server, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """Two identical failures log once; the first success after them logs "recovered"."""
    caplog.set_level(logging.INFO, logger="watchdog")
    hooks, _ = receiver
    hooks.answer(500)
    hooks.answer(500)
    channel = notifier(receiver, session)
    for _ in range(2):
        with pytest.raises(DeliveryError):
            await channel.send(messages.warning())
    await channel.send(messages.warning())
    await channel.send(messages.warning())
    ours = [(r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith("watchdog")]
    assert ours == [
        ("WARNING", "channel finance-hook failing: webhook finance-hook (127.0.0.1): HTTP 500"),
        ("INFO", "channel finance-hook recovered"),
    ]
