"""Dimension budgets from stored requests, the callbacks source's health, and attribution in
alerts (from callbacks, or from LiteLLM's daily tables when callbacks do not cover the period)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.builders import NOW, request, rule, rules, run, snap, team
from watchdog.attribute import attribute
from watchdog.attribution import attribution_fields
from watchdog.callbacks.spend import Watch, unknown_dimensions, with_callbacks
from watchdog.decisions import Action, Decision, Reason
from watchdog.dimensions import DEFAULT_HEADERS, resolve
from watchdog.model import Entity, Scope
from watchdog.render import payload, render
from watchdog.sources.litellm_activity import Activity
from watchdog.store import StoreOptions
from watchdog.store.sqlite import SqliteStore
from watchdog.store.usage import RequestStats

NOV = datetime(2026, 11, 1, tzinfo=UTC)
OCT = datetime(2026, 10, 1, tzinfo=UTC)


WORLD = [
    request("oct-1", "100", OCT),  # last month, before the same point (callbacks began then)
    request("oct-2", "900", OCT + timedelta(days=25)),  # last month, after it
    request("nov-1", "1200", NOV + timedelta(days=2)),
    request("nov-2", "800", NOV + timedelta(days=5), key_hash="hash-etl", key_alias="etl"),
    request("nov-3", "300", NOV + timedelta(days=9), model="claude", tags=("batch",)),
    request("nov-4", "50", NOV + timedelta(days=9), department="research", team_id="id-ml"),
]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(str(tmp_path / "state.db"), options=StoreOptions())
    await opened.record_requests(WORLD, received_at=NOW)
    yield opened
    await opened.aclose()


DEPARTMENTS = rule(
    name="Departments",
    scope="dimension",
    dimension="department",
    match="*",
    amount=2000,
)


async def test_a_dimension_budget_counts_this_periods_requests_per_value(
    store: SqliteStore,
) -> None:
    ruleset = rules(DEPARTMENTS)
    seen = await with_callbacks(
        snap(),
        store=store,
        rules=ruleset,
        headers=DEFAULT_HEADERS,
        enabled=True,
        watch=Watch(),
        now=NOW,
    )
    assert dict(seen.queries["Departments"]) == {
        "engineering": Decimal("2300"),
        "research": Decimal("50"),
    }
    assert seen.sources["callbacks"].ok
    fired = [d for d in run(ruleset, seen) if d.action is Action.NOTIFY]
    assert [(d.alert.entity_id, d.reason) for d in fired] == [("engineering", Reason.FIRED)]


async def test_with_callbacks_off_dimension_budgets_say_why_they_have_no_data(
    store: SqliteStore,
) -> None:
    seen = await with_callbacks(
        snap(),
        store=store,
        rules=rules(DEPARTMENTS),
        headers=DEFAULT_HEADERS,
        enabled=False,
        watch=Watch(),
        now=NOW,
    )
    status = seen.sources["callbacks"]
    assert not status.ok
    assert status.error is not None
    assert "http.callback_token" in status.error


def test_stalled_callbacks_are_noticed_only_while_litellm_spend_grows() -> None:
    watch = Watch()
    stats = RequestStats(first_at=NOV, last_received_at=NOW)
    assert watch.judge(stats, Decimal(100), NOW, timedelta(minutes=5)) == ""
    later = NOW + timedelta(minutes=20)
    assert watch.judge(stats, Decimal(100), later, timedelta(minutes=5)) == ""  # all quiet
    problem = watch.judge(stats, Decimal(130), later, timedelta(minutes=5))
    assert "no callback from LiteLLM for 20 min while its spend grew by $30.00" in problem
    fresh = RequestStats(first_at=NOV, last_received_at=later)
    assert watch.judge(fresh, Decimal(140), later, timedelta(minutes=5)) == ""


def test_a_dimension_names_a_kept_header_or_a_builtin_attribute() -> None:
    assert resolve("department", DEFAULT_HEADERS) == "header:x-department"
    assert resolve("X-OpenWebUI-User-Email", DEFAULT_HEADERS) == "header:x-openwebui-user-email"
    assert resolve("customer", DEFAULT_HEADERS) == "end_user"
    assert resolve("cost-centre", DEFAULT_HEADERS) is None
    odd = rules(rule(name="Cost centres", scope="dimension", dimension="cost-centre", match="*"))
    ((bad, message),) = unknown_dimensions(odd, DEFAULT_HEADERS)
    assert bad.name == "Cost centres"
    assert "department" in message
    assert "http.callback_headers" in message


def _team_alert() -> list[Decision]:
    engineering = team(4600, name="engineering", created_at=NOV)
    decisions = run(rules(rule(alert_at=["90%"])), snap(engineering))
    notices = [d for d in decisions if d.action is Action.NOTIFY]
    assert notices
    return notices


async def test_a_team_alert_says_who_spent_and_how_last_month_compares(
    store: SqliteStore,
) -> None:
    (decision,) = await attribute(
        _team_alert(), store=store, rules=rules(rule()), headers=DEFAULT_HEADERS, now=NOW
    )
    a = decision.alert.attribution
    assert a is not None
    assert a.source == "callbacks"
    assert a.spend == Decimal("2300")
    assert [(c.name, c.spend) for c in a.top["keys"]] == [
        ("ci-bot", Decimal("1500")),
        ("etl", Decimal("800")),
    ]
    assert [c.name for c in a.top["models"]] == ["gpt-4o", "claude"]
    assert [c.name for c in a.top["tags"]] == ["batch"]
    assert a.previous == Decimal("100")  # October 1st to 18th, noon
    fields = dict(attribution_fields(a))
    assert fields["Top keys"] == "ci-bot $1,500.00 · etl $800.00"
    assert fields["vs last month"] == "+2200% ($100.00 by this point last month)"
    body = payload(decision, "warning")
    assert body["attribution"]["previous_period"]["label"] == "last month"
    assert body["attribution"]["top"]["keys"][0] == {
        "name": "ci-bot",
        "id": "hash-ci-bot",
        "spend": 1500.0,
    }
    message = render(decision)
    assert ("Top keys", "ci-bot $1,500.00 · etl $800.00") in message.fields
    assert "Top keys" in message.body


async def test_no_comparison_when_the_requests_begin_after_last_period_began(
    tmp_path: Path,
) -> None:
    store = await SqliteStore.open(str(tmp_path / "late.db"), options=StoreOptions())
    try:
        await store.record_requests(WORLD[2:], received_at=NOW)  # November only
        (decision,) = await attribute(
            _team_alert(), store=store, rules=rules(rule()), headers=DEFAULT_HEADERS, now=NOW
        )
    finally:
        await store.aclose()
    a = decision.alert.attribution
    assert a is not None
    assert a.previous is None
    assert "vs last month" not in dict(attribution_fields(a))


class Tables:
    """LiteLLM's daily activity, as watchdog.sources.litellm_activity reads it."""

    def __init__(self) -> None:
        self.asked: list[tuple[str | None, date, date]] = []

    async def read(self, *, team_id: str | None, first: date, last: date) -> Activity:
        self.asked.append((team_id, first, last))
        return Activity(
            spend=Decimal("4600"),
            keys={"hash-ci-bot": Decimal("4000"), "hash-etl": Decimal("600")},
            key_aliases={"hash-ci-bot": "ci-bot"},
            models={"gpt-4o": Decimal("4600")},
        )

    async def total(self, *, team_id: str | None, first: date, last: date) -> Decimal:
        self.asked.append((team_id, first, last))
        return Decimal("2300")


