"""LiteLLM's daily activity tables read for attribution, from the captured answers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import aiohttp

from tests.sources.conftest import litellm_settings
from tests.sources.fake_litellm import FakeLiteLLM, fixture
from watchdog.sources.litellm_activity import LiteLLMActivity, summarise

BOB = "cd6e7d41aab03a4a47d017c95e0c35000375c0e12a9ff815baae0f45438228e7"
"""Key "bob" in the captured tables."""
ALPHA = "f0742d1b-90e1-4e0d-8880-bc492a0e07a4"
NOV_21, NOV_23 = date(2026, 11, 21), date(2026, 11, 23)


def test_a_teams_table_adds_up_keys_models_and_key_owners() -> None:
    table = fixture("team_daily_activity.json")
    found = summarise(table["results"], entities=None)
    assert found.spend == Decimal(str(table["metadata"]["total_spend"]))
    assert abs(sum(found.models.values()) - found.spend) < Decimal("1e-9")  # float noise
    assert found.key_aliases[BOB] == "bob"
    assert found.users["user-bob@example.test"] == found.keys[BOB]
    assert found.teams == {}  # one team's own table says nothing about other teams


def test_the_proxy_wide_table_names_users_and_teams_and_chosen_tags_only() -> None:
    users = fixture("user_daily_activity.json")["results"]
    tags = fixture("tag_daily_activity.json")["results"]
    found = summarise(users, entities="users", tag_rows=tags)
    assert found.users["user-bob"] == Decimal("0.098")
    assert "Unassigned" not in found.users
    assert found.tags == {"master-tag": Decimal("0.0014"), "hdr-tag-1": Decimal("0.051")}
    assert ALPHA in found.teams


async def test_reading_asks_one_teams_days_and_follows_pages(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession
) -> None:
    activity = LiteLLMActivity(litellm_settings(proxy.url), session=session)
    found = await activity.read(team_id=ALPHA, first=NOV_21, last=NOV_23)
    assert found.spend == Decimal("0.41477")
    path, query = proxy.queries[0]
    assert path == "/team/daily/activity"
    assert query["team_ids"] == ALPHA
    assert (query["start_date"], query["end_date"]) == ("2026-11-21", "2026-11-23")
    proxy.queries.clear()
    await activity.read(team_id=None, first=NOV_21, last=NOV_23)
    asked = [(p, q.get("page")) for p, q in proxy.queries]
    assert asked == [
        ("/user/daily/activity", "1"),
        ("/tag/daily/activity", "1"),
        ("/tag/daily/activity", "2"),  # the tag table said has_more
    ]
    total = await activity.total(team_id=ALPHA, first=NOV_21, last=NOV_23)
    assert total == Decimal("0.41477")
