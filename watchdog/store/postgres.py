"""The production store: PostgreSQL through an asyncpg pool, shared by every replica.

Claims are INSERT … ON CONFLICT DO NOTHING in one statement per cycle; `due` leases rows with
SELECT … FOR UPDATE SKIP LOCKED; migrations run under an advisory lock so concurrent starts
apply each version once; leadership is a session advisory lock on a connection of its own.
The database URL is a Secret: errors and logs name the server, never the password.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg

from watchdog.config_fields import Secret
from watchdog.decisions import Decision
from watchdog.model import LedgerState, Snapshot, Snooze
from watchdog.store import ActionRecord, Outgoing, StoreOptions
from watchdog.store import postgres_records as book
from watchdog.store import postgres_sql as sql
from watchdog.store import postgres_usage as usage
from watchdog.store.codec import query_for
from watchdog.store.history import History
from watchdog.store.pgconn import LEADER_LOCK, Database, migrate
from watchdog.store.rows import (
    DecisionKey,
    Suppression,
    bookkeeping,
    check_actions,
    notice_rows,
    remember,
)
from watchdog.store.usage import RequestRecord, RequestStats, Spender, Within

log = logging.getLogger(__name__)
T = TypeVar("T")


class PostgresStore:
    """The Store on PostgreSQL; one per replica, built once and passed around."""

    def __init__(
        self,
        db: Database,
        pool: asyncpg.Pool[asyncpg.Record],
        *,
        options: StoreOptions,
        holder: str | None = None,
    ) -> None:
        self._db = db
        self._pool = pool
        self._options = options
        self._holder = holder or uuid.uuid4().hex
        self._leader: asyncpg.Connection[asyncpg.Record] | None = None
        self._history = History(
            resolution=options.history_resolution, retention=options.history_retention
        )
        self._suppressed: dict[DecisionKey, str] | None = None

    def __repr__(self) -> str:
        return f"PostgresStore({self._db.where!r})"

    @classmethod
    async def open(
        cls, url: Secret, *, options: StoreOptions, holder: str | None = None
    ) -> PostgresStore:
        """Connect a pool and apply pending migrations."""
        db = Database(url, timeout=options.timeout)
        pool = await db.pool()
        store = cls(db, pool, options=options, holder=holder)
        try:
            await store._run(migrate)
        except BaseException:
            await store.aclose()
            raise
        return store

    @asynccontextmanager
    async def _conn(self, *, write: bool = True) -> AsyncIterator[sql.Conn]:
        async with self._db.guard(), self._pool.acquire() as conn:
            if write:
                async with conn.transaction():
                    yield conn
            else:
                yield conn

    async def _run(self, fn: Callable[..., Awaitable[T]], *args: Any, write: bool = True) -> T:
        """`fn(connection, *args)` in a transaction, under the store's deadline."""
        async with self._conn(write=write) as conn:
            return await fn(conn, *args)

    # Notices -------------------------------------------------------------------------------

    async def claim(self, decisions: Sequence[Decision], *, now: datetime) -> list[Outgoing]:
        rows = notice_rows(decisions)
        if not rows:
            return []
        won = await self._run(sql.claim, rows, now)
        return [Outgoing(i, row.channel, row.message, row.message.thread, 0, now) for i, row in won]

    async def due(self, *, now: datetime, limit: int = 500) -> list[Outgoing]:
        return await self._run(sql.due, now, now + self._options.lease, self._holder, limit)

    async def delivered(
        self, item: Outgoing, *, at: datetime, ref: str | None, thread: str | None
    ) -> None:
        await self._run(sql.delivered, item, at, ref, thread)

    async def failed(
        self, item: Outgoing, *, at: datetime, error: str, retry_at: datetime | None
    ) -> None:
        await self._run(sql.failed, item, at, error, retry_at, self._holder)

    async def replay(self, *, now: datetime, ids: Sequence[int] | None = None) -> int:
        return await self._run(sql.replay, now, ids)

    async def thread_ref(self, thread_key: str, channel: str) -> str | None:
        return await self._run(sql.thread_ref, thread_key, channel, write=False)

    # Bookkeeping ---------------------------------------------------------------------------

    async def load_state(
        self,
        *,
        now: datetime,
        baselines: Sequence[datetime] = (),
        known: Snapshot | None = None,
    ) -> LedgerState:
        if not self._history.loaded:
            self._history.load(await self._run(book.samples, write=False))
        history = self._history.view(now, baselines)
        return await self._run(book.load_state, now, history, known, write=False)

    async def record_actions(self, records: Sequence[ActionRecord]) -> None:
        check_actions(records)
        if records:
            await self._run(book.record_actions, records)

    async def record_bookkeeping(
        self,
        decisions: Sequence[Decision],
        *,
        now: datetime,
        suppressions: Mapping[DecisionKey, Suppression] | None = None,
    ) -> None:
        if self._suppressed is None:
            self._suppressed = await self._run(book.suppressed, write=False)
        plan = bookkeeping(decisions, self._suppressed, suppressions)
        await self._run(book.record_bookkeeping, plan, now)
        remember(self._suppressed, plan)

    async def record_samples(self, snapshot: Snapshot, *, now: datetime) -> None:
        del now  # a reading is dated when its source read it
        if not self._history.loaded:
            self._history.load(await self._run(book.samples, write=False))
        fresh = self._history.new_samples(snapshot)
        if fresh:
            await self._run(book.add_samples, fresh)
            self._history.add(fresh)

    async def add_snooze(self, snooze: Snooze) -> None:
        await self._run(book.add_snooze, snooze)

    async def record_requests(
        self, items: Sequence[RequestRecord], *, received_at: datetime
    ) -> int:
        if not items:
            return 0
        return await self._run(usage.record, items, received_at)

    async def request_spend(
        self,
        dimension: str,
        *,
        start: datetime,
        end: datetime,
        within: Within | None = None,
        limit: int | None = None,
    ) -> list[Spender]:
        return await self._run(usage.spend, dimension, start, end, within, limit, write=False)

    async def request_total(
        self, *, start: datetime, end: datetime, within: Within | None = None
    ) -> Decimal:
        return await self._run(usage.total, start, end, within, write=False)

    async def request_stats(self) -> RequestStats:
        return await self._run(usage.stats, write=False)

    async def prune(self, *, now: datetime, baselines: Sequence[datetime] = ()) -> dict[str, int]:
        counts = await self._run(book.prune, now, self._options, baselines)
        counts.update(await self._run(usage.prune, now - self._options.request_retention))
        self._suppressed = None
        return counts

    async def query(self, kind: str, *, limit: int = 100) -> list[dict[str, Any]]:
        spec = query_for(kind, limit)
        return await self._run(book.query, spec, limit, write=False)

    # Leadership ----------------------------------------------------------------------------

    async def try_lead(self) -> bool:
        if self._leader is not None:
            if await self._db.alive(self._leader):
                return True
            self._leader = None
            log.warning("leadership lost: the connection holding the lock failed")
        self._leader = await self._db.lock(LEADER_LOCK)
        if self._leader is None:
            return False
        self._history.forget()  # another replica may have written while this one waited
        self._suppressed = None
        log.info("leadership taken: this replica evaluates and sends")
        return True

    async def release(self) -> None:
        leader, self._leader = self._leader, None
        if leader is not None:
            await self._db.unlock(leader, LEADER_LOCK)
            log.info("leadership released")

    async def aclose(self) -> None:
        await self.release()
        try:
            async with asyncio.timeout(self._options.timeout.total_seconds()):
                await self._pool.close()
        except TimeoutError:
            self._pool.terminate()
