"""LiteLLM's generic_api callback bodies, read from the captured ones: what is kept, never
what was said."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from watchdog.callbacks.payload import MAX_TAGS, MAX_TEXT, PayloadError, parse_batch
from watchdog.dimensions import DEFAULT_HEADERS
from watchdog.store.usage import RequestRecord

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "litellm"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BATCH = "callback_generic_api__batch.json"
SUCCESS = "callback_generic_api__success_item.json"
FAILURE = "callback_generic_api__failure_item.json"
ALPHA = "f0742d1b-90e1-4e0d-8880-bc492a0e07a4"
"""team-alpha's id on the proxy the fixtures were captured from."""
AGENT = ("User-Agent: python-httpx", "User-Agent: python-httpx/0.28.1")
"""Tags LiteLLM adds on its own from the client's User-Agent."""


def _raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _batch() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(_raw(BATCH))
    return items


def _one(item: dict[str, Any], headers: tuple[str, ...] = ()) -> RequestRecord:
    (record,) = parse_batch(json.dumps(item).encode(), headers=headers, received=NOW).records
    return record


def test_every_item_of_a_real_batch_is_read_with_its_cost_and_owner() -> None:
    """Each item of the captured batch becomes one record, in order, with its owner."""
    items = _batch()
    batch = parse_batch(_raw(BATCH), headers=(), received=NOW)
    assert batch.skipped == []
    assert [r.id for r in batch.records] == [i["id"] for i in items]
    for record, item in zip(batch.records, items, strict=True):
        meta = item["metadata"]
        assert record.cost == Decimal(str(item["response_cost"] or 0)).quantize(Decimal("1e-9"))
        assert record.key_hash == meta.get("user_api_key_hash")
        assert record.key_alias == meta.get("user_api_key_alias")
        assert record.team_id == meta.get("user_api_key_team_id")
        assert record.at == datetime.fromtimestamp(item["endTime"], UTC)
        assert record.status == item["status"]
        assert record.model == item["model_group"]


def test_the_captured_success_item_is_read_field_by_field() -> None:
    """One successful request: time, cost, tokens, model group, key, team, user and tags."""
    batch = parse_batch(_raw(SUCCESS), headers=DEFAULT_HEADERS, received=NOW)
    assert batch.skipped == []
    assert batch.records == [
        RequestRecord(
            id="chatcmpl-8680f427-edbf-4989-9f55-52317c9d1b15",
            at=datetime(2026, 11, 22, 17, 17, 2, 86267, tzinfo=UTC),
            cost=Decimal("0.00071"),
            status="success",
            model="mock-gpt-4o",
            prompt_tokens=11,
            completion_tokens=20,
            total_tokens=31,
            key_hash="7ad1de5d02ffbaf105dd3884a9b3dd31ccd74163bb0688c8da8d95622a92d4a5",
            key_alias="alice-alpha",
            team_id=ALPHA,
            team_alias="team-alpha",
            user_id="user-alice",
            end_user=None,
            tags=("proj-x", "env-test", "meta-tag-alice", *AGENT),
            headers=MappingProxyType({}),
        )
    ]


def test_a_failure_costs_nothing_and_is_kept_as_a_failure() -> None:
    """A request LiteLLM refused (over budget) is kept, at no cost and no tokens."""
    batch = parse_batch(_raw(FAILURE), headers=(), received=NOW)
    (record,) = batch.records
    assert record.id == "251c8f48-6f64-4ee4-bc12-1a17034ad954"
    assert record.status == "failure"
    assert record.cost == Decimal(0)
    assert (record.prompt_tokens, record.completion_tokens, record.total_tokens) == (0, 0, 0)
    assert (record.model, record.key_alias, record.user_id) == (
        "mock-expensive",
        "carol-alpha",
        "user-carol",
    )


