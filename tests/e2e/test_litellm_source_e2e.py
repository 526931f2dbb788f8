"""Against a real LiteLLM: the snapshot and `preview` report the spend LiteLLM reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import World
from tests.e2e.peer import Peer, PeerAdmin
from watchdog import snapshot
from watchdog.config import LiteLLMSettings
from watchdog.config_fields import Secret
from watchdog.model import Entity, EntityRef, Scope, Snapshot
from watchdog.rules import RuleSet
from watchdog.sources import Reading
from watchdog.sources.litellm import LiteLLMSource

pytestmark = pytest.mark.e2e


def settings(peer: Peer) -> LiteLLMSettings:
    return LiteLLMSettings(url=peer.url, master_key=Secret(peer.master_key, "os.environ/K"))


async def read(peer: Peer) -> Reading:
    async with aiohttp.ClientSession() as session:
        source = LiteLLMSource(settings(peer), session=session)
        return await source.read(rules=RuleSet(), now=datetime.now(UTC))


def entity(found: Reading | Snapshot, scope: Scope, entity_id: str) -> Entity:
    got = found.entities[scope].get(entity_id)
    assert got is not None, f"{scope}:{entity_id} missing"
    return got


async def litellm_says(admin: PeerAdmin, world: World) -> dict[EntityRef, Decimal]:
    """Spend as LiteLLM's own info endpoints report it, read exactly."""
    return {
        EntityRef(Scope.KEY, world.k1_token): (await admin.key_info(world.k1_token))["spend"],
        EntityRef(Scope.KEY, world.k2_token): (await admin.key_info(world.k2_token))["spend"],
        EntityRef(Scope.TEAM, world.team_a): (await admin.team_info(world.team_a))["spend"],
        EntityRef(Scope.TEAM, world.team_b): (await admin.team_info(world.team_b))["spend"],
        EntityRef(Scope.USER, world.user_u): (await admin.user_info(world.user_u))["spend"],
        EntityRef(Scope.CUSTOMER, world.customer): (await admin.customer_info(world.customer))[
            "spend"
        ],
    }


async def test_snapshot_spend_equals_litellm_info(litellm_peer: Peer, world: World) -> None:
    """Every key, team, user and customer carries exactly the spend /…/info reports."""
    reading = await read(litellm_peer)
    async with litellm_peer.admin() as admin:
        expected = await litellm_says(admin, world)
    assert {ref: entity(reading, ref.scope, ref.id).spend for ref in expected} == expected
    assert expected[EntityRef(Scope.KEY, world.k1_token)] > Decimal("0.04")


async def test_budgets_and_quirks_as_litellm_keeps_them(litellm_peer: Peer, world: World) -> None:
    """Budgets, the key's soft budget in its budget row, team alias and reset time arrive."""
    reading = await read(litellm_peer)
    k1 = entity(reading, Scope.KEY, world.k1_token)
    assert (k1.max_budget, k1.soft_budget) == (Decimal("0.04"), Decimal("0.02"))
    assert k1.team_name == f"{world.prefix}-team-a"
    assert k1.masked_key is not None
    assert k1.masked_key.startswith("sk-...")
    assert world.k1[-4:] == k1.masked_key[-4:]
    assert dict(k1.metadata) == {"owner": "e2e"}
    team_a = entity(reading, Scope.TEAM, world.team_a)
    assert (team_a.max_budget, team_a.soft_budget) == (Decimal("0.03"), Decimal("0.01"))
    assert team_a.budget_reset_at is not None
    assert team_a.budget_reset_at > datetime.now(UTC)
    assert entity(reading, Scope.KEY, world.k2_token).max_budget is None
    customer = entity(reading, Scope.CUSTOMER, world.customer)
    assert (customer.name, customer.max_budget) == ("Acme", Decimal("0.02"))
    assert entity(reading, Scope.TAG, world.tag).spend == world.k1_spend
    proxy = entity(reading, Scope.GLOBAL, "proxy")
    assert proxy.max_budget is None
    assert proxy.spend >= world.k1_spend + world.k2_spend
    assert world.refused == 1


def preview(peer: Peer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m watchdog preview` with a config pointing at the peer."""
    config = tmp_path / "watchdog.yaml"
    config.write_text(
        f"litellm:\n  url: {peer.url}\n  master_key: os.environ/WD_E2E_MASTER_KEY\n",
        encoding="utf-8",
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "budgets:\n"
        "  - name: e2e keys\n    scope: key\n    match: 'wd-*'\n    soft_limit: litellm\n",
        encoding="utf-8",
    )
    env = {**os.environ, "WD_E2E_MASTER_KEY": peer.master_key}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "watchdog",
            "preview",
            "-c",
            str(config),
            "--rules",
            str(rules),
            *args,
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_preview_and_its_saved_snapshot_report_the_same_spend(
    litellm_peer: Peer, world: World, tmp_path: Path
) -> None:
    """`preview --save-snapshot` shows k1 over budget and saves LiteLLM's spend exactly."""
    saved = tmp_path / "live.json"
    done = preview(litellm_peer, tmp_path, "--format", "json", "--save-snapshot", str(saved))
    assert done.returncode == 0, done.stderr
    rows = {r["entity"]: r for r in json.loads(done.stdout)}
    k1_row = next(r for e, r in rows.items() if e.startswith(f"key {world.prefix}-k1 "))
    assert "crossed the hard limit" in k1_row["outcome"]
    loaded = snapshot.load(saved).snapshot
    async with litellm_peer.admin() as admin:
        expected = await litellm_says(admin, world)
    assert {ref: entity(loaded, ref.scope, ref.id).spend for ref in expected} == expected
    assert loaded.sources["litellm"].ok
    assert litellm_peer.master_key not in saved.read_text()
