"""The pure core: which notices, resolutions and changes are due, and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

import pytest

from tests.builders import (
    NOVEMBER,
    NOW,
    OCTOBER,
    acts,
    key,
    ledger,
    notices,
    reasons,
    rule,
    rules,
    run,
    sent,
    shipped_example,
    snap,
    team,
    thread,
)
from watchdog.decisions import Action, Decision, Reason, StepKind
from watchdog.evaluate import Standing, baselines, evaluate
from watchdog.ladder import ladder
from watchdog.model import (
    ActionMemory,
    Entity,
    EntityRef,
    LedgerState,
    Notice,
    NoticeEvent,
    Scope,
    Snooze,
)
from watchdog.routing import QuietHours, route
from watchdog.rules import Routing

LADDER = {"soft_limit": "80%", "alert_at": ["50%", "75%", "90%"]}
CI_KEY_RULE = rule(
    name="CI bot", scope="key", match="ci-bot", amount=25, reset=True, on_hard_limit="block"
)


def _reset_in(period: str) -> MappingProxyType[tuple[str, Scope, str], ActionMemory]:
    """The ledger's memory of the CI bot's last reset, made in `period`."""
    return MappingProxyType({("CI bot", Scope.KEY, "hash-ci-bot"): ActionMemory(period, NOW)})


# The ladder ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spend", "already", "expected"),
    [
        pytest.param(2400, [], [], id="below every step: nothing"),
        pytest.param(2500, [], [(Reason.FIRED, "threshold:50%@2500")], id="exactly at 50% fires"),
        pytest.param(
            4750,
            [],
            [(Reason.FIRED, "threshold:90%@4500")],
            id="jump to 95%: only the highest crossed step is sent",
        ),
        pytest.param(5000, [], [(Reason.FIRED, "hard:100%@5000")], id="at the budget: hard limit"),
        pytest.param(
            3800,
            [sent("threshold:50%@2500")],
            [(Reason.ESCALATED, "threshold:75%@3750")],
            id="50% told, now 76%: escalates to 75%",
        ),
        pytest.param(4100, [sent("soft:80%@4000")], [], id="soft limit told, still there: quiet"),
        pytest.param(
            4100,
            [sent("threshold:50%@2500"), sent("soft:80%@4000")],
            [],
            id="several told: the latest level counts",
        ),
        pytest.param(
            5300,
            [sent("soft:80%@4000")],
            [(Reason.ESCALATED, "hard:100%@5000")],
            id="soft told, now over budget: hard limit",
        ),
    ],
)
def test_ladder(spend: int, already: list[Notice], expected: list[tuple[Reason, str]]) -> None:
    """A budget's steps fire once each, highest first, and climb as spend grows."""
    state = ledger((thread(), already))
    decisions = run(rules(rule(**LADDER)), snap(team(spend)), state)
    assert [(r, s) for r, s, _ in notices(decisions)] == expected


def test_jump_names_the_steps_passed_on_the_way() -> None:
    """When several steps are crossed at once, the one notice says which were passed."""
    [decision] = [
        d for d in run(rules(rule(**LADDER)), snap(team(4750))) if d.action is Action.NOTIFY
    ]
    assert decision.alert.kind is StepKind.THRESHOLD
    assert "90%" in decision.alert.detail
    assert "also passed" in decision.alert.detail
    assert "the soft limit 80% ($4,000.00)" in decision.alert.detail


def test_a_new_period_re_arms_every_step() -> None:
    """Notices from last month do not silence this month's crossing."""
    old = thread(period=OCTOBER)
    state = ledger((old, [sent("hard:100%@5000")]))
    decisions = run(rules(rule(**LADDER)), snap(team(2600)), state)
    assert notices(decisions) == [(Reason.FIRED, "threshold:50%@2500", "eng-slack")]


def test_each_channel_is_its_own_conversation() -> None:
    """A notice claimed for one channel does not stop the other channel's."""
    state = ledger((thread(channel="eng-slack"), [sent("threshold:50%@2500")]))
    decisions = run(
        rules(rule(**LADDER), channels=("eng-slack", "finance-mail")), snap(team(2600)), state
    )
    assert notices(decisions) == [(Reason.FIRED, "threshold:50%@2500", "finance-mail")]
    assert Reason.DEDUPED in reasons(decisions)


