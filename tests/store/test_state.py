"""What the core reads back: threads, streaks, resets, blocks, snoozes, the decision log."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.builders import NOW, key, rule, rules, run, snap, team
from tests.store.backends import Backend
from tests.store.cases import (
    LIFETIME,
    RULE,
    alert,
    crossings,
    held_back,
    notice,
    period_ending,
)
from watchdog.decisions import Action, Decision, Reason
from watchdog.health import SOURCE_RULE
from watchdog.model import ActionMemory, EntityRef, Notice, NoticeEvent, Scope, Snooze
from watchdog.store import ActionRecord, Store
from watchdog.store.rows import (
    DecisionKey,
    Suppression,
    gather_suppressions,
    suppressed,
    suppressions,
)

ENGINEERING = EntityRef(Scope.TEAM, "id-engineering")
BUDGET = (RULE, Scope.TEAM, "id-engineering")


async def test_notices_load_per_thread_in_claim_order(store: Store) -> None:
    """Each (rule, scope, entity, period, channel) thread lists its notices as claimed."""
    fired = notice(step="soft@4000")
    escalated = notice(step="hard@5000", reason=Reason.ESCALATED)
    elsewhere = notice(step="soft@4000", channel="finance")
    await store.claim([fired], now=NOW)
    await store.claim([escalated, elsewhere], now=NOW + timedelta(minutes=5))
    [delivered] = [o for o in await store.due(now=NOW) if o.channel == "eng-slack"][:1]
    await store.delivered(delivered, at=NOW, ref=None, thread=None)

    state = await store.load_state(now=NOW + timedelta(hours=1))
    assert state.notices[fired.thread] == (
        Notice("soft@4000", NoticeEvent.FIRED, "soft@4000", NOW, delivered=True),
        Notice("hard@5000", NoticeEvent.FIRED, "hard@5000", NOW + timedelta(minutes=5), False),
    )
    assert [n.threshold for n in state.notices[elsewhere.thread]] == ["soft@4000"]


async def test_threads_told_the_same_share_one_list_of_notices(store: Store) -> None:
    """Thousands of budgets told the same step at the same claim load as one shared tuple of
    notices (the ledger is read every cycle), and each thread still reads as its own."""
    told = crossings(3)
    await store.claim(told, now=NOW)
    state = await store.load_state(now=NOW + timedelta(minutes=1))
    threads = [state.notices[d.thread] for d in told]
    assert len({d.thread for d in told}) == 3
    assert threads[0] == threads[1] == threads[2]
    assert threads[0][0].event is NoticeEvent.FIRED
    assert len({id(t) for t in threads}) == 1


async def test_threads_name_an_entity_the_snapshot_holds_by_its_own_id(store: Store) -> None:
    """The ledger is loaded every cycle next to the snapshot: a thread about an entity the
    snapshot holds keys it by the entity's id string, not a copy read from the store."""
    decision = notice()
    await store.claim([decision], now=NOW)
    snapshot = snap(team(4100, 5000))
    [entity] = snapshot.entities[Scope.TEAM].values()
    assert entity.id == decision.alert.entity_id
    later = NOW + timedelta(minutes=1)
    [alone] = (await store.load_state(now=later)).notices
    [shared] = (await store.load_state(now=later, known=snapshot)).notices
    assert alone == shared == decision.thread
    assert alone[2] is not entity.id
    assert shared[2] is entity.id
    elsewhere = snap(team(4100, 5000, name="search"))
    [other] = (await store.load_state(now=later, known=elsewhere)).notices
    assert other == decision.thread  # an entity the snapshot lacks keeps the stored id


@pytest.mark.parametrize(
    ("period_end", "loaded"),
    [
        pytest.param(NOW + timedelta(days=3), True, id="current period"),
        pytest.param(NOW - timedelta(hours=23), True, id="ended within the margin"),
        pytest.param(NOW - timedelta(days=1, minutes=1), False, id="ended before the margin"),
        pytest.param(None, True, id="lifetime budget"),
    ],
)
async def test_threads_of_ended_periods_stop_loading_after_a_day(
    store: Store, period_end: datetime | None, loaded: bool
) -> None:
    """A period's notices load until a day after it ended; lifetime notices always load."""
    period = LIFETIME if period_end is None else period_ending(period_end)
    decision = notice(period=period)
    await store.claim([decision], now=NOW - timedelta(days=5))
    state = await store.load_state(now=NOW)
    assert (decision.thread in state.notices) is loaded


async def test_the_core_sees_what_was_claimed_and_does_not_fire_twice(store: Store) -> None:
    """evaluate() on the loaded state dedups the crossing it already claimed."""
    ruleset = rules(rule(alert_at=["80%"]))
    snapshot = snap(team(4500, 5000))
    first = [d for d in run(ruleset, snapshot) if d.action is Action.NOTIFY]
    assert len(await store.claim(first, now=NOW)) == 1
    state = await store.load_state(now=NOW + timedelta(minutes=1))
    again = run(ruleset, snapshot, state, NOW + timedelta(minutes=1))
    assert [d.reason for d in again] == [Reason.DEDUPED]