@pytest.mark.parametrize(
    ("rid", "cost"),
    [
        pytest.param("chatcmpl-80e8917d", "0.051", id="0.051000000000000004"),
        pytest.param("chatcmpl-2a920236", "0.108", id="0.10800000000000001"),
        pytest.param("chatcmpl-6a0f5b51", "0.0007", id="0.0007000000000000001"),
        pytest.param("chatcmpl-8680f427", "0.00071", id="0.00071"),
        pytest.param("251c8f48", "0", id="failure 0.0"),
    ],
)
def test_float_costs_are_read_exactly_to_the_nano_dollar(rid: str, cost: str) -> None:
    """LiteLLM's float noise is cut at the nano-dollar, never rounded through a float."""
    records = parse_batch(_raw(BATCH), headers=(), received=NOW).records
    (record,) = [r for r in records if r.id.startswith(rid)]
    assert record.cost == Decimal(cost)
    assert record.cost.as_tuple().exponent == -9


def test_the_batchs_total_is_exact() -> None:
    """The 22 captured requests sum to exactly what LiteLLM charged, with no float drift."""
    records = parse_batch(_raw(BATCH), headers=(), received=NOW).records
    assert sum((r.cost for r in records), Decimal(0)) == Decimal("0.31677")


def test_end_users_come_from_the_item_or_the_keys_metadata() -> None:
    """Open WebUI's user email and a customer id both become the request's end user."""
    records = parse_batch(_raw(BATCH), headers=(), received=NOW).records
    assert sorted({r.end_user for r in records if r.end_user}) == [
        "cust-acme",
        "owui-user@example.test",
    ]
    item = {"id": "r", "metadata": {"user_api_key_end_user_id": "from-meta"}}
    assert _one(item).end_user == "from-meta"
    assert _one({**item, "end_user": "from-item"}).end_user == "from-item"


def test_chosen_headers_are_kept_case_insensitively_and_others_are_not() -> None:
    """Only the configured headers are kept, whatever their case, lower-cased."""
    batch = parse_batch(_raw(BATCH), headers=DEFAULT_HEADERS, received=NOW)
    owui = [r for r in batch.records if r.headers]
    assert len(owui) == 3, "the captured batch has three Open WebUI requests"
    assert all(
        dict(r.headers)
        == {
            "x-openwebui-user-id": "owui-uid-42",
            "x-openwebui-user-email": "owui-user@example.test",
        }
        for r in owui
    )  # x-openwebui-user-name was not chosen
    shouting = parse_batch(
        _raw(BATCH), headers=(" X-OPENWEBUI-USER-NAME ", "x-OpenWebUI-User-Id"), received=NOW
    )
    assert dict(next(r for r in shouting.records if r.headers).headers) == {
        "x-openwebui-user-id": "owui-uid-42",
        "x-openwebui-user-name": "open webui user",
    }
    tagged = [r for r in batch.records if "hdr-tag-1" in r.tags]
    assert tagged, "tags sent in the x-litellm-tags header reach request_tags"


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        pytest.param(
            {"requester_custom_headers": {"X-Department": "Engineering"}},
            {"x-department": "engineering"},
            id="client x- header, value lower-cased",
        ),
        pytest.param(
            {"requester_metadata": {"headers": {"x-agent": "chatbot", "cookie": "s=1"}}},
            {"x-agent": "chatbot"},
            id="the request's header copy, other headers dropped",
        ),
        pytest.param(
            {
                "requester_custom_headers": {"x-agent": "first"},
                "requester_metadata": {"headers": {"x-agent": "second"}},
            },
            {"x-agent": "first"},
            id="custom headers win",
        ),
        pytest.param(
            {"requester_custom_headers": {"x-agent": "  ", "x-department": ["a"]}},
            {},
            id="blank and non-text values dropped",
        ),
        pytest.param(
            {"requester_custom_headers": "x-agent: chatbot", "requester_metadata": []},
            {},
            id="wrong shapes ignored",
        ),
    ],
)
def test_where_chosen_headers_are_found(meta: dict[str, Any], expected: dict[str, str]) -> None:
    """Headers come from LiteLLM's copy of the client's x- headers, then its header copy."""
    record = _one({"id": "r", "metadata": meta}, headers=("X-Department", "X-Agent"))
    assert dict(record.headers) == expected


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        pytest.param(
            {"startTime": 1795367800.5, "endTime": 1795367822.25},
            datetime(2026, 11, 22, 17, 17, 2, 250000, tzinfo=UTC),
            id="end time",
        ),
        pytest.param(
            {"startTime": 1795367800.5},
            datetime(2026, 11, 22, 17, 16, 40, 500000, tzinfo=UTC),
            id="start time without an end",
        ),
        pytest.param({"endTime": "2026-11-22T17:17:02Z"}, NOW, id="text: when received"),
        pytest.param({"endTime": 1e300}, NOW, id="out of range: when received"),
        pytest.param({}, NOW, id="no time: when received"),
    ],
)
def test_a_requests_time_is_its_end(times: dict[str, Any], expected: datetime) -> None:
    """LiteLLM's epoch-float endTime, else startTime, else when the batch arrived."""
    assert _one({"id": "r", **times}).at == expected


