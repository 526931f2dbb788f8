"""The LiteLLM source against a local server shaped like the real proxy."""

from __future__ import annotations

import logging
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.sources.conftest import FakeSleep, litellm_settings
from tests.sources.fake_litellm import MASTER_KEY, Data, FakeLiteLLM, Fault, clone_keys
from watchdog import config
from watchdog.config_fields import Secret
from watchdog.errors import ConfigError, SourceError
from watchdog.model import EntityRef, Scope
from watchdog.rules import RuleSet
from watchdog.sources import Reading
from watchdog.sources.litellm import LiteLLMSource

NOW = datetime(2026, 11, 22, 17, 20, tzinfo=UTC)
LISTS = 7
"""Requests for one cycle when every list fits one page (keys, teams, users, customers, tags,
/global/spend and /global/spend/logs)."""


async def read(
    url: str, session: aiohttp.ClientSession, sleep: FakeSleep | None = None, **changes: Any
) -> Reading:
    settings = litellm_settings(url, **changes)
    retry = (sleep or FakeSleep()).retry(settings.retries)
    source = LiteLLMSource(settings, session=session, retry=retry)
    return await source.read(rules=RuleSet(), now=NOW)


async def test_one_cycle_reads_every_list(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession
) -> None:
    """Keys, teams, users, customers, tags and the proxy total arrive in one reading."""
    reading = await read(proxy.url, session)
    counts = {scope: len(found) for scope, found in reading.entities.items()}
    assert counts == {
        Scope.KEY: 7,
        Scope.TEAM: 2,
        Scope.USER: 4,
        Scope.CUSTOMER: 2,
        Scope.TAG: 10,
        Scope.GLOBAL: 1,
    }
    assert reading.requests == LISTS
    assert reading.taken_at == NOW


async def test_keys_carry_their_team_alias(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession
) -> None:
    """A key's team alias comes from the team list read in the same cycle."""
    reading = await read(proxy.url, session)
    alice = next(k for k in reading.entities[Scope.KEY].values() if k.name == "alice-alpha")
    assert alice.team_name == "team-alpha"


async def test_proxy_total_comes_with_its_daily_series(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession
) -> None:
    """/global/spend/logs gives the proxy-wide per-day totals over LiteLLM's 30-day window."""
    reading = await read(proxy.url, session)
    series = reading.daily[EntityRef(Scope.GLOBAL, "proxy")]
    assert series.start == date(2026, 10, 23)
    assert dict(series.days) == {date(2026, 11, 22): Decimal("0.51277")}


@pytest.mark.parametrize(
    ("keys", "page_size"),
    [
        pytest.param(0, 100, id="no keys: one page"),
        pytest.param(7, 5, id="7 keys in pages of 5"),
        pytest.param(100, 100, id="exactly one full page"),
        pytest.param(101, 100, id="one key over a page"),
        pytest.param(523, 100, id="523 keys in 6 pages"),
    ],
)
async def test_every_key_is_read_across_pages(
    session: aiohttp.ClientSession, keys: int, page_size: int
) -> None:
    """Each page is fetched once and every key appears exactly once."""
    proxy = FakeLiteLLM(Data(keys=clone_keys(keys)))
    await proxy.start()
    try:
        reading = await read(proxy.url, session, page_size=page_size)
    finally:
        await proxy.stop()
    assert len(reading.entities[Scope.KEY]) == keys
    assert proxy.count()["/key/list"] == max(1, math.ceil(keys / page_size))


@pytest.mark.parametrize(
    ("keys", "requests"),
    [
        pytest.param(1, LISTS, id="1 key"),
        pytest.param(100, LISTS, id="100 keys, same page count"),
        pytest.param(250, LISTS + 2, id="250 keys"),
        pytest.param(1000, LISTS + 9, id="1000 keys"),
    ],
)
async def test_requests_grow_with_pages_never_with_entities(
    session: aiohttp.ClientSession, keys: int, requests: int
) -> None:
    """One cycle costs one request per page: no per-key lookups."""
    proxy = FakeLiteLLM(Data(keys=clone_keys(keys)))
    await proxy.start()
    try:
        reading = await read(proxy.url, session)
    finally:
        await proxy.stop()
    assert reading.requests == requests == len(proxy.requests)
    assert set(proxy.count()) == {
        "/key/list",
        "/v2/team/list",
        "/user/list",
        "/customer/list",
        "/spend/tags",
        "/global/spend",
        "/global/spend/logs",
    }


