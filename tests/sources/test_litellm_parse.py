"""LiteLLM's responses become entities exactly, quirks included (from the real fixtures)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.sources.fake_litellm import LITELLM
from watchdog.model import EMPTY, Entity, Scope
from watchdog.sources import litellm_parse as parse


def load(name: str) -> Any:
    """A fixture read the way the source reads responses: floats as exact Decimals."""
    return json.loads((LITELLM / name).read_text(), parse_float=Decimal)


def by_name(rows: list[dict[str, Any]], field: str, value: str) -> dict[str, Any]:
    return next(r for r in rows if r.get(field) == value)


KEYS = load("key_list__return_full_object.json")["keys"]
TEAMS = load("v2_team_list.json")["teams"]
USERS = load("user_list.json")["users"]
CUSTOMERS = load("customer_list.json")


def key(alias: str) -> Entity:
    entity = parse.key(by_name(KEYS, "key_alias", alias))
    assert entity is not None
    return entity


def team(alias: str) -> Entity:
    entity = parse.team(by_name(TEAMS, "team_alias", alias))
    assert entity is not None
    return entity


@pytest.mark.parametrize(
    ("entity", "field", "expected"),
    [
        pytest.param(
            lambda: team("team-alpha"),
            "spend",
            Decimal("0.05384000000000001"),
            id="float noise is kept digit for digit",
        ),
        pytest.param(lambda: key("plain-no-budget"), "max_budget", None, id="null budget: none"),
        pytest.param(lambda: key("tiny-budget"), "max_budget", Decimal("0.0005"), id="key budget"),
        pytest.param(
            lambda: key("alice-alpha"),
            "soft_budget",
            Decimal("0.0005"),
            id="key soft budget from litellm_budget_table",
        ),
        pytest.param(lambda: team("team-beta"), "soft_budget", Decimal("0.01"), id="team soft"),
        pytest.param(
            lambda: parse.proxy(load("global_spend.json")),
            "max_budget",
            None,
            id="/global/spend 0.0 means no proxy budget",
        ),
        pytest.param(
            lambda: parse.customer(by_name(CUSTOMERS, "user_id", "cust-acme")),
            "max_budget",
            Decimal("0.003"),
            id="customer budget from its budget row",
        ),
        pytest.param(
            lambda: key("beta-team-key"),
            "team_id",
            "3a4ec7aa-ead1-4bdf-8780-c91818038374",
            id="key's team",
        ),
        pytest.param(lambda: key("bob"), "blocked", False, id="blocked null is not blocked"),
        pytest.param(lambda: key("bob"), "masked_key", "sk-...wQ3A", id="masked key as LiteLLM"),
        pytest.param(
            lambda: parse.user(by_name(USERS, "user_id", "user-carol")),
            "teams",
            frozenset({"f0742d1b-90e1-4e0d-8880-bc492a0e07a4"}),
            id="user's teams",
        ),
        pytest.param(
            lambda: parse.user(by_name(USERS, "user_id", "user-bob")),
            "name",
            "user-bob@example.test",
            id="user without alias is named by email",
        ),
    ],
)
def test_fields_read_from_the_real_responses(entity: Any, field: str, expected: object) -> None:
    """Each quirk of the real responses lands in the right entity field."""
    assert getattr(entity(), field) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            "2026-11-22T17:18:00+00:00", datetime(2026, 11, 22, 17, 18, tzinfo=UTC), id="keys"
        ),
        pytest.param("2026-12-01T00:00:00Z", datetime(2026, 12, 1, tzinfo=UTC), id="teams"),
        pytest.param(
            "2026-11-23T17:17:01.339000Z",
            datetime(2026, 11, 23, 17, 17, 1, 339000, tzinfo=UTC),
            id="customers with micros",
        ),
        pytest.param("2026-11-23T00:00:00", datetime(2026, 11, 23, tzinfo=UTC), id="naive is UTC"),
        pytest.param(None, None, id="no budget_duration"),
        pytest.param("soon", None, id="unreadable"),
    ],
)
def test_reset_times_in_every_format(raw: object, expected: datetime | None) -> None:
    """The three budget_reset_at formats LiteLLM writes all parse to the same instant type."""
    assert parse.parse_time(raw) == expected


def test_key_list_and_key_info_agree() -> None:
    """A key's budget_reset_at reads the same from /key/list ("Z") and /key/info ("+00:00")."""
    info = load("key_info__budget_duration_60s.json")["info"]
    listed = key("resets-every-60s")
    assert parse.parse_time(info["budget_reset_at"]) == listed.budget_reset_at


