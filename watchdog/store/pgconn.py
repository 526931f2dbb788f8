"""Reaching PostgreSQL: the pool, deadlines, advisory locks, migrations, and safe error text.

Every error leaving here is a StoreError that names the server as user@host:port/database;
the password in the URL is revealed only to asyncpg and scrubbed from any message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from urllib.parse import urlsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from watchdog.config_fields import Secret
from watchdog.errors import StoreError
from watchdog.store import StoreUnavailableError
from watchdog.store.migrate import pending

log = logging.getLogger(__name__)

LEADER_LOCK = 0x7761746368646F67
"""Advisory lock key held by the leading replica ("watchdog" in ASCII)."""
MIGRATION_LOCK = LEADER_LOCK + 1
_RETRYABLE_STATES = ("08", "40", "53", "57")
"""SQLSTATE classes worth retrying: connection, rollback (deadlock), resources, shutdown."""
_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError, ValueError)

_SCHEMA_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


def describe(url: str) -> str:
    """user@host:port/database, without password or options."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "local socket"
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
    except ValueError:
        return "an unparsable URL"
    return f"{user}{host}{port}{parts.path or '/'}"


def scrub(text: str, url: Secret) -> str:
    """`text` without the URL or its password."""
    raw = url.reveal()
    try:
        password = urlsplit(raw).password
    except ValueError:
        password = None
    for secret in (raw, password):
        if secret:
            text = text.replace(secret, "***")
    return text


class Database:
    """How to reach one PostgreSQL database, with a deadline on every call."""

    def __init__(self, url: Secret, *, timeout: timedelta) -> None:
        self._url = url
        self.where = describe(url.reveal())
        self.timeout = timeout.total_seconds()

    def __repr__(self) -> str:
        return f"Database({self.where!r})"

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Apply the deadline; turn driver errors into StoreError with a safe message."""
        try:
            async with asyncio.timeout(self.timeout):
                yield
        except _ERRORS as exc:
            raise self.error(exc) from None

    def error(self, exc: BaseException) -> StoreError:
        text = scrub(str(exc) or type(exc).__name__, self._url)
        message = f"PostgreSQL {self.where}: {text}"
        if isinstance(exc, TimeoutError):
            return StoreUnavailableError(
                f"PostgreSQL {self.where}: no answer within {self.timeout:g}s"
            )
        if isinstance(exc, asyncpg.PostgresError):
            state = str(getattr(exc, "sqlstate", "") or "")
            if not state.startswith(_RETRYABLE_STATES):
                return StoreError(message)
        if isinstance(exc, ValueError):
            return StoreError(f"database_url is not a usable PostgreSQL URL ({self.where}): {text}")
        return StoreUnavailableError(message)

    async def pool(self) -> asyncpg.Pool[asyncpg.Record]:
        async with self.guard():
            return await asyncpg.create_pool(
                self._url.reveal(),
                min_size=1,
                max_size=4,
                timeout=self.timeout,
                command_timeout=self.timeout,
            )

    async def lock(self, key: int) -> asyncpg.Connection[asyncpg.Record] | None:
        """A new connection holding session advisory lock `key`, or None if another holds it."""
        async with self.guard():
            conn = await asyncpg.connect(self._url.reveal(), timeout=self.timeout)
        try:
            async with self.guard():
                got = await conn.fetchval("SELECT pg_try_advisory_lock($1)", key)
        except BaseException:
            conn.terminate()
            raise
        if got:
            return conn
        await conn.close(timeout=self.timeout)
        return None

    async def alive(self, conn: asyncpg.Connection[asyncpg.Record]) -> bool:
        """Whether the connection (and so its session locks) still stands."""
        try:
            async with asyncio.timeout(self.timeout):
                await conn.fetchval("SELECT 1")
        except _ERRORS:
            conn.terminate()
            return False
        return True

    async def unlock(self, conn: asyncpg.Connection[asyncpg.Record], key: int) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await conn.fetchval("SELECT pg_advisory_unlock($1)", key)
                await conn.close()
        except _ERRORS:
            conn.terminate()  # closing the session releases its locks anyway


async def migrate(conn: PoolConnectionProxy[asyncpg.Record]) -> list[int]:
    """Apply pending migrations under an advisory lock (concurrent starts wait, then skip)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
    await conn.execute(_SCHEMA_TABLE)
    applied = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    todo = pending("postgres", applied)
    for migration in todo:
        await conn.execute(migration.sql)
        await conn.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            migration.version,
            migration.name,
        )
        log.info("store: applied migration %04d_%s", migration.version, migration.name)
    return [m.version for m in todo]
