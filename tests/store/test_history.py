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
from watchdog.decisions import Reason
from watchdog.measure import growth
from watchdog.model import Entity, EntityRef, Sample, Scope, Snapshot, Snooze, SourceStatus
from watchdog.store import ActionRecord, Store, StoreOptions
from watchdog.store.history import DENSE, History, thin

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
    # read back, the cycle's readings share one instant, as they did when written
    assert len({id(samples[0].at) for samples in history.values()}) == 1


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


@pytest.mark.parametrize("reopen", [False, True], ids=["in memory", "read back"])
async def test_a_period_start_older_than_the_retention_keeps_its_baseline(
    backend: Backend, reopen: bool
) -> None:
    """A quarter that began 60 days ago still finds its baseline with a 35-day retention: the
    last reading before each given period start stays, in memory and in the database."""
    options = StoreOptions(history_retention=timedelta(days=35))
    quarter = NOW - timedelta(days=60)
    store = await backend.open(options)
    try:
        for days, spend in ((70, "1"), (61, "2"), (50, "3"), (40, "4"), (38, "5"), (1, "6")):
            at = NOW - timedelta(days=days)
            await store.record_samples(snap(team(spend), at=at), now=at)
        counts = await store.prune(now=NOW, baselines=[quarter])
        if reopen:
            await store.aclose()
            store = await backend.open(options)
        history = (await store.load_state(now=NOW, baselines=[quarter])).history[ENGINEERING]
    finally:
        await store.aclose()
    # 61 days ago: the quarter's baseline; 38 days ago: the retention's; then what is recent
    assert [s.spend for s in history] == [Decimal(2), Decimal(5), Decimal(6)]
    assert counts["samples"] == 3


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


def _day_of_readings(start: datetime, spends: list[str]) -> tuple[Sample, ...]:
    """One reading every 5 minutes from `start`."""
    return tuple(Sample(start + timedelta(minutes=5 * i), Decimal(s)) for i, s in enumerate(spends))


def test_thinning_keeps_each_hours_last_reading_and_both_sides_of_a_reset() -> None:
    """Old readings thin to the last of each UTC hour; a reset keeps its peak and the reading
    after it; growth between kept readings, and the reading before each hour, are unchanged."""
    start = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    spends = [str(i) for i in range(1, 13)]  # 10:00-10:55, rising
    spends += ["13", "14", "15", "0.5", "1", "2"] + [str(3 + i) for i in range(6)]  # reset 11:15
    readings = _day_of_readings(start, spends)
    until = start + timedelta(hours=2)
    thinned = thin(readings, None, until)
    assert [(s.at.strftime("%H:%M"), str(s.spend)) for s in thinned] == [
        ("10:55", "12"),
        ("11:10", "15"),
        ("11:15", "0.5"),
        ("11:55", "8"),
    ]
    assert growth(readings[0].spend, readings[1:]) == growth(readings[0].spend, thinned)
    assert thin(thinned, None, until) == thinned  # thinning twice changes nothing


def test_thinning_leaves_recent_readings_and_earlier_passes_alone() -> None:
    """Only readings in [since, until) are thinned."""
    start = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    readings = _day_of_readings(start, [str(i) for i in range(1, 37)])  # 10:00-12:55
    since, until = start + timedelta(hours=1), start + timedelta(hours=2)
    thinned = thin(readings, since, until)
    assert thinned[:12] == readings[:12]  # 10:xx: before `since`
    assert thinned[12] == readings[23]  # 11:xx: only 11:55
    assert thinned[13:] == readings[24:]  # 12:xx: from `until`