@pytest.mark.parametrize(
    ("build", "row"),
    [
        pytest.param(parse.key, {"key_alias": "no token"}, id="key without token"),
        pytest.param(parse.team, {"team_alias": "no id"}, id="team without id"),
        pytest.param(parse.user, {"user_email": "a@b"}, id="user without id"),
        pytest.param(parse.customer, {"alias": "x"}, id="customer without id"),
        pytest.param(parse.tag, {"total_spend": 1}, id="tag without name"),
    ],
)
def test_rows_without_an_id_are_skipped(build: Any, row: dict[str, Any]) -> None:
    """A row LiteLLM sends without its identifier yields no entity rather than a guess."""
    assert build(row) is None


def test_keys_get_their_team_alias() -> None:
    """/key/list carries team_id only; the alias comes from the team list."""
    keys = [k for row in KEYS if (k := parse.key(row))]
    teams = [t for row in TEAMS if (t := parse.team(row))]
    joined = {k.name: k.team_name for k in parse.join_team_names(keys, teams)}
    assert joined["alice-alpha"] == "team-alpha"
    assert joined["beta-team-key"] == "team-beta"
    assert joined["bob"] is None


def test_tags_carry_all_time_spend() -> None:
    """/spend/tags rows become tag entities, automatic User-Agent tags included."""
    tags = {t.id: t.spend for row in load("spend_tags.json") if (t := parse.tag(row))}
    assert tags["master-tag"] == Decimal("0.0014000000000000002")
    assert "User-Agent: python-httpx" in tags


def test_daily_totals_sum_per_day_and_skip_bad_dates() -> None:
    """/global/spend/logs rows add up per UTC day; rows without a date are ignored."""
    rows = [
        *load("global_spend_logs.json"),
        {"date": "2026-11-22", "spend": Decimal("0.1")},
        {"date": "yesterday", "spend": Decimal("5")},
    ]
    series = parse.daily_totals(rows, start=date(2026, 10, 23))
    assert dict(series.days) == {date(2026, 11, 22): Decimal("0.61277")}


def test_metadata_stays_plain_json() -> None:
    """Metadata numbers read as Decimal come back as plain JSON numbers (it is not money)."""
    row = {"team_id": "t", "metadata": {"cost_center": "cc-100", "weight": Decimal("0.5")}}
    entity = parse.team(row)
    assert entity is not None
    assert dict(entity.metadata) == {"cost_center": "cc-100", "weight": 0.5}
    assert json.dumps(dict(entity.metadata))


@pytest.mark.parametrize(
    ("key_name", "expected"),
    [
        pytest.param("sk-...abcd", "sk-...abcd", id="already masked"),
        pytest.param("sk-1234567890abcdef", "sk-...cdef", id="a full key is cut to its tail"),
    ],
)
def test_masked_key_never_holds_more_than_four_characters(key_name: str, expected: str) -> None:
    """Whatever LiteLLM puts in key_name, only its last four characters are kept."""
    entity = parse.key({"token": "t", "key_name": key_name})
    assert entity is not None
    assert entity.masked_key == expected
    assert entity.scope is Scope.KEY


def test_settled_keeps_the_known_entity_only_when_nothing_changed() -> None:
    """`settled` answers last read's object for a row that says the same, else the new one."""
    row = next(r for r in KEYS if r.get("team_id"))
    parsed = parse.key(row)
    assert parsed is not None
    known = parse.join_team_names([parsed], [t for r in TEAMS if (t := parse.team(r))])[0]
    assert known is not None
    assert known.team_name is not None
    again = parse.key(row)  # the key list carries no team alias: joined from the team list
    assert again is not None
    assert again.team_name is None
    assert parse.settled(again, known) is known
    assert parse.settled(again, None) is again
    spent = parse.key({**row, "spend": float(row["spend"]) + 1})
    assert spent is not None
    assert parse.settled(spent, known) == spent
    other_alias = parse.key({**row, "team_alias": "someone-else"})
    assert other_alias is not None
    assert parse.settled(other_alias, known) == other_alias