async def test_source_outage_notices_load_and_are_not_repeated(store: Store) -> None:
    """Source-health notices (no period end) come back, so an outage is reported once."""
    ruleset = rules(rule())
    down = snap(team(100), ok=False, as_of=NOW - timedelta(hours=2), error="HTTP 500")
    first = run(ruleset, down)
    claimed = await store.claim(first, now=NOW)
    assert [o.message.payload["event"] for o in claimed] == ["source_unavailable"]
    state = await store.load_state(now=NOW + timedelta(days=400))
    [thread] = [d.thread for d in first if d.action is Action.NOTIFY]
    assert thread[:3] == (SOURCE_RULE, Scope.GLOBAL, "litellm")
    assert [n.threshold for n in state.notices[thread]] == ["incident#1"]
    later = run(ruleset, replace(down, taken_at=NOW + timedelta(minutes=5)), state, NOW)
    assert await store.claim(later, now=NOW) == []


async def test_forecast_streaks_are_kept_until_they_end(store: Store) -> None:
    """A streak over zero is remembered for its budget and period; back to zero forgets it."""
    forecast = alert(step="forecast@5000")
    pending = Decision(Reason.FORECAST_PENDING, Action.RECORD, forecast, streak=2)
    await store.record_bookkeeping([pending], now=NOW)
    state = await store.load_state(now=NOW)
    assert (state.forecasts[BUDGET].period, state.forecasts[BUDGET].streak) == (
        forecast.period.key,
        2,
    )
    steady = Decision(Reason.FORECAST_STEADY, Action.RECORD, forecast, streak=0)
    await store.record_bookkeeping([steady], now=NOW)
    assert BUDGET not in (await store.load_state(now=NOW)).forecasts


async def test_a_baseline_makes_the_next_period_reset(store: Store) -> None:
    """The first period seen is remembered, so the next period's reset fires."""
    ruleset = rules(rule(name="CI bot", scope="key", match="ci-bot", amount=25, reset=True))
    first = run(ruleset, snap(key(10)))
    assert [d.reason for d in first if d.action is Action.RECORD] == [Reason.BASELINE]
    await store.record_bookkeeping(first, now=NOW)
    december = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    state = await store.load_state(now=december)
    ci_bot = ("CI bot", Scope.KEY, "hash-ci-bot")
    assert state.resets[ci_bot] == ActionMemory("2026-11-01T00:00:00Z", NOW)
    later = run(ruleset, snap(key(10), at=december), state, december)
    assert [d.action for d in later] == [Action.RESET]


@pytest.mark.parametrize(
    ("cycles", "logged"),
    [
        pytest.param([[Reason.DEDUPED]] * 3, [Reason.DEDUPED], id="the same reason is logged once"),
        pytest.param(
            [[Reason.QUIET_HOURS], [Reason.QUIET_HOURS], [Reason.SNOOZED], [Reason.DEDUPED]],
            [Reason.QUIET_HOURS, Reason.SNOOZED, Reason.DEDUPED],
            id="each change of reason is logged",
        ),
        pytest.param(
            [[Reason.STALE], [], [Reason.STALE]],
            [Reason.STALE, Reason.STALE],
            id="a suppression that ended and came back is logged again",
        ),
        pytest.param(
            [[Reason.UNDER], [Reason.FIRED]], [], id="decisions that are not suppressions"
        ),
    ],
)
@pytest.mark.parametrize("gathered", [False, True], ids=["from decisions", "gathered"])
async def test_the_decision_log_records_transitions_only(
    backend: Backend, cycles: list[list[Reason]], logged: list[Reason], gathered: bool
) -> None:
    """One log row per change of reason for a notice, across cycles and restarts; the same
    when the suppressions were gathered a budget at a time and the decisions not passed (as
    the daemon keeps only the decisions that act)."""
    for i, reasons in enumerate(cycles):
        store = await backend.open()  # a restart between cycles must not re-log
        try:
            decisions = [held_back(r, note=f"cycle {i}") for r in reasons]
            at = NOW + timedelta(minutes=i)
            if gathered:
                found: dict[DecisionKey, Suppression] = {}
                for decision in decisions:
                    gather_suppressions(found, [decision])
                assert found == suppressions(decisions)
                await store.record_bookkeeping([], now=at, suppressions=found)
            else:
                await store.record_bookkeeping(decisions, now=at)
        finally:
            await store.aclose()
    store = await backend.open()
    try:
        rows = await store.query("decisions")
    finally:
        await store.aclose()
    assert [r["reason"] for r in reversed(rows)] == [r.value for r in logged]


async def test_the_decision_log_says_why_and_for_what(store: Store) -> None:
    """A log row names the budget, step, channel, reason and the core's note."""
    await store.record_bookkeeping(
        [held_back(Reason.SNOOZED, note="until Friday: migration")], now=NOW
    )
    [row] = await store.query("decisions")
    assert {k: row[k] for k in ("rule", "entity", "step", "channel", "reason", "note", "at")} == {
        "rule": RULE,
        "entity": "id-engineering",
        "step": "hard@5000",
        "channel": "eng-slack",
        "reason": "snoozed",
        "note": "until Friday: migration",
        "at": NOW,
    }


