"""Dimension budgets from the stored callbacks (on both stores), the "callbacks" source's
health, and the attribute names a rule may use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from tests.builders import NOW, run, snap
from watchdog.callbacks.spend import NOT_ENABLED, SOURCE, Watch, unknown_dimensions, with_callbacks
from watchdog.decisions import Action, Reason
from watchdog.dimensions import DEFAULT_HEADERS, accepted, resolve, title
from watchdog.model import Entity, Scope, Snapshot
from watchdog.rule_files import parse_rules
from watchdog.rules import Routing, RuleSet
from watchdog.store import Store
from watchdog.store.usage import RequestRecord, RequestStats

NOV = datetime(2026, 11, 1, tzinfo=UTC)
MONDAY = datetime(2026, 11, 16, tzinfo=UTC)
"""The week NOW (Wednesday 18 November) falls in began then."""
RULES = """
budgets:
  - name: Departments
    scope: dimension
    dimension: department
    match: "*"
    amount: 2000
    alert_at: [100%]
  - name: Chatbot weekly
    scope: dimension
    dimension: X-Agent
    match: chatbot
    amount: 100
    period: weekly
  - name: Models
    scope: dimension
    dimension: model
    match: "*"
    amount: 100000
  - name: Customers
    scope: dimension
    dimension: customer
    match: "*"
    amount: 100000
  - name: Cost centres
    scope: dimension
    dimension: cost-centre
    match: "*"
    amount: 10
  - name: Engineering
    scope: team
    match: engineering
    amount: 5000
"""


def ruleset(text: str = RULES) -> RuleSet:
    """Rules as finance writes them, loaded and validated like `check` does."""
    found, problems = parse_rules(text, "rules.yaml")
    assert problems == []
    return RuleSet(rules=tuple(r for r, _ in found), routing=Routing(default=("eng-slack",)))


def request(rid: str, cost: str, at: datetime, **headers: str) -> RequestRecord:
    fields: dict[str, Any] = {"model": headers.pop("model", "gpt-4o")}
    if "customer" in headers:
        fields["end_user"] = headers.pop("customer")
    return RequestRecord(
        id=rid,
        at=at,
        cost=Decimal(cost),
        headers=MappingProxyType({f"x-{k}": v for k, v in headers.items()}),
        **fields,
    )


WORLD = [
    request("oct", "5000", NOV - timedelta(seconds=1), department="engineering", agent="chatbot"),
    request("n1", "1500", NOV, department="engineering"),
    request("n2", "600.000000001", NOV + timedelta(days=3), department="engineering"),
    request("n3", "50", MONDAY - timedelta(seconds=1), department="research", agent="chatbot"),
    request("n4", "70", MONDAY, department="research", agent="chatbot", model="claude"),
    request("n5", "40", NOW - timedelta(minutes=1), agent="chatbot", customer="acme"),
    request("n6", "30", NOW - timedelta(minutes=1), agent="summariser"),
]
RECEIVED = NOW - timedelta(minutes=2)


async def _cycle(
    store: Store,
    snapshot: Snapshot | None = None,
    *,
    enabled: bool = True,
    watch: Watch | None = None,
    now: datetime = NOW,
    rules: RuleSet | None = None,
) -> Snapshot:
    return await with_callbacks(
        snapshot or snap(at=now),
        store=store,
        rules=rules or ruleset(),
        headers=DEFAULT_HEADERS,
        enabled=enabled,
        watch=watch or Watch(),
        now=now,
    )


async def test_each_dimension_rule_gets_spend_per_value_in_its_own_period(store: Store) -> None:
    """Monthly and weekly rules count only their current period's requests, exactly."""
    await store.record_requests(WORLD, received_at=RECEIVED)
    seen = await _cycle(store)
    queries = {name: dict(values) for name, values in seen.queries.items()}
    assert queries == {
        "Departments": {
            "engineering": Decimal("2100.000000001"),
            "research": Decimal("120"),
        },
        "Chatbot weekly": {"chatbot": Decimal("110"), "summariser": Decimal("30")},
        "Models": {"gpt-4o": Decimal("2220.000000001"), "claude": Decimal("70")},
        "Customers": {"acme": Decimal("40")},
    }  # no query for the unknown attribute, none for the team budget
    status = seen.sources[SOURCE]
    assert (status.ok, status.error, status.data_as_of) == (True, None, NOW)
    assert seen.sources["litellm"].ok  # the other sources are kept


