"""Against a real LiteLLM with 500+ keys: one cycle costs one request per page."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from tests.e2e.peer import Peer, PeerAdmin
from watchdog.config import LiteLLMSettings
from watchdog.config_fields import Secret
from watchdog.model import Scope
from watchdog.rules import RuleSet
from watchdog.sources.litellm import LiteLLMSource

pytestmark = pytest.mark.e2e

KEYS = 520
AT_ONCE = 16


async def make_keys(admin: PeerAdmin, prefix: str) -> list[str]:
    """KEYS keys through /key/generate, AT_ONCE at a time; their token hashes."""
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(i: int) -> str:
        async with gate:
            return (await admin.new_key(f"{prefix}-{i:04d}", max_budget=1))[1]

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(one(i), name=f"make-key-{i}") for i in range(KEYS)]
    return [t.result() for t in tasks]


@pytest.fixture
async def many_keys(litellm_peer: Peer) -> AsyncIterator[str]:
    """A prefix naming KEYS fresh keys, deleted again afterwards."""
    prefix = f"wd-scale-{uuid.uuid4().hex[:6]}"
    async with litellm_peer.admin() as admin:
        tokens = await make_keys(admin, prefix)
        try:
            yield prefix
        finally:
            await admin.delete_keys(tokens)


async def pages(admin: PeerAdmin, path: str, size_param: str) -> int:
    return int((await admin.get(path, page="1", **{size_param: "100"}))["total_pages"])


async def test_one_cycle_issues_one_request_per_page(litellm_peer: Peer, many_keys: str) -> None:
    """Every key arrives, and the cycle's requests equal the lists' page counts."""
    settings = LiteLLMSettings(
        url=litellm_peer.url, master_key=Secret(litellm_peer.master_key, "os.environ/K")
    )
    async with aiohttp.ClientSession() as session, litellm_peer.admin() as admin:
        reading = await LiteLLMSource(settings, session=session).read(
            rules=RuleSet(), now=datetime.now(UTC)
        )
        expected = (
            await pages(admin, "/key/list", "size")
            + await pages(admin, "/v2/team/list", "page_size")
            + await pages(admin, "/user/list", "page_size")
            + 4  # customers, tags, /global/spend, /global/spend/logs
        )
    ours = [k for k in reading.entities[Scope.KEY].values() if (k.name or "").startswith(many_keys)]
    assert len(ours) == KEYS
    assert len(reading.entities[Scope.KEY]) >= KEYS
    assert reading.requests == expected
    assert reading.requests < 20
