"""End-to-end fixtures: a real LiteLLM proxy (shared by every e2e test), a real Prometheus
scraping it, and a small world of teams, users, customers and keys with real spend.

Set WATCHDOG_KEEP_PEER=1 to leave the proxy running after the session (reruns then take
seconds); WATCHDOG_PEER_ROOT moves its install (default /tmp/watchdog-litellm-peer).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require, require_tool
from tests.e2e.peer import (
    DEFAULT_ROOT,
    Peer,
    PeerAdmin,
    close_to,
    start_peer,
    stop_peer,
    wait_for,
)


@pytest.fixture(scope="session")
def litellm_peer() -> Iterator[Peer]:
    """The real proxy: reused when healthy, else started; stopped at the end if we started it."""
    require_tool("bash")
    require_tool("curl")
    require(
        os.geteuid() == 0 or shutil.which("node") is not None,
        "the LiteLLM peer installs PostgreSQL and Node.js with apt (needs root) when missing",
    )
    peer = start_peer(Path(os.environ.get("WATCHDOG_PEER_ROOT", DEFAULT_ROOT)))
    yield peer
    if peer.started and os.environ.get("WATCHDOG_KEEP_PEER") != "1":
        stop_peer(peer)


@dataclass(frozen=True)
class World:
    """Entities made for this session, their LiteLLM ids and the spend sent through them."""

    prefix: str
    team_a: str
    team_b: str
    user_u: str
    user_v: str
    customer: str
    tag: str
    k1: str
    k1_token: str
    k2: str
    k2_token: str
    k1_spend: Decimal
    k2_spend: Decimal
    refused: int
    """Requests LiteLLM refused once k1 crossed its budget."""


async def _build_world(admin: PeerAdmin) -> World:
    prefix = f"wd-{uuid.uuid4().hex[:6]}"
    team_a = await admin.new_team(
        f"{prefix}-team-a", max_budget=0.03, soft_budget=0.01, budget_duration="30d"
    )
    team_b = await admin.new_team(f"{prefix}-team-b", max_budget=100)
    user_u, user_v = f"{prefix}-user-u", f"{prefix}-user-v"
    await admin.post(
        "/user/new", {"user_id": user_u, "max_budget": 0.035, "auto_create_key": False}
    )
    await admin.post("/user/new", {"user_id": user_v, "auto_create_key": False})
    customer = f"{prefix}-customer"
    await admin.post("/customer/new", {"user_id": customer, "max_budget": 0.02, "alias": "Acme"})
    k1, k1_token = await admin.new_key(
        f"{prefix}-k1",
        team_id=team_a,
        user_id=user_u,
        max_budget=0.04,
        soft_budget=0.02,
        metadata={"owner": "e2e"},
    )
    k2, k2_token = await admin.new_key(f"{prefix}-k2", team_id=team_b, user_id=user_v)
    tag = f"{prefix}-tag"
    k1_spend, refused = Decimal(0), 0
    # Each budget on k1's way is below one request's cost (about $0.048): the first request
    # crosses them all (LiteLLM serves it) and the next is refused.
    for _ in range(4):
        status, cost = await admin.chat(k1, user=customer, tags=[tag])
        k1_spend += cost
        if status != 200:
            refused += 1
            break
    k2_spend = Decimal(0)
    for _ in range(2):
        k2_spend += (await admin.chat(k2, model="mock-gpt-4o"))[1]
    world = World(
        prefix, team_a, team_b, user_u, user_v, customer, tag, k1, k1_token, k2, k2_token,
        k1_spend, k2_spend, refused,
    )  # fmt: skip
    await _landed(admin, world)
    return world


async def _landed(admin: PeerAdmin, world: World) -> None:
    """Wait until LiteLLM's database shows all spend (it writes in batches every few seconds)."""
    checks = [
        (lambda: admin.key_info(world.k1_token), world.k1_spend, "k1"),
        (lambda: admin.key_info(world.k2_token), world.k2_spend, "k2"),
        (lambda: admin.team_info(world.team_a), world.k1_spend, "team a"),
        (lambda: admin.team_info(world.team_b), world.k2_spend, "team b"),
        (lambda: admin.user_info(world.user_u), world.k1_spend, "user u"),
        (lambda: admin.customer_info(world.customer), world.k1_spend, "customer"),
    ]
    for fetch, spend, what in checks:
        await wait_for(fetch, spent(spend), what=f"{what} spend {spend} in LiteLLM")


def spent(amount: Decimal) -> Callable[[Any], bool]:
    """A check that a LiteLLM row's spend has reached `amount`."""
    return lambda row: close_to(row.get("spend"), amount)


async def _world(peer: Peer) -> World:
    async with peer.admin() as admin:
        return await _build_world(admin)


@pytest.fixture(scope="session")
def world(litellm_peer: Peer) -> World:
    """Teams, users, a customer and keys, with spend past several budgets (built once)."""
    return asyncio.run(_world(litellm_peer))


@dataclass(frozen=True)
class Prometheus:
    url: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def prometheus(litellm_peer: Peer) -> Iterator[Prometheus]:
    """A real Prometheus scraping the proxy's /metrics every second with the master key."""
    binary = require_tool("prometheus", "/usr/bin/prometheus")
    work = Path(tempfile.mkdtemp(prefix="watchdog-prometheus-"))
    host = litellm_peer.url.removeprefix("http://")
    (work / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: litellm\n"
        "    metrics_path: /metrics/\n"
        f"    authorization: {{type: Bearer, credentials: {litellm_peer.master_key}}}\n"
        f"    static_configs: [{{targets: ['{host}']}}]\n",
        encoding="utf-8",
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with (work / "prometheus.log").open("w") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not _ready(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((work / "prometheus.log").read_text()[-3000:])
            time.sleep(0.5)
        yield Prometheus(url)
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
