"""Fixtures for daemon tests: a fresh PostgreSQL database for replicas to share."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.conftest import require

SERVER = (
    os.environ.get("WATCHDOG_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(SERVER, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def shared_database() -> Iterator[str]:
    """A new database on the test server, dropped afterwards (replicas share it)."""
    name = f"watchdog_ha_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        require(False, f"PostgreSQL is not reachable at {SERVER}: {type(exc).__name__}")
    parts = urlsplit(SERVER)
    yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
