"""POST /callbacks/litellm on a real HTTP server with the real stores (SQLite and PostgreSQL):
authenticated, bounded, idempotent, and quiet about its token."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from watchdog.callbacks.endpoint import PATH, Ingest, RequestSink, Slots, attach
from watchdog.config import HttpSettings
from watchdog.config_fields import Secret
from watchdog.errors import StoreError
from watchdog.store import Store
from watchdog.store.usage import RequestRecord, Spender

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "litellm"
BATCH = (FIXTURES / "callback_generic_api__batch.json").read_bytes()
ITEMS = len(json.loads(BATCH))
SENT_BY_LITELLM = {
    name: value
    for name, value in json.loads(
        (FIXTURES / "callback_generic_api__request_headers.json").read_text()
    ).items()
    if name in ("accept", "accept-encoding", "user-agent", "content-type")
}
"""The headers LiteLLM's generic_api logger sent with the captured batch."""
TOKEN = "cb-token-5f1e9a7d"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
START, END = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


async def _total(store: Store) -> Decimal:
    """Everything the store holds."""
    return await store.request_total(start=START, end=END)


async def _spend(store: Store, dimension: str) -> list[Spender]:
    return await store.request_spend(dimension, start=START, end=END)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Served:
    url: str
    ingest: Ingest
    session: aiohttp.ClientSession
    answers: list[Answer] = field(default_factory=list)

    async def post(
        self,
        body: bytes | AsyncIterator[bytes],
        token: str | None = TOKEN,
        *,
        authorization: str | None = None,
    ) -> Answer:
        headers = dict(SENT_BY_LITELLM)
        if authorization is not None:
            headers["Authorization"] = authorization
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.session.post(self.url + PATH, data=body, headers=headers) as response:
            answer = Answer(response.status, dict(response.headers), await response.text())
        self.answers.append(answer)
        return answer

    def said(self) -> str:
        """Everything the route answered, headers included."""
        return "\n".join(f"{a.headers} {a.text}" for a in self.answers)


@asynccontextmanager
async def serving(sink: RequestSink, http: HttpSettings) -> AsyncIterator[Served]:
    """The route on a real aiohttp server on a free local port."""
    ingest = Ingest(sink=sink, settings=lambda: http, clock=lambda: NOW)
    app = web.Application()
    attach(app, ingest)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        async with aiohttp.ClientSession() as session:
            yield Served(f"http://127.0.0.1:{runner.addresses[0][1]}", ingest, session)
    finally:
        await runner.cleanup()


def _http(**changes: object) -> HttpSettings:
    """Settings as the ops config gives them: the token resolved from the environment."""
    return HttpSettings.model_validate(
        {"callback_token": "os.environ/WATCHDOG_CALLBACK_TOKEN", **changes},
        context={"env": {"WATCHDOG_CALLBACK_TOKEN": TOKEN}},
    )


def test_the_settings_carry_the_token_as_a_secret() -> None:
    """The token is a Secret: shown by where it came from, never by its value."""
    http = _http()
    assert isinstance(http.callback_token, Secret)
    assert http.callback_token.reveal() == TOKEN
    assert TOKEN not in repr(http)
    assert TOKEN not in json.dumps(http.model_dump(mode="json"))


@pytest.fixture
async def served(store: Store) -> AsyncIterator[Served]:
    async with serving(store, _http(callback_max_bytes=len(BATCH) + 1024)) as s:
        yield s


async def test_a_batch_is_stored_once_even_when_retried(served: Served, store: Store) -> None:
    """LiteLLM retrying a batch gets 200 again, with every item counted as a duplicate."""
    first = await served.post(BATCH)
    assert first.status == 200
    assert first.json() == {"received": ITEMS, "stored": ITEMS, "duplicates": 0, "skipped": 0}
    total = await _total(store)
    assert total == Decimal("0.31677")
    again = await served.post(BATCH)
    assert again.status == 200
    assert again.json() == {"received": ITEMS, "stored": 0, "duplicates": ITEMS, "skipped": 0}
    assert await _total(store) == total
    assert (served.ingest.received, served.ingest.stored) == (2 * ITEMS, ITEMS)


