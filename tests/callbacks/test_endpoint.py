"""POST /callbacks/litellm on a real HTTP server with the real SQLite store: authenticated,
bounded, idempotent, and quiet about its token."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from watchdog.callbacks.endpoint import PATH, Ingest, RequestSink, Slots, attach
from watchdog.config import HttpSettings, Secret
from watchdog.errors import StoreError
from watchdog.store import StoreOptions
from watchdog.store.sqlite import SqliteStore
from watchdog.store.usage import RequestRecord

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "litellm"
BATCH = (FIXTURES / "callback_generic_api__batch.json").read_bytes()
TOKEN = "cb-token-5f1e9a7d"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
FOREVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@dataclass
class Served:
    url: str
    ingest: Ingest
    session: aiohttp.ClientSession

    async def post(
        self, body: bytes | AsyncIterator[bytes], token: str | None = TOKEN
    ) -> tuple[int, dict[str, str], str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.post(self.url + PATH, data=body, headers=headers) as response:
            return response.status, dict(response.headers), await response.text()


async def _serve(sink: RequestSink, http: HttpSettings) -> AsyncIterator[Served]:
    ingest = Ingest(sink=sink, settings=lambda: http, clock=lambda: NOW)
    app = web.Application()
    attach(app, ingest)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    async with aiohttp.ClientSession() as session:
        yield Served(f"http://127.0.0.1:{runner.addresses[0][1]}", ingest, session)
    await runner.cleanup()


def _http(**changes: object) -> HttpSettings:
    return HttpSettings.model_validate({"callback_token": Secret(TOKEN, "inline"), **changes})


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(str(tmp_path / "state.db"), options=StoreOptions())
    yield opened
    await opened.aclose()


@pytest.fixture
async def served(store: SqliteStore) -> AsyncIterator[Served]:
    async for s in _serve(store, _http(callback_max_bytes=len(BATCH) + 1024)):
        yield s


async def test_a_batch_is_stored_once_even_when_retried(served: Served, store: SqliteStore) -> None:
    status, _, text = await served.post(BATCH)
    assert status == 200
    first = await store.request_total(start=FOREVER[0], end=FOREVER[1])
    assert first > 0
    again_status, _, again = await served.post(BATCH)
    assert again_status == 200
    assert '"stored": 0' in again
    assert '"duplicates": ' in again
    assert '"stored": 0' not in text
    assert await store.request_total(start=FOREVER[0], end=FOREVER[1]) == first


@pytest.mark.parametrize(
    ("token", "status"),
    [pytest.param(None, 401, id="no token"), pytest.param("wrong", 401, id="wrong token")],
)
async def test_without_the_right_bearer_token_nothing_is_stored(
    served: Served, store: SqliteStore, token: str | None, status: int
) -> None:
    got, headers, _ = await served.post(BATCH, token=token)
    assert got == status
    assert headers.get("WWW-Authenticate") == "Bearer"
    assert await store.request_total(start=FOREVER[0], end=FOREVER[1]) == Decimal(0)


async def test_without_a_configured_token_the_route_is_off(store: SqliteStore) -> None:
    async for served in _serve(store, HttpSettings()):
        status, _, text = await served.post(BATCH)
        assert status == 404
        assert "http.callback_token" in text


async def test_oversized_bodies_are_refused_whether_announced_or_streamed(
    store: SqliteStore,
) -> None:
    async for served in _serve(store, _http(callback_max_bytes=4096)):
        status, _, text = await served.post(BATCH)  # Content-Length says it all
        assert status == 413
        assert "callback_max_bytes" in text

        async def chunked() -> AsyncIterator[bytes]:  # no length: refused while reading
            for start in range(0, len(BATCH), 1024):
                yield BATCH[start : start + 1024]

        status, _, _ = await served.post(chunked())
        assert status == 413
    assert await store.request_total(start=FOREVER[0], end=FOREVER[1]) == Decimal(0)


async def test_a_malformed_body_gets_400_naming_what_was_expected(served: Served) -> None:
    status, _, text = await served.post(b"<html>not json</html>")
    assert status == 400
    assert "JSON array of logging payloads" in text


class SlowSink:
    """A store that holds each batch until released (to fill every slot)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = asyncio.Event()

    async def record_requests(
        self, items: Sequence[RequestRecord], *, received_at: datetime
    ) -> int:
        self.entered.set()
        await self.release.wait()
        return len(items)


class BrokenSink:
    async def record_requests(
        self, items: Sequence[RequestRecord], *, received_at: datetime
    ) -> int:
        raise StoreError("database is locked")


async def test_a_burst_beyond_the_slots_is_asked_to_retry() -> None:
    sink = SlowSink()
    async for served in _serve(sink, _http(callback_concurrency=1)):
        held = asyncio.create_task(served.post(BATCH))
        await sink.entered.wait()
        status, headers, _ = await served.post(BATCH)
        assert status == 503
        assert headers["Retry-After"] == "2"
        sink.release.set()
        assert (await held)[0] == 200
        assert isinstance(served.ingest.slots, Slots)
        assert served.ingest.slots.busy == 0


async def test_a_failing_store_asks_litellm_to_retry(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async for served in _serve(BrokenSink(), _http()):
        status, headers, text = await served.post(BATCH)
        assert status == 503
        assert "Retry-After" in headers
        await served.post(BATCH, token="wrong-" + TOKEN[:4])
        assert TOKEN not in text
    assert "could not store a callback batch" in caplog.text
    assert TOKEN not in caplog.text
