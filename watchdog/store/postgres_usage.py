"""The PostgreSQL store's statements for requests reported by LiteLLM's callbacks.

A batch goes in as arrays: one statement for the requests (ON CONFLICT DO NOTHING RETURNING
the new ids), one for their attribute rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from watchdog.store.postgres_sql import count_rows
from watchdog.store.usage import RequestRecord, RequestStats, Spender, Within

if TYPE_CHECKING:
    from watchdog.store.postgres_sql import Conn

_INSERT = """
INSERT INTO requests (id, at, received_at, status, cost, prompt_tokens, completion_tokens,
                      total_tokens, model, key_hash, key_alias, team_id, team_alias, user_id,
                      end_user, tags, headers)
SELECT u.id, u.at, $17, u.status, u.cost, u.prompt_tokens, u.completion_tokens, u.total_tokens,
       u.model, u.key_hash, u.key_alias, u.team_id, u.team_alias, u.user_id, u.end_user,
       u.tags::jsonb, u.headers::jsonb
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::numeric[], $5::bigint[],
            $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[],
            $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
     AS u(id, at, status, cost, prompt_tokens, completion_tokens, total_tokens, model, key_hash,
          key_alias, team_id, team_alias, user_id, end_user, tags, headers)
ON CONFLICT (id) DO NOTHING
RETURNING id
"""
_INSERT_DIMS = """
INSERT INTO request_dims (request_id, dim, value, label, at, cost)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                     $6::numeric[])
ON CONFLICT DO NOTHING
"""
_COLUMNS = 16


async def record(conn: Conn, items: Sequence[RequestRecord], received: datetime) -> int:
    unique = list({item.id: item for item in items}.values())
    columns: list[list[Any]] = [[] for _ in range(_COLUMNS)]
    for item in unique:
        for column, value in zip(columns, _row(item), strict=True):
            column.append(value)
    new = {row["id"] for row in await conn.fetch(_INSERT, *columns, received)}
    dims: list[list[Any]] = [[] for _ in range(6)]
    for item in unique:
        if item.id not in new:
            continue  # already stored: a retried batch
        for dim, value, label in item.dimensions():
            for column, cell in zip(
                dims, (item.id, dim, value, label, item.at, item.cost), strict=True
            ):
                column.append(cell)
    if dims[0]:
        await conn.execute(_INSERT_DIMS, *dims)
    return len(new)


def _row(item: RequestRecord) -> tuple[Any, ...]:
    return (
        item.id,
        item.at,
        item.status,
        item.cost,
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


async def spend(
    conn: Conn,
    dimension: str,
    start: datetime,
    end: datetime,
    within: Within | None,
    limit: int | None,
) -> list[Spender]:
    join, args = _within(within, "d.request_id", first=5)
    rows = await conn.fetch(
        "SELECT d.value, MAX(d.label) AS label, SUM(d.cost) AS spend, COUNT(*) AS requests"  # noqa: S608 - fixed names
        f" FROM request_dims d{join} WHERE d.dim = $1 AND d.at >= $2 AND d.at < $3"
        " GROUP BY d.value ORDER BY SUM(d.cost) DESC, d.value LIMIT $4",
        dimension,
        start,
        end,
        limit,
        *args,
    )
    return [Spender(r["value"], r["label"], r["spend"], r["requests"]) for r in rows]


async def total(conn: Conn, start: datetime, end: datetime, within: Within | None) -> Decimal:
    join, args = _within(within, "r.id", first=3)
    value = await conn.fetchval(
        f"SELECT COALESCE(SUM(r.cost), 0) FROM requests r{join}"  # noqa: S608 - fixed names
        " WHERE r.at >= $1 AND r.at < $2",
        start,
        end,
        *args,
    )
    return Decimal(value)


def _within(within: Within | None, column: str, *, first: int) -> tuple[str, tuple[str, ...]]:
    """A join keeping requests that carry the attribute value `within` ($first, $first+1)."""
    if within is None:
        return "", ()
    join = (
        f" JOIN request_dims w ON w.request_id = {column}"
        f" AND w.dim = ${first} AND w.value = ${first + 1}"
    )
    return join, within


async def stats(conn: Conn) -> RequestStats:
    row = await conn.fetchrow("SELECT MIN(at) AS first, MAX(received_at) AS last FROM requests")
    return RequestStats(row["first"], row["last"]) if row else RequestStats(None, None)


async def prune(conn: Conn, cutoff: datetime) -> dict[str, int]:
    return {
        "request_dims": count_rows(
            await conn.execute("DELETE FROM request_dims WHERE at < $1", cutoff)
        ),
        "requests": count_rows(await conn.execute("DELETE FROM requests WHERE at < $1", cutoff)),
    }
