"""LiteLLM's generic_api callback bodies, read from the captured ones: what is kept, never
what was said."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from watchdog.callbacks.payload import PayloadError, parse_batch
from watchdog.dimensions import DEFAULT_HEADERS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "litellm"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _batch() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(_raw("callback_generic_api__batch.json"))
    return items


def test_every_item_of_a_real_batch_is_read_with_its_cost_and_owner() -> None:
    items = _batch()
    batch = parse_batch(_raw("callback_generic_api__batch.json"), headers=(), received=NOW)
    assert batch.skipped == []
    assert [r.id for r in batch.records] == [i["id"] for i in items]
    for record, item in zip(batch.records, items, strict=True):
        meta = item["metadata"]
        assert record.cost == Decimal(str(item["response_cost"] or 0)).quantize(Decimal("1e-9"))
        assert record.key_hash == meta.get("user_api_key_hash")
        assert record.team_id == meta.get("user_api_key_team_id")
        assert record.at == datetime.fromtimestamp(item["endTime"], UTC)
        assert record.status == item["status"]


def test_a_failure_costs_nothing_and_is_kept_as_a_failure() -> None:
    batch = parse_batch(_raw("callback_generic_api__failure_item.json"), headers=(), received=NOW)
    (record,) = batch.records
    assert record.status == "failure"
    assert record.cost == Decimal(0)


def test_chosen_headers_are_kept_case_insensitively_and_others_are_not() -> None:
    body = _raw("callback_generic_api__batch.json")
    batch = parse_batch(body, headers=DEFAULT_HEADERS, received=NOW)
    owui = [r for r in batch.records if r.headers]
    assert owui, "the captured batch has Open WebUI requests"
    assert dict(owui[0].headers) == {
        "x-openwebui-user-id": "owui-uid-42",
        "x-openwebui-user-email": "owui-user@example.test",
    }  # x-openwebui-user-name was not chosen
    tagged = [r for r in batch.records if "hdr-tag-1" in r.tags]
    assert tagged, "tags sent in the x-litellm-tags header reach request_tags"


def test_no_prompt_or_response_text_is_kept() -> None:
    items = _batch()
    said = {
        str(part)
        for item in items
        for part in (
            json.dumps(item.get("messages")),
            json.dumps(item.get("response")),
        )
        if part not in ("null", "{}", "[]", '""')
    }
    assert said, "the captured batch holds prompts and responses"
    records = parse_batch(
        _raw("callback_generic_api__batch.json"), headers=DEFAULT_HEADERS, received=NOW
    ).records
    kept = repr(records)
    assert "Hello from" not in kept
    assert all(text not in kept for text in said)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"", "the body is empty", id="empty"),
        pytest.param(b"\xff\xfe", "not UTF-8", id="not utf-8"),
        pytest.param(b"<html>oops</html>", "not JSON", id="html"),
        pytest.param(b'"just a string"', "expected a JSON array", id="a string"),
    ],
)
def test_a_body_that_is_no_batch_says_what_was_expected(body: bytes, expected: str) -> None:
    with pytest.raises(PayloadError, match=expected):
        parse_batch(body, headers=(), received=NOW)


def test_items_without_an_id_are_skipped_with_a_reason_and_ndjson_is_read() -> None:
    good = {"id": "req-1", "response_cost": 0.05384000000000001, "endTime": 1763812800.5}
    body = "\n".join(json.dumps(x) for x in (good, {"response_cost": 1}, [1, 2])).encode()
    batch = parse_batch(body, headers=(), received=NOW)
    assert [r.id for r in batch.records] == ["req-1"]
    assert batch.records[0].cost == Decimal("0.053840000")
    assert batch.skipped == [
        "item 1: no id (needed to store it once)",
        "item 2: expected an object, got list",
    ]