# Resolutions --------------------------------------------------------------------------------


def test_a_raised_budget_resolves_the_step_announced() -> None:
    """Over budget at $5,000, budget raised to $8,000: back under, now at the 50% step."""
    state = ledger((thread(), [sent("hard:100%@5000")]))
    decisions = run(rules(rule(amount=8000, **LADDER)), snap(team(5100)), state)
    [resolved] = [d for d in decisions if d.action is Action.NOTIFY]
    assert resolved.reason is Reason.RESOLVED
    assert resolved.event is NoticeEvent.RESOLVED
    assert resolved.step == "hard:100%@5000"
    assert resolved.level == "threshold:50%@4000"
    assert "back under the hard limit" in resolved.alert.detail
    assert "now at the alert step 50% ($4,000.00)" in resolved.alert.detail


def test_a_resolution_is_sent_once_then_the_ladder_climbs_again() -> None:
    """After the resolution is claimed, nothing repeats; new crossings of the new budget fire."""
    state = ledger(
        (
            thread(),
            [
                sent("hard:100%@5000"),
                sent("hard:100%@5000", event=NoticeEvent.RESOLVED, level="threshold:50%@4000"),
            ],
        )
    )
    ruleset = rules(rule(amount=8000, **LADDER))
    assert notices(run(ruleset, snap(team(5100)), state)) == []
    climbed = run(ruleset, snap(team(6100)), state)
    assert notices(climbed) == [(Reason.ESCALATED, "threshold:75%@6000", "eng-slack")]


def test_a_lowered_budget_moves_the_steps_without_a_false_resolution() -> None:
    """50% announced at $5,000; budget cut to $4,000 with spend $2,600: still the 50% step."""
    state = ledger((thread(), [sent("threshold:50%@2500")]))
    ruleset = rules(rule(amount=4000, **LADDER))
    assert notices(run(ruleset, snap(team(2600)), state)) == []
    climbed = run(ruleset, snap(team(3300)), state)
    assert notices(climbed) == [(Reason.ESCALATED, "soft:80%@3200", "eng-slack")]


def test_spend_going_down_under_every_step_resolves() -> None:
    """A refund (or LiteLLM reset) that takes spend under every step closes the alert."""
    state = ledger((thread(), [sent("threshold:50%@2500")]))
    [resolved] = [
        d for d in run(rules(rule(**LADDER)), snap(team(100)), state) if d.action is Action.NOTIFY
    ]
    assert resolved.reason is Reason.RESOLVED
    assert resolved.level is None
    assert "now under every alert step" in resolved.alert.detail


# Reminders, snoozes, quiet hours ------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours_ago", "expected"),
    [
        pytest.param(23, [], id="within the interval: quiet"),
        pytest.param(25, [(Reason.REPEAT, "hard:100%@5000#repeat1")], id="a day later: reminder"),
        pytest.param(49, [(Reason.REPEAT, "hard:100%@5000#repeat2")], id="two days later: second"),
    ],
)
def test_renotify_reminds_while_over_the_hard_limit(
    hours_ago: int, expected: list[tuple[Reason, str]]
) -> None:
    """`renotify: 24h` repeats the hard-limit alert once per interval while it lasts."""
    state = ledger((thread(), [sent("hard:100%@5000", at=NOW - timedelta(hours=hours_ago))]))
    decisions = run(rules(rule(renotify="24h")), snap(team(5200)), state)
    assert [(r, s) for r, s, _ in notices(decisions)] == expected


def test_a_reminder_is_claimed_once() -> None:
    """The same reminder number is never sent twice."""
    state = ledger(
        (
            thread(),
            [
                sent("hard:100%@5000", at=NOW - timedelta(hours=25)),
                sent("hard:100%@5000#repeat1", event=NoticeEvent.REPEAT, level="hard:100%@5000"),
            ],
        )
    )
    assert notices(run(rules(rule(renotify="24h")), snap(team(5200)), state)) == []


