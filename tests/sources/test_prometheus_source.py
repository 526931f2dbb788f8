"""The Prometheus source against a local server speaking Prometheus's query API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.sources.conftest import FakeSleep
from watchdog.config import PrometheusSettings
from watchdog.config_fields import Secret
from watchdog.errors import SourceError
from watchdog.model import EntityRef, Scope
from watchdog.rules import Rule, RuleSet
from watchdog.sources.prometheus import PrometheusSource, rate_query, series_name, window_key

NOW = datetime(2026, 11, 18, 12, 30, tzinfo=UTC)
TOKEN = "1f7d3dfa1a6684d4cf4ea7879a89d67788caf9c0334f8643ac36a9dfe86c1593"
TEAM = "a5d119cc-9c82-42be-b786-c1676ee824f5"
BEARER = "prom-token-secret-441"


def vector(*series: tuple[dict[str, str], str]) -> dict[str, Any]:
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": m, "value": [NOW.timestamp(), v]} for m, v in series],
        },
    }


class FakePrometheus:
    """Answers /api/v1/query from `answers` (query text → body); anything else is a 400."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, Any]] = {}
        self.queries: list[tuple[str, str, str | None]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    def answer(self, query: str, body: Any, status: int = 200) -> None:
        self.answers[query] = (status, body)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v1/query", self._query)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _query(self, request: web.Request) -> web.Response:
        query = request.query["query"]
        self.queries.append((query, request.query["time"], request.headers.get("Authorization")))
        if request.headers.get("Authorization") != f"Bearer {BEARER}":
            return web.json_response({"status": "error", "error": "unauthorized"}, status=401)
        status, body = self.answers.get(query, (200, vector()))
        return web.json_response(body, status=status)


@pytest.fixture
async def prom() -> AsyncIterator[FakePrometheus]:
    server = FakePrometheus()
    await server.start()
    yield server
    await server.stop()


async def read(
    prom: FakePrometheus,
    session: aiohttp.ClientSession,
    rules: RuleSet | None = None,
    **changes: Any,
) -> Any:
    fields: dict[str, Any] = {
        "url": prom.url,
        "headers": {"Authorization": Secret(f"Bearer {BEARER}", "os.environ/PROM")},
        "windows": ("1h", "24h"),
    }
    fields.update(changes)
    settings = PrometheusSettings(**fields)
    source = PrometheusSource(settings, session=session, retry=FakeSleep().retry(0))
    return await source.read(rules=rules or RuleSet(), now=NOW)


def query_rule(query: str, period: str = "monthly") -> RuleSet:
    rule = Rule.model_validate(
        {"name": "by model", "scope": "query", "query": query, "amount": 100, "period": period}
    )
    return RuleSet(rules=(rule,))


async def test_rates_per_key_team_and_user_over_each_window(
    prom: FakePrometheus, session: aiohttp.ClientSession
) -> None:
    """increase() per label becomes a rate for the entity LiteLLM names by that id."""
    prom.answer(
        rate_query("hashed_api_key", timedelta(hours=1)), vector(({"hashed_api_key": TOKEN}, "0.2"))
    )
    prom.answer(
        rate_query("hashed_api_key", timedelta(hours=24)),
        vector(({"hashed_api_key": TOKEN}, "1.75")),
    )
    prom.answer(rate_query("team", timedelta(hours=1)), vector(({"team": TEAM}, "0.5")))
    prom.answer(rate_query("user", timedelta(hours=24)), vector(({"user": "user-bob"}, "3")))
    reading = await read(prom, session)
    assert reading.rates == {
        EntityRef(Scope.KEY, TOKEN): {"1h": Decimal("0.2"), "1d": Decimal("1.75")},
        EntityRef(Scope.TEAM, TEAM): {"1h": Decimal("0.5")},
        EntityRef(Scope.USER, "user-bob"): {"1d": Decimal(3)},
    }
    assert reading.requests == 6


async def test_queries_are_evaluated_at_now(
    prom: FakePrometheus, session: aiohttp.ClientSession
) -> None:
    """Every query is an instant query at the cycle's time, with the configured headers."""
    await read(prom, session)
    assert {t for _, t, _ in prom.queries} == {f"{NOW.timestamp():.3f}"}
    assert rate_query("team", timedelta(hours=1)) == (
        "sum by (team) (increase(litellm_spend_metric_total[3600s]))"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("-0.0000001", Decimal(0), id="below zero after a restart: clamped"),
        pytest.param("NaN", None, id="NaN left out"),
        pytest.param("+Inf", None, id="Inf left out"),
        pytest.param("0.05384000000000001", Decimal("0.05384000000000001"), id="exact"),
    ],
)
async def test_values_are_exact_and_never_negative(
    prom: FakePrometheus, session: aiohttp.ClientSession, value: str, expected: Decimal | None
) -> None:
    """A counter reset never shows as negative spend; NaN and Inf are no data."""
    prom.answer(rate_query("team", timedelta(hours=1)), vector(({"team": TEAM}, value)))
    reading = await read(prom, session)
    rates = reading.rates.get(EntityRef(Scope.TEAM, TEAM), {})
    assert rates.get("1h") == expected


