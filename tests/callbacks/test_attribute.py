"""Who drove a budget's spend, from the stored callbacks (on both stores): attached to firing
team, proxy-wide and dimension alerts, compared with the same point of the previous period,
and shown in messages and webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.builders import NOW, key, ledger, request, rule, rules, run, sent, snap, team, thread
from watchdog.attribute import attribute
from watchdog.attribution import Attribution, attribution_fields, attribution_json, change_text
from watchdog.callbacks.spend import Watch, with_callbacks
from watchdog.decisions import Action, Decision, Reason
from watchdog.dimensions import DEFAULT_HEADERS
from watchdog.model import Entity, Scope, Snapshot
from watchdog.render import payload, render
from watchdog.rules import RuleSet
from watchdog.store import Store
from watchdog.store.usage import RequestRecord

NOV = datetime(2026, 11, 1, tzinfo=UTC)
OCT = datetime(2026, 10, 1, tzinfo=UTC)
SAME_POINT = datetime(2026, 10, 18, 12, 0, tzinfo=UTC)
"""NOW (18 November, noon) is 17.5 days into November; October's same point."""


def _etl(rid: str, cost: str, at: datetime, **fields: Any) -> RequestRecord:
    return request(rid, cost, at, key_hash="hash-etl", key_alias="etl", user_id="bo", **fields)


OCTOBER = [
    request("oct-1", "100", OCT),  # the previous period's first instant
    request("oct-2", "200", SAME_POINT - timedelta(seconds=1)),
    request("oct-3", "900", SAME_POINT),  # at the same point: no longer "by this point"
    request("oct-4", "5000", OCT + timedelta(days=5), team_id="id-ml", team_alias="ml"),
]
NOVEMBER = [
    request("nov-1", "1200", NOV + timedelta(days=2), tags=("batch", "nightly")),
    _etl("nov-2", "800", NOV + timedelta(days=5), tags=("batch",)),
    request(
        "nov-3",
        "300",
        NOV + timedelta(days=9),
        model="claude",
        key_hash="hash-nb",
        key_alias="notebook",
        user_id="cy",
        tags=("adhoc",),
    ),
    request(
        "nov-4",
        "20",
        NOV + timedelta(days=10),
        model="gpt-4o-mini",
        key_hash="hash-cli",
        key_alias=None,
        user_id="dee",
        tags=("cli",),
    ),
    request(
        "nov-5",
        "0.5",
        NOV + timedelta(days=11),
        model="o1",
        key_hash="hash-web",
        key_alias="web",
        user_id="eve",
        tags=("web",),
    ),
    request(
        "nov-6",
        "700",
        NOV + timedelta(days=12),
        team_id="id-ml",
        team_alias="ml",
        department="research",
        key_hash="hash-ml",
        key_alias="ml-key",
        user_id="fay",
    ),
    request("dec-1", "999", datetime(2026, 12, 1, tzinfo=UTC), tags=("later",)),  # next period
]
ENGINEERING = Decimal("2320.5")
"""Team engineering's stored spend in November up to NOW."""


@pytest.fixture
async def world(store: Store) -> Store:
    """The store holding both months of requests."""
    await store.record_requests([*OCTOBER, *NOVEMBER], received_at=NOW)
    return store


def _fired(ruleset: RuleSet, snapshot: Snapshot) -> list[Decision]:
    """The notices evaluate sends for a snapshot, as the daemon hands them to attribute."""
    found = [d for d in run(ruleset, snapshot) if d.action is Action.NOTIFY]
    assert found, "the budget fires"
    return found


TEAM_RULES = rules(rule(alert_at=["90%"]))


def _team_alert() -> list[Decision]:
    return _fired(TEAM_RULES, snap(team(4600, name="engineering", created_at=NOV)))


async def _attributed(store: Store, notices: list[Decision], ruleset: RuleSet) -> Attribution:
    (decision,) = await attribute(
        notices, store=store, rules=ruleset, headers=DEFAULT_HEADERS, now=NOW
    )
    assert decision.alert.attribution is not None
    return decision.alert.attribution


def _top(a: Attribution) -> dict[str, list[tuple[str, Decimal]]]:
    return {kind: [(c.name, c.spend) for c in people] for kind, people in a.top.items()}