def test_a_snooze_holds_alerts_but_not_resolutions() -> None:
    """Snoozed budgets stay quiet about crossings, yet still say when they are back under."""
    snooze = Snooze(
        until=NOW + timedelta(days=1), reason="quarter-end batch", rule="Engineering monthly"
    )
    quiet = run(rules(rule(**LADDER)), snap(team(2600)), LedgerState(snoozes=(snooze,)))
    assert notices(quiet) == []
    assert Reason.SNOOZED in reasons(quiet)
    state = ledger((thread(), [sent("threshold:50%@2500")]), snoozes=(snooze,))
    back = run(rules(rule(**LADDER)), snap(team(100)), state)
    assert [r for r, _, _ in notices(back)] == [Reason.RESOLVED]


def test_an_expired_snooze_lets_alerts_through() -> None:
    """A snooze ends at its expiry."""
    snooze = Snooze(until=NOW - timedelta(minutes=1), reason="over", entity=None)
    decisions = run(rules(rule(**LADDER)), snap(team(2600)), LedgerState(snoozes=(snooze,)))
    assert [r for r, _, _ in notices(decisions)] == [Reason.FIRED]


@pytest.mark.parametrize(
    ("spend", "expected"),
    [
        pytest.param(4100, Reason.QUIET_HOURS, id="soft limit waits for the morning"),
        pytest.param(5100, Reason.FIRED, id="hard limit is urgent: sent at night"),
    ],
)
def test_quiet_hours_defer_all_but_urgent(spend: int, expected: Reason) -> None:
    """Quiet hours delay notices (they are not claimed, so they go out later)."""
    night = QuietHours(start=22 * 60, end=7 * 60, tz=UTC)
    ruleset = rules(rule(**LADDER), quiet=MappingProxyType({"eng-slack": night}))
    at_night = NOW.replace(hour=23)
    decisions = run(ruleset, snap(team(spend), at=at_night), now=at_night)
    assert expected in reasons(decisions)


@pytest.mark.parametrize(
    ("hour", "weekday_offset", "covered"),
    [
        pytest.param(23, 0, True, id="23:00 is inside 22–07"),
        pytest.param(6, 0, True, id="06:00 next morning is inside"),
        pytest.param(7, 0, False, id="07:00 ends it"),
        pytest.param(12, 0, False, id="noon is outside"),
    ],
)
def test_quiet_hours_span_midnight(hour: int, weekday_offset: int, covered: bool) -> None:
    """A window from 22:00 to 07:00 covers the night across midnight."""
    night = QuietHours(start=22 * 60, end=7 * 60, tz=UTC)
    at = NOW.replace(hour=hour) + timedelta(days=weekday_offset)
    assert night.covers(at) is covered


# Data quality -------------------------------------------------------------------------------


def test_stale_data_sends_nothing_and_changes_nothing() -> None:
    """With data older than stale_after, no alert, reset or block comes from it."""
    old = NOW - timedelta(minutes=30)
    decisions = run(
        rules(CI_KEY_RULE, rule(on_hard_limit="block", **LADDER)),
        snap(team(6000), key(900), as_of=old, ok=False, error="connection refused"),
    )
    budget = [d for d in decisions if d.alert.rule in ("Engineering monthly", "CI bot")]
    assert reasons(budget) == [Reason.STALE, Reason.STALE]
    assert "30 min old" in budget[0].note


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        pytest.param("engineering", [Reason.NO_BUDGET], id="a named entity without budget: said"),
        pytest.param("*", [], id="a wildcard skips entities without budget"),
    ],
)
def test_entities_without_a_budget(match: str, expected: list[Reason]) -> None:
    """With no amount and no max_budget in LiteLLM there is nothing to compare with."""
    decisions = run(rules(rule(amount=None, match=match, period="monthly")), snap(team(10)))
    assert [r for r in reasons(decisions) if r is not Reason.UNDER] == expected


def test_litellm_budgets_are_used_when_the_rule_names_none() -> None:
    """soft_limit/hard_limit "litellm" read the entity's soft_budget and max_budget."""
    entity = team(30, 100, soft_budget=Decimal(25))
    ruleset = rules(rule(amount=None, soft_limit="litellm", hard_limit="litellm"))
    steps = ladder(ruleset.rules[0], entity, entity.max_budget)
    assert [(s.kind, s.amount) for s in steps] == [
        (StepKind.SOFT, Decimal(25)),
        (StepKind.HARD, Decimal(100)),
    ]
    assert [s for _, s, _ in notices(run(ruleset, snap(entity)))] == ["soft:litellm@25"]