async def test_without_callbacks_for_the_period_litellms_daily_tables_are_used(
    tmp_path: Path,
) -> None:
    tables = Tables()
    store = await SqliteStore.open(str(tmp_path / "late.db"), options=StoreOptions())
    try:
        await store.record_requests(WORLD[3:], received_at=NOW)  # from November 6th only
        (decision,) = await attribute(
            _team_alert(),
            store=store,
            rules=rules(rule()),
            headers=DEFAULT_HEADERS,
            now=NOW,
            activity=tables,
        )
    finally:
        await store.aclose()
    a = decision.alert.attribution
    assert a is not None
    assert a.source == "litellm daily activity"
    assert a.whole_days
    assert [c.name for c in a.top["keys"]] == ["ci-bot", "key …sh-etl"]  # no alias known
    assert a.change == Decimal(1)  # $4,600 against $2,300 by the same day of October
    assert tables.asked == [
        ("id-engineering", date(2026, 11, 1), date(2026, 11, 18)),
        ("id-engineering", date(2026, 10, 1), date(2026, 10, 18)),
    ]


async def test_only_firing_team_global_and_dimension_alerts_are_attributed(
    store: SqliteStore,
) -> None:
    ci = Entity(
        scope=Scope.KEY,
        id="hash-ci-bot",
        spend=Decimal(90),
        name="ci-bot",
        names=("ci-bot",),
        created_at=NOV,
    )
    decisions = run(
        rules(rule(scope="key", match="ci-bot", amount=100, alert_at=["50%"])), snap(ci)
    )
    notices = [d for d in decisions if d.action is Action.NOTIFY]
    assert notices
    out = await attribute(notices, store=store, rules=rules(), headers=(), now=NOW)
    assert all(d.alert.attribution is None for d in out)