async def test_a_partly_new_batch_stores_only_the_new_items(served: Served, store: Store) -> None:
    """Items already stored are duplicates; items without an id are counted as skipped."""
    items = json.loads(BATCH)
    await served.post(json.dumps(items[:5]).encode())
    answer = await served.post(json.dumps([*items[3:8], {"no": "id"}]).encode())
    assert answer.json() == {"received": 5, "stored": 3, "duplicates": 2, "skipped": 1}
    assert {s.value for s in await _spend(store, "key")} == {
        i["metadata"]["user_api_key_hash"] for i in items[:8]
    }


async def test_text_and_numbers_no_column_holds_still_store(served: Served, store: Store) -> None:
    """NUL characters, lone surrogates and absurd numbers never poison a batch on either store."""
    body = (
        b'[{"id": "odd\\u0000-1", "response_cost": 1e30, "prompt_tokens": 1e300,'
        b' "total_tokens": 99999999999999999999999, "endTime": 1795367822.5,'
        b' "model": "gpt\\ud800", "request_tags": ["t\\u0000ag"],'
        b' "metadata": {"user_api_key_alias": "\\udfffalias", "user_api_key_hash": "h-1",'
        b' "requester_custom_headers": {"x-agent": "bot\\u0000"}}},'
        b' {"id": "odd-2", "response_cost": 0.25, "endTime": 1795367822.5}]'
    )
    answer = await served.post(body)
    assert (answer.status, answer.json()["stored"]) == (200, 2)
    assert await _total(store) == Decimal("0.25")
    assert [s.value for s in await _spend(store, "tag")] == ["tag"]
    assert [s.value for s in await _spend(store, "header:x-agent")] == ["bot"]
    (key,) = await _spend(store, "key")
    assert key.label == "\N{REPLACEMENT CHARACTER}alias"


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no Authorization header"),
        pytest.param("Bearer wrong", id="wrong token"),
        pytest.param(f"Bearer {TOKEN[:-1]}", id="a prefix of the token"),
        pytest.param(f"Bearer {TOKEN}x", id="the token and more"),
        pytest.param(f"Basic {TOKEN}", id="another scheme"),
        pytest.param(TOKEN, id="no scheme"),
        pytest.param("Bearer ", id="empty token"),
    ],
)
async def test_without_the_right_bearer_token_nothing_is_stored(
    served: Served, store: Store, authorization: str | None
) -> None:
    """401 with a Bearer challenge; the store is never touched."""
    answer = await served.post(BATCH, token=None, authorization=authorization)
    assert answer.status == 401
    assert answer.headers.get("WWW-Authenticate") == "Bearer"
    assert answer.json() == {"error": "missing or wrong bearer token"}
    assert await _total(store) == Decimal(0)


async def test_the_scheme_name_is_not_case_sensitive(served: Served) -> None:
    """`bearer` works as `Bearer` does (RFC 7235 schemes are case-insensitive)."""
    assert (await served.post(BATCH, authorization=f"bearer {TOKEN}")).status == 200


@pytest.mark.parametrize(
    "http",
    [
        pytest.param(HttpSettings(), id="no token"),
        pytest.param(HttpSettings(callback_token=Secret("", "inline")), id="empty token"),
    ],
)
async def test_without_a_configured_token_the_route_is_off(
    store: Store, http: HttpSettings
) -> None:
    """404 telling how to turn it on, whatever the request carries."""
    async with serving(store, http) as served:
        for token in (None, "", TOKEN):
            answer = await served.post(BATCH, token=token)
            assert answer.status == 404
            assert "http.callback_token" in answer.text
    assert await _total(store) == Decimal(0)