def test_dollar_steps_work_without_a_budget() -> None:
    """ "$4000" needs no budget amount: it is a plain dollar threshold."""
    ruleset = rules(rule(amount=None, hard_limit=None, alert_at=["$4000"], period="monthly"))
    assert [s for _, s, _ in notices(run(ruleset, snap(team(4200))))] == ["threshold:$4000@4000"]


def test_steps_at_the_same_amount_collapse_to_the_strongest() -> None:
    """alert_at 100% and hard_limit 100% are one step: the hard limit."""
    steps = ladder(rule(alert_at=["100%"]), team(0), Decimal(5000))
    assert [(s.kind, s.amount) for s in steps] == [(StepKind.HARD, Decimal(5000))]


# Routing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notify", "entity", "expected"),
    [
        pytest.param([], team(1), ("default-mail",), id="nothing named: the default"),
        pytest.param(["finance"], team(1), ("finance",), id="the rule's own channels"),
        pytest.param(
            [], team(1, name="search"), ("search-slack",), id="owner mapping replaces the default"
        ),
        pytest.param(
            ["finance"],
            team(1, name="search"),
            ("finance", "search-slack"),
            id="rule channels plus the owner's",
        ),
        pytest.param(
            [],
            key(1, team_name="search"),
            ("search-slack",),
            id="a team's channel hears about its keys",
        ),
    ],
)
def test_routing(notify: list[str], entity: Entity, expected: tuple[str, ...]) -> None:
    """Each budget goes to its rule's channels and its owners', else the default."""
    routing = Routing(
        default=("default-mail",),
        owners=MappingProxyType({Scope.TEAM: {"search": ("search-slack",)}}),
    )
    scope = "key" if entity.scope is Scope.KEY else "team"
    assert (
        route(
            rule(notify=notify or None, scope=scope, match="*"),
            entity,
            routing,
        )
        == expected
    )


def test_no_channel_is_said_not_hidden() -> None:
    """Without any channel the decision says what would have fired and why nothing was sent."""
    decisions = run(rules(rule(**LADDER), channels=()), snap(team(2600)))
    [d] = [d for d in decisions if d.reason is Reason.NO_CHANNEL]
    assert d.note.startswith("fired, but no channel")


# Resets and blocks --------------------------------------------------------------------------


def test_reset_first_period_adopts_then_resets_each_new_period() -> None:
    """The first period seen is only remembered; each later period start resets once."""
    ruleset = rules(CI_KEY_RULE)
    first = run(ruleset, snap(key(10)))
    assert acts(first) == [(Action.RECORD, Reason.BASELINE)]
    due = run(ruleset, snap(key(10)), LedgerState(resets=_reset_in(OCTOBER)))
    assert acts(due) == [(Action.RESET, Reason.RESET)]
    done = run(ruleset, snap(key(10)), LedgerState(resets=_reset_in(NOVEMBER)))
    assert acts(done) == []


def test_a_missed_reset_runs_once_not_once_per_missed_period() -> None:
    """After three months down, one reset is due for the current period."""
    memory = _reset_in("2026-07-01T00:00:00Z")
    decisions = run(rules(CI_KEY_RULE), snap(key(10)), LedgerState(resets=memory))
    assert acts(decisions) == [(Action.RESET, Reason.RESET)]


@pytest.mark.parametrize(
    ("scope", "fragment"),
    [
        pytest.param("team", "ignores spend on /team/update", id="team spend cannot be reset"),
        pytest.param(
            "customer", "ignores spend on /customer/update", id="customer spend cannot be reset"
        ),
    ],
)
def test_resets_litellm_cannot_make_are_refused(scope: str, fragment: str) -> None:
    """A reset LiteLLM would silently ignore is a rule error, not a surprise each month."""
    with pytest.raises(ValueError, match=fragment):
        rule(scope=scope, reset=True)