def test_long_values_and_many_tags_are_cut() -> None:
    """An attribute value is kept to MAX_TEXT characters and a request to MAX_TAGS tags."""
    tags = [f"t{i}" for i in range(MAX_TAGS + 10)]
    record = _one(
        {
            "id": "r",
            "model": "m" * 1000,
            "request_tags": [*tags, "t0", None, "", 7],
            "metadata": {"requester_custom_headers": {"x-agent": "a" * 1000}},
        },
        headers=("X-Agent",),
    )
    assert record.model == "m" * MAX_TEXT
    assert record.tags == tuple(tags[:MAX_TAGS])
    assert record.headers["x-agent"] == "a" * MAX_TEXT


@pytest.mark.parametrize(
    ("fields", "cost", "tokens"),
    [
        pytest.param({"response_cost": "0.25", "prompt_tokens": "12"}, "0.25", 12, id="as text"),
        pytest.param({"response_cost": -1, "prompt_tokens": -5}, "0", 0, id="negative"),
        pytest.param({"response_cost": True, "prompt_tokens": True}, "0", 0, id="booleans"),
        pytest.param({"response_cost": "abc", "prompt_tokens": "abc"}, "0", 0, id="words"),
        pytest.param({"response_cost": None, "prompt_tokens": None}, "0", 0, id="null"),
        pytest.param({"response_cost": 1e-12, "prompt_tokens": 2.9}, "0", 2, id="tiny, fraction"),
    ],
)
def test_odd_costs_and_counts_become_zero_or_their_plain_value(
    fields: dict[str, Any], cost: str, tokens: int
) -> None:
    """A cost or token count LiteLLM could not have meant is read as nothing."""
    record = _one({"id": "r", **fields})
    assert record.cost == Decimal(cost)
    assert record.prompt_tokens == tokens


@pytest.mark.parametrize(
    "number",
    [
        pytest.param("Infinity", id="Infinity"),
        pytest.param("-Infinity", id="-Infinity"),
        pytest.param("NaN", id="NaN"),
        pytest.param("1e30", id="beyond a 64-bit integer"),
        pytest.param("1e300000000", id="huge exponent"),
        pytest.param("9" * 30, id="30 digits"),
    ],
)
def test_hostile_numbers_are_read_as_nothing_and_quickly(number: str) -> None:
    """Numbers no store column holds become 0 at once: no crash, no hang, no poison batch."""
    names = ("response_cost", "prompt_tokens", "completion_tokens", "total_tokens")
    body = "{" + '"id": "r", ' + ", ".join(f'"{n}": {number}' for n in names) + "}"
    started = time.monotonic()
    (record,) = parse_batch(body.encode(), headers=(), received=NOW).records
    assert time.monotonic() - started < 1
    assert record.cost == Decimal(0)
    assert (record.prompt_tokens, record.completion_tokens, record.total_tokens) == (0, 0, 0)


def test_text_no_database_takes_is_cleaned() -> None:
    """NUL characters and lone surrogates (both valid JSON) are dropped or replaced."""
    body = (
        b'{"id": "r\\u0000x", "model": "gpt\\ud800-4o", "request_tags": ["a\\u0000"],'
        b' "metadata": {"requester_custom_headers": {"x-agent": "bot\\udfff"}}}'
    )
    (record,) = parse_batch(body, headers=("X-Agent",), received=NOW).records
    assert record.id == "rx"
    assert record.model == "gpt\N{REPLACEMENT CHARACTER}-4o"
    assert record.tags == ("a",)
    assert record.headers["x-agent"] == "bot\N{REPLACEMENT CHARACTER}"
    for text in (record.id, record.model, *record.tags, *record.headers.values()):
        text.encode("utf-8")  # would raise on a lone surrogate