async def _chunked(body: bytes, size: int = 1024) -> AsyncIterator[bytes]:
    """A body sent without Content-Length (Transfer-Encoding: chunked)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_oversized_bodies_are_refused_whether_announced_or_streamed(store: Store) -> None:
    """413 naming the setting; nothing of the body is stored; the route keeps working."""
    async with serving(store, _http(callback_max_bytes=32768)) as served:
        announced = await served.post(BATCH)  # Content-Length says it all
        assert announced.status == 413
        assert "callback_max_bytes" in announced.text
        streamed = await served.post(_chunked(BATCH))  # no length: refused while reading
        assert streamed.status == 413
        assert "callback_max_bytes" in streamed.text
        assert served.ingest.slots.busy == 0
        small = json.dumps(json.loads(BATCH)[:1]).encode()
        assert len(small) < 32768 < len(BATCH)
        assert (await served.post(_chunked(small, 100))).status == 200
    assert await _total(store) == Decimal("0.00071")


async def test_a_body_exactly_at_the_limit_is_read(store: Store) -> None:
    """The limit is inclusive: a body of callback_max_bytes bytes is accepted."""
    body = json.dumps([{"id": "r", "response_cost": 1, "endTime": 1795367822}]).encode()
    body += b" " * (2048 - len(body))
    async with serving(store, _http(callback_max_bytes=2048)) as served:
        assert (await served.post(body)).status == 200
        assert (await served.post(body + b" ")).status == 413
        assert (await served.post(_chunked(body + b" "))).status == 413


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"<html>not json</html>", "JSON array of logging payloads", id="html"),
        pytest.param(b"", "the body is empty", id="empty"),
        pytest.param(b"42", "expected a JSON array", id="a number"),
        pytest.param(b"\xff\xfe", "not UTF-8", id="not utf-8"),
    ],
)
async def test_a_malformed_body_gets_400_naming_what_was_expected(
    served: Served, store: Store, body: bytes, expected: str
) -> None:
    """LiteLLM (or whoever posted) is told what a batch is; nothing is stored."""
    answer = await served.post(body)
    assert answer.status == 400
    assert expected in answer.json()["error"]
    assert await _total(store) == Decimal(0)


class SlowSink:
    """A store that holds each batch until released (to fill every slot)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = asyncio.Event()
        self.batches: list[int] = []

    async def record_requests(
        self, items: Sequence[RequestRecord], *, received_at: datetime
    ) -> int:
        self.entered.set()
        await self.release.wait()
        self.batches.append(len(items))
        return len(items)


class BrokenSink:
    """A store that is down."""

    async def record_requests(
        self, items: Sequence[RequestRecord], *, received_at: datetime
    ) -> int:
        raise StoreError("database is locked")


@pytest.mark.parametrize("capacity", [1, 3])
async def test_a_burst_beyond_the_slots_is_asked_to_retry(capacity: int) -> None:
    """With every slot busy the next batch gets 503 + Retry-After at once, never queued."""
    sink = SlowSink()
    async with serving(sink, _http(callback_concurrency=capacity)) as served:
        held = []
        for _ in range(capacity):
            sink.entered.clear()
            held.append(asyncio.create_task(served.post(BATCH)))
            await sink.entered.wait()
        assert served.ingest.slots.busy == capacity
        refused = await served.post(BATCH)
        assert refused.status == 503
        assert refused.headers["Retry-After"] == "2"
        assert "retry later" in refused.json()["error"]
        sink.release.set()
        assert [(await h).status for h in held] == [200] * capacity
        assert isinstance(served.ingest.slots, Slots)
        assert served.ingest.slots.busy == 0
        assert (await served.post(BATCH)).status == 200  # a slot is free again
    assert sink.batches == [ITEMS] * (capacity + 1)


async def test_a_failing_store_asks_litellm_to_retry(caplog: pytest.LogCaptureFixture) -> None:
    """503 + Retry-After; the problem is logged once, not per batch."""
    caplog.set_level(logging.DEBUG)
    async with serving(BrokenSink(), _http()) as served:
        for _ in range(3):
            answer = await served.post(BATCH)
            assert answer.status == 503
            assert answer.headers["Retry-After"] == "2"
            assert "state store is unavailable" in answer.json()["error"]
        assert served.ingest.slots.busy == 0
    assert caplog.text.count("could not store a callback batch") == 1


async def test_the_token_never_appears_in_answers_or_logs(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever happens (accepted, refused, too large, malformed, store down), no token."""
    caplog.set_level(logging.DEBUG)
    async with serving(store, _http(callback_max_bytes=len(BATCH) + 1024)) as served:
        await served.post(BATCH)
        await served.post(BATCH, token="wrong-" + TOKEN)
        await served.post(BATCH, authorization=f"Basic {TOKEN}")
        await served.post(b"not json")
        await served.post(_chunked(BATCH + b" " * 2048))
        said = served.said()
    async with serving(BrokenSink(), _http()) as broken:
        await broken.post(BATCH)
        said += broken.said()
    assert [a.status for a in [*served.answers, *broken.answers]] == [200, 401, 401, 400, 413, 503]
    assert TOKEN not in said
    assert TOKEN not in caplog.text
    assert "refused a callback without the right bearer token" in caplog.text
