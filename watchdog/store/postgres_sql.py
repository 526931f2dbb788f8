"""The PostgreSQL store's ledger and outbox statements: async functions on one connection.

A cycle's claims go in as arrays (unnest): one round trip, rows locked in identity order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from watchdog.store import Outgoing
from watchdog.store.codec import decode_message
from watchdog.store.rows import NoticeRow, clip

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Conn: TypeAlias = PoolConnectionProxy[asyncpg.Record]

_CLAIM = """
INSERT INTO notices (rule, scope, entity, period_key, step, channel, event, level, reason,
                     message, thread_key, period_end, created_at, next_attempt_at)
SELECT u.rule, u.scope, u.entity, u.period_key, u.step, u.channel, u.event, u.level, u.reason,
       u.message::json, u.thread_key, u.period_end, $13, $13
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[])
     AS u(rule, scope, entity, period_key, step, channel, event, level, reason, message,
          thread_key, period_end)
ON CONFLICT ON CONSTRAINT notices_identity DO NOTHING
RETURNING id, rule, scope, entity, period_key, step, channel, event
"""

_DUE = """
WITH picked AS (
    SELECT id FROM notices
    WHERE state IN ('pending', 'failed') AND next_attempt_at <= $1
      AND (leased_until IS NULL OR leased_until <= $1 OR lease = $3)
    ORDER BY next_attempt_at, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
UPDATE notices AS n SET lease = $3, leased_until = $2 FROM picked WHERE n.id = picked.id
RETURNING n.id, n.channel, n.message, n.thread_key, n.attempts, n.next_attempt_at
"""


async def claim(
    conn: Conn, rows: Sequence[NoticeRow], now: datetime
) -> list[tuple[int, NoticeRow]]:
    columns: list[list[Any]] = [[row.identity[i] for row in rows] for i in range(7)]
    columns.append([row.level for row in rows])
    columns.append([row.reason for row in rows])
    columns.append([row.body for row in rows])
    columns.append([row.message.thread for row in rows])
    columns.append([row.period_end for row in rows])
    by_identity = {row.identity: row for row in rows}
    won = await conn.fetch(_CLAIM, *columns, now)
    out = [(int(r["id"]), by_identity[tuple(r)[1:]]) for r in won]
    return sorted(out, key=lambda pair: pair[0])


async def due(
    conn: Conn, now: datetime, until: datetime, holder: str, limit: int
) -> list[Outgoing]:
    rows = await conn.fetch(_DUE, now, until, holder, limit)
    items = [
        Outgoing(
            r["id"],
            r["channel"],
            decode_message(r["message"]),
            r["thread_key"],
            r["attempts"],
            r["next_attempt_at"],
        )
        for r in rows
    ]
    return sorted(items, key=lambda i: (i.next_attempt_at, i.id))


async def delivered(
    conn: Conn, item: Outgoing, at: datetime, ref: str | None, thread: str | None
) -> None:
    await conn.execute(
        "UPDATE notices SET state = 'delivered', delivered_at = COALESCE(delivered_at, $2),"
        " ref = COALESCE(ref, $3), last_attempt_at = $2, lease = NULL, leased_until = NULL"
        " WHERE id = $1",
        item.id,
        at,
        ref,
    )
    if thread is not None:
        await conn.execute(
            "INSERT INTO threads (thread_key, channel, ref, created_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (thread_key, channel) DO NOTHING",
            item.thread_key,
            item.channel,
            thread,
            at,
        )


async def failed(
    conn: Conn, item: Outgoing, at: datetime, error: str, retry_at: datetime | None, holder: str
) -> None:
    await conn.execute(
        "UPDATE notices SET state = $2, attempts = attempts + 1, last_error = $3,"
        " last_attempt_at = $4, next_attempt_at = COALESCE($5, next_attempt_at),"
        " lease = NULL, leased_until = NULL"
        " WHERE id = $1 AND state IN ('pending', 'failed')"
        " AND (lease IS NULL OR lease = $6 OR leased_until <= $4)",
        item.id,
        "dead" if retry_at is None else "failed",
        clip(error),
        at,
        retry_at,
        holder,
    )


async def replay(conn: Conn, now: datetime, ids: Sequence[int] | None) -> int:
    status = await conn.execute(
        "UPDATE notices SET state = 'pending', attempts = 0, next_attempt_at = $1,"
        " lease = NULL, leased_until = NULL"
        " WHERE state = 'dead' AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))",
        now,
        None if ids is None else list(ids),
    )
    return count_rows(status)


async def thread_ref(conn: Conn, thread_key: str, channel: str) -> str | None:
    ref = await conn.fetchval(
        "SELECT ref FROM threads WHERE thread_key = $1 AND channel = $2", thread_key, channel
    )
    return None if ref is None else str(ref)


def count_rows(status: str) -> int:
    """Rows affected, from a command status such as "DELETE 12"."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0
