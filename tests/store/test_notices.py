"""The ledger and outbox: claims, due notices, deliveries, retries, dead letters, threads."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from tests.builders import NOW
from tests.store.backends import Backend
from tests.store.cases import crossings, held_back, notice
from watchdog.decisions import Decision, Reason
from watchdog.model import NoticeEvent
from watchdog.render import render
from watchdog.store import Outgoing, Store, StoreOptions

LEASE = StoreOptions().lease


async def test_a_second_claim_of_the_same_decisions_wins_nothing(store: Store) -> None:
    """Claiming decisions twice returns them once: the identity is the dedup key."""
    decisions = crossings(3)
    first = await store.claim(decisions, now=NOW)
    again = await store.claim(decisions, now=NOW + timedelta(minutes=1))
    assert [o.message.id for o in first] == [render(d).id for d in decisions]
    assert again == []


async def test_the_claim_stores_the_rendered_message_unchanged(store: Store) -> None:
    """What is due later is the identical message (same id, payload, fields) as rendered."""
    decision = crossings(1)[0]
    await store.claim([decision], now=NOW)
    [item] = await store.due(now=NOW)
    assert item.message == render(decision)
    assert item.thread_key == render(decision).thread


async def test_repeats_within_one_batch_are_claimed_once(store: Store) -> None:
    """The same identity twice in one call is one claim."""
    decision = notice()
    won = await store.claim([decision, decision], now=NOW)
    assert len(won) == 1


@pytest.mark.parametrize(
    ("first", "second", "both_win"),
    [
        pytest.param(notice(), notice(channel="finance"), True, id="other channel"),
        pytest.param(notice(), notice(step="soft@4000"), True, id="other step"),
        pytest.param(notice(), notice(event=NoticeEvent.RESOLVED), True, id="other event"),
        pytest.param(notice(), notice("id-research"), True, id="other entity"),
        pytest.param(notice(), notice(reason=Reason.ESCALATED), False, id="same identity"),
    ],
)
async def test_identity_decides_what_is_new(
    store: Store, first: Decision, second: Decision, both_win: bool
) -> None:
    """Rule, scope, entity, period, step, channel and event make a notice's identity."""
    assert len(await store.claim([first], now=NOW)) == 1
    won = await store.claim([second], now=NOW)
    assert bool(won) is both_win


async def test_decisions_that_send_nothing_are_not_claimed(store: Store) -> None:
    """Only notify decisions enter the ledger."""
    assert await store.claim([held_back(Reason.DEDUPED), held_back(Reason.STALE)], now=NOW) == []
    assert await store.due(now=NOW) == []


async def test_claimed_notices_are_due_at_once(store: Store) -> None:
    """A claim is due immediately, oldest first, with no attempts yet."""
    won = await store.claim(crossings(3), now=NOW)
    due = await store.due(now=NOW)
    assert [o.id for o in due] == [o.id for o in won]
    assert {o.attempts for o in due} == {0}


async def test_delivered_notices_are_never_due_again(store: Store) -> None:
    """Once delivered, a notice stays out of the outbox whatever the time."""
    await store.claim(crossings(2), now=NOW)
    first, second = await store.due(now=NOW)
    await store.delivered(first, at=NOW, ref="C1:100.1", thread="C1:100.1")
    later = await store.due(now=NOW + LEASE + timedelta(days=1))
    assert [o.id for o in later] == [second.id]


async def test_a_restart_keeps_the_ledger_and_resends_only_what_was_in_flight(
    backend: Backend,
) -> None:
    """After close and reopen: nothing is claimed twice, undelivered claims are due again."""
    decisions = crossings(3)
    store = await backend.open()
    await store.claim(decisions, now=NOW)
    sent, in_flight, _ = await store.due(now=NOW)
    await store.delivered(sent, at=NOW, ref="r1", thread=None)
    await store.aclose()  # the process dies here with two notices leased and unsent

    reopened = await backend.open()
    try:
        assert await reopened.claim(decisions, now=NOW) == []
        assert await reopened.due(now=NOW + timedelta(seconds=1)) == []  # still leased
        leftovers = await reopened.due(now=NOW + LEASE)
        assert in_flight.id in {o.id for o in leftovers}
        assert sent.id not in {o.id for o in leftovers}
        assert len(leftovers) == 2
        state = await reopened.load_state(now=NOW)
        flags = sorted(n.delivered for thread in state.notices.values() for n in thread)
        assert flags == [False, False, True]
    finally:
        await reopened.aclose()


async def test_a_claim_made_before_a_crash_is_due_without_waiting(backend: Backend) -> None:
    """Claimed but never taken for delivery: due at once after a restart."""
    store = await backend.open()
    await store.claim(crossings(1), now=NOW)
    await store.aclose()
    reopened = await backend.open()
    try:
        assert len(await reopened.due(now=NOW)) == 1
    finally:
        await reopened.aclose()