async def test_a_team_alert_says_who_spent_and_how_last_month_compares(world: Store) -> None:
    """Top 3 keys, users, models and tags of the team, largest first; the team's own total;
    October up to the same point; the change."""
    a = await _attributed(world, _team_alert(), TEAM_RULES)
    assert (a.source, a.start, a.end, a.whole_days) == ("callbacks", NOV, NOW, False)
    assert a.spend == ENGINEERING
    assert _top(a) == {
        "keys": [
            ("ci-bot", Decimal(1200)),
            ("etl", Decimal(800)),
            ("notebook", Decimal(300)),
        ],  # "key …sh-cli" ($20) and web ($0.50) are left out
        "users": [("ana", Decimal(1200)), ("bo", Decimal(800)), ("cy", Decimal(300))],
        "models": [
            ("gpt-4o", Decimal(2000)),
            ("claude", Decimal(300)),
            ("gpt-4o-mini", Decimal(20)),
        ],
        "tags": [("batch", Decimal(2000)), ("nightly", Decimal(1200)), ("adhoc", Decimal(300))],
    }  # no "teams": the alert is about one team
    assert a.top["keys"][0].id == "hash-ci-bot"
    assert (a.previous, a.previous_label) == (Decimal(300), "last month")
    assert a.change == (ENGINEERING - 300) / 300


async def test_a_proxy_wide_alert_counts_every_team(world: Store) -> None:
    """A global budget's attribution covers all requests and lists the top teams."""
    ruleset = rules(rule(name="Proxy", scope="global", match=None, amount=3000, alert_at=["50%"]))
    proxy = Entity(
        scope=Scope.GLOBAL, id="litellm", spend=Decimal(3100), name="proxy", created_at=NOV
    )
    a = await _attributed(world, _fired(ruleset, snap(proxy)), ruleset)
    assert a.spend == ENGINEERING + 700
    assert _top(a)["teams"] == [("engineering", ENGINEERING), ("ml", Decimal(700))]
    assert [c.id for c in a.top["teams"]] == ["id-engineering", "id-ml"]
    assert a.previous == Decimal(5300)  # both teams' October, to the same point


async def test_a_dimension_alert_counts_that_values_requests(world: Store) -> None:
    """A department budget fired from the stored callbacks says who in that department spent."""
    ruleset = rules(
        rule(
            name="Departments",
            scope="dimension",
            dimension="department",
            match="*",
            amount=2000,
            alert_at=["100%"],
        )
    )
    skewed = request("skew", "1", NOW + timedelta(seconds=30))  # LiteLLM's clock a bit ahead
    await world.record_requests([skewed], received_at=NOW)
    seen = await with_callbacks(
        snap(),
        store=world,
        rules=ruleset,
        headers=DEFAULT_HEADERS,
        enabled=True,
        watch=Watch(),
        now=NOW,
    )
    notices = _fired(ruleset, seen)
    assert [(d.alert.scope, d.alert.entity_id) for d in notices] == [
        (Scope.DIMENSION, "engineering")
    ]
    a = await _attributed(world, notices, ruleset)
    assert a.spend == ENGINEERING + 1 == notices[0].alert.spend
    assert _top(a)["teams"] == [("engineering", ENGINEERING + 1)]
    assert a.previous == Decimal(5300)


async def test_no_comparison_when_the_requests_begin_after_last_period_began(
    store: Store,
) -> None:
    """Callbacks turned on in mid-October: October cannot be compared, November can be told."""
    await store.record_requests(
        [request("oct-late", "50", OCT + timedelta(days=3)), *NOVEMBER], received_at=NOW
    )
    a = await _attributed(store, _team_alert(), TEAM_RULES)
    assert a.spend == ENGINEERING
    assert a.previous is None
    assert change_text(a) is None
    assert "vs last month" not in dict(attribution_fields(a))
    assert attribution_json(a)["previous_period"] is None  # type: ignore[index]


async def test_when_callbacks_began_inside_the_period_only_that_stretch_is_told(
    store: Store,
) -> None:
    """Requests stored from 6 November: the window starts there, with no comparison."""
    await store.record_requests(NOVEMBER[1:], received_at=NOW)
    a = await _attributed(store, _team_alert(), TEAM_RULES)
    assert a.start == NOV + timedelta(days=5)
    assert a.spend == ENGINEERING - 1200
    assert a.previous is None


async def test_nothing_stored_means_no_attribution(store: Store) -> None:
    """No requests (callbacks off): the alert goes out as it was."""
    notices = _team_alert()
    assert await attribute(notices, store=store, rules=TEAM_RULES, headers=(), now=NOW) == notices
    assert await attribute(notices, store=None, rules=TEAM_RULES, headers=(), now=NOW) == notices


async def test_a_key_alert_gets_no_attribution(world: Store) -> None:
    """A key (or user) budget is its own answer."""
    ruleset = rules(rule(name="CI", scope="key", match="ci-bot", amount=100, alert_at=["50%"]))
    notices = _fired(ruleset, snap(key(90)))
    out = await attribute(notices, store=world, rules=ruleset, headers=(), now=NOW)
    assert out == notices
    assert all(d.alert.attribution is None for d in out)


