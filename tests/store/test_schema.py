"""Opening a store: versioned migrations, choosing the backend, and errors that keep secrets."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.builders import NOW
from tests.store.backends import Backend
from tests.store.cases import crossings
from watchdog.config import Settings
from watchdog.config_fields import Secret
from watchdog.errors import StoreError
from watchdog.store import StoreUnavailableError
from watchdog.store.factory import open_store
from watchdog.store.migrate import migrations
from watchdog.store.postgres import PostgresStore
from watchdog.store.sqlite import SqliteStore

PASSWORD = "hunter2-Sup3r-secret"


async def _versions(backend: Backend) -> list[int]:
    rows = await backend.fetch("SELECT version FROM schema_migrations ORDER BY version")
    return [int(r[0]) for r in rows]


async def test_reopening_applies_no_migration_twice_and_keeps_data(backend: Backend) -> None:
    """Migrations are recorded by version; a second start finds nothing to do."""
    first = await backend.open()
    await first.claim(crossings(2), now=NOW)
    await first.aclose()
    second = await backend.open()
    try:
        assert len(await second.query("notices")) == 2
    finally:
        await second.aclose()
    known = [m.version for m in migrations("sqlite")]
    assert await _versions(backend) == known == [m.version for m in migrations("postgres")]


async def test_concurrent_starts_migrate_once(backend: Backend) -> None:
    """Several replicas starting at once on an empty database all open it, migrated once."""
    stores = await asyncio.gather(*(backend.open() for _ in range(4)))
    try:
        won = await asyncio.gather(*(s.claim(crossings(1), now=NOW) for s in stores))
    finally:
        for store in stores:
            await store.aclose()
    assert sum(len(w) for w in won) == 1
    assert await _versions(backend) == [m.version for m in migrations("sqlite")]


async def test_a_database_migrated_by_a_newer_release_is_refused(backend: Backend) -> None:
    """An older watchdog does not run against a schema it does not know."""
    store = await backend.open()
    await store.aclose()
    await backend.fetch(
        "INSERT INTO schema_migrations (version, name, applied_at)"
        " VALUES (99, 'from the future', CURRENT_TIMESTAMP) RETURNING version"
    )
    with pytest.raises(StoreError, match="schema is at version 99, newer than this release"):
        await backend.open()


async def test_without_a_database_url_the_state_file_is_used(tmp_path: Path) -> None:
    """The default store is the embedded SQLite file named by state_file."""
    path = tmp_path / "state" / "watchdog.db"
    store = await open_store(Settings(state_file=str(path)))
    try:
        assert isinstance(store, SqliteStore)
        assert await store.try_lead()
    finally:
        await store.aclose()
    assert path.is_file()


@pytest.mark.postgres
async def test_a_postgresql_url_opens_the_shared_store(postgres_url: str) -> None:
    """database_url postgresql://… selects PostgreSQL."""
    store = await open_store(Settings(database_url=Secret(postgres_url)))
    try:
        assert isinstance(store, PostgresStore)
        assert await store.query("notices") == []
    finally:
        await store.aclose()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param(f"mysql://root:{PASSWORD}@db/watchdog", "has scheme 'mysql'", id="mysql"),
        pytest.param(PASSWORD, "has no scheme", id="bare word"),
        pytest.param(f"https://u:{PASSWORD}@example.org/", "has scheme 'https'", id="https"),
    ],
)
async def test_unknown_database_urls_are_refused_without_the_secret(url: str, message: str) -> None:
    """The error says which schemes work and never echoes the URL."""
    with pytest.raises(StoreError, match=message) as caught:
        await open_store(Settings(database_url=Secret(url, "os.environ/DATABASE_URL")))
    text = str(caught.value)
    assert "expected postgresql://" in text
    assert "os.environ/DATABASE_URL" in text
    assert PASSWORD not in text


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("where", "retryable"),
    [
        pytest.param("closed port", True, id="nothing listening"),
        pytest.param("missing database", False, id="no such database"),
    ],
)
async def test_connection_errors_name_the_server_but_not_the_password(
    postgres_url: str, where: str, retryable: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed connection is a StoreError naming user@host:port/db, password scrubbed."""
    caplog.set_level(logging.DEBUG)
    server = urlsplit(postgres_url)
    host = "127.0.0.1" if where == "closed port" else server.hostname
    port = _closed_port() if where == "closed port" else (server.port or 5432)
    url = f"postgresql://{server.username}:{PASSWORD}@{host}:{port}/no_such_db_{port}"
    with pytest.raises(StoreError) as caught:
        await open_store(Settings(database_url=Secret(url)))
    error = caught.value
    assert f":{port}/no_such_db_{port}" in str(error)
    assert isinstance(error, StoreUnavailableError) is retryable
    for text in (str(error), repr(error), caplog.text, str(error.__cause__)):
        assert PASSWORD not in text


@pytest.mark.postgres
async def test_a_working_store_never_shows_its_password(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Logs and repr of an open store name the server only."""
    caplog.set_level(logging.DEBUG)
    url = postgres_url.replace("postgres@", f"postgres:{PASSWORD}@", 1)
    store = await open_store(Settings(database_url=Secret(url)))
    try:
        await store.claim(crossings(1), now=NOW)
        assert await store.try_lead()
        shown = repr(store)
    finally:
        await store.aclose()
    assert "127.0.0.1:5432" in shown
    assert PASSWORD not in shown
    assert PASSWORD not in caplog.text
    assert "store: PostgreSQL postgres@127.0.0.1:5432" in caplog.text


async def test_an_unusable_state_file_is_a_clear_error(tmp_path: Path) -> None:
    """A state_file that cannot be created names the path."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(StoreError, match="not-a-directory"):
        await open_store(Settings(state_file=str(blocker / "state.db")))