async def test_two_replicas_never_take_the_same_due_notice(backend: Backend) -> None:
    """Concurrent `due` calls from two replicas split the outbox; each keeps its own share."""
    first, second = await backend.open(), await backend.open()
    try:
        await first.claim(crossings(200), now=NOW)
        a, b = await asyncio.gather(first.due(now=NOW, limit=150), second.due(now=NOW, limit=150))
        ids_a, ids_b = {o.id for o in a}, {o.id for o in b}
        assert ids_a.isdisjoint(ids_b)
        assert len(ids_a | ids_b) == 200
        later = NOW + timedelta(seconds=1)
        assert {o.id for o in await first.due(now=later)} == ids_a
        assert {o.id for o in await second.due(now=later)} == ids_b
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_replica_takes_over_notices_whose_lease_ran_out(backend: Backend) -> None:
    """A notice leased by a replica that went silent is due to another after the lease."""
    first, second = await backend.open(), await backend.open()
    try:
        await first.claim(crossings(1), now=NOW)
        [taken] = await first.due(now=NOW)
        assert await second.due(now=NOW + LEASE - timedelta(seconds=1)) == []
        [again] = await second.due(now=NOW + LEASE)
        assert again.id == taken.id
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_failure_reported_after_a_takeover_is_ignored(backend: Backend) -> None:
    """The late report of a replica whose lease was taken over changes nothing."""
    first, second = await backend.open(), await backend.open()
    try:
        await first.claim(crossings(1), now=NOW)
        [slow] = await first.due(now=NOW)
        later = NOW + LEASE + timedelta(seconds=5)
        [taken] = await second.due(now=later)
        await first.failed(slow, at=later, error="timed out", retry_at=later + timedelta(hours=1))
        await second.delivered(taken, at=later, ref="r", thread=None)
        await first.failed(slow, at=later, error="timed out", retry_at=None)
        [row] = await second.query("notices")
        assert (row["state"], row["attempts"], row["last_error"]) == ("delivered", 0, None)
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_failed_attempt_waits_for_its_retry_time(store: Store) -> None:
    """A retryable failure is due again at retry_at, with the attempt counted."""
    await store.claim(crossings(1), now=NOW)
    [item] = await store.due(now=NOW)
    retry_at = NOW + timedelta(minutes=10)
    await store.failed(item, at=NOW, error="HTTP 503", retry_at=retry_at)
    assert await store.due(now=retry_at - timedelta(seconds=1)) == []
    [again] = await store.due(now=retry_at)
    assert (again.id, again.attempts, again.next_attempt_at) == (item.id, 1, retry_at)
    [row] = await store.query("notices")
    assert (row["state"], row["last_error"]) == ("failed", "HTTP 503")


async def test_a_notice_without_retry_goes_to_the_dead_letters(store: Store) -> None:
    """retry_at None: never due again, listed as dead with its error until replayed."""
    await store.claim(crossings(2), now=NOW)
    dead, alive = await store.due(now=NOW)
    await store.failed(dead, at=NOW, error="HTTP 404: no such hook", retry_at=None)
    await store.delivered(alive, at=NOW, ref=None, thread=None)
    assert await store.due(now=NOW + timedelta(days=30)) == []
    [row] = await store.query("dead")
    assert (row["id"], row["last_error"], row["attempts"]) == (dead.id, "HTTP 404: no such hook", 1)
    assert row["title"] == dead.message.title


async def test_replay_puts_dead_letters_back_in_the_outbox(store: Store) -> None:
    """A replayed dead letter is due at once with a fresh attempt count."""
    await store.claim(crossings(3), now=NOW)
    items = await store.due(now=NOW)
    for item in items:
        await store.failed(item, at=NOW, error="gone", retry_at=None)
    later = NOW + timedelta(hours=2)
    assert await store.replay(now=later, ids=[items[0].id]) == 1
    assert [o.id for o in await store.due(now=later)] == [items[0].id]
    assert await store.replay(now=later) == 2
    assert await store.replay(now=later) == 0
    assert {o.attempts for o in await store.due(now=later + LEASE)} == {0}


async def test_the_first_delivered_thread_ref_is_kept_per_channel(store: Store) -> None:
    """Replies go under the first message of the thread, separately per channel."""
    fired = notice()
    resolved = notice(event=NoticeEvent.RESOLVED, reason=Reason.RESOLVED)
    other = notice(channel="finance")
    await store.claim([fired, resolved, other], now=NOW)
    by_channel: dict[str, list[Outgoing]] = {}
    for item in await store.due(now=NOW):
        by_channel.setdefault(item.channel, []).append(item)
    key = render(fired).thread
    assert await store.thread_ref(key, "eng-slack") is None
    root, reply = by_channel["eng-slack"]
    await store.delivered(root, at=NOW, ref="C1:1.0", thread="C1:1.0")
    await store.delivered(reply, at=NOW, ref="C1:2.0", thread="C1:2.0")
    await store.delivered(by_channel["finance"][0], at=NOW, ref="C9:5.0", thread="C9:5.0")
    assert await store.thread_ref(key, "eng-slack") == "C1:1.0"
    assert await store.thread_ref(key, "finance") == "C9:5.0"
    assert await store.thread_ref("wdt_other", "eng-slack") is None


async def test_a_restarted_single_instance_resends_its_in_flight_notices_at_once(
    tmp_path: Path,
) -> None:
    """SQLite's default lease holder is the file: a restart takes its leftovers without waiting."""
    from watchdog.store.sqlite import SqliteStore

    decisions = crossings(2)
    store = await SqliteStore.open(tmp_path / "state.db", options=StoreOptions())
    await store.claim(decisions, now=NOW)
    sent, in_flight = await store.due(now=NOW)
    await store.delivered(sent, at=NOW, ref="r1", thread=None)
    await store.aclose()  # killed here with one notice leased and unsent
    reopened = await SqliteStore.open(tmp_path / "state.db", options=StoreOptions())
    try:
        leftovers = await reopened.due(now=NOW + timedelta(seconds=1))
        assert [o.id for o in leftovers] == [in_flight.id]
    finally:
        await reopened.aclose()