async def test_a_dimension_budget_over_its_amount_fires(store: Store) -> None:
    """evaluate sees the values as budgets: engineering over $2,000 fires, research does not;
    the weekly chatbot budget is over too."""
    await store.record_requests(WORLD, received_at=RECEIVED)
    rules = ruleset()
    decisions = run(rules, await _cycle(store, rules=rules))
    fired = sorted(
        (d.alert.rule, d.alert.entity_id, d.reason)
        for d in decisions
        if d.action is Action.NOTIFY and d.alert.scope is Scope.DIMENSION
    )
    assert fired == [
        ("Chatbot weekly", "chatbot", Reason.FIRED),
        ("Departments", "engineering", Reason.FIRED),
    ]
    (engineering,) = [d for d in decisions if d.alert.entity_id == "engineering"]
    assert engineering.alert.spend == Decimal("2100.000000001")


async def test_with_no_requests_the_source_is_fine_and_budgets_are_empty(store: Store) -> None:
    """A proxy with no traffic yet: nothing to count, nothing wrong."""
    seen = await _cycle(store)
    assert seen.sources[SOURCE].ok
    assert all(dict(values) == {} for values in seen.queries.values())
    assert not [d for d in run(ruleset(), seen) if d.action is Action.NOTIFY]


async def test_with_callbacks_off_dimension_budgets_say_why_they_have_no_data(
    store: Store,
) -> None:
    """No token: the "callbacks" source is down with how to turn it on, and a meta alert says so."""
    await store.record_requests(WORLD, received_at=RECEIVED)
    seen = await _cycle(store, enabled=False)
    status = seen.sources[SOURCE]
    assert (status.ok, status.data_as_of, status.error) == (False, None, NOT_ENABLED)
    assert "http.callback_token" in NOT_ENABLED
    assert dict(seen.queries) == {}
    decisions = run(ruleset(), seen)
    assert [(d.alert.entity_id, d.reason) for d in decisions if d.action is Action.NOTIFY] == [
        (SOURCE, Reason.SOURCE_DOWN)
    ]


async def test_off_and_without_dimension_rules_nothing_changes(store: Store) -> None:
    """Callbacks off and no rule needing them: the snapshot is returned as it was."""
    before = snap()
    teams_only = ruleset("budgets:\n  - {name: T, scope: team, match: a, amount: 1}\n")
    assert await _cycle(store, before, enabled=False, rules=teams_only) is before


async def test_on_without_dimension_rules_the_source_is_still_watched(store: Store) -> None:
    """Callbacks on feed attribution even without dimension budgets, so their health shows."""
    teams_only = ruleset("budgets:\n  - {name: T, scope: team, match: a, amount: 1}\n")
    seen = await _cycle(store, rules=teams_only)
    assert dict(seen.queries) == {}
    assert seen.sources[SOURCE].ok


async def test_a_store_that_fails_marks_the_source_down(store: Store) -> None:
    """The store's error becomes the source's error; no stale figures are kept."""
    watch = Watch()
    await _cycle(store, watch=watch)
    await store.aclose()
    seen = await _cycle(store, watch=watch, now=NOW + timedelta(minutes=1))
    status = seen.sources[SOURCE]
    assert not status.ok
    assert status.error
    assert status.data_as_of == NOW  # when the store last answered
    assert dict(seen.queries) == {}


def _proxy(spend: str, at: datetime) -> Snapshot:
    """LiteLLM's proxy-wide spend as its source read it at `at`."""
    proxy = Entity(scope=Scope.GLOBAL, id="litellm", spend=Decimal(spend), name="proxy")
    return snap(proxy, at=at)


async def test_stalled_callbacks_make_dimension_budgets_stale(store: Store) -> None:
    """No batch for longer than stale_after while LiteLLM's spend grows: the source is
    stalled, one "source unavailable" alert is sent, and dimension budgets do not fire."""
    await store.record_requests(WORLD, received_at=RECEIVED)
    rules, watch = ruleset(), Watch()
    first = await _cycle(store, _proxy("100", NOW), watch=watch, rules=rules)
    assert first.sources[SOURCE].ok
    later = NOW + timedelta(minutes=20)
    seen = await _cycle(store, _proxy("130", later), watch=watch, now=later, rules=rules)
    status = seen.sources[SOURCE]
    assert not status.ok
    assert status.error is not None
    assert "no callback from LiteLLM for 20 min while its spend grew by $30.00" in status.error
    assert status.data_as_of == RECEIVED
    sent = [
        (d.alert.entity_id, d.reason)
        for d in run(rules, seen, now=later)
        if d.action is Action.NOTIFY
    ]
    assert sent == [(SOURCE, Reason.SOURCE_DOWN)]
    await store.record_requests(
        [request("n7", "1", later, department="research")], received_at=later
    )
    back = await _cycle(store, _proxy("131", later), watch=watch, now=later, rules=rules)
    assert back.sources[SOURCE].ok


async def test_a_quiet_proxy_is_not_a_stalled_pipe(store: Store) -> None:
    """No batch for an hour, but LiteLLM's spend did not grow either: all is well."""
    await store.record_requests(WORLD, received_at=RECEIVED)
    watch = Watch()
    await _cycle(store, _proxy("100", NOW), watch=watch)
    later = NOW + timedelta(hours=1)
    assert (await _cycle(store, _proxy("100", later), watch=watch, now=later)).sources[SOURCE].ok


