"""Both stores behind one fixture: every contract test runs on SQLite and on PostgreSQL.

PostgreSQL: a uniquely named database is created on 127.0.0.1:5432 (or on the server of
WATCHDOG_TEST_DATABASE_URL) for the test session and dropped after it; each test gets a fresh
schema in it, selected through the URL's search_path, so migrations start from nothing.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.conftest import require
from tests.store.backends import Backend
from watchdog.store import Store

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def _server() -> str:
    return os.environ.get("WATCHDOG_TEST_DATABASE_URL") or DEFAULT_SERVER


def _with_path(url: str, database: str, query: str = "") -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", query, ""))


async def _admin(sql: str, url: str) -> None:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """URL of this session's test database (None when no server answers)."""
    server = _server()
    name = f"watchdog_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"', server))
    except (OSError, asyncpg.PostgresError, TimeoutError):
        yield None
        return
    yield _with_path(server, name)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', server))


@pytest.fixture
def postgres_url(postgres_database: str | None) -> str:
    """A URL whose search_path is a new, empty schema of the session database."""
    require(postgres_database is not None, f"PostgreSQL is not reachable at {_server()}")
    assert postgres_database is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE SCHEMA "{schema}"', postgres_database))
    database = urlsplit(postgres_database).path.lstrip("/")
    return _with_path(postgres_database, database, f"search_path={schema}")


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", str(tmp_path / "state.db"))
    return Backend("postgres", request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    opened = await backend.open()
    yield opened
    await opened.aclose()
