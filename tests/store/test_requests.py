"""Requests from LiteLLM's callbacks, on both stores: idempotent writes and spend per attribute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from tests.store.backends import Backend
from watchdog.store import Store, StoreOptions
from watchdog.store.usage import RequestRecord, Spender

NOV = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
DEPARTMENT = "header:x-department"


def request(
    rid: str,
    cost: str,
    *,
    at: datetime = NOW - timedelta(hours=1),
    department: str | None = "engineering",
    **fields: Any,
) -> RequestRecord:
    """A request made with key ci-bot of team search on gpt-4o, unless told otherwise."""
    base: dict[str, Any] = {
        "model": "gpt-4o",
        "key_hash": "hash-ci-bot",
        "key_alias": "ci-bot",
        "team_id": "id-search",
        "team_alias": "search",
        "user_id": "ana",
        "prompt_tokens": 10,
        "completion_tokens": 20,
        "total_tokens": 30,
    }
    base.update(fields)
    headers = {"x-department": department} if department else {}
    return RequestRecord(
        id=rid, at=at, cost=Decimal(cost), headers=MappingProxyType(headers), **base
    )


WORLD = [
    request("r1", "1.10"),
    request("r2", "2.20", department="research", tags=("batch", "nightly")),
    request("r3", "0.000000001", department="research", model="gpt-4o-mini", tags=("batch",)),
    request("r4", "5", key_hash="hash-etl", key_alias="etl", team_id="id-data", team_alias="data"),
    request("r5", "7", at=NOV - timedelta(seconds=1)),  # last period
    request("r6", "3", at=NOW, department=None),  # at the end of the range: not counted
]


def spenders(found: list[Spender]) -> dict[str, Decimal]:
    return {s.value: s.spend for s in found}


async def test_a_retried_batch_is_stored_once(store: Store) -> None:
    """The same ids sent again (LiteLLM retrying) add nothing and change no total."""
    assert await store.record_requests(WORLD, received_at=NOW) == len(WORLD)
    assert await store.record_requests([*WORLD, request("r7", "1")], received_at=NOW) == 1
    total = await store.request_total(start=NOV, end=NOW)
    assert total == Decimal("9.300000001")


async def test_duplicates_inside_one_batch_count_once(store: Store) -> None:
    """A batch naming one id twice stores it once."""
    assert await store.record_requests([request("a", "1"), request("a", "1")], received_at=NOW) == 1
    assert await store.request_total(start=NOV, end=NOW) == Decimal(1)


@pytest.mark.parametrize(
    ("dimension", "expected"),
    [
        pytest.param(
            DEPARTMENT,
            {"engineering": Decimal("6.1"), "research": Decimal("2.200000001")},
            id="department-header-without-requests-lacking-it",
        ),
        pytest.param(
            "model", {"gpt-4o": Decimal("8.3"), "gpt-4o-mini": Decimal("1e-9")}, id="model"
        ),
        pytest.param(
            "tag", {"batch": Decimal("2.200000001"), "nightly": Decimal("2.2")}, id="tags"
        ),
        pytest.param("team", {"id-search": Decimal("3.300000001"), "id-data": 5}, id="team"),
        pytest.param("key", {"hash-ci-bot": Decimal("3.300000001"), "hash-etl": 5}, id="key"),
        pytest.param("end_user", {}, id="nobody-sent-an-end-user"),
    ],
)
async def test_spend_per_attribute_value_in_the_period(
    store: Store, dimension: str, expected: dict[str, Decimal]
) -> None:
    """Spend per value counts requests in [start, end) exactly, to the nano-dollar."""
    await store.record_requests(WORLD, received_at=NOW)
    found = await store.request_spend(dimension, start=NOV, end=NOW)
    assert spenders(found) == expected


async def test_top_spenders_within_one_team_come_largest_first_with_labels(
    store: Store,
) -> None:
    """Top keys of a team: ordered by spend, limited, named by their alias."""
    await store.record_requests(
        [
            request("a", "1", key_hash="h-small", key_alias="small"),
            request("b", "9", key_hash="h-big", key_alias="big"),
            request("c", "4", key_hash="h-mid", key_alias="mid"),
            request("d", "50", key_hash="h-other", key_alias="other", team_id="id-data"),
        ],
        received_at=NOW,
    )
    found = await store.request_spend(
        "key", start=NOV, end=NOW, within=("team", "id-search"), limit=2
    )
    assert [(s.value, s.label, s.spend, s.requests) for s in found] == [
        ("h-big", "big", Decimal(9), 1),
        ("h-mid", "mid", Decimal(4), 1),
    ]


async def test_total_within_an_attribute_value(store: Store) -> None:
    """What one department's requests cost, each request counted once whatever its tags."""
    await store.record_requests(WORLD, received_at=NOW)
    research = await store.request_total(start=NOV, end=NOW, within=(DEPARTMENT, "research"))
    assert research == Decimal("2.200000001")


async def test_stats_tell_how_far_the_stored_requests_reach(store: Store) -> None:
    """Empty at first; then the oldest request and the newest arrival."""
    empty = await store.request_stats()
    assert (empty.first_at, empty.last_received_at) == (None, None)
    await store.record_requests(WORLD[:2], received_at=NOW - timedelta(minutes=5))
    await store.record_requests(WORLD[4:5], received_at=NOW)
    stats = await store.request_stats()
    assert stats.first_at == NOV - timedelta(seconds=1)
    assert stats.last_received_at == NOW


async def test_pruning_drops_requests_past_their_retention(backend: Backend) -> None:
    """Requests older than request_retention go, with their attribute rows; newer ones stay."""
    store = await backend.open(StoreOptions(request_retention=timedelta(days=30)))
    try:
        await store.record_requests(
            [request("old", "1", at=NOW - timedelta(days=31)), request("new", "2")],
            received_at=NOW,
        )
        counts = await store.prune(now=NOW)
        remaining = await store.request_spend("model", start=NOW - timedelta(days=60), end=NOW)
    finally:
        await store.aclose()
    assert counts["requests"] == 1
    assert counts["request_dims"] >= 1
    assert spenders(remaining) == {"gpt-4o": Decimal(2)}
