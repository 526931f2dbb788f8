"""The daemon against the real LiteLLM proxy: real spend, real channels, restarts, resets, outages.

Channels are real protocols on 127.0.0.1: the Slack stand-in, a signing-checking webhook
receiver and an aiosmtpd mailbox. Spend comes from real chat requests through the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.e2e.peer import Peer, PeerAdmin, close_to, wait_for
from tests.notify.receiver import SECRET, Receiver
from tests.notify.slack_server import TOKEN as SLACK_TEST_TOKEN
from tests.notify.slack_server import SlackStandIn
from tests.notify.smtp_server import Mailbox, serve
from watchdog.daemon import Daemon
from watchdog.service import open_daemon

pytestmark = pytest.mark.e2e


@dataclass
class Channels:
    slack: SlackStandIn
    hooks: Receiver
    mail: Mailbox
    slack_url: str
    hook_url: str
    smtp_port: int


async def _app(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@pytest.fixture
async def channels() -> AsyncIterator[Channels]:
    slack, hooks, mail = SlackStandIn(), Receiver(), Mailbox()
    slack_runner, slack_url = await _app(slack.app())
    hook_runner, hook_url = await _app(hooks.app())
    smtp, smtp_port = await serve(mail, server_tls=None)
    yield Channels(slack, hooks, mail, slack_url, f"{hook_url}/hook", smtp_port)
    slack.released.set()
    await slack_runner.cleanup()
    await hook_runner.cleanup()
    smtp.close()
    await smtp.wait_closed()


def _config(tmp: Path, peer_url: str, ch: Channels, rules: str) -> Path:
    (tmp / "rules").mkdir(exist_ok=True)
    (tmp / "rules" / "budgets.yaml").write_text(rules)
    config = tmp / "watchdog.yaml"
    config.write_text(
        f"litellm: {{url: '{peer_url}', master_key: os.environ/LITELLM_MASTER_KEY,"
        " scopes: [key, team], retries: 0, timeout: 5s}\n"
        f"rules: [{tmp / 'rules'}]\n"
        f"state_file: {tmp / 'state.db'}\n"
        "channels:\n"
        f"  slack: {{type: slack, token: os.environ/SLACK_TOKEN, channel: C0ENG,"
        f" base_url: '{ch.slack_url}/api/'}}\n"
        f"  hook: {{type: webhook, url: '{ch.hook_url}', secret: os.environ/HOOK_SECRET}}\n"
        f"  mail: {{type: email, host: 127.0.0.1, port: {ch.smtp_port}, security: none,"
        " sender: watchdog@example.test, to: [finance@example.test]}\n"
        "routing:\n  meta: [hook]\n"
    )
    return config


def _env(peer: Peer) -> dict[str, str]:
    return {
        "LITELLM_MASTER_KEY": peer.master_key,
        "SLACK_TOKEN": SLACK_TEST_TOKEN,
        "HOOK_SECRET": SECRET,
    }


@contextlib.asynccontextmanager
async def _daemon(
    config: Path, peer: Peer, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[Daemon]:
    async with open_daemon(
        str(config), env=_env(peer), clock=clock or _utcnow, configure_logs=False
    ) as daemon:
        yield daemon


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def _cycle(daemon: Daemon) -> None:
    await daemon.cycle()
    await daemon.deliver()


async def _spend(admin: PeerAdmin, key: str, requests: int) -> Decimal:
    total = Decimal(0)
    for _ in range(requests):
        status, cost = await admin.chat(key)
        assert status == 200
        total += cost
    return total


async def _landed(admin: PeerAdmin, fetch: Callable[[], Any], amount: Decimal, what: str) -> None:
    await wait_for(fetch, lambda row: close_to(row.get("spend"), amount), what=what)
    del admin


async def test_real_spend_alerts_once_per_channel_across_a_restart(
    litellm_peer: Peer, channels: Channels, tmp_path: Path
) -> None:
    """Requests cross 50% then 80% of a team budget: two alerts in each channel, none repeated
    after a restart in between; Slack threads them, email threads them, webhooks are signed."""
    prefix = f"wd-e2e-{uuid.uuid4().hex[:6]}"
    async with litellm_peer.admin() as admin:
        team_id = await admin.new_team(f"{prefix}-team")
        key, _ = await admin.new_key(f"{prefix}-key", team_id=team_id)
        first = await _spend(admin, key, 1)
        budget = first * 3  # 50% after two requests' worth, 80% after three
        rules = (
            f"budgets:\n  - name: E2E team\n    scope: team\n    match: {prefix}-team\n"
            f"    amount: '{budget}'\n    soft_limit: 80%\n    alert_at: [50%]\n"
            "    notify: [slack, hook, mail]\n"
        )
        config = _config(tmp_path, litellm_peer.url, channels, rules)
        spent = first + await _spend(admin, key, 1)  # about 67%: past 50%
        await _landed(admin, lambda: admin.team_info(team_id), spent, "team spend")
        async with _daemon(config, litellm_peer) as daemon:
            await _cycle(daemon)
            await _cycle(daemon)
        async with _daemon(config, litellm_peer) as daemon:  # a restart: a new process
            await _cycle(daemon)
            spent += await _spend(admin, key, 1)  # 100% of three requests: past 80%
            await _landed(admin, lambda: admin.team_info(team_id), spent, "team spend")
            await _cycle(daemon)
            await _cycle(daemon)
    titles = [p["text"] for p in channels.slack.posts]
    assert len(titles) == 2, titles
    assert titles[0].startswith(f"Budget alert: team {prefix}-team at 67%")
    assert titles[1].startswith(f"Budget exceeded: team {prefix}-team at 100%")
    assert channels.slack.posts[1]["thread_ts"] == channels.slack.posts[0]["ts"]
    hooks = channels.hooks.delivered
    assert len(hooks) == 2
    assert all(h.signature_ok for h in hooks)
    assert len({h.headers["webhook-id"] for h in hooks}) == 2
    attribution = _json(hooks[1].body)["attribution"]  # no callbacks: LiteLLM's daily tables
    assert attribution["source"] == "litellm daily activity"
    assert [k["name"] for k in attribution["top"]["keys"]] == [f"{prefix}-key"]
    assert close_to(attribution["top"]["keys"][0]["spend"], spent)
    mails = [m for _, m in channels.mail.mails]
    assert len(mails) == 2
    assert mails[1]["In-Reply-To"] == mails[0]["Message-ID"]


async def test_a_scheduled_reset_zeroes_litellm_spend_once_and_re_arms(
    litellm_peer: Peer, channels: Channels, tmp_path: Path
) -> None:
    """A one-minute cron: first period remembered, next one resets the key once, says so, and
    the $0.01 step fires again in the new period."""
    prefix = f"wd-e2e-{uuid.uuid4().hex[:6]}"
    async with litellm_peer.admin() as admin:
        key, token = await admin.new_key(f"{prefix}-key")
        spent = await _spend(admin, key, 1)
        await _landed(admin, lambda: admin.key_info(token), spent, "key spend")
        rules = (
            f"budgets:\n  - name: E2E reset\n    scope: key\n    match: {prefix}-key\n"
            "    amount: 1\n    period: '* * * * *'\n    reset: true\n"
            "    alert_at: ['$0.01']\n    notify: [hook]\n"
        )
        config = _config(tmp_path, litellm_peer.url, channels, rules)
        start = datetime.now(UTC).replace(second=5, microsecond=0)
        offset = timedelta(0)

        def clock() -> datetime:  # frozen between steps: the minute changes only when told
            return start + offset

        async with _daemon(config, litellm_peer, clock) as daemon:
            await _cycle(daemon)  # first minute: the step fires, the period is remembered
            offset = timedelta(minutes=1)  # the next minute's period has begun
            await _cycle(daemon)
            await _cycle(daemon)  # nothing more: the reset is done for this period
            info = await admin.key_info(token)
            assert close_to(info.get("spend"), Decimal(0)), info
            again = await _spend(admin, key, 1)
            await _landed(admin, lambda: admin.key_info(token), again, "key spend after reset")
            await _cycle(daemon)
            audit = await daemon.store.query("actions")
    events = [h.headers["webhook-id"] for h in channels.hooks.delivered]
    bodies = [_json(h.body) for h in channels.hooks.delivered]
    assert [b["event"] for b in bodies] == [
        "threshold_crossed",
        "budget_reset",
        "threshold_crossed",
    ]
    assert len(set(events)) == 3
    assert bodies[0]["period"]["key"] != bodies[2]["period"]["key"]
    assert [(a["kind"], a["ok"]) for a in audit] == [("reset", True)]


class Relay:
    """A TCP relay in front of the proxy that can be cut, like a network outage."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server: asyncio.Server | None = None
        self.port = 0
        self.open_writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.open_writers):  # pooled keep-alive connections die too
            writer.close()
        await self.server.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.target_port
        )
        self.open_writers.update((writer, upstream_writer))

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        try:
            await asyncio.gather(copy(reader, upstream_writer), copy(upstream_reader, writer))
        finally:
            self.open_writers.difference_update((writer, upstream_writer))