def test_a_changed_entity_keeps_the_known_id_and_equal_texts() -> None:
    """A changed row builds a new entity that holds the strings the known one holds where
    they are equal: the store keys its history and suppressions by the first id string."""
    row = {"token": "h" * 64, "key_alias": "ci-bot", "key_name": "sk-...abcd", "spend": 1.5}
    known = parse.key(row)
    assert known is not None
    spent = parse.key({**json.loads(json.dumps(row)), "spend": 2.5})  # strings of its own
    assert spent is not None
    assert spent.id is not known.id
    assert spent.id == known.id
    found = parse.settled(spent, known)
    assert found == spent
    assert found is not known
    assert found.spend == Decimal("2.5")
    assert found.id is known.id
    assert found.names is known.names
    assert found.name is known.name
    assert found.masked_key is known.masked_key
    renamed = parse.key({**json.loads(json.dumps(row)), "key_alias": "ci-robot", "spend": 3})
    assert renamed is not None
    assert renamed.id is not known.id
    found = parse.settled(renamed, known)
    assert found == renamed
    assert found.id is known.id
    assert found.names[0] is known.id
    assert found.names[1:] == ("ci-robot", "sk-...abcd")


def test_a_renamed_team_renames_its_keys_and_a_missing_team_leaves_them() -> None:
    """The team list's alias wins over a key's; a team the list lacks leaves the key as is."""
    key = parse.key({"token": "h1", "team_id": "t1", "team_alias": "old"})
    assert key is not None
    renamed = parse.team({"team_id": "t1", "team_alias": "new"})
    assert renamed is not None
    assert parse.join_team_names([key], [renamed])[0].team_name == "new"
    assert parse.join_team_names([key], [])[0].team_name == "old"


@pytest.mark.parametrize("budget", [100.0, Decimal("100.0")], ids=["float", "as JsonApi reads"])
def test_repeated_values_are_shared_and_names_kept_once_in_order(budget: object) -> None:
    """Budgets and reset times many entities repeat are one object each; empty metadata is
    the shared empty mapping; an entity's names are each listed once, id first."""
    rows = [
        {"team_id": f"t{i}", "max_budget": budget, "budget_reset_at": "2026-12-01T00:00:00Z"}
        for i in range(3)
    ]
    teams = [t for r in rows if (t := parse.team(r))]
    assert len({id(t.max_budget) for t in teams}) == 1
    assert str(teams[0].max_budget) == "100.0"  # as written
    hundred = parse.team({"team_id": "h", "max_budget": Decimal(100)})
    assert hundred is not None
    assert str(hundred.max_budget) == "100"  # an equal amount written otherwise stays apart
    assert len({id(t.budget_reset_at) for t in teams}) == 1
    assert all(t.metadata is EMPTY for t in teams)
    same = parse.team({"team_id": "eng", "team_alias": "eng"})
    assert same is not None
    assert same.names == ("eng",)
    both = parse.key({"token": "h", "key_alias": "ci", "key_name": "sk-...abcd"})
    assert both is not None
    assert both.names == ("h", "ci", "sk-...abcd")


def test_metadata_and_team_sets_that_entities_repeat_are_shared() -> None:
    """Flat metadata many keys repeat (an owner, a cost centre) and a team set many users
    repeat are one object each; values of other types or nested metadata stay their own."""
    owned = [parse.key({"token": f"h{i}", "metadata": {"owner": "ops", "tier": 1}}) for i in "ab"]
    first, second = (k for k in owned if k is not None)
    assert first.metadata is second.metadata
    assert dict(first.metadata) == {"owner": "ops", "tier": 1}
    flagged = parse.key({"token": "h", "metadata": {"owner": "ops", "tier": True}})
    assert flagged is not None
    assert flagged.metadata["tier"] is True  # equal to 1, but not the same metadata
    rows = [{"token": f"n{i}", "metadata": {"tags": ["a"], "spend": Decimal("0.5")}} for i in "ab"]
    nested = [k.metadata for r in rows if (k := parse.key(r))]
    assert nested[0] == nested[1] == {"tags": ["a"], "spend": 0.5}
    assert nested[0] is not nested[1]
    users = [parse.user({"user_id": f"u{i}", "teams": ["t1", "t2"]}) for i in "ab"]
    assert users[0] is not None
    assert users[1] is not None
    assert users[0].teams is users[1].teams == frozenset({"t1", "t2"})
