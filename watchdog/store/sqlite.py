"""The embedded store: one SQLite file (WAL), worked by one thread, for a single instance.

Every call runs as one function on the store's own thread, inside `BEGIN IMMEDIATE` when it
writes, so it is atomic against other connections and other processes on the same file;
a busy file is waited on for the store's timeout, then reported as StoreUnavailableError.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TextIO, TypeVar

from watchdog.decisions import Decision
from watchdog.errors import StoreError
from watchdog.model import LedgerState, Snapshot, Snooze
from watchdog.store import ActionRecord, Outgoing, StoreOptions, StoreUnavailableError
from watchdog.store import sqlite_records as book
from watchdog.store import sqlite_sql as sql
from watchdog.store import sqlite_usage as usage
from watchdog.store.codec import query_for
from watchdog.store.history import History
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


class SqliteStore:
    """The Store on a SQLite file, for a single instance.

    Leadership is an OS lock on `<file>.lock`: a second daemon started on the same file by
    mistake stands by instead of sending twice, and takes over if the first one dies. Only the
    lock holder delivers, so delivery leases carry a name stable across restarts: a restarted
    daemon re-sends what it had in flight when it crashed at once, not after the lease.
    """

    def __init__(self, path: Path, *, options: StoreOptions, holder: str | None = None) -> None:
        self._path = path
        self._options = options
        self._holder = holder or f"sqlite:{path.resolve()}"
        self._lock: TextIO | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watchdog-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._history = History(
            resolution=options.history_resolution, retention=options.history_retention
        )
        self._suppressed: dict[DecisionKey, str] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"SqliteStore({str(self._path)!r})"

    @classmethod
    async def open(
        cls, path: str | Path, *, options: StoreOptions, holder: str | None = None
    ) -> SqliteStore:
        """Open (creating if needed) and migrate the file."""
        store = cls(Path(path), options=options, holder=holder)
        try:
            await store._call(store._connect)
        except BaseException:
            await store.aclose()
            raise
        return store

    def _connect(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self._path,
            timeout=self._options.timeout.total_seconds(),
            isolation_level=None,
            check_same_thread=False,
        )
        self._conn = conn
        mode = sql.use_wal(conn, self._options.timeout.total_seconds())
        if mode != "wal":
            log.warning("store: %s keeps journal mode %s (WAL unsupported here)", self._path, mode)
        conn.execute("PRAGMA synchronous = FULL")
        applied = sql.migrate(conn)
        if applied:
            log.info("store: migrated %s to schema version %d", self._path, applied[-1])

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the store's thread; database errors become StoreError."""
        if self._closed:
            raise StoreError(f"state file {self._path}: the store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._thread, partial(fn, *args))
        except (sqlite3.DatabaseError, OSError) as exc:
            raise _error(self._path, exc) from None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"state file {self._path} is closed")
        return self._conn

    # Notices -------------------------------------------------------------------------------

    async def claim(self, decisions: Sequence[Decision], *, now: datetime) -> list[Outgoing]:
        rows = notice_rows(decisions)
        if not rows:
            return []
        won = await self._call(lambda: sql.claim(self._db(), rows, now))
        return [Outgoing(i, row.channel, row.message, row.message.thread, 0, now) for i, row in won]

    async def due(self, *, now: datetime, limit: int = 500) -> list[Outgoing]:
        until = now + self._options.lease
        return await self._call(lambda: sql.due(self._db(), now, until, self._holder, limit))

    async def delivered(
        self, item: Outgoing, *, at: datetime, ref: str | None, thread: str | None
    ) -> None:
        await self._call(lambda: sql.delivered(self._db(), item, at, ref, thread))

    async def failed(
        self, item: Outgoing, *, at: datetime, error: str, retry_at: datetime | None
    ) -> None:
        await self._call(lambda: sql.failed(self._db(), item, at, error, retry_at, self._holder))

    async def replay(self, *, now: datetime, ids: Sequence[int] | None = None) -> int:
        return await self._call(lambda: sql.replay(self._db(), now, ids))

    async def thread_ref(self, thread_key: str, channel: str) -> str | None:
        return await self._call(lambda: sql.thread_ref(self._db(), thread_key, channel))

    # Bookkeeping ---------------------------------------------------------------------------

    async def load_state(
        self,
        *,
        now: datetime,
        baselines: Sequence[datetime] = (),
        known: Snapshot | None = None,
    ) -> LedgerState:
        if not self._history.loaded:
            self._history.load(await self._call(lambda: book.samples(self._db())))
        history = self._history.view(now, baselines)
        return await self._call(lambda: book.load_state(self._db(), now, history, known))

    async def record_actions(self, records: Sequence[ActionRecord]) -> None:
        check_actions(records)
        if records:
            await self._call(lambda: book.record_actions(self._db(), records))

    async def record_bookkeeping(
        self,
        decisions: Sequence[Decision],
        *,
        now: datetime,
        suppressions: Mapping[DecisionKey, Suppression] | None = None,
    ) -> None:
        if self._suppressed is None:
            self._suppressed = await self._call(lambda: book.suppressed(self._db()))
        plan = bookkeeping(decisions, self._suppressed, suppressions)
        await self._call(lambda: book.record_bookkeeping(self._db(), plan, now))
        remember(self._suppressed, plan)

    async def record_samples(self, snapshot: Snapshot, *, now: datetime) -> None:
        del now  # a reading is dated when its source read it
        if not self._history.loaded:
            self._history.load(await self._call(lambda: book.samples(self._db())))
        fresh = self._history.new_samples(snapshot)
        if fresh:
            await self._call(lambda: book.add_samples(self._db(), fresh))
            self._history.add(fresh)

    async def add_snooze(self, snooze: Snooze) -> None:
        await self._call(lambda: book.add_snooze(self._db(), snooze))

    async def record_requests(
        self, items: Sequence[RequestRecord], *, received_at: datetime
    ) -> int:
        if not items:
            return 0
        return await self._call(lambda: usage.record(self._db(), items, received_at))

    async def request_spend(
        self,
        dimension: str,
        *,
        start: datetime,
        end: datetime,
        within: Within | None = None,
        limit: int | None = None,
    ) -> list[Spender]:
        return await self._call(
            lambda: usage.spend(self._db(), dimension, start, end, within, limit)
        )

    async def request_total(
        self, *, start: datetime, end: datetime, within: Within | None = None
    ) -> Decimal:
        return await self._call(lambda: usage.total(self._db(), start, end, within))

    async def request_stats(self) -> RequestStats:
        return await self._call(lambda: usage.stats(self._db()))

    async def prune(self, *, now: datetime, baselines: Sequence[datetime] = ()) -> dict[str, int]:
        counts = await self._call(lambda: book.prune(self._db(), now, self._options, baselines))
        cutoff = now - self._options.request_retention
        counts.update(await self._call(lambda: usage.prune(self._db(), cutoff)))
        self._suppressed = None
        return counts

    async def query(self, kind: str, *, limit: int = 100) -> list[dict[str, Any]]:
        spec = query_for(kind, limit)
        return await self._call(lambda: book.query(self._db(), spec, limit))

    # Leadership ----------------------------------------------------------------------------

    async def try_lead(self) -> bool:
        if self._lock is not None:
            return True
        lock = self._path.with_name(self._path.name + ".lock").open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return False
        self._lock = lock
        return True

    async def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

    async def aclose(self) -> None:
        if self._closed:
            return
        await self.release()
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, conn.close)
        self._thread.shutdown(wait=False)


def _error(path: Path, exc: Exception) -> StoreError:
    """A busy file is worth retrying; anything else (disk, schema, permissions) is not."""
    text = f"state file {path}: {exc}"
    busy = isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
    return StoreUnavailableError(text) if busy else StoreError(text)
