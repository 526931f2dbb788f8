"""Read LiteLLM's `generic_api` callback bodies into request records. Pure.

A body is a JSON array of StandardLoggingPayload objects (LiteLLM's default `json_array`
format); one object (`single`) and newline-delimited objects (`ndjson`) are read too. Only the
fields a budget needs are read: id, time, cost, tokens, model, key, team, user, end user, tags
and the chosen request headers. Prompts, messages and responses are never looked at.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from watchdog.store.usage import NANO, RequestRecord

MAX_TEXT = 256
"""Longest attribute value kept (ids, aliases, tags, header values); longer ones are cut."""
MAX_TAGS = 32
MAX_COST = Decimal(1_000_000)
"""Largest cost one request may have (USD); anything above is not a real request's cost, and
would overflow the stores' sums."""
MAX_COUNT = 2**53
"""Largest token count kept (within both stores' 64-bit integers, with room for sums)."""


class PayloadError(ValueError):
    """The body is not a callback batch; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class Batch:
    """The records read from one callback body, and what could not be read."""

    records: list[RequestRecord]
    skipped: list[str] = field(default_factory=list)
    """Why items were left out (e.g. no id), one entry per item."""


def parse_batch(body: bytes, *, headers: Sequence[str], received: datetime) -> Batch:
    """Every request in a callback body; PayloadError when the body is not one."""
    items = _items(body)
    wanted = {h.strip().lower() for h in headers}
    records: list[RequestRecord] = []
    skipped: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            skipped.append(f"item {index}: expected an object, got {type(item).__name__}")
            continue
        rid = _text(item.get("id")) or _text(item.get("litellm_call_id"))
        if rid is None:
            skipped.append(f"item {index}: no id (needed to store it once)")
            continue
        records.append(_record(rid, item, wanted, received))
    return Batch(records, skipped)


def _items(body: bytes) -> list[Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("the body is not UTF-8 JSON") from None
    stripped = text.strip()
    if not stripped:
        raise PayloadError("the body is empty; expected a JSON array of logging payloads")
    try:
        data = json.loads(stripped, parse_float=Decimal)
    except ValueError:
        return _ndjson(stripped)
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        return [data]
    raise PayloadError("expected a JSON array of logging payloads (LiteLLM's generic_api body)")


def _ndjson(text: str) -> list[Any]:
    try:
        return [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.strip()]
    except ValueError:
        raise PayloadError(
            "not JSON: expected a JSON array of logging payloads (LiteLLM's generic_api body)"
        ) from None


def _record(
    rid: str, item: Mapping[str, Any], wanted: set[str], received: datetime
) -> RequestRecord:
    meta = item.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return RequestRecord(
        id=rid,
        at=_time(item.get("endTime")) or _time(item.get("startTime")) or received,
        cost=_cost(item.get("response_cost")),
        status=_text(item.get("status")) or "success",
        model=_text(item.get("model_group")) or _text(item.get("model")),
        prompt_tokens=_count(item.get("prompt_tokens")),
        completion_tokens=_count(item.get("completion_tokens")),
        total_tokens=_count(item.get("total_tokens")),
        key_hash=_text(meta.get("user_api_key_hash")),
        key_alias=_text(meta.get("user_api_key_alias")),
        team_id=_text(meta.get("user_api_key_team_id")),
        team_alias=_text(meta.get("user_api_key_team_alias")),
        user_id=_text(meta.get("user_api_key_user_id")),
        end_user=_text(item.get("end_user")) or _text(meta.get("user_api_key_end_user_id")),
        tags=_tags(item.get("request_tags")),
        headers=MappingProxyType(_headers(meta, wanted)),
    )


def _headers(meta: Mapping[str, Any], wanted: set[str]) -> dict[str, str]:
    """The chosen headers, from the client's `x-` headers and the request's header copy."""
    requester = meta.get("requester_metadata")
    sources: list[Any] = [
        meta.get("requester_custom_headers"),
        requester.get("headers") if isinstance(requester, dict) else None,
    ]
    found: dict[str, str] = {}
    for source in sources:
        if not isinstance(source, dict):
            continue
        for name, value in source.items():
            key = str(name).strip().lower()
            text = _text(value)
            if key in wanted and key not in found and text:
                found[key] = text.lower()
    return found


def _tags(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    tags = (t for item in value if (t := _text(item)))
    return tuple(dict.fromkeys(tags))[:MAX_TAGS]


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _clean(found: re.Match[str]) -> str:
    return "" if found.group() == "\x00" else "\N{REPLACEMENT CHARACTER}"


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    # JSON may carry NUL characters and lone surrogates; neither store can keep them
    text = _UNSTORABLE.sub(_clean, str(value)).strip()
    return text[:MAX_TEXT] if text else None


def _cost(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        return Decimal(0)
    try:
        cost = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        return Decimal(0)
    if not cost.is_finite() or cost < 0 or cost > MAX_COST:
        return Decimal(0)
    try:
        return cost.quantize(NANO)
    except InvalidOperation:  # beyond any real request's cost
        return Decimal(0)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
        return 0
    if isinstance(value, Decimal | float) and not _countable(value):
        return 0
    try:
        count = int(value)
    except (ValueError, OverflowError):  # words, over 4300 digits
        return 0
    return count if 0 <= count <= MAX_COUNT else 0


def _countable(value: Decimal | float) -> bool:
    """Checked before int(): int(Decimal("1e300000000")) would build a number of 300 million
    digits, and int(inf) raises."""
    if not math.isfinite(value):
        return False
    return Decimal(-MAX_COUNT) <= Decimal(value) <= Decimal(MAX_COUNT)


def _time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def describe(skipped: Iterable[str], limit: int = 3) -> str:
    """A short account of skipped items for a log line."""
    items = list(skipped)
    shown = "; ".join(items[:limit])
    return shown + (f"; and {len(items) - limit} more" if len(items) > limit else "")
