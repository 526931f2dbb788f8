"""The daemon's cycle with a real SQLite ledger: exactly-once alerts, outages, resets, reloads."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from tests.builders import key, snap, team
from watchdog import config
from watchdog import daemon as daemon_module
from watchdog.daemon import Daemon, gc_paused
from watchdog.errors import DeliveryError, SourceError
from watchdog.metrics import Metrics
from watchdog.model import Entity
from watchdog.reload import Runtime, build, stamp
from watchdog.rule_files import load_rules
from watchdog.sources.snapshot_file import save
from watchdog.store.factory import open_store
from watchdog.testing import Clock, FakeAdmin, FakeSource, RecordingNotifier

START = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)

RULES = """
budgets:
  - name: Engineering monthly
    scope: team
    match: engineering
    amount: 5000
    soft_limit: 80%
    alert_at: [50%]
    notify: [eng, finance]
"""

CONFIG = """
rules: [{rules}]
state_file: {state}
channels:
  eng: {{type: console}}
  finance: {{type: console}}
routing:
  meta: [eng]
"""


class Harness:
    """A daemon on a temp directory with fake edges and a real SQLite ledger."""

    def __init__(
        self, tmp: Path, session: aiohttp.ClientSession, clock: Clock, rules: str = RULES
    ) -> None:
        self.tmp, self.session, self.clock = tmp, session, clock
        self.rules_file = tmp / "rules" / "budgets.yaml"
        self.rules_file.parent.mkdir(exist_ok=True)
        self.rules_file.write_text(rules)
        self.config_file = tmp / "watchdog.yaml"
        self.config_file.write_text(
            CONFIG.format(rules=self.rules_file.parent, state=tmp / "state.db")
        )
        self.source = FakeSource()
        self.admin = FakeAdmin()
        self.channels = {"eng": RecordingNotifier("eng"), "finance": RecordingNotifier("finance")}

    async def start(self) -> Daemon:
        settings = config.load(str(self.config_file), env={})
        store = await open_store(settings)
        runtime = Runtime(
            settings=settings,
            rules=settings.apply(load_rules(settings.rules)),
            notifiers=self.channels,
            sources=(self.source,),
            admin=self.admin,
            loaded_at=self.clock(),
            stamp=stamp(str(self.config_file), settings.rules),
        )
        return Daemon(
            runtime=runtime,
            store=store,
            session=self.session,
            config_path=str(self.config_file),
            metrics=Metrics(),
            clock=self.clock,
            env={},
        )

    def titles(self, channel: str = "eng") -> list[str]:
        return [m.title for m, _ in self.channels[channel].sent]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def harness(tmp_path: Path, session: aiohttp.ClientSession) -> Harness:
    return Harness(tmp_path, session, Clock(START))


async def _step(
    daemon: Daemon,
    spend: int | str | None = None,
    *,
    h: Harness,
    entity: Callable[..., Entity] = team,
) -> None:
    if spend is not None:
        h.source.set([entity(spend)])
    await daemon.cycle()
    await daemon.deliver()


async def test_each_step_is_sent_once_per_channel_across_cycles_and_restarts(
    harness: Harness,
) -> None:
    """Three cycles and a restart: every channel hears each crossing exactly once."""
    daemon = await harness.start()
    await _step(daemon, 2600, h=harness)
    await _step(daemon, 2700, h=harness)
    await daemon.store.aclose()
    daemon = await harness.start()  # a new process on the same ledger
    await _step(daemon, 4100, h=harness)
    await _step(daemon, 4200, h=harness)
    await daemon.store.aclose()
    for channel in ("eng", "finance"):
        titles = harness.titles(channel)
        assert len(titles) == 2
        assert titles[0].startswith("Budget alert: team engineering at 52%")
        assert titles[1].startswith("Budget warning: team engineering at 82%")


async def test_many_crossings_at_once_are_claimed_in_batches_each_once(
    tmp_path: Path, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More notices than one claim batch: every one is claimed and sent once, and the next
    cycle claims none of them again."""
    monkeypatch.setattr(daemon_module, "CLAIM_BATCH", 3)
    rules = RULES.replace("match: engineering", 'match: "*"')
    harness = Harness(tmp_path, session, Clock(START), rules=rules)
    teams = [team(4100, name=f"team-{n}") for n in range(5)]
    daemon = await harness.start()
    harness.source.set(teams)
    report = await daemon.cycle()
    await daemon.deliver()
    assert report.claimed == 10  # 5 teams x 2 channels, in batches of 3
    again = await daemon.cycle()
    await daemon.deliver()
    await daemon.store.aclose()
    assert again.claimed == 0
    for channel in ("eng", "finance"):
        titles = harness.titles(channel)
        assert len(titles) == 5
        assert {t.split(" at ")[0] for t in titles} == {
            f"Budget warning: team team-{n}" for n in range(5)
        }