async def test_series_without_an_id_are_skipped(
    prom: FakePrometheus, session: aiohttp.ClientSession
) -> None:
    """LiteLLM labels requests without a team as team="None"; those are not a team."""
    prom.answer(
        rate_query("team", timedelta(hours=1)),
        vector(({"team": "None"}, "9"), ({"team": ""}, "1"), ({"team": TEAM}, "2")),
    )
    reading = await read(prom, session)
    assert list(reading.rates) == [EntityRef(Scope.TEAM, TEAM)]


async def test_rule_query_gets_its_period_so_far(
    prom: FakePrometheus, session: aiohttp.ClientSession
) -> None:
    """$__range becomes the time since the rule's period began (here 17 d 12.5 h of November)."""
    text = "sum by (model) (increase(litellm_spend_metric_total[$__range]))"
    expected = text.replace("$__range", f"{17 * 86400 + 12 * 3600 + 1800}s")
    prom.answer(
        expected,
        vector(({"model": "mock-gpt-4o"}, "4.5"), ({"model": "mock-expensive"}, "120.25")),
    )
    reading = await read(prom, session, rules=query_rule(text))
    assert reading.queries == {
        "by model": {"mock-gpt-4o": Decimal("4.5"), "mock-expensive": Decimal("120.25")}
    }


@pytest.mark.parametrize(
    ("labels", "name"),
    [
        pytest.param({}, "total", id="no labels"),
        pytest.param({"model": "mock-gpt-4o"}, "mock-gpt-4o", id="one label: its value"),
        pytest.param({"team": "eng", "model": "m"}, "model=m, team=eng", id="several, sorted"),
        pytest.param({"__name__": "x", "tag": "a"}, "a", id="metric name ignored"),
    ],
)
def test_series_names_are_readable(labels: dict[str, str], name: str) -> None:
    """Query results are keyed by a name a rule's match can use."""
    assert series_name(labels) == name


@pytest.mark.parametrize(
    ("span", "key"),
    [
        pytest.param(timedelta(hours=1), "1h", id="1h"),
        pytest.param(timedelta(hours=24), "1d", id="24h is named 1d, as forecasts look it up"),
        pytest.param(timedelta(days=7), "7d", id="7d"),
        pytest.param(timedelta(minutes=90), "90m", id="90m"),
    ],
)
def test_window_keys_match_the_forecast_names(span: timedelta, key: str) -> None:
    """Rates are stored under the names the forecast stage asks for."""
    assert window_key(span) == key


async def test_bad_promql_names_the_rule(
    prom: FakePrometheus, session: aiohttp.ClientSession
) -> None:
    """A query Prometheus rejects fails the source with the rule's name and Prometheus's words."""
    text = "sum(increase(oops[$__range])"
    sent = text.replace("$__range", f"{17 * 86400 + 12 * 3600 + 1800}s")
    prom.answer(sent, {"status": "error", "error": "parse error: unclosed left parenthesis"}, 400)
    with pytest.raises(SourceError) as caught:
        await read(prom, session, rules=query_rule(text))
    assert caught.value.retryable is False
    assert str(caught.value).startswith(
        "budget 'by model': Prometheus rejected the query with HTTP 400"
    )
    assert "parse error: unclosed left parenthesis" in str(caught.value)


async def test_a_range_vector_is_not_accepted(
    prom: FakePrometheus, session: aiohttp.ClientSession
) -> None:
    """A query returning a matrix cannot be a spend figure; the error says so."""
    text = "litellm_spend_metric_total[5m]"
    series = {"metric": {"model": "gpt"}, "values": [[1, "0.5"], [2, "0.7"]]}
    prom.answer(text, {"status": "success", "data": {"resultType": "matrix", "result": [series]}})
    with pytest.raises(SourceError, match="did not return an instant vector"):
        await read(prom, session, rules=query_rule(text))


async def test_wrong_credentials_name_the_setting_and_hide_the_token(
    prom: FakePrometheus, session: aiohttp.ClientSession
) -> None:
    """401 points at prometheus.headers; the header value never appears."""
    wrong = "Bearer prom-wrong-token-8812"
    with pytest.raises(SourceError) as caught:
        await read(prom, session, headers={"Authorization": Secret(wrong, "os.environ/P")})
    assert "prometheus.headers" in str(caught.value)
    assert "prom-wrong-token-8812" not in str(caught.value)


def test_windows_must_be_durations() -> None:
    """A window Prometheus could not read is refused when the config loads."""
    with pytest.raises(ValueError, match="expected a duration such as 30m"):
        PrometheusSettings(url="http://prometheus:9090", windows=("1h", "a week"))
