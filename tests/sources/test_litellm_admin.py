"""Resets, blocks and unblocks through LiteLLM's admin API, each checked against the answer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from tests.sources.conftest import FakeSleep, litellm_settings
from tests.sources.fake_litellm import FakeLiteLLM, Fault
from watchdog.config_fields import Secret
from watchdog.errors import ActionError
from watchdog.model import Entity, EntityRef, Scope
from watchdog.sources.litellm_admin import ActionResult, LiteLLMAdmin

TINY = "ca2414273d4d20e13272939b78c7922248ed9d3b86cff579d9d2b47242fcb82b"
"""The fixture key "tiny-budget" (spend 0.108)."""
BETA = "3a4ec7aa-ead1-4bdf-8780-c91818038374"
ACME = "cust-acme"


def admin(url: str, session: aiohttp.ClientSession, **changes: Any) -> LiteLLMAdmin:
    settings = litellm_settings(url, **changes)
    return LiteLLMAdmin(settings, session=session, retry=FakeSleep().retry(settings.retries))


@pytest.mark.parametrize(
    ("action", "ref", "request_made", "expected"),
    [
        pytest.param(
            "reset",
            EntityRef(Scope.KEY, TINY),
            (f"/key/{TINY}/reset_spend", {"reset_to": 0}),
            ActionResult(EntityRef(Scope.KEY, TINY), "reset", Decimal("0.108"), Decimal(0)),
            id="reset a key: LiteLLM tells spend before and after",
        ),
        pytest.param(
            "reset",
            EntityRef(Scope.USER, "user-bob"),
            ("/user/update", {"user_id": "user-bob", "spend": 0}),
            ActionResult(EntityRef(Scope.USER, "user-bob"), "reset", None, Decimal(0)),
            id="reset a user",
        ),
        pytest.param(
            "block",
            EntityRef(Scope.KEY, TINY),
            ("/key/block", {"key": TINY}),
            ActionResult(EntityRef(Scope.KEY, TINY), "block", None, Decimal("0.108"), True),
            id="block a key by its token hash",
        ),
        pytest.param(
            "unblock",
            EntityRef(Scope.TEAM, BETA),
            ("/team/unblock", {"team_id": BETA}),
            ActionResult(EntityRef(Scope.TEAM, BETA), "unblock", None, Decimal("0.05"), False),
            id="unblock a team",
        ),
        pytest.param(
            "block",
            EntityRef(Scope.CUSTOMER, ACME),
            ("/customer/block", {"user_ids": [ACME]}),
            ActionResult(EntityRef(Scope.CUSTOMER, ACME), "block", None, Decimal("0.0014"), True),
            id="block a customer",
        ),
        pytest.param(
            "unblock",
            EntityRef(Scope.CUSTOMER, ACME),
            ("/customer/update", {"user_id": ACME, "blocked": False}),
            ActionResult(
                EntityRef(Scope.CUSTOMER, ACME), "unblock", None, Decimal("0.0014"), False
            ),
            id="unblock a customer through /customer/update",
        ),
    ],
)
async def test_changes_call_the_right_endpoint_and_report_the_answer(
    proxy: FakeLiteLLM,
    session: aiohttp.ClientSession,
    action: str,
    ref: EntityRef,
    request_made: tuple[str, dict[str, Any]],
    expected: ActionResult,
) -> None:
    """Each change is one POST with LiteLLM's own field names; the result is what it answered."""
    result = await admin(proxy.url, session).change(action, ref)
    assert proxy.bodies == [request_made]
    assert result == ActionResult(
        expected.entity,
        expected.action,
        expected.spend_before,
        expected.spend_after,
        expected.blocked,
        requests=1,
    )


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        pytest.param(
            EntityRef(Scope.TEAM, BETA),
            "ignores spend on /team/update",
            id="team: /team/update answers 200 and keeps the spend",
        ),
        pytest.param(
            EntityRef(Scope.CUSTOMER, ACME),
            "ignores spend on /customer/update",
            id="customer: /customer/update keeps the spend",
        ),
    ],
)
async def test_a_reset_litellm_ignores_is_an_error(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession, ref: EntityRef, fragment: str
) -> None:
    """A 200 that did not zero the spend is reported, not taken for success."""
    with pytest.raises(ActionError) as caught:
        await admin(proxy.url, session).change("reset", ref)
    assert caught.value.retryable is False
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("action", "ref"),
    [
        pytest.param("reset", EntityRef(Scope.TAG, "proj-x"), id="tags have no spend to reset"),
        pytest.param("block", EntityRef(Scope.USER, "user-bob"), id="users cannot be blocked"),
        pytest.param("unblock", EntityRef(Scope.GLOBAL, "proxy"), id="nor can the proxy"),
    ],
)
async def test_unsupported_changes_fail_without_a_request(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession, action: str, ref: EntityRef
) -> None:
    """What LiteLLM's API cannot do is refused up front, not retried."""
    with pytest.raises(ActionError) as caught:
        await admin(proxy.url, session).change(action, ref)
    assert caught.value.retryable is False
    assert "LiteLLM cannot" in str(caught.value)
    assert proxy.requests == []


async def test_a_block_the_answer_denies_is_an_error(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession
) -> None:
    """If LiteLLM answers with the row still unblocked, the block did not happen."""
    proxy.fail("/key/block", Fault(body='{"token": "x", "blocked": null}'))
    with pytest.raises(ActionError, match="did not block key:"):
        await admin(proxy.url, session).change("block", EntityRef(Scope.KEY, TINY))


async def test_server_errors_are_retried_then_reported_as_retryable(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession
) -> None:
    """Writes retry 5xx like reads do (each change is idempotent), then fail retryable."""
    proxy.fail("/team/block", *[Fault(status=503)] * 3)
    with pytest.raises(ActionError) as caught:
        await admin(proxy.url, session, retries=2).change("block", EntityRef(Scope.TEAM, BETA))
    assert caught.value.retryable is True
    assert "POST /team/block failed after 3 attempts: HTTP 503" in str(caught.value)


async def test_wrong_master_key_is_an_action_error_without_the_key(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession
) -> None:
    """401 names the setting; the key itself never appears."""
    secret = "sk-admin-typo-5521"
    client = admin(proxy.url, session, master_key=Secret(secret, "os.environ/K"))
    with pytest.raises(ActionError) as caught:
        await client.change("unblock", EntityRef(Scope.KEY, TINY))
    assert caught.value.retryable is False
    assert "litellm.master_key" in str(caught.value)
    assert secret not in str(caught.value)


async def test_entity_methods_serve_the_action_stage(
    proxy: FakeLiteLLM, session: aiohttp.ClientSession
) -> None:
    """reset_spend/block/unblock take an entity, as the daemon's action stage calls them."""
    client = admin(proxy.url, session)
    key = Entity(scope=Scope.KEY, id=TINY, spend=Decimal("0.108"))
    assert await client.reset_spend(key) == Decimal(0)
    await client.block(key)
    await client.unblock(key)
    assert [path for path, _ in proxy.bodies] == [
        f"/key/{TINY}/reset_spend",
        "/key/block",
        "/key/unblock",
    ]
