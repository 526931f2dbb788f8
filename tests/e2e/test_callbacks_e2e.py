"""The real proxy posting its generic_api callbacks to a running daemon: a budget per request
header (which LiteLLM cannot budget) and attribution in a team alert, from real requests.

The peer (tests/e2e/litellm_peer/start.sh) points LiteLLM's generic_api logger at
http://127.0.0.1:4011/callbacks/litellm with a bearer token; the daemon here listens there.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.e2e.peer import Peer, PeerAdmin, close_to, wait_for
from tests.notify.receiver import SECRET, Receiver
from watchdog.service import open_daemon, serve_daemon

pytestmark = pytest.mark.e2e

CALLBACK_PORT = 4011
CALLBACK_TOKEN = "watchdog-e2e-callback-token"  # the peer's GENERIC_LOGGER_HEADERS
DEPARTMENT = "header:x-department"
RESPONSE_TEXT = "Hello from mock-expensive"


@pytest.fixture
async def hooks() -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver()
    runner = web.AppRunner(receiver.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield receiver, f"http://{host}:{port}/hook"
    await runner.cleanup()


def _config(tmp: Path, peer: Peer, hook_url: str, rules: str) -> Path:
    (tmp / "rules").mkdir()
    (tmp / "rules" / "budgets.yaml").write_text(rules)
    config = tmp / "watchdog.yaml"
    config.write_text(
        f"litellm: {{url: '{peer.url}', master_key: os.environ/LITELLM_MASTER_KEY,"
        " scopes: [key, team], retries: 0, timeout: 5s}\n"
        f"rules: [{tmp / 'rules'}]\n"
        f"state_file: {tmp / 'state.db'}\n"
        f"http: {{host: 127.0.0.1, port: {CALLBACK_PORT}, callback_token: os.environ/CB_TOKEN}}\n"
        f"channels:\n  hook: {{type: webhook, url: '{hook_url}', secret: os.environ/HOOK_SECRET}}\n"
        "routing:\n  meta: [hook]\n"
    )
    return config


async def _chat(admin: PeerAdmin, key: str, department: str, model: str) -> Decimal:
    status, cost = await admin.chat(key, model=model, headers={"X-Department": department})
    assert status == 200
    return cost


async def test_real_callbacks_feed_a_department_budget_and_team_attribution(
    litellm_peer: Peer, hooks: tuple[Receiver, str], tmp_path: Path
) -> None:
    receiver, hook_url = hooks
    prefix = f"wd-cb-{uuid.uuid4().hex[:6]}"
    eng, ops = f"{prefix}-eng", f"{prefix}-ops"
    async with litellm_peer.admin() as admin:
        team_id = await admin.new_team(f"{prefix}-team")
        big_key, _ = await admin.new_key(f"{prefix}-big", team_id=team_id)
        small_key, _ = await admin.new_key(f"{prefix}-small", team_id=team_id)
        rules = (
            "budgets:\n"
            f"  - {{name: E2E engineering, scope: dimension, dimension: department,"
            f" match: {eng}, amount: '0.0001', notify: [hook]}}\n"
            f"  - {{name: E2E team, scope: team, match: {prefix}-team, amount: '0.0001',"
            " notify: [hook]}\n"
        )
        config = _config(tmp_path, litellm_peer, hook_url, rules)
        env = {
            "LITELLM_MASTER_KEY": litellm_peer.master_key,
            "CB_TOKEN": CALLBACK_TOKEN,
            "HOOK_SECRET": SECRET,
        }
        async with open_daemon(str(config), env=env, configure_logs=False) as daemon:
            runner, port = await serve_daemon(daemon)
            assert port == CALLBACK_PORT
            try:
                eng_cost = await _chat(admin, big_key, eng, "mock-expensive")
                eng_cost += await _chat(admin, big_key, eng, "mock-expensive")
                ops_cost = await _chat(admin, small_key, ops, "mock-gpt-4o")

                async def stored() -> Decimal:  # this test's team: the proxy is shared
                    return await daemon.store.request_total(
                        start=daemon.clock().replace(year=2000),
                        end=daemon.clock(),
                        within=("team", team_id),
                    )

                await wait_for(
                    stored,
                    lambda total: close_to(total, eng_cost + ops_cost),
                    what="callbacks from LiteLLM (is the peer posting to :4011?)",
                    within=60,
                )
                await wait_for(
                    lambda: admin.team_info(team_id),
                    lambda row: close_to(row.get("spend"), eng_cost + ops_cost),
                    what="team spend in LiteLLM",
                )
                await daemon.cycle()
                await daemon.deliver()
            finally:
                await runner.cleanup()
    bodies: list[dict[str, Any]] = [json.loads(h.body) for h in receiver.delivered]
    by_rule = {b["rule"]: b for b in bodies if b["reason"] == "fired"}
    dept = by_rule["E2E engineering"]
    assert dept["scope"] == "dimension"
    assert dept["entity"]["id"] == eng
    assert close_to(dept["spend"], eng_cost)
    from_callbacks = dept["attribution"]  # who drove the department's spend: only callbacks know
    assert from_callbacks["source"] == "callbacks"
    assert close_to(from_callbacks["spend"], eng_cost)
    assert [k["name"] for k in from_callbacks["top"]["keys"]] == [f"{prefix}-big"]
    assert [t["name"] for t in from_callbacks["top"]["teams"]] == [f"{prefix}-team"]
    assert any("mock-expensive" in m["name"] for m in from_callbacks["top"]["models"])
    # The callbacks began this month, so the team's month is told from LiteLLM's own tables.
    team = by_rule["E2E team"]["attribution"]
    assert team["source"] == "litellm daily activity"
    assert [k["name"] for k in team["top"]["keys"]] == [f"{prefix}-big", f"{prefix}-small"]
    assert close_to(team["top"]["keys"][0]["spend"], eng_cost)
    state = (tmp_path / "state.db").read_bytes()
    assert RESPONSE_TEXT.encode() not in state  # requests are stored, never their content