def _action(kind: str, minutes: int, *, ok: bool = True, before: str | None = None) -> ActionRecord:
    return ActionRecord(
        kind=kind,
        rule=RULE,
        entity=ENGINEERING,
        period="2026-11-01T00:00:00Z",
        at=NOW + timedelta(minutes=minutes),
        ok=ok,
        spend_before=None if before is None else Decimal(before),
        spend_after=Decimal("0.00") if kind == "reset" and ok else None,
        error=None if ok else "HTTP 500 from /team/block",
    )


@pytest.mark.parametrize(
    ("records", "blocked", "reset_before"),
    [
        pytest.param([_action("block", 0)], True, None, id="a block stands"),
        pytest.param(
            [_action("block", 0), _action("unblock", 5)], False, None, id="lifted by an unblock"
        ),
        pytest.param(
            [_action("block", 0), _action("unblock", 5, ok=False)],
            True,
            None,
            id="a failed unblock leaves it standing",
        ),
        pytest.param([_action("block", 0, ok=False)], False, None, id="a failed block"),
        pytest.param(
            [_action("reset", 0, before="4999.999999")], False, "4999.999999", id="a reset"
        ),
        pytest.param(
            [_action("reset", 0, before="10"), _action("reset", 9, ok=False, before="20")],
            False,
            "10",
            id="the last successful reset counts",
        ),
    ],
)
async def test_actions_are_audited_and_remembered(
    store: Store, records: list[ActionRecord], blocked: bool, reset_before: str | None
) -> None:
    """Every action is in the audit trail; successful ones shape blocks and resets."""
    await store.record_actions(records)
    state = await store.load_state(now=NOW + timedelta(hours=1))
    assert (BUDGET in state.blocks) is blocked
    memory = state.resets.get(BUDGET)
    assert (memory.spend_before if memory else None) == (
        None if reset_before is None else Decimal(reset_before)
    )
    audit = await store.query("actions")
    assert [(r["kind"], r["ok"], r["at"]) for r in reversed(audit)] == [
        (r.kind, r.ok, r.at) for r in records
    ]
    assert [r["spend_before"] for r in reversed(audit)] == [r.spend_before for r in records]


async def test_an_unknown_action_kind_is_refused(store: Store) -> None:
    """The audit trail takes reset, block and unblock, and says so."""
    with pytest.raises(ValueError, match="expected one of reset, block, unblock"):
        await store.record_actions([_action("delete", 0)])


async def test_only_active_snoozes_load(store: Store) -> None:
    """Snoozes come back until they expire; rule-only and entity snoozes alike."""
    active = Snooze(NOW + timedelta(days=1), "migration", rule=RULE, entity=ENGINEERING)
    whole_rule = Snooze(NOW + timedelta(hours=2), "budget review", rule=RULE, created_by="ana")
    expired = Snooze(NOW - timedelta(minutes=1), "old", entity=ENGINEERING)
    for snooze in (active, whole_rule, expired):
        await store.add_snooze(snooze)
    state = await store.load_state(now=NOW)
    assert state.snoozes == (active, whole_rule)
    assert [r["reason"] for r in await store.query("snoozes")] == [
        "old",
        "budget review",
        "migration",
    ]


@pytest.mark.parametrize(
    ("kind", "limit", "message"),
    [
        pytest.param("alerts", 10, "expected one of notices, actions", id="unknown kind"),
        pytest.param("notices", 0, "limit must be at least 1", id="no rows asked for"),
    ],
)
async def test_queries_name_what_they_accept(
    store: Store, kind: str, limit: int, message: str
) -> None:
    """A bad listing request says what is accepted."""
    with pytest.raises(ValueError, match=message):
        await store.query(kind, limit=limit)


async def test_listings_are_newest_first_and_limited(store: Store) -> None:
    """The status page reads the most recent notices first."""
    await store.claim(crossings(5), now=NOW)
    rows = await store.query("notices", limit=2)
    assert [r["entity"] for r in rows] == ["id-team-00004", "id-team-00003"]
    assert rows[0]["state"] == "pending"


def test_stored_suppressions_share_their_repeated_values() -> None:
    """Read back after a start, the rows' repeated rules, steps, channels and reasons are one
    object each (a database driver returns a new object for every value)."""
    rows = [
        ("Engineering monthly", "team", f"id-{i}", "2026-11", "soft:80%@4000", "eng", "deduped")
        for i in range(3)
    ]
    as_read = [tuple("".join(list(value)) for value in row) for row in rows]  # new objects
    assert as_read[0][0] is not as_read[1][0]
    cache = suppressed(as_read)
    assert cache == {row[:6]: row[6] for row in rows}
    for field in (0, 1, 3, 4, 5):
        assert len({id(key[field]) for key in cache}) == 1
    assert len({id(reason) for reason in cache.values()}) == 1