async def test_old_readings_are_thinned_in_memory_and_in_the_store(backend: Backend) -> None:
    """A counter read every 5 minutes keeps every reading of the last two days, and before
    that the last of each hour and both sides of a reset: in what the core reads and, after
    pruning, in the database."""
    store = await backend.open()
    old = NOW - DENSE - timedelta(hours=6)
    try:
        for i in range(48):  # four hours of readings ending two hours before DENSE
            spend = Decimal(10 + i) if i < 20 else Decimal("0.5") + (i - 20)  # reset at i=20
            at = old + timedelta(minutes=5 * i)
            await store.record_samples(snap(team(str(spend)), at=at), now=at)
        recent = NOW - timedelta(hours=1)
        await store.record_samples(snap(team("100"), at=recent), now=recent)
        history = (await store.load_state(now=NOW)).history[ENGINEERING]
        counts = await store.prune(now=NOW)
    finally:
        await store.aclose()
    kept = [11, 19, 20, 23, 35, 47]  # each hour's last; the peak before the reset, the one after
    assert [s.at for s in history] == [*(old + timedelta(minutes=5 * i) for i in kept), recent]
    assert [str(s.spend) for s in history] == ["21", "29", "0.5", "3.5", "15.5", "27.5", "100"]
    assert counts["samples_thinned"] == 48 - len(kept)
    reopened = await backend.open()
    try:
        stored = (await reopened.load_state(now=NOW)).history[ENGINEERING]
    finally:
        await reopened.aclose()
    assert stored == history


def test_the_history_the_core_reads_is_a_mapping_of_every_entity_s_readings() -> None:
    """One reading or several, per scope: the view answers as a plain mapping would, and a
    team and a user with the same id keep apart."""
    history = History(resolution=timedelta(minutes=5), retention=timedelta(days=35))
    team_ref, user_ref = EntityRef(Scope.TEAM, "shared-id"), EntityRef(Scope.USER, "shared-id")
    first, second = Sample(NOW, Decimal("1")), Sample(NOW + timedelta(minutes=5), Decimal("2"))
    history.load([(team_ref, first), (team_ref, second), (user_ref, first)])
    view = history.view(NOW + timedelta(minutes=10))
    assert dict(view) == {team_ref: (first, second), user_ref: (first,)}
    assert len(view) == 2
    assert sorted(map(len, view.values())) == [1, 2]
    assert view.get(user_ref) == (first,)
    assert view.get(EntityRef(Scope.KEY, "shared-id")) is None
    assert view.get(EntityRef(Scope.KEY, "shared-id"), ()) == ()
    with pytest.raises(KeyError):
        view[EntityRef(Scope.CUSTOMER, "shared-id")]
    # what is added after a view was taken is not in it
    history.add([(user_ref, second)])
    assert view[user_ref] == (first,)
    assert history.view(NOW + timedelta(minutes=10))[user_ref] == (first, second)


def test_a_view_is_not_changed_by_later_trimming_thinning_or_readings() -> None:
    """Views share the history's dicts until the next change copies them: a view handed
    out keeps what it read, and views with no change between them are one copy."""
    history = History(resolution=timedelta(minutes=5), retention=timedelta(days=3))
    ref = EntityRef(Scope.TEAM, "id-engineering")
    hourly = [Sample(NOW + timedelta(minutes=5 * i), Decimal(i)) for i in range(24)]
    history.load([(ref, s) for s in hourly])
    first = history.view(NOW + timedelta(hours=2))
    again = history.view(NOW + timedelta(hours=2))
    assert first[ref] == again[ref] == tuple(hourly)
    assert first._by_scope is again._by_scope  # nothing changed: nothing copied
    thinned = history.view(NOW + DENSE + timedelta(hours=3))  # the first two hours thinned
    assert len(thinned[ref]) < len(hourly)
    trimmed = history.view(NOW + timedelta(days=5))  # past the retention: one baseline left
    assert trimmed[ref] == (hourly[-1],)
    history.add([(ref, Sample(NOW + timedelta(days=5), Decimal(99)))])
    assert first[ref] == again[ref] == tuple(hourly)
    assert len(thinned[ref]) < len(hourly)
    assert trimmed[ref] == (hourly[-1],)
