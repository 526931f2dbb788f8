"""Against a real LiteLLM: resets, blocks and unblocks do what they say (or say they cannot)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from tests.e2e.conftest import World, spent
from tests.e2e.peer import Peer, PeerAdmin, wait_for
from watchdog.config import LiteLLMSettings
from watchdog.config_fields import Secret
from watchdog.errors import ActionError
from watchdog.model import EntityRef, Scope
from watchdog.sources.litellm_admin import LiteLLMAdmin

pytestmark = pytest.mark.e2e


@pytest.fixture
async def client(litellm_peer: Peer) -> AsyncIterator[LiteLLMAdmin]:
    settings = LiteLLMSettings(
        url=litellm_peer.url, master_key=Secret(litellm_peer.master_key, "os.environ/K")
    )
    async with aiohttp.ClientSession() as session:
        yield LiteLLMAdmin(settings, session=session)


def unique(what: str) -> str:
    return f"wd-{uuid.uuid4().hex[:6]}-{what}"


async def spend_landed(admin: PeerAdmin, token: str, amount: Decimal) -> None:
    """Resetting before queued spend is written would lose to it: wait for the write first."""
    await wait_for(lambda: admin.key_info(token), spent(amount), what=f"spend {amount}")


async def test_a_key_reset_reports_spend_and_frees_the_key(
    litellm_peer: Peer, client: LiteLLMAdmin
) -> None:
    """A key over its budget is refused; after the reset it is served again and starts at 0."""
    async with litellm_peer.admin() as admin:
        key, token = await admin.new_key(unique("reset"), max_budget=0.03)
        first, cost = await admin.chat(key)
        refused, _ = await admin.chat(key)
        await spend_landed(admin, token, cost)
        result = await client.change("reset", EntityRef(Scope.KEY, token))
        after_reset = (await admin.key_info(token))["spend"]
        served, new_cost = await admin.chat(key)
        await spend_landed(admin, token, new_cost)
    assert (first, refused, served) == (200, 422, 200)
    assert (result.spend_before, result.spend_after) == (cost, Decimal(0))
    assert after_reset == 0


async def test_a_user_reset_sets_spend_to_zero(litellm_peer: Peer, client: LiteLLMAdmin) -> None:
    """/user/update with spend 0 works; LiteLLM then reports the user at 0."""
    user = unique("user")
    async with litellm_peer.admin() as admin:
        await admin.post("/user/new", {"user_id": user, "auto_create_key": False})
        key, token = await admin.new_key(unique("user-key"), user_id=user)
        _, cost = await admin.chat(key, model="mock-gpt-4o")
        await wait_for(lambda: admin.user_info(user), spent(cost), what="user spend")
        result = await client.change("reset", EntityRef(Scope.USER, user))
        info = await admin.user_info(user)
    assert result.spend_after == 0
    assert info["spend"] == 0
    assert token


@pytest.mark.parametrize(
    "scope",
    [
        pytest.param(Scope.TEAM, id="team: /team/update ignores spend"),
        pytest.param(Scope.CUSTOMER, id="customer: /customer/update ignores spend"),
    ],
)
async def test_resets_litellm_ignores_are_refused_and_change_nothing(
    litellm_peer: Peer, world: World, client: LiteLLMAdmin, scope: Scope
) -> None:
    """LiteLLM 1.108.7 answers 200 but keeps the spend; watchdog reports that as an error."""
    entity = world.team_a if scope is Scope.TEAM else world.customer
    async with litellm_peer.admin() as admin:
        info = admin.team_info if scope is Scope.TEAM else admin.customer_info
        before = (await info(entity))["spend"]
        with pytest.raises(ActionError) as caught:
            await client.change("reset", EntityRef(scope, entity))
        after = (await info(entity))["spend"]
    assert caught.value.retryable is False
    assert "ignores spend" in str(caught.value)
    assert before == after > 0


async def test_a_blocked_key_is_refused_until_unblocked(
    litellm_peer: Peer, client: LiteLLMAdmin
) -> None:
    """/key/block takes the token hash and applies at once; /key/unblock lifts it."""
    async with litellm_peer.admin() as admin:
        key, token = await admin.new_key(unique("block"))
        blocked = await client.change("block", EntityRef(Scope.KEY, token))
        refused, _ = await admin.chat(key, model="mock-gpt-4o")
        unblocked = await client.change("unblock", EntityRef(Scope.KEY, token))
        served, _ = await admin.chat(key, model="mock-gpt-4o")
    assert (blocked.blocked, refused, unblocked.blocked, served) == (True, 401, False, 200)


async def test_team_block_and_unblock(litellm_peer: Peer, client: LiteLLMAdmin) -> None:
    """/team/block and /team/unblock flip the team's blocked flag."""
    async with litellm_peer.admin() as admin:
        team = await admin.new_team(unique("team"))
        await client.change("block", EntityRef(Scope.TEAM, team))
        while_blocked = (await admin.team_info(team))["blocked"]
        await client.change("unblock", EntityRef(Scope.TEAM, team))
        after = (await admin.team_info(team))["blocked"]
    assert (while_blocked, after) == (True, False)


async def test_customer_block_and_unblock_without_the_enterprise_endpoint(
    litellm_peer: Peer, client: LiteLLMAdmin
) -> None:
    """/customer/block sets the flag; /customer/update with blocked false clears it (the
    /customer/unblock endpoint is enterprise-only)."""
    customer = unique("customer")
    async with litellm_peer.admin() as admin:
        await admin.post("/customer/new", {"user_id": customer})
        status, _, _ = await admin.call(
            "POST", "/customer/unblock", {"user_ids": [customer]}, expect=(400, 403, 500)
        )
        await client.change("block", EntityRef(Scope.CUSTOMER, customer))
        while_blocked = (await admin.customer_info(customer))["blocked"]
        await client.change("unblock", EntityRef(Scope.CUSTOMER, customer))
        after = (await admin.customer_info(customer))["blocked"]
    assert status == 400
    assert (while_blocked, after) == (True, False)