STALE = timedelta(minutes=5)
ARRIVED = RequestStats(first_at=NOV, last_received_at=NOW)


@pytest.mark.parametrize(
    ("steps", "stalled"),
    [
        pytest.param([(0, "100", ARRIVED), (20, "100", ARRIVED)], False, id="quiet proxy"),
        pytest.param([(0, "100", ARRIVED), (20, "130", ARRIVED)], True, id="spend grew"),
        pytest.param([(0, "100", ARRIVED), (4, "130", ARRIVED)], False, id="within stale_after"),
        pytest.param([(0, "100", ARRIVED), (5, "130", ARRIVED)], False, id="exactly stale_after"),
        pytest.param(
            [(0, "100", ARRIVED), (20, "130", RequestStats(NOV, NOW + timedelta(minutes=19)))],
            False,
            id="a new batch arrived",
        ),
        pytest.param([(0, "100", ARRIVED), (20, None, ARRIVED)], False, id="spend unknown"),
        pytest.param(
            [(0, None, ARRIVED), (10, "100", ARRIVED), (20, "130", ARRIVED)],
            True,
            id="first spend reading later",
        ),
        pytest.param(
            [(0, "900", ARRIVED), (20, "10", ARRIVED)], False, id="LiteLLM's total started over"
        ),
        pytest.param(
            [(0, "900", ARRIVED), (20, "10", ARRIVED), (40, "50", ARRIVED)],
            True,
            id="growing again after starting over",
        ),
        pytest.param(
            [(0, "100", RequestStats(None, None)), (20, "130", RequestStats(None, None))],
            True,
            id="never any callback",
        ),
    ],
)
def test_stalled_callbacks_are_noticed_only_while_litellm_spend_grows(
    steps: list[tuple[int, str | None, RequestStats]], stalled: bool
) -> None:
    """Watch.judge, cycle by cycle: (minutes after NOW, LiteLLM spend, stored stats)."""
    watch = Watch()
    said = [
        watch.judge(
            stats, None if spend is None else Decimal(spend), NOW + timedelta(minutes=m), STALE
        )
        for m, spend, stats in steps
    ]
    assert all(s == "" for s in said[:-1])
    assert bool(said[-1]) is stalled
    if stalled:
        assert "is its generic_api logger pointed at /callbacks/litellm" in said[-1]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("department", "header:x-department", id="header without X-"),
        pytest.param("X-Department", "header:x-department", id="header by full name"),
        pytest.param(" x-AGENT ", "header:x-agent", id="any case and spaces"),
        pytest.param("openwebui-user-email", "header:x-openwebui-user-email", id="dashes"),
        pytest.param("openwebui_user_email", "header:x-openwebui-user-email", id="underscores"),
        pytest.param("X-OpenWebUI-User-Email", "header:x-openwebui-user-email", id="long name"),
        pytest.param("customer", "end_user", id="customer is the end user"),
        pytest.param("end-user", "end_user", id="end-user"),
        pytest.param("tags", "tag", id="tags"),
        pytest.param("api_key", "key", id="api_key"),
        pytest.param("model", "model", id="model"),
        pytest.param("team", "team", id="team is LiteLLM's team, not the X-Team header"),
        pytest.param("x-team", "header:x-team", id="the X-Team header by its full name"),
        pytest.param("cost-centre", None, id="unknown"),
        pytest.param("", None, id="empty"),
    ],
)
def test_a_dimension_names_a_kept_header_or_a_builtin_attribute(
    name: str, expected: str | None
) -> None:
    """resolve: built-in names first, then the configured headers."""
    assert resolve(name, DEFAULT_HEADERS) == expected


def test_the_accepted_names_and_titles_read_as_people_write_them() -> None:
    """Error messages list what may be used; stored keys are shown as header names."""
    assert accepted(DEFAULT_HEADERS) == (
        "model, key, team, user, end_user, tag, department, agent, openwebui-user-id, "
        "openwebui-user-email, X-Team"
    )
    assert title("header:x-openwebui-user-email") == "X-Openwebui-User-Email"
    assert title("header:x-department") == "X-Department"
    assert title("end_user") == "end user"


def test_rules_naming_an_unknown_attribute_are_reported_with_the_fix() -> None:
    """Only the unknown one, naming what is accepted and where to add a header."""
    ((bad, message),) = unknown_dimensions(ruleset(), DEFAULT_HEADERS)
    assert bad.name == "Cost centres"
    assert message.startswith("dimension: unknown attribute 'cost-centre'; use one of model, key")
    assert "http.callback_headers" in message
    assert unknown_dimensions(ruleset(), (*DEFAULT_HEADERS, "X-Cost-Centre")) == []