@pytest.mark.parametrize(
    ("spend", "blocked", "memory", "expected"),
    [
        pytest.param(5100, False, None, [(Action.BLOCK, Reason.BLOCK)], id="over: block"),
        pytest.param(5100, True, None, [], id="already blocked by someone: leave it"),
        pytest.param(
            5100,
            False,
            NOVEMBER,
            [],
            id="we blocked it this period and a person unblocked it: respect that",
        ),
        pytest.param(
            100,
            True,
            OCTOBER,
            [(Action.UNBLOCK, Reason.UNBLOCK)],
            id="a new period: unblock what we blocked",
        ),
        pytest.param(
            4000,
            True,
            NOVEMBER,
            [(Action.UNBLOCK, Reason.UNBLOCK)],
            id="budget raised above spend: unblock",
        ),
        pytest.param(4000, False, None, [], id="under the hard limit: nothing"),
    ],
)
def test_blocking(
    spend: int, blocked: bool, memory: str | None, expected: list[tuple[Action, Reason]]
) -> None:
    """on_hard_limit: block blocks once per period and lifts its own blocks only."""
    blocks = (
        {}
        if memory is None
        else {("Engineering monthly", Scope.TEAM, "id-engineering"): ActionMemory(memory, NOW)}
    )
    decisions = run(
        rules(rule(on_hard_limit="block")),
        snap(team(spend, blocked=blocked)),
        LedgerState(blocks=MappingProxyType(blocks)),
    )
    assert acts(decisions) == expected


def test_only_entities_the_rule_names_are_blocked() -> None:
    """A block rule for one team never touches another team."""
    decisions = run(rules(rule(on_hard_limit="block")), snap(team(9000, name="search"), team(6000)))
    blocked = [d.alert.entity_id for d in decisions if d.action is Action.BLOCK]
    assert blocked == ["id-engineering"]


# Source health ------------------------------------------------------------------------------


def test_an_outage_is_reported_once_and_its_recovery_once() -> None:
    """A stale source raises one meta-alert, then one recovery, then a new incident later."""
    ruleset = rules(rule(**LADDER))
    down = snap(team(100), as_of=NOW - timedelta(minutes=20), ok=False, error="timeout")
    first = [d for d in run(ruleset, down) if d.alert.kind is StepKind.SOURCE]
    assert [(d.reason, d.step) for d in first] == [(Reason.SOURCE_DOWN, "incident#1")]
    src = ("watchdog:source", Scope.GLOBAL, "litellm", "incidents", "eng-slack")
    told = ledger((src, [sent("incident#1")]))
    assert [d.reason for d in run(ruleset, down, told) if d.alert.kind is StepKind.SOURCE] == [
        Reason.DEDUPED
    ]
    back = [d for d in run(ruleset, snap(team(100)), told) if d.alert.kind is StepKind.SOURCE]
    assert [(d.reason, d.event) for d in back] == [(Reason.SOURCE_RECOVERED, NoticeEvent.RESOLVED)]
    closed = ledger(
        (src, [sent("incident#1"), sent("incident#1", event=NoticeEvent.RESOLVED, level=None)])
    )
    again = [d for d in run(ruleset, down, closed) if d.alert.kind is StepKind.SOURCE]
    assert [d.step for d in again] == ["incident#2"]


def test_one_failed_cycle_is_not_an_outage() -> None:
    """Data a minute old from a failed read is still fresh enough: no meta-alert."""
    decisions = run(
        rules(rule(**LADDER)),
        snap(team(100), as_of=NOW - timedelta(minutes=1), ok=False, error="x"),
    )
    assert not [d for d in decisions if d.alert.kind is StepKind.SOURCE]


# Timelines ----------------------------------------------------------------------------------


def test_a_month_of_spend_sends_each_step_exactly_once() -> None:
    """Spend rising all month then a new month: every step once, then re-armed."""
    from watchdog.testing import remember

    ruleset = rules(rule(**LADDER))
    state = LedgerState()
    sent_steps: list[str] = []
    start = datetime(2026, 11, 1, 6, tzinfo=UTC)
    for day in range(30):
        at = start + timedelta(days=day)
        spend = 180 * (day + 1)  # passes 50 % on day 14, reaches 5,400 on day 30
        decisions = evaluate(ruleset, snap(team(spend), at=at), state, at)
        sent_steps += [s for _, s, _ in notices(decisions)]
        state = remember(state, decisions, at)
    assert sent_steps == [
        "threshold:50%@2500",
        "threshold:75%@3750",
        "soft:80%@4000",
        "threshold:90%@4500",
        "hard:100%@5000",
    ]
    december = datetime(2026, 12, 1, 6, tzinfo=UTC)
    fresh = team(2600, created_at=december - timedelta(hours=1))
    decisions = evaluate(ruleset, snap(fresh, at=december), state, december)
    assert [s for _, s, _ in notices(decisions)] == ["threshold:50%@2500"]


