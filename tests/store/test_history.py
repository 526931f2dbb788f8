"""Spend history and retention: what is sampled, what the core reads, what pruning removes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

import pytest

from tests.builders import NOW, snap, team
from tests.store.backends import Backend
from tests.store.cases import crossings, held_back, notice, period_ending
from watchdog.evaluate import Reason
from watchdog.model import Entity, EntityRef, Sample, Scope, Snapshot, Snooze, SourceStatus
from watchdog.store import ActionRecord, Store, StoreOptions

ENGINEERING = EntityRef(Scope.TEAM, "id-engineering")


def reading(minutes: int, spend: str) -> Snapshot:
    """The engineering team's counter as read `minutes` after NOW."""
    return snap(team(spend), at=NOW + timedelta(minutes=minutes))


@pytest.mark.parametrize(
    ("readings", "stored"),
    [
        pytest.param([(0, "10")], [(0, "10")], id="the first reading"),
        pytest.param([(0, "10"), (5, "10"), (30, "10")], [(0, "10")], id="unchanged spend"),
        pytest.param(
            [(0, "10"), (1, "11"), (4, "12"), (5, "12.5")],
            [(0, "10"), (5, "12.5")],
            id="at most one per resolution",
        ),
        pytest.param(
            [(0, "10"), (5, "11"), (10, "0.25")],
            [(0, "10"), (5, "11"), (10, "0.25")],
            id="a reset counter is a change",
        ),
    ],
)
async def test_samples_are_stored_when_spend_changed_after_the_resolution(
    store: Store, readings: list[tuple[int, str]], stored: list[tuple[int, str]]
) -> None:
    """A reading is kept if it is the first, or spend moved and 5 minutes passed."""
    for minutes, spend in readings:
        await store.record_samples(reading(minutes, spend), now=NOW + timedelta(minutes=minutes))
    state = await store.load_state(now=NOW + timedelta(hours=1))
    assert state.history[ENGINEERING] == tuple(
        Sample(NOW + timedelta(minutes=m), Decimal(s)) for m, s in stored
    )


async def test_a_reopened_store_samples_from_where_it_left_off(backend: Backend) -> None:
    """After a restart the last stored sample still decides, without a duplicate."""
    store = await backend.open()
    await store.record_samples(reading(0, "10"), now=NOW)
    await store.aclose()
    store = await backend.open()
    try:
        await store.record_samples(reading(2, "11"), now=NOW + timedelta(minutes=2))
        await store.record_samples(reading(6, "11"), now=NOW + timedelta(minutes=6))
        state = await store.load_state(now=NOW + timedelta(minutes=7))
    finally:
        await store.aclose()
    assert [s.at for s in state.history[ENGINEERING]] == [NOW, NOW + timedelta(minutes=6)]


async def test_a_reading_is_dated_when_its_source_read_it(store: Store) -> None:
    """The sample time is the source's data_as_of, not when the cycle ran."""
    as_of = NOW - timedelta(minutes=3)
    await store.record_samples(snap(team("42.5"), as_of=as_of), now=NOW)
    state = await store.load_state(now=NOW)
    assert state.history[ENGINEERING] == (Sample(as_of, Decimal("42.5")),)


async def test_a_hundred_thousand_entities_are_sampled_in_one_cycle(backend: Backend) -> None:
    """A large proxy's cycle stores every changed counter, exactly."""
    count = 100_000
    keys = {
        f"hash-{i}": Entity(Scope.KEY, f"hash-{i}", Decimal(i) / 100 + Decimal("0.000001"))
        for i in range(count)
    }
    status = SourceStatus("litellm", ok=True, data_as_of=NOW)
    snapshot = Snapshot(
        taken_at=NOW,
        entities=MappingProxyType({Scope.KEY: MappingProxyType(keys)}),
        sources=MappingProxyType({"litellm": status}),
    )
    store = await backend.open()
    await store.record_samples(snapshot, now=NOW)
    await store.aclose()
    reopened = await backend.open()
    try:
        history = (await reopened.load_state(now=NOW)).history
    finally:
        await reopened.aclose()
    assert len(history) == count
    assert history[EntityRef(Scope.KEY, "hash-99999")] == (Sample(NOW, Decimal("999.990001")),)


async def test_pruning_keeps_each_entity_s_baseline_sample(backend: Backend) -> None:
    """Samples older than the history retention go, except the newest one before it."""
    options = StoreOptions(history_retention=timedelta(days=35))
    store = await backend.open(options)
    try:
        for days, spend in ((40, "1"), (38, "2"), (1, "3")):
            at = NOW - timedelta(days=days)
            await store.record_samples(snap(team(spend), at=at), now=at)
        counts = await store.prune(now=NOW)
    finally:
        await store.aclose()
    reopened = await backend.open(options)
    try:
        history = (await reopened.load_state(now=NOW)).history[ENGINEERING]
    finally:
        await reopened.aclose()
    assert counts["samples"] == 1
    assert [s.spend for s in history] == [Decimal(2), Decimal(3)]


async def test_pruning_removes_what_is_past_retention(store: Store) -> None:
    """Ended periods' notices and threads, and old decisions, actions and snoozes, go."""
    retention = StoreOptions().retention
    old, recent = NOW - retention - timedelta(days=2), NOW - timedelta(days=2)
    expired = notice("id-old", period=period_ending(NOW - retention - timedelta(days=1)))
    kept = notice("id-kept", period=period_ending(NOW - timedelta(days=10)))
    await store.claim(
        [expired, kept, notice("id-lifetime", period=replace(kept.alert.period, end=None))], now=old
    )
    for item in await store.due(now=old):
        await store.delivered(item, at=old, ref="r", thread=f"C1:{item.id}")
    for at in (old, recent):
        await store.record_bookkeeping([held_back(Reason.STALE, f"id-{at:%j}")], now=at)
        await store.record_actions(
            [ActionRecord("reset", "r", ENGINEERING, "p", at, ok=True, spend_before=Decimal(1))]
        )
        await store.add_snooze(Snooze(at, "done", rule="r"))
    counts = await store.prune(now=NOW)
    assert {k: counts[k] for k in ("notices", "threads", "decisions", "actions", "snoozes")} == {
        "notices": 1,
        "threads": 1,
        "decisions": 1,
        "actions": 1,
        "snoozes": 1,
    }
    assert sorted(r["entity"] for r in await store.query("notices")) == ["id-kept", "id-lifetime"]
    assert [r["at"] for r in await store.query("actions")] == [recent]
    assert (await store.load_state(now=NOW)).resets  # the reset memory outlives the audit row


async def test_pruning_twice_removes_nothing_more(store: Store) -> None:
    """Pruning is idempotent."""
    await store.claim(crossings(2), now=NOW)
    later = datetime(2028, 1, 1, tzinfo=UTC)
    first = await store.prune(now=later)
    second = await store.prune(now=later)
    assert first["notices"] == 2
    assert set(second.values()) == {0}
