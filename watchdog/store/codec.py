"""Messages and listings as stored: rendered messages as JSON, recent rows for people to read.

A stored message is decoded into the identical `Message` (same id, same payload), so a notice
re-sent after a crash is byte-for-byte what the first attempt would have sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from watchdog.render import Message
from watchdog.store import QUERY_KINDS


def encode_message(message: Message) -> str:
    """JSON for a rendered message, so a re-send is the identical payload with the same id."""
    data = {
        "id": message.id,
        "thread": message.thread,
        "severity": message.severity,
        "title": message.title,
        "summary": message.summary,
        "fields": [list(pair) for pair in message.fields],
        "body": message.body,
        "payload": dict(message.payload),
        "test": message.test,
        "utilisation": None if message.utilisation is None else str(message.utilisation),
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def decode_message(text: str) -> Message:
    data = json.loads(text)
    utilisation = data.get("utilisation")
    return Message(
        id=data["id"],
        thread=data["thread"],
        severity=data["severity"],
        title=data["title"],
        summary=data["summary"],
        fields=tuple((str(k), str(v)) for k, v in data["fields"]),
        body=data["body"],
        payload=data["payload"],
        test=bool(data.get("test", False)),
        utilisation=None if utilisation is None else Decimal(utilisation),
    )


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in a message payload")


# Listings ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    """A recent-rows listing: which table, which rows, which columns."""

    table: str
    where: str
    columns: tuple[str, ...]


_NOTICE_COLUMNS = (
    "id",
    "rule",
    "scope",
    "entity",
    "period_key",
    "step",
    "channel",
    "event",
    "level",
    "reason",
    "state",
    "attempts",
    "created_at",
    "next_attempt_at",
    "delivered_at",
    "last_error",
    "ref",
    "message",
)
QUERIES = {
    "notices": Query("notices", "", _NOTICE_COLUMNS),
    "dead": Query("notices", "WHERE state = 'dead'", _NOTICE_COLUMNS),
    "actions": Query(
        "actions",
        "",
        (
            "id",
            "at",
            "kind",
            "rule",
            "scope",
            "entity",
            "period_key",
            "ok",
            "spend_before",
            "spend_after",
            "error",
        ),
    ),
    "decisions": Query(
        "decisions",
        "",
        ("id", "at", "rule", "scope", "entity", "period_key", "step", "channel", "reason", "note"),
    ),
    "snoozes": Query(
        "snoozes", "", ("id", "rule", "scope", "entity", "until", "reason", "created_by")
    ),
}
assert set(QUERIES) == set(QUERY_KINDS)
TIME_COLUMNS = frozenset({"at", "created_at", "next_attempt_at", "delivered_at", "until"})
MONEY_COLUMNS = frozenset({"spend_before", "spend_after"})


def query_for(kind: str, limit: int) -> Query:
    if kind not in QUERIES:
        raise ValueError(f"unknown query {kind!r}; expected one of {', '.join(QUERY_KINDS)}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    return QUERIES[kind]


def finish_row(row: dict[str, Any]) -> dict[str, Any]:
    """Replace a notice's stored message by its title (the listing shows what was said)."""
    if "message" in row:
        row["title"] = decode_message(row.pop("message")).title
    return row
