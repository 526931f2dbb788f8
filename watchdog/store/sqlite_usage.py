"""The SQLite store's statements for requests reported by LiteLLM's callbacks.

Run on the store's thread like `sqlite_sql`. Costs are whole nano-dollars, so SQLite's integer
SUM is exact; they become Decimal again on the way out.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from watchdog.store.sqlite_sql import dt, ts, write
from watchdog.store.usage import NANO, RequestRecord, RequestStats, Spender, Within

_INSERT = (
    "INSERT INTO requests (id, at, received_at, status, cost_nano, prompt_tokens,"
    " completion_tokens, total_tokens, model, key_hash, key_alias, team_id, team_alias,"
    " user_id, end_user, tags, headers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO NOTHING"
)
_INSERT_DIM = (
    "INSERT INTO request_dims (request_id, dim, value, label, at, cost_nano)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


def nano(cost: Decimal) -> int:
    return int((cost / NANO).to_integral_value())


def usd(nanos: int | None) -> Decimal:
    return Decimal(nanos or 0) * NANO


def record(conn: sqlite3.Connection, items: Sequence[RequestRecord], received: datetime) -> int:
    new = 0
    with write(conn):
        for item in items:
            cursor = conn.execute(_INSERT, _row(item, received))
            if cursor.rowcount != 1:
                continue  # already stored: a retried batch
            new += 1
            at, cost = ts(item.at), nano(item.cost)
            conn.executemany(
                _INSERT_DIM,
                [(item.id, dim, value, label, at, cost) for dim, value, label in item.dimensions()],
            )
    return new


def _row(item: RequestRecord, received: datetime) -> tuple[Any, ...]:
    return (
        item.id,
        ts(item.at),
        ts(received),
        item.status,
        nano(item.cost),
        item.prompt_tokens,
        item.completion_tokens,
        item.total_tokens,
        item.model,
        item.key_hash,
        item.key_alias,
        item.team_id,
        item.team_alias,
        item.user_id,
        item.end_user,
        json.dumps(list(item.tags), ensure_ascii=False),
        json.dumps(dict(item.headers), ensure_ascii=False, sort_keys=True),
    )


def spend(
    conn: sqlite3.Connection,
    dimension: str,
    start: datetime,
    end: datetime,
    within: Within | None,
    limit: int | None,
) -> list[Spender]:
    join, args = _within(within, "d")
    rows = conn.execute(
        "SELECT d.value, MAX(d.label), SUM(d.cost_nano), COUNT(*) FROM request_dims d"  # noqa: S608 - fixed names
        f"{join} WHERE d.dim = ? AND d.at >= ? AND d.at < ?"
        " GROUP BY d.value ORDER BY SUM(d.cost_nano) DESC, d.value LIMIT ?",
        (*args, dimension, ts(start), ts(end), -1 if limit is None else limit),
    ).fetchall()
    return [Spender(value, label, usd(total), count) for value, label, total, count in rows]


def total(
    conn: sqlite3.Connection, start: datetime, end: datetime, within: Within | None
) -> Decimal:
    join, args = _within(within, "r", column="id")
    row = conn.execute(
        f"SELECT SUM(r.cost_nano) FROM requests r{join}"  # noqa: S608 - fixed names
        " WHERE r.at >= ? AND r.at < ?",
        (*args, ts(start), ts(end)),
    ).fetchone()
    return usd(row[0] if row else None)


def _within(
    within: Within | None, alias: str, column: str = "request_id"
) -> tuple[str, tuple[str, ...]]:
    """A join keeping requests that carry the attribute value `within`."""
    if within is None:
        return "", ()
    join = f" JOIN request_dims w ON w.request_id = {alias}.{column} AND w.dim = ? AND w.value = ?"
    return join, within


def stats(conn: sqlite3.Connection) -> RequestStats:
    row = conn.execute("SELECT MIN(at), MAX(received_at) FROM requests").fetchone()
    first, last = row if row else (None, None)
    return RequestStats(dt(first) if first else None, dt(last) if last else None)


def prune(conn: sqlite3.Connection, cutoff: datetime) -> dict[str, int]:
    at = ts(cutoff)
    with write(conn):
        return {
            "request_dims": conn.execute("DELETE FROM request_dims WHERE at < ?", (at,)).rowcount,
            "requests": conn.execute("DELETE FROM requests WHERE at < ?", (at,)).rowcount,
        }