def _said(value: Any) -> Iterator[str]:
    """Every text under a `content` key: what the user and the model said."""
    if isinstance(value, dict):
        for name, inner in value.items():
            if name == "content" and isinstance(inner, str):
                yield inner
            else:
                yield from _said(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _said(inner)


@pytest.mark.parametrize("name", [BATCH, SUCCESS, FAILURE])
def test_no_prompt_or_response_text_is_kept(name: str) -> None:
    """Nothing the user or the model said reaches a record, whatever headers are chosen."""
    data = json.loads(_raw(name))
    items = data if isinstance(data, list) else [data]
    said = {text for item in items for text in _said([item["messages"], item["response"]])}
    assert said, "the captured bodies hold prompts"
    every = (*DEFAULT_HEADERS, "X-OpenWebUI-User-Name", "user-agent", "host")
    records = parse_batch(_raw(name), headers=every, received=NOW).records
    kept = repr(records)
    assert "Hello from" not in kept
    assert sorted(text for text in said if text in kept) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"", "the body is empty", id="empty"),
        pytest.param(b" \n\t ", "the body is empty", id="blank"),
        pytest.param(b"\xff\xfe", "not UTF-8", id="not utf-8"),
        pytest.param(b"<html>oops</html>", "not JSON", id="html"),
        pytest.param(b'[{"id": "a"', "not JSON", id="cut short"),
        pytest.param(b'{"id": "a"}\n{"id": ', "not JSON", id="ndjson with a broken line"),
        pytest.param(b'"just a string"', "expected a JSON array", id="a string"),
        pytest.param(b"42", "expected a JSON array", id="a number"),
        pytest.param(b"null", "expected a JSON array", id="null"),
        pytest.param(b"true", "expected a JSON array", id="true"),
    ],
)
def test_a_body_that_is_no_batch_says_what_was_expected(body: bytes, expected: str) -> None:
    """Not a batch: a PayloadError naming what LiteLLM should have sent."""
    with pytest.raises(PayloadError, match=expected) as caught:
        parse_batch(body, headers=(), received=NOW)
    assert "logging payloads" in str(caught.value) or "UTF-8" in str(caught.value)


def test_items_without_an_id_are_skipped_with_a_reason_and_ndjson_is_read() -> None:
    """Each unreadable item is named with why; the others are kept."""
    good = {"id": "req-1", "response_cost": 0.05384000000000001, "endTime": 1763812800.5}
    body = "\n".join(json.dumps(x) for x in (good, {"response_cost": 1}, [1, 2])).encode()
    batch = parse_batch(body, headers=(), received=NOW)
    assert [r.id for r in batch.records] == ["req-1"]
    assert batch.records[0].cost == Decimal("0.053840000")
    assert batch.skipped == [
        "item 1: no id (needed to store it once)",
        "item 2: expected an object, got list",
    ]


def test_litellm_call_id_stands_in_for_a_missing_id() -> None:
    """An item without `id` but with `litellm_call_id` is still stored once."""
    assert _one({"litellm_call_id": "call-1"}).id == "call-1"
    batch = parse_batch(b'[{"id": "  "}, {"id": null}, {"id": {"x": 1}}]', headers=(), received=NOW)
    assert batch.records == []
    assert len(batch.skipped) == 3


@pytest.mark.parametrize(
    "layout", ["json_array", "ndjson", "single"], ids=["json_array", "ndjson", "single"]
)
def test_every_generic_api_log_format_reads_the_same(layout: str) -> None:
    """LiteLLM's three GENERIC_LOGGER formats give the same records."""
    items = _batch()
    if layout == "json_array":
        bodies = [json.dumps(items)]
    elif layout == "ndjson":
        bodies = ["\n".join(json.dumps(i) for i in items) + "\n"]
    else:
        bodies = [json.dumps(i, indent=2) for i in items]
    records = [r for b in bodies for r in parse_batch(b.encode(), headers=(), received=NOW).records]
    assert records == parse_batch(_raw(BATCH), headers=(), received=NOW).records
