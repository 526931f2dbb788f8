"""Where a test's state lives, opened the way the daemon opens it; shared with the race worker."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import asyncpg

from watchdog.config_fields import Secret
from watchdog.store import Store, StoreOptions
from watchdog.store.postgres import PostgresStore
from watchdog.store.sqlite import SqliteStore


@dataclass(frozen=True)
class Backend:
    """Where one test's state lives; `open` may be called again to restart."""

    name: str
    location: str
    """The SQLite file path, or a PostgreSQL URL selecting the test's schema."""

    async def open(self, options: StoreOptions | None = None, holder: str | None = None) -> Store:
        chosen = options or StoreOptions()
        if self.name == "sqlite":
            # each opened store plays a separate replica, as each PostgreSQL one does
            return await SqliteStore.open(
                self.location, options=chosen, holder=holder or uuid.uuid4().hex
            )
        return await PostgresStore.open(Secret(self.location), options=chosen, holder=holder)

    async def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a statement run (and committed) directly against the database."""
        if self.name == "sqlite":
            with closing(sqlite3.connect(self.location)) as db:
                rows = [tuple(r) for r in db.execute(sql)]
                db.commit()
                return rows
        conn = await asyncpg.connect(self.location, timeout=10)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()