async def test_a_resolved_alert_gets_no_attribution(world: Store) -> None:
    """Back under budget: nothing to attribute."""
    ruleset = rules(rule(amount=8000, alert_at=["50%", "90%"]))
    state = ledger((thread(), [sent("threshold:90%@4500")]))
    decisions = run(ruleset, snap(team(4600, name="engineering", created_at=NOV)), state)
    notices = [d for d in decisions if d.action is Action.NOTIFY]
    assert Reason.RESOLVED in [d.reason for d in notices]
    out = await attribute(notices, store=world, rules=ruleset, headers=(), now=NOW)
    resolved = [d for d in out if d.reason is Reason.RESOLVED]
    assert resolved
    assert all(d.alert.attribution is None for d in resolved)


async def test_every_channel_of_one_alert_gets_the_same_attribution(world: Store) -> None:
    """One budget firing to two channels is attributed once and shared."""
    ruleset = rules(rule(alert_at=["90%"]), channels=("eng-slack", "finance-mail"))
    notices = _fired(ruleset, snap(team(4600, name="engineering", created_at=NOV)))
    assert len(notices) == 2
    out = await attribute(notices, store=world, rules=ruleset, headers=(), now=NOW)
    first, second = (d.alert.attribution for d in out)
    assert first is not None
    assert first is second


async def test_messages_show_the_top_spenders_and_the_change(world: Store) -> None:
    """Slack/email fields "Top keys" … "vs last month"; the webhook's `attribution` object."""
    (decision,) = await attribute(
        _team_alert(), store=world, rules=TEAM_RULES, headers=DEFAULT_HEADERS, now=NOW
    )
    message = render(decision)
    fields = dict(message.fields)
    assert fields["Top keys"] == "ci-bot $1,200.00 · etl $800.00 · notebook $300.00"
    assert fields["Top models"] == "gpt-4o $2,000.00 · claude $300.00 · gpt-4o-mini $20.00"
    assert fields["vs last month"] == "+674% ($300.00 by this point last month)"
    assert "Top teams" not in fields
    assert "Top keys" in message.body
    assert "vs last month" in message.body
    body = payload(decision, "warning")
    assert body["attribution"] == {
        "source": "callbacks",
        "start": "2026-11-01T00:00:00Z",
        "end": "2026-11-18T12:00:00Z",
        "whole_days": False,
        "spend": 2320.5,
        "top": {
            "keys": [
                {"name": "ci-bot", "id": "hash-ci-bot", "spend": 1200.0},
                {"name": "etl", "id": "hash-etl", "spend": 800.0},
                {"name": "notebook", "id": "hash-nb", "spend": 300.0},
            ],
            "users": [
                {"name": "ana", "id": None, "spend": 1200.0},
                {"name": "bo", "id": None, "spend": 800.0},
                {"name": "cy", "id": None, "spend": 300.0},
            ],
            "models": [
                {"name": "gpt-4o", "id": None, "spend": 2000.0},
                {"name": "claude", "id": None, "spend": 300.0},
                {"name": "gpt-4o-mini", "id": None, "spend": 20.0},
            ],
            "tags": [
                {"name": "batch", "id": None, "spend": 2000.0},
                {"name": "nightly", "id": None, "spend": 1200.0},
                {"name": "adhoc", "id": None, "spend": 300.0},
            ],
        },
        "previous_period": {"label": "last month", "spend": 300.0, "change": 6.735},
    }


def _attribution(spend: str, previous: str | None, label: str = "last month") -> Attribution:
    return Attribution(
        source="callbacks",
        start=NOV,
        end=NOW,
        spend=Decimal(spend),
        previous=None if previous is None else Decimal(previous),
        previous_label=label,
    )


@pytest.mark.parametrize(
    ("spend", "previous", "expected"),
    [
        pytest.param("1380", "1000", "+38% ($1,000.00 by this point last month)", id="up"),
        pytest.param("620", "1000", "-38% ($1,000.00 by this point last month)", id="down"),
        pytest.param("1000", "1000", "±0% ($1,000.00 by this point last month)", id="same"),
        pytest.param("1004", "1000", "±0% ($1,000.00 by this point last month)", id="rounds to 0"),
        pytest.param("50", "0", "nothing spent by this point last month", id="from nothing"),
        pytest.param("50", None, None, id="unknown"),
    ],
)
def test_the_change_reads_as_a_signed_percentage(
    spend: str, previous: str | None, expected: str | None
) -> None:
    """change_text against the same point of the previous period."""
    assert change_text(_attribution(spend, previous)) == expected


def test_whole_day_figures_say_so() -> None:
    """LiteLLM's daily tables count whole UTC days; the field says it."""
    a = Attribution(
        source="litellm daily activity",
        start=NOV,
        end=NOW,
        spend=Decimal(200),
        previous=Decimal(100),
        previous_label="last week",
        whole_days=True,
    )
    assert attribution_fields(a) == [
        ("vs last week", "+100% ($100.00 by this point last week) (whole UTC days)")
    ]
    assert attribution_fields(None) == []
    assert attribution_json(None) is None
