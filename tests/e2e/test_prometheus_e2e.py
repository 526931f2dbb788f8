"""Against a real Prometheus scraping a real LiteLLM: rates and rule queries name LiteLLM's ids."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import Prometheus, World
from tests.e2e.peer import Peer, close_to, wait_for
from watchdog.config import PrometheusSettings
from watchdog.model import EntityRef, Scope
from watchdog.rules import Rule, RuleSet
from watchdog.sources.prometheus import PrometheusSource

pytestmark = pytest.mark.e2e


async def counter(session: aiohttp.ClientSession, prom: Prometheus, token: str) -> Decimal:
    """LiteLLM's spend counter for one key as Prometheus last scraped it (0 when absent)."""
    query = f'sum(litellm_spend_metric_total{{hashed_api_key="{token}"}})'
    async with session.get(f"{prom.url}/api/v1/query", params={"query": query}) as response:
        body: Any = await response.json()
    result = body["data"]["result"]
    return Decimal(result[0]["value"][1]) if result else Decimal(0)


async def test_rates_and_queries_from_a_real_prometheus(
    litellm_peer: Peer, world: World, prometheus: Prometheus
) -> None:
    """Spend after Prometheus first saw a key shows up as that key's, team's and user's rate."""
    async with aiohttp.ClientSession() as session, litellm_peer.admin() as admin:
        await wait_for(
            lambda: counter(session, prometheus, world.k2_token),
            lambda seen: seen > 0,
            what="Prometheus to scrape k2's spend counter",
        )
        more = Decimal(0)
        for _ in range(3):
            more += (await admin.chat(world.k2, model="mock-gpt-4o"))[1]
        total = world.k2_spend + more
        await wait_for(
            lambda: counter(session, prometheus, world.k2_token),
            lambda seen: close_to(seen, total),
            what=f"Prometheus to see k2's counter reach {total}",
        )
        rule = Rule.model_validate(
            {
                "name": "team b by model",
                "scope": "query",
                "amount": 10,
                "period": "monthly",
                "query": "sum by (model) (increase(litellm_spend_metric_total"
                f'{{team_alias="{world.prefix}-team-b"}}[$__range]))',
            }
        )
        source = PrometheusSource(
            PrometheusSettings(url=prometheus.url, windows=("1h", "24h")), session=session
        )
        reading = await source.read(rules=RuleSet(rules=(rule,)), now=datetime.now(UTC))
    key_rates = reading.rates[EntityRef(Scope.KEY, world.k2_token)]
    assert set(key_rates) == {"1h", "1d"}
    assert Decimal(0) < key_rates["1h"] <= total * 2
    assert reading.rates[EntityRef(Scope.TEAM, world.team_b)]["1h"] > 0
    assert reading.rates[EntityRef(Scope.USER, world.user_v)]["1h"] > 0
    assert set(reading.queries["team b by model"]) == {"mock-gpt-4o"}
    assert all(v >= 0 for rates in reading.rates.values() for v in rates.values())
    assert reading.requests == 7


async def test_the_key_label_is_the_token_hash(
    litellm_peer: Peer, world: World, prometheus: Prometheus
) -> None:
    """hashed_api_key holds the token LiteLLM's API uses: its counter equals /key/info spend."""
    async with aiohttp.ClientSession() as session, litellm_peer.admin() as admin:
        spend = (await admin.key_info(world.k1_token))["spend"]
        seen = await wait_for(
            lambda: counter(session, prometheus, world.k1_token),
            lambda value: close_to(value, spend),
            what="k1's counter to match its spend",
        )
    assert close_to(seen, spend)