def test_evaluating_again_after_recording_is_silent() -> None:
    """Once every decision is recorded, the same inputs decide nothing new."""
    from watchdog.testing import remember

    ruleset = rules(
        rule(**LADDER, on_hard_limit="block"),
        rule(name="Search", match="search", amount=100, alert_at=["50%"]),
        CI_KEY_RULE,
        channels=("a", "b"),
    )
    snapshot = snap(team(5100), team(75, name="search"), key(30))
    first = evaluate(ruleset, snapshot, LedgerState(), NOW)
    state = remember(LedgerState(), first, NOW)
    again = evaluate(ruleset, snapshot, state, NOW)
    assert notices(first)
    assert notices(again) == []
    assert [a for a in acts(again) if a[0] is not Action.RECORD] == []


def test_rule_order_does_not_change_the_decisions() -> None:
    """Evaluation is a function of the rules as a set."""
    one = rule(**LADDER)
    two = rule(name="Search", match="search", amount=100, alert_at=["50%"])
    snapshot = snap(team(4100), team(75, name="search"))
    forward = evaluate(rules(one, two), snapshot, LedgerState(), NOW)
    backward = evaluate(rules(two, one), snapshot, LedgerState(), NOW)
    assert sorted(d.identity for d in forward) == sorted(d.identity for d in backward)


def test_the_entity_ref_and_key_are_consistent() -> None:
    """Alerts name their budget by (rule, scope, entity id)."""
    [d] = [d for d in run(rules(rule(**LADDER)), snap(team(2600))) if d.action is Action.NOTIFY]
    assert d.alert.ref == EntityRef(Scope.TEAM, "id-engineering")
    assert d.alert.budget_key == ("Engineering monthly", Scope.TEAM, "id-engineering")
    assert d.identity == (
        "Engineering monthly",
        Scope.TEAM,
        "id-engineering",
        NOVEMBER,
        "threshold:50%@2500",
        "eng-slack",
        "fired",
    )


def test_an_outage_round_trip_through_the_ledger() -> None:
    """Claimed under its own thread key, an outage is found again: recovered, then quiet."""
    from watchdog.testing import remember

    ruleset = rules(rule(**LADDER))
    down = snap(team(100), as_of=NOW - timedelta(minutes=20), ok=False, error="timeout")
    first = run(ruleset, down)
    state = remember(LedgerState(), first, NOW)
    back = run(ruleset, snap(team(100)), state)
    assert [d.reason for d in back if d.alert.kind is StepKind.SOURCE] == [Reason.SOURCE_RECOVERED]
    after = remember(state, back, NOW)
    assert [
        d for d in run(ruleset, snap(team(100)), after) if d.alert.kind is StepKind.SOURCE
    ] == []


@pytest.mark.parametrize(
    ("entity", "snoozed"),
    [
        pytest.param(EntityRef(Scope.TEAM, "engineering"), True, id="by the name people use"),
        pytest.param(EntityRef(Scope.TEAM, "ID-ENGINEERING"), True, id="by LiteLLM's id, any case"),
        pytest.param(EntityRef(Scope.TEAM, "search"), False, id="another team"),
        pytest.param(EntityRef(Scope.KEY, "engineering"), False, id="same name, other scope"),
    ],
)
def test_a_snooze_names_its_entity_as_people_do(entity: EntityRef, snoozed: bool) -> None:
    """`snooze --entity team:engineering` matches the team whatever its LiteLLM id."""
    snooze = Snooze(until=NOW + timedelta(hours=1), reason="incident", entity=entity)
    decisions = run(rules(rule(**LADDER)), snap(team(2600)), LedgerState(snoozes=(snooze,)))
    assert (Reason.SNOOZED in reasons(decisions)) is snoozed