async def test_pages_run_concurrently_within_the_bound(session: aiohttp.ClientSession) -> None:
    """Never more than `concurrency` requests are in flight, across all lists."""
    proxy = FakeLiteLLM(Data(keys=clone_keys(900)))
    proxy.delay = 0.02
    await proxy.start()
    try:
        await read(proxy.url, session, concurrency=3)
    finally:
        await proxy.stop()
    assert 1 < proxy.peak <= 3


async def test_scopes_limit_what_is_read(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession
) -> None:
    """Only the configured lists are requested."""
    reading = await read(proxy.url, session, scopes=(Scope.KEY, Scope.GLOBAL))
    assert set(reading.entities) == {Scope.KEY, Scope.GLOBAL}
    assert set(proxy.count()) == {"/key/list", "/global/spend", "/global/spend/logs"}


# Failures ------------------------------------------------------------------------------------


async def test_wrong_master_key_names_the_setting_and_hides_the_key(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """401 is not retried; the message says which setting to fix and never shows the key."""
    secret = "sk-wrong-but-secret-7731"
    caplog.set_level(logging.DEBUG)
    sleep = FakeSleep()
    with pytest.raises(SourceError) as caught:
        await read(proxy.url, session, sleep, master_key=Secret(secret, "os.environ/KEY"))
    message = str(caught.value)
    assert caught.value.retryable is False
    assert "HTTP 401" in message
    assert "litellm.master_key" in message
    assert secret not in message
    assert secret not in repr(caught.value)
    assert secret not in caplog.text
    assert sleep.delays == []


async def test_server_errors_are_retried_with_backoff(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession
) -> None:
    """A 502 then a 503 are retried after growing, jittered delays; the third try succeeds."""
    proxy.fail("/customer/list", Fault(status=502), Fault(status=503))
    sleep = FakeSleep()
    reading = await read(proxy.url, session, sleep)
    assert len(reading.entities[Scope.CUSTOMER]) == 2
    assert sleep.delays == [0.375, 0.75]
    assert reading.requests == LISTS + 2


async def test_retry_after_is_honoured(proxy: FakeLiteLLM, session: aiohttp.ClientSession) -> None:
    """A 429 with Retry-After waits at least that long before the next try."""
    proxy.fail("/spend/tags", Fault(status=429, headers={"Retry-After": "3"}))
    sleep = FakeSleep()
    await read(proxy.url, session, sleep)
    assert sleep.delays == [3.0]


async def test_server_errors_past_the_retries_fail_the_cycle(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession
) -> None:
    """After the last retry the source fails, retryable, naming the endpoint and the status."""
    proxy.fail("/v2/team/list", *[Fault(status=500, body='{"detail": "db down"}')] * 3)
    with pytest.raises(SourceError) as caught:
        await read(proxy.url, session, retries=2)
    assert caught.value.retryable is True
    assert str(caught.value) == (
        "LiteLLM GET /v2/team/list failed after 3 attempts: HTTP 500: db down"
    )


async def test_slow_answers_hit_the_deadline(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession
) -> None:
    """A request that outlives its deadline counts as a failed attempt, then the source fails."""
    proxy.fail("/global/spend", Fault(hang=True), Fault(hang=True))
    with pytest.raises(SourceError) as caught:
        await read(proxy.url, session, retries=1, timeout=timedelta(milliseconds=50))
    assert caught.value.retryable is True
    assert "GET /global/spend failed after 2 attempts: no answer within 0.05s" in str(caught.value)


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        pytest.param(
            "/v2/team/list", "{not json", "GET /v2/team/list returned malformed JSON", id="broken"
        ),
        pytest.param(
            "/key/list",
            "<html>Bad gateway</html>",
            "GET /key/list returned malformed JSON: <html>Bad gateway</html>",
            id="an HTML page",
        ),
        pytest.param(
            "/user/list",
            '{"people": []}',
            'GET /user/list answered an unexpected shape: expected an object with a "users" list',
            id="unexpected shape",
        ),
        pytest.param(
            "/customer/list",
            '{"a": 1}',
            "GET /customer/list answered an unexpected shape",
            id="obj",
        ),
        pytest.param(
            "/key/list",
            '{"keys": [], "total_pages": "many"}',
            "expected a page with an integer total_pages",
            id="page count not a number",
        ),
    ],
)
async def test_malformed_answers_name_the_endpoint(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession, path: str, body: str, fragment: str
) -> None:
    """A body that is not the expected JSON fails the source and says where."""
    proxy.fail(path, Fault(body=body))
    with pytest.raises(SourceError) as caught:
        await read(proxy.url, session)
    assert fragment in str(caught.value)


