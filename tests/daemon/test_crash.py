"""Crashes: a daemon killed with SIGKILL mid-delivery re-sends at most once, never twice."""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path

from tests.builders import live_snap
from tests.daemon.procs import Daemon, Receiver, free_port, until
from watchdog.sources.snapshot_file import save

RULES = """
budgets:
  - name: Team monthly
    scope: team
    match: "*"
    amount: 1000
    alert_at: [50%]
    notify: [hook]
"""


def _setup(tmp: Path, receiver: Receiver) -> Daemon:
    (tmp / "rules").mkdir()
    (tmp / "rules" / "teams.yaml").write_text(RULES)
    save(tmp / "spend.json", live_snap(("search", 600), ("ads", 700)))
    port = free_port()
    config = tmp / "watchdog.yaml"
    config.write_text(
        f"snapshot_file: {tmp / 'spend.json'}\n"
        "litellm: null\n"
        f"rules: [{tmp / 'rules'}]\n"
        f"state_file: {tmp / 'state.db'}\n"
        "poll_interval: 1s\n"
        f"http: {{host: 127.0.0.1, port: {port}}}\n"
        "delivery: {send_timeout: 60s}\n"
        "channels:\n"
        f"  hook: {{type: webhook, url: '{receiver.url}', timeout: 60s}}\n"
    )
    return Daemon(config=config, port=port, log=tmp / "daemon.log")


async def test_a_kill_during_delivery_resends_once_and_only_once(tmp_path: Path) -> None:
    """Killed while its first webhook is in flight: after a restart each alert arrives once."""
    receiver = await Receiver(hang=True).start()
    daemon = _setup(tmp_path, receiver)
    try:
        daemon.start()
        await until(
            lambda: len(receiver.seen) >= 1, seconds=60, what="a delivery in flight", log=daemon.log
        )
        daemon.kill()  # the request is open, the notice is claimed, nothing is recorded
        assert receiver.acked == []
        receiver.hang = False
        daemon.start()
        await until(
            lambda: len(receiver.acked) >= 2,
            seconds=60,
            what="both alerts delivered",
            log=daemon.log,
        )
        # The receiver's 200 and the store's record of it are two steps: a kill between them
        # sends that alert again (under the same webhook-id, for receivers to drop). This
        # crash comes once both deliveries are recorded, and must send nothing again.
        await until(
            lambda: _delivered(tmp_path / "state.db") >= 2,
            seconds=30,
            what="both deliveries recorded",
            log=daemon.log,
        )
        daemon.kill()
        daemon.start()
        await _cycles(daemon, 3)
        assert daemon.stop() == 0
    finally:
        daemon.reap()
        await receiver.stop()
    delivered = Counter(receiver.ids())
    assert len(delivered) == 2, "one identity per team crossing"
    assert set(delivered.values()) == {1}, f"an alert was delivered twice: {delivered}"
    bodies = sorted(a["body"]["entity"]["name"] for a in receiver.acked)
    assert bodies == ["ads", "search"]


def _delivered(db: Path) -> int:
    """Notices the daemon's store records as delivered (read-only, beside the running daemon)."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        row = conn.execute("SELECT count(*) FROM notices WHERE state = 'delivered'").fetchone()
    return int(row[0])


async def _cycles(daemon: Daemon, count: int) -> None:
    """Let the daemon run `count` more poll intervals."""
    import asyncio

    for _ in range(count):
        await asyncio.sleep(1.2)
    assert daemon.process is not None
    assert daemon.process.poll() is None, daemon.log.read_text()[-2000:]