def test_gc_paused_pauses_and_restores_the_collector() -> None:
    """Inside the block no cyclic collection runs; after it the collector is as it was."""
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # left off by whoever turned it off
    finally:
        gc.enable()


async def test_a_source_down_for_several_cycles_alerts_once_then_recovers(
    harness: Harness,
) -> None:
    """LiteLLM down: one "unavailable" alert once stale, no false alerts, then "recovered"."""
    daemon = await harness.start()
    await _step(daemon, 100, h=harness)
    harness.source.fail = SourceError("connection refused", retryable=True)
    for _ in range(8):  # eight minutes of failures, stale after five
        harness.clock.advance(minutes=1)
        await _step(daemon, h=harness)
    harness.source.fail = None
    harness.clock.advance(minutes=1)
    await _step(daemon, 200, h=harness)
    await daemon.store.aclose()
    assert harness.titles("eng") == [
        "Spend source litellm unavailable: budgets it feeds are not being checked",
        "Spend source litellm recovered",
    ]
    assert harness.titles("finance") == []


async def test_a_failing_channel_does_not_hold_back_the_others(harness: Harness) -> None:
    """Finance's endpoint is down: eng is told at once, finance once it is back, exactly once."""
    daemon = await harness.start()
    harness.channels["finance"].fail_with = DeliveryError("503", retryable=True)
    await _step(daemon, 2600, h=harness)
    assert len(harness.titles("eng")) == 1
    assert harness.titles("finance") == []
    harness.channels["finance"].fail_with = None
    harness.clock.advance(hours=2)  # past any backoff
    await _step(daemon, h=harness)
    await _step(daemon, h=harness)
    await daemon.store.aclose()
    assert len(harness.titles("finance")) == 1
    assert len(harness.titles("eng")) == 1


async def test_a_permanent_failure_goes_to_the_dead_letters(harness: Harness) -> None:
    """A 400 is not retried: the notice is dead-lettered and can be replayed."""
    daemon = await harness.start()
    harness.channels["finance"].fail_with = DeliveryError("400 bad request", retryable=False)
    await _step(daemon, 2600, h=harness)
    dead = await daemon.store.query("dead")
    assert [row["channel"] for row in dead] == ["finance"]
    assert daemon.metrics.dead._value.get() == 1  # the gauge the chart's alert rule watches
    harness.channels["finance"].fail_with = None
    assert await daemon.store.replay(now=harness.clock()) == 1
    await daemon.deliver()
    assert daemon.metrics.dead._value.get() == 0
    await daemon.store.aclose()
    assert len(harness.titles("finance")) == 1


RESET_RULES = """
budgets:
  - name: CI keys daily
    scope: key
    match: ci-bot
    amount: 25
    period: daily
    reset: true
    on_hard_limit: block
    notify: [eng]
"""


def _key(spend: int | str) -> Entity:
    return key(spend, created_at=START - timedelta(days=30))


