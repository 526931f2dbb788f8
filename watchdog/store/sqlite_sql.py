"""The SQLite store's ledger and outbox statements, and the conversions all its statements share.

Plain functions on a connection, run on the store's thread. Times are stored as fixed-width
UTC text (sortable), money as decimal text (exact).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

from watchdog.store import Outgoing
from watchdog.store.codec import decode_message
from watchdog.store.migrate import SCHEMA_TABLE, pending, statements
from watchdog.store.rows import NoticeRow, clip

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def ts(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: the store takes timezone-aware times")
    return at.astimezone(UTC).strftime(_FORMAT)


def opt_ts(at: datetime | None) -> str | None:
    return None if at is None else ts(at)


def dt(text: str) -> datetime:
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)


def money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def opt_decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, holding the file's write lock from the start."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def use_wal(conn: sqlite3.Connection, timeout: float) -> str:
    """Switch the file to write-ahead logging; returns the journal mode in force.

    The switch needs the file to itself and SQLite does not wait for that, so a start racing
    another process's start tries again for up to `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply pending migrations in one transaction; returns the versions applied."""
    with write(conn):
        conn.execute(SCHEMA_TABLE)
        applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        todo = pending("sqlite", applied)
        for migration in todo:
            for statement in statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, ts(datetime.now(UTC))),
            )
    return [m.version for m in todo]


# Notices -------------------------------------------------------------------------------------


def claim(
    conn: sqlite3.Connection, rows: Sequence[NoticeRow], now: datetime
) -> list[tuple[int, NoticeRow]]:
    won = []
    with write(conn):
        for row in rows:
            found = conn.execute(
                "INSERT INTO notices (rule, scope, entity, period_key, step, channel, event,"
                " level, reason, message, thread_key, created_at, period_end, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (rule, scope, entity, period_key, step, channel, event) DO NOTHING"
                " RETURNING id",
                (
                    *row.identity,
                    row.level,
                    row.reason,
                    row.body,
                    row.message.thread,
                    ts(now),
                    opt_ts(row.period_end),
                    ts(now),
                ),
            ).fetchone()
            if found is not None:
                won.append((int(found[0]), row))
    return won


def due(
    conn: sqlite3.Connection, now: datetime, until: datetime, holder: str, limit: int
) -> list[Outgoing]:
    with write(conn):
        rows = conn.execute(
            "SELECT id, channel, message, thread_key, attempts, next_attempt_at FROM notices"
            " WHERE state IN ('pending', 'failed') AND next_attempt_at <= ?"
            " AND (leased_until IS NULL OR leased_until <= ? OR lease = ?)"
            " ORDER BY next_attempt_at, id LIMIT ?",
            (ts(now), ts(now), holder, limit),
        ).fetchall()
        conn.executemany(
            "UPDATE notices SET lease = ?, leased_until = ? WHERE id = ?",
            [(holder, ts(until), row[0]) for row in rows],
        )
    return [
        Outgoing(id, channel, decode_message(message), thread, attempts, dt(next_at))
        for id, channel, message, thread, attempts, next_at in rows
    ]


def delivered(
    conn: sqlite3.Connection, item: Outgoing, at: datetime, ref: str | None, thread: str | None
) -> None:
    with write(conn):
        conn.execute(
            "UPDATE notices SET state = 'delivered', delivered_at = COALESCE(delivered_at, ?),"
            " ref = COALESCE(ref, ?), last_attempt_at = ?, lease = NULL, leased_until = NULL"
            " WHERE id = ?",
            (ts(at), ref, ts(at), item.id),
        )
        if thread is not None:
            conn.execute(
                "INSERT INTO threads (thread_key, channel, ref, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (thread_key, channel) DO NOTHING",
                (item.thread_key, item.channel, thread, ts(at)),
            )


def failed(
    conn: sqlite3.Connection,
    item: Outgoing,
    at: datetime,
    error: str,
    retry_at: datetime | None,
    holder: str,
) -> None:
    with write(conn):
        conn.execute(
            "UPDATE notices SET state = ?, attempts = attempts + 1, last_error = ?,"
            " last_attempt_at = ?, next_attempt_at = COALESCE(?, next_attempt_at),"
            " lease = NULL, leased_until = NULL"
            " WHERE id = ? AND state IN ('pending', 'failed')"
            " AND (lease IS NULL OR lease = ? OR leased_until <= ?)",
            (
                "dead" if retry_at is None else "failed",
                clip(error),
                ts(at),
                opt_ts(retry_at),
                item.id,
                holder,
                ts(at),
            ),
        )


def replay(conn: sqlite3.Connection, now: datetime, ids: Sequence[int] | None) -> int:
    base = (
        "UPDATE notices SET state = 'pending', attempts = 0, next_attempt_at = ?,"
        " lease = NULL, leased_until = NULL WHERE state = 'dead'"
    )
    with write(conn):
        if ids is None:
            return conn.execute(base, (ts(now),)).rowcount
        return sum(conn.execute(base + " AND id = ?", (ts(now), i)).rowcount for i in ids)


def thread_ref(conn: sqlite3.Connection, thread_key: str, channel: str) -> str | None:
    row = conn.execute(
        "SELECT ref FROM threads WHERE thread_key = ? AND channel = ?", (thread_key, channel)
    ).fetchone()
    return None if row is None else str(row[0])