async def test_client_errors_are_not_retried(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession
) -> None:
    """A 404 says the endpoint is missing; trying again would not help."""
    proxy.fail("/global/spend/logs", Fault(status=404, body='{"detail": "Not Found"}'))
    sleep = FakeSleep()
    with pytest.raises(SourceError) as caught:
        await read(proxy.url, session, sleep)
    assert caught.value.retryable is False
    assert str(caught.value) == "LiteLLM GET /global/spend/logs answered HTTP 404: Not Found"
    assert sleep.delays == []


async def test_proxy_stopped_mid_cycle(session: aiohttp.ClientSession) -> None:
    """The proxy going away after the first pages fails the cycle as retryable."""
    proxy = FakeLiteLLM(Data(keys=clone_keys(450)))
    proxy.stop_after = 2
    await proxy.start()
    try:
        with pytest.raises(SourceError) as caught:
            await read(proxy.url, session, retries=2, concurrency=1)
    finally:
        await proxy.stop()
    assert caught.value.retryable is True
    assert "failed after 3 attempts" in str(caught.value)


async def test_a_source_without_a_session_opens_and_closes_its_own(proxy: FakeLiteLLM) -> None:
    """Given no session, the source makes one on first read and closes it in aclose."""
    source = LiteLLMSource(litellm_settings(proxy.url), retry=FakeSleep().retry())
    first = await source.read(rules=RuleSet(), now=NOW)
    await source.aclose()
    again = await source.read(rules=RuleSet(), now=NOW)
    await source.aclose()
    assert first.entities == again.entities


async def test_a_key_echoed_by_the_server_never_reaches_errors_or_logs(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """Even when an error body repeats the master key, messages and logs show *** instead."""
    caplog.set_level(logging.DEBUG)
    echo = f'{{"error": {{"message": "bad token {MASTER_KEY}"}}}}'
    proxy.fail("/spend/tags", Fault(status=500, body=echo), Fault(status=500, body=echo))
    with pytest.raises(SourceError) as caught:
        await read(proxy.url, session, retries=1)
    assert "bad token ***" in str(caught.value)
    assert MASTER_KEY not in str(caught.value)
    assert "bad token ***" in caplog.text
    assert MASTER_KEY not in caplog.text


def test_scopes_without_a_list_are_refused_at_load(tmp_path: Path) -> None:
    """A scope LiteLLM keeps no list for is a config error naming the accepted ones."""
    path = tmp_path / "watchdog.yaml"
    path.write_text("litellm:\n  scopes: [key, query]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config.load(path, env={})
    assert str(caught.value) == (
        f"{path}:2:11: litellm.scopes: LiteLLM has no list for scope query; "
        "choose from key, team, user, customer, tag, global"
    )


async def test_entities_that_did_not_change_are_last_reads_objects(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession
) -> None:
    """A second read keeps the first read's entity for what did not change (two snapshots
    share one copy) and builds a new one for what did, with the new figures."""
    settings = litellm_settings(proxy.url)
    source = LiteLLMSource(settings, session=session, retry=FakeSleep().retry(settings.retries))
    first = await source.read(rules=RuleSet(), now=NOW)
    busy = proxy.data.keys[0]
    busy["spend"] = float(busy["spend"]) + 1.5
    proxy.data.teams[0]["team_alias"] = "renamed-team"
    second = await source.read(rules=RuleSet(), now=NOW + timedelta(minutes=1))

    keys_before, keys_after = first.entities[Scope.KEY], second.entities[Scope.KEY]
    renamed = proxy.data.teams[0]["team_id"]
    for token, key in keys_after.items():
        if token == busy["token"]:
            assert key is not keys_before[token]
            assert key.spend == keys_before[token].spend + Decimal("1.5")
        elif key.team_id == renamed:
            assert key.team_name == "renamed-team"  # the team list's alias, not last read's
        else:
            assert key is keys_before[token]
    assert any(k.team_id == renamed for k in keys_after.values())
    users_before = first.entities[Scope.USER]
    assert all(u is users_before[i] for i, u in second.entities[Scope.USER].items())