async def test_reset_once_per_period_even_across_restarts(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """The first day is only remembered; the next day resets once and says so, once."""
    h = Harness(tmp_path, session, Clock(START), rules=RESET_RULES)
    daemon = await h.start()
    await _step(daemon, 10, h=h, entity=_key)
    assert h.admin.calls == []
    h.clock.advance(days=1)
    await _step(daemon, 12, h=h, entity=_key)
    await daemon.store.aclose()
    daemon = await h.start()
    await _step(daemon, 0, h=h, entity=_key)
    audit = await daemon.store.query("actions")
    await daemon.store.aclose()
    assert h.admin.calls == [("reset", "hash-ci-bot")]
    assert [t for t in h.titles() if t.startswith("Budget reset")] == [
        (
            "Budget reset: key ci-bot (sk-...abcd) — spend reset to $0.00 (was $12.00) for the "
            "period 2026-11-19 00:00 UTC → 2026-11-20 00:00 UTC"
        )
    ]
    assert [(r["kind"], r["ok"], str(r["spend_before"])) for r in audit] == [("reset", True, "12")]


async def test_spend_read_before_a_reset_raises_no_alert_in_the_new_period(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """The cycle that resets judged the new period on spend read before the reset: no alert
    and no block from it; only the reset is said, and the next cycle sees the zeroed spend."""
    h = Harness(tmp_path, session, Clock(START.replace(hour=0, minute=1)), rules=RESET_RULES)
    daemon = await h.start()
    await _step(daemon, 10, h=h, entity=_key)
    h.clock.advance(days=1)
    await _step(daemon, 40, h=h, entity=_key)  # read before the reset: $30 more than before
    await _step(daemon, 0, h=h, entity=_key)  # what LiteLLM holds after the reset
    await daemon.store.aclose()
    assert h.admin.calls == [("reset", "hash-ci-bot")]
    assert [t.split(":")[0] for t in h.titles()] == ["Budget reset"]


async def test_block_then_unblock_at_the_next_period(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """Over the daily cap: blocked and announced; next day unblocked and announced."""
    h = Harness(tmp_path, session, Clock(START), rules=RESET_RULES)
    daemon = await h.start()
    await _step(daemon, 30, h=h, entity=_key)
    await _step(daemon, 31, h=h, entity=_key)
    h.clock.advance(days=1)
    h.source.set([replace(_key(0), blocked=True)])
    await _step(daemon, h=h)
    await daemon.store.aclose()
    assert [c for c in h.admin.calls if c[0] != "reset"] == [
        ("block", "hash-ci-bot"),
        ("unblock", "hash-ci-bot"),
    ]
    titles = h.titles()
    assert any(t.startswith("Blocked in LiteLLM: key ci-bot") for t in titles)
    assert any(t.startswith("Unblocked in LiteLLM: key ci-bot") for t in titles)


async def test_a_broken_rule_file_keeps_the_last_good_rules(
    tmp_path: Path, session: aiohttp.ClientSession, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad edit is reported (log, alert, metric) and the last good rules keep working.

    Everything here is built from the files as in production: a snapshot-file source and
    console channels, so the reloads rebuild real parts.
    """
    h = Harness(tmp_path, session, Clock(START))
    spend_file = tmp_path / "spend.json"
    save(spend_file, snap(team(2600)))
    h.config_file.write_text(h.config_file.read_text() + f"snapshot_file: {spend_file}\n")
    runtime = await build(str(h.config_file), session=session, now=START, env={})
    settings = runtime.settings
    daemon = Daemon(
        runtime=runtime,
        store=await open_store(settings),
        session=session,
        config_path=str(h.config_file),
        clock=h.clock,
        env={},
    )
    h.rules_file.write_text(RULES.replace("amount: 5000", "amount: five thousand"))
    assert not await daemon.reload_if_changed(force=True)
    assert "amount: expected an amount in USD" in daemon.rules_error
    await _step(daemon, h=h)
    assert daemon.metrics.rules_valid._value.get() == 0
    h.rules_file.write_text(RULES.replace("amount: 5000", "amount: 4000"))
    assert await daemon.reload_if_changed()
    await _step(daemon, h=h)
    await daemon.runtime.aclose()
    await daemon.store.aclose()
    out = capsys.readouterr().out
    assert out.count("Budget alert: team engineering at 52%") == 2  # eng and finance, once
    assert out.count("Rule files invalid: the last good rules stay in force") == 1
    assert out.count("Rule files valid again") == 1
    assert "budget-watchdog" not in daemon.rules_error


async def test_shutdown_finishes_in_flight_deliveries(harness: Harness) -> None:
    """run() stops on the event and still delivers what the last cycle claimed."""
    daemon = await harness.start()
    harness.source.set([team(2600)])
    stop = asyncio.Event()

    async def stop_soon() -> None:
        while daemon.last is None:  # noqa: ASYNC110 - watches the daemon from outside
            await asyncio.sleep(0.01)
        stop.set()

    async with asyncio.TaskGroup() as group:
        group.create_task(daemon.run(stop, grace=timedelta(seconds=5)), name="daemon")
        group.create_task(stop_soon(), name="stopper")
    await daemon.store.aclose()
    assert len(harness.titles("eng")) == 1
    assert len(harness.titles("finance")) == 1


async def test_metrics_describe_budgets_sources_and_deliveries(harness: Harness) -> None:
    """After a cycle the exported metrics carry spend, limit, utilisation and counts."""
    daemon = await harness.start()
    await _step(daemon, 2600, h=harness)
    await daemon.store.aclose()
    text = daemon.metrics.text().decode()
    labels = 'entity="team engineering",rule="Engineering monthly",scope="team"'
    assert f"watchdog_budget_spend_usd{{{labels}}} 2600.0" in text
    assert f"watchdog_budget_limit_usd{{{labels}}} 5000.0" in text
    assert f"watchdog_budget_utilisation_ratio{{{labels}}} 0.52" in text
    assert 'watchdog_alerts_sent_total{channel="eng",reason="fired"} 1.0' in text
    assert 'watchdog_source_up{source="litellm"} 1.0' in text
    assert "watchdog_budgets 1.0" in text
    assert daemon.last is not None
    assert daemon.last.budgets == 1  # one budget, however many channels its alert went to


async def test_a_budget_with_nothing_to_do_is_still_measured_and_shown(
    harness: Harness,
) -> None:
    """A budget under every step sends nothing, yet its gauges and its row on the status
    page say where it stands and what comes next."""
    daemon = await harness.start()
    await _step(daemon, 1000, h=harness)
    view = await daemon.view()
    await daemon.store.aclose()
    assert harness.titles("eng") == []
    text = daemon.metrics.text().decode()
    labels = 'entity="team engineering",rule="Engineering monthly",scope="team"'
    assert f"watchdog_budget_spend_usd{{{labels}}} 1000.0" in text
    assert f"watchdog_budget_utilisation_ratio{{{labels}}} 0.2" in text
    assert "watchdog_budgets 1.0" in text
    assert daemon.last is not None
    assert daemon.last.budgets == 1
    assert view.total == 1
    [row] = view.budgets
    assert (row.entity, row.used) == ("team engineering", "20%")
    assert row.outcome.startswith("ok — next: ")


async def test_metrics_count_the_spend_readings_in_memory(harness: Harness) -> None:
    """The history gauge counts the readings the cycle read: none at first, then one each."""
    daemon = await harness.start()
    await _step(daemon, 2600, h=harness)
    assert "watchdog_history_readings 0.0" in daemon.metrics.text().decode()
    await _step(daemon, 2700, h=harness)
    await daemon.store.aclose()
    assert "watchdog_history_readings 1.0" in daemon.metrics.text().decode()


async def test_the_config_builds_a_working_runtime(harness: Harness) -> None:
    """reload.build turns the files into channels, sources and rules."""
    runtime = await build(str(harness.config_file), session=harness.session, now=START, env={})
    assert sorted(runtime.notifiers) == ["eng", "finance"]
    assert [r.name for r in runtime.rules.rules] == ["Engineering monthly"]
    assert runtime.rules.routing.meta == ("eng",)
    await runtime.aclose()


QUARTERLY = """
budgets:
  - name: Engineering quarterly
    scope: team
    match: engineering
    amount: 1000
    period: quarterly
    alert_at: [50%]
    notify: [eng]
"""


async def test_a_quarter_is_counted_from_its_start_past_the_history_retention(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """With readings kept two days, a quarterly budget still counts from 1 October: the
    reading before the quarter began stays while the quarter lasts."""
    clock = Clock(datetime(2026, 9, 30, 23, 0, tzinfo=UTC))
    h = Harness(tmp_path, session, clock, rules=QUARTERLY)
    h.config_file.write_text(h.config_file.read_text() + "history:\n  retention: 2d\n")
    daemon = await h.start()
    long_ago = datetime(2026, 1, 5, tzinfo=UTC)  # LiteLLM's counter runs from before the quarter
    for at, spend in (
        (clock.now, 100),
        (datetime(2026, 10, 10, tzinfo=UTC), 300),
        (datetime(2026, 11, 18, tzinfo=UTC), 700),
    ):
        clock.now = at
        await _step(daemon, spend, h=h, entity=lambda s: team(s, created_at=long_ago))
    await daemon.store.aclose()
    # 700 - 100 = $600 of $1,000 since 1 October; from the 10 October reading it would be $400
    assert h.titles() == [
        "Budget alert: team engineering at 60% — $600.00 of $1,000.00, resets 2027-01-01 00:00 UTC"
    ]


async def test_a_budget_told_already_is_shown_logged_and_not_kept(harness: Harness) -> None:
    """A later cycle decides mostly that a notice went out already: the cycle keeps none of
    those decisions, yet the budget is measured and shown, and the decision log says why
    nothing was sent (once per channel)."""
    daemon = await harness.start()
    await _step(daemon, 2600, h=harness)
    harness.source.set([team(2700)])
    again = await daemon.cycle()
    await daemon.deliver()
    view = await daemon.view()
    logged = await daemon.store.query("decisions")
    await daemon.store.aclose()
    assert again.decisions == []
    assert again.budgets == 1
    assert sorted((r["channel"], r["reason"]) for r in logged) == [
        ("eng", "already sent"),
        ("finance", "already sent"),
    ]
    labels = 'entity="team engineering",rule="Engineering monthly",scope="team"'
    assert f"watchdog_budget_spend_usd{{{labels}}} 2700.0" in daemon.metrics.text().decode()
    [row] = view.budgets
    assert (row.entity, row.used) == ("team engineering", "54%")