async def test_litellm_down_for_several_cycles_alerts_once_then_recovers(
    litellm_peer: Peer, channels: Channels, tmp_path: Path
) -> None:
    """Cut off for eight one-minute cycles: one "unavailable", no false alert or reset, then
    one "recovered"."""
    prefix = f"wd-e2e-{uuid.uuid4().hex[:6]}"
    relay = Relay(int(litellm_peer.url.rsplit(":", 1)[1]))
    await relay.open()
    async with litellm_peer.admin() as admin:
        key, token = await admin.new_key(f"{prefix}-key")
        spent = await _spend(admin, key, 1)
        await _landed(admin, lambda: admin.key_info(token), spent, "key spend")
    rules = (
        f"budgets:\n  - name: E2E outage\n    scope: key\n    match: {prefix}-key\n"
        "    amount: 10\n    period: daily\n    reset: true\n    alert_at: ['$5']\n"
        "    notify: [hook]\n"
    )
    config = _config(tmp_path, f"http://127.0.0.1:{relay.port}", channels, rules)
    offset = timedelta(0)

    def clock() -> datetime:
        return datetime.now(UTC) + offset

    async with _daemon(config, litellm_peer, clock) as daemon:
        await _cycle(daemon)
        await relay.cut()
        for minute in range(1, 9):
            offset = timedelta(minutes=minute)
            await _cycle(daemon)
        await relay.open()
        offset = timedelta(minutes=9)
        await _cycle(daemon)
        await _cycle(daemon)
    await relay.cut()
    bodies = [_json(h.body) for h in channels.hooks.delivered]
    assert [b["event"] for b in bodies] == ["source_unavailable", "source_recovered"]
    assert bodies[0]["entity"]["id"] == "litellm"


def _json(raw: bytes) -> dict[str, Any]:
    loaded = json.loads(raw)
    assert isinstance(loaded, dict)
    return loaded
