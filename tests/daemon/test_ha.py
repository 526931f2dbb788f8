"""Several replicas on one PostgreSQL: one leads, a standby takes over, nothing is sent twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from tests.builders import live_snap
from tests.daemon.procs import Daemon, Receiver, free_port, until
from watchdog.sources.snapshot_file import save

pytestmark = pytest.mark.postgres

POLL = 2  # seconds
TEAMS = ("ads", "search", "mail", "maps", "docs")
RULES = """
budgets:
  - name: Team monthly
    scope: team
    match: "*"
    amount: 1000
    soft_limit: 80%
    alert_at: [50%]
    notify: [hook]
"""


def _spend(path: Path, amount: int) -> None:
    save(path, live_snap(*((name, amount) for name in TEAMS)))


def _replica(
    tmp: Path, name: str, receiver: Receiver, database: str, *, leader_lock: bool = True
) -> Daemon:
    port = free_port()
    config = tmp / f"{name}.yaml"
    config.write_text(
        f"snapshot_file: {tmp / 'spend.json'}\n"
        "litellm: null\n"
        f"rules: [{tmp / 'rules'}]\n"
        f"database_url: {database}\n"
        f"poll_interval: {POLL}s\n"
        f"leader_lock: {str(leader_lock).lower()}\n"
        f"http: {{host: 127.0.0.1, port: {port}}}\n"
        "delivery: {lease: 5s}\n"
        "channels:\n"
        f"  hook: {{type: webhook, url: '{receiver.url}'}}\n"
    )
    return Daemon(config=config, port=port, log=tmp / f"{name}.log")


def _rules(tmp: Path) -> None:
    (tmp / "rules").mkdir()
    (tmp / "rules" / "teams.yaml").write_text(RULES)


async def _role_is(daemon: Daemon, role: str, *, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (current := await daemon.role()) != role:
        if loop.time() > deadline:
            raise AssertionError(
                f"{daemon.config.stem} is {current!r}, not {role!r}\n"
                + daemon.log.read_text()[-3000:]
            )
        await asyncio.sleep(0.2)


async def test_a_standby_takes_over_within_two_poll_intervals(
    tmp_path: Path, shared_database: str
) -> None:
    """The leader is killed; the standby leads within two polls and sends only what is new."""
    _rules(tmp_path)
    _spend(tmp_path / "spend.json", 600)
    receiver = await Receiver().start()
    first = _replica(tmp_path, "first", receiver, shared_database).start()
    second: Daemon | None = None
    try:
        await _role_is(first, "leader", seconds=60)
        second = _replica(tmp_path, "second", receiver, shared_database).start()
        await _role_is(second, "standby", seconds=60)
        await until(
            lambda: len(receiver.acked) >= len(TEAMS),
            seconds=60,
            what="the 50% alerts",
            log=first.log,
        )
        first.kill()
        await _role_is(second, "leader", seconds=2 * POLL + 3)
        _spend(tmp_path / "spend.json", 850)  # every team passes its soft limit
        await until(
            lambda: len(receiver.acked) >= 2 * len(TEAMS),
            seconds=60,
            what="the soft-limit alerts from the new leader",
            log=second.log,
        )
        await asyncio.sleep(2 * POLL)  # a few more cycles: nothing else may arrive
        assert second.stop() == 0
    finally:
        first.reap()
        if second is not None:
            second.reap()
        await receiver.stop()
    counts = Counter(receiver.ids())
    assert len(counts) == 2 * len(TEAMS)
    assert set(counts.values()) == {1}, f"sent twice: {counts}"


async def test_two_active_replicas_still_send_each_alert_once(
    tmp_path: Path, shared_database: str
) -> None:
    """Without the leader lock (a split), both evaluate and claim; the ledger lets one send."""
    _rules(tmp_path)
    _spend(tmp_path / "spend.json", 600)
    receiver = await Receiver().start()
    replicas = [
        _replica(tmp_path, name, receiver, shared_database, leader_lock=False).start()
        for name in ("left", "right")
    ]
    try:
        await until(
            lambda: len(receiver.acked) >= len(TEAMS),
            seconds=60,
            what="the alerts",
            log=replicas[0].log,
        )
        _spend(tmp_path / "spend.json", 850)
        await until(
            lambda: len(receiver.acked) >= 2 * len(TEAMS),
            seconds=60,
            what="the soft-limit alerts",
            log=replicas[1].log,
        )
        await asyncio.sleep(2 * POLL)
        assert [r.stop() for r in replicas] == [0, 0]
    finally:
        for r in replicas:
            r.reap()
        await receiver.stop()
    counts = Counter(receiver.ids())
    assert len(counts) == 2 * len(TEAMS)
    assert set(counts.values()) == {1}, f"sent twice: {counts}"