@pytest.mark.parametrize("team_named", ["id-engineering", "Engineering"])
def test_a_team_rule_covers_the_team_s_keys_and_members_by_id_or_alias(team_named: str) -> None:
    """`team:` picks keys of that team and users who belong to it, named by id or alias."""
    engineering = team(0, name="engineering")
    members = [
        key(10, alias="eng-bot", team_name="engineering"),
        key(10, alias="ads-bot", team_name="ads"),
    ]
    users = [
        Entity(Scope.USER, "u-ann", Decimal(10), names=("u-ann",), teams=frozenset({"id-ads"})),
        Entity(
            Scope.USER,
            "u-bob",
            Decimal(10),
            names=("u-bob",),
            teams=frozenset({"id-ads", "id-engineering"}),
        ),
    ]
    picked = {}
    for scope in ("key", "user"):
        budget = rule(name=f"{scope}s", scope=scope, match="*", team=team_named, amount=100)
        found = evaluate(rules(budget), snap(engineering, *members, *users), LedgerState(), NOW)
        explained = evaluate(
            rules(budget), snap(engineering, *members, *users), LedgerState(), NOW, explain=True
        )
        assert found == []
        picked[scope] = sorted(d.alert.entity_id for d in explained)
    assert picked == {"key": ["hash-eng-bot"], "user": ["u-bob"]}


def test_the_history_keeps_a_baseline_for_each_rule_s_current_period() -> None:
    """Quarterly, monthly and zoned periods each name their start; LiteLLM's periods none."""
    found = baselines(
        rules(
            rule(name="Quarter", period="quarterly"),
            rule(name="Month", period="monthly"),
            rule(name="Month again", period="monthly"),
            rule(name="Stockholm", period="monthly", timezone="Europe/Stockholm"),
            rule(name="LiteLLM", period="litellm", amount=None),
        ),
        NOW,
    )
    assert found == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 10, 31, 23, 0, tzinfo=UTC),  # midnight in Stockholm
        datetime(2026, 11, 1, tzinfo=UTC),
    )


def test_standings_are_the_under_decisions_kept_as_their_values() -> None:
    """Given `standings`, budgets with nothing to do are kept there instead of as UNDER
    decisions; each builds the very decision `explain` gives, and the rest is unchanged."""
    args = shipped_example()
    explained = evaluate(*args, explain=True)
    standings: list[Standing] = []
    decisions = evaluate(*args, standings=standings)
    under = [d for d in explained if d.reason is Reason.UNDER]
    assert under, "the example has budgets with nothing to do"
    assert decisions == [d for d in explained if d.reason is not Reason.UNDER]
    assert [s.decision() for s in standings] == under
    values = [(d.alert.spend, d.alert.ratio) for d in under]
    assert [(s.spend, s.ratio) for s in standings] == values
    assert evaluate(*args) == decisions  # neither: idle budgets are left out


class _Calls:
    """A `decided` reader that keeps each call's decisions apart."""

    def __init__(self) -> None:
        self.calls: list[list[Decision]] = []

    def extend(self, decisions: Iterable[Decision], /) -> None:
        self.calls.append(list(decisions))


@pytest.mark.parametrize("explain", [False, True])
@pytest.mark.parametrize("source_down", [False, True])
def test_decided_takes_every_decision_a_budget_at_a_time(explain: bool, source_down: bool) -> None:
    """Given `decided`, it gets what the list would hold, in order, each budget's decisions
    in one call (the sources' first), and the list returned is empty."""
    ruleset, snapshot, state, now = shipped_example()
    if source_down:
        since = now - timedelta(hours=2)
        sources = {
            n: replace(s, ok=False, error="timeout", data_as_of=since)
            for n, s in snapshot.sources.items()
        }
        snapshot = replace(snapshot, sources=MappingProxyType(sources))
    expected = evaluate(ruleset, snapshot, state, now, explain=explain)
    reader = _Calls()
    assert evaluate(ruleset, snapshot, state, now, explain=explain, decided=reader) == []
    assert [d for call in reader.calls for d in call] == expected
    calls = reader.calls
    if source_down:
        assert calls[0]
        assert all(d.alert.kind is StepKind.SOURCE for d in calls[0])
        assert {d.reason for d in expected[len(calls[0]) :]} == {Reason.STALE}
        calls = calls[1:]
    else:
        assert any(len(call) > 1 for call in calls)  # one per channel, at once
    keys = [{(d.alert.rule, d.alert.entity_id) for d in call} for call in calls]
    assert all(len(k) == 1 for k in keys)
    assert len(keys) == len(set().union(*keys)) > 1
