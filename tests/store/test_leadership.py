"""Leader election: one replica leads at a time (PostgreSQL advisory lock, SQLite file lock)."""

from __future__ import annotations

import logging

import asyncpg
import pytest

from tests.store.backends import Backend
from watchdog.store.pgconn import LEADER_LOCK


async def test_one_daemon_per_state_file_leads(tmp_path: object) -> None:
    """A second daemon on the same SQLite file stands by, and leads once the first closes."""
    backend = Backend("sqlite", f"{tmp_path}/state.db")
    first, second = await backend.open(), await backend.open()
    try:
        assert [await first.try_lead(), await second.try_lead()] == [True, False]
        assert [await first.try_lead(), await second.try_lead()] == [True, False]
        await first.aclose()
        assert await second.try_lead()
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_released_sqlite_lead_can_be_taken_again(tmp_path: object) -> None:
    """Releasing gives the lock up; the same store may lead again."""
    backend = Backend("sqlite", f"{tmp_path}/state.db")
    store = await backend.open()
    try:
        assert await store.try_lead()
        await store.release()
        assert await store.try_lead()
    finally:
        await store.aclose()


@pytest.mark.postgres
async def test_one_replica_leads_until_it_releases(postgres_url: str) -> None:
    """The lock holder stays leader; the other takes over only after a release."""
    backend = Backend("postgres", postgres_url)
    first, second = await backend.open(), await backend.open()
    try:
        assert [await first.try_lead(), await second.try_lead()] == [True, False]
        assert [await first.try_lead(), await second.try_lead()] == [True, False]
        await first.release()
        assert [await second.try_lead(), await first.try_lead()] == [True, False]
    finally:
        await first.aclose()
        await second.aclose()


@pytest.mark.postgres
async def test_closing_a_leader_hands_over(postgres_url: str) -> None:
    """A replica that shuts down frees the lock for the next."""
    backend = Backend("postgres", postgres_url)
    first, second = await backend.open(), await backend.open()
    try:
        assert await first.try_lead()
        await first.aclose()
        assert await second.try_lead()
    finally:
        await second.aclose()


@pytest.mark.postgres
async def test_a_leader_whose_lock_connection_dies_steps_down(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """When the server drops the lock's session, another replica leads and the old one knows."""
    caplog.set_level(logging.INFO, logger="watchdog.store.postgres")
    backend = Backend("postgres", postgres_url)
    first, second = await backend.open(), await backend.open()
    try:
        assert await first.try_lead()
        await _terminate_lock_holder(postgres_url)
        assert await second.try_lead()
        assert not await first.try_lead()
        assert not await first.try_lead()
        lost = [r.message for r in caplog.records if "leadership lost" in r.message]
        assert len(lost) == 1
    finally:
        await first.aclose()
        await second.aclose()


async def _terminate_lock_holder(url: str) -> None:
    """End the server session holding the leader lock, as a failover or network cut would."""
    conn = await asyncpg.connect(url, timeout=10)
    try:
        holders = await conn.fetch(
            "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND l.classid::bigint = $1 AND l.objid::bigint = $2",
            LEADER_LOCK >> 32,
            LEADER_LOCK & 0xFFFFFFFF,
        )
        assert len(holders) == 1
        assert await conn.fetchval("SELECT pg_terminate_backend($1, 5000)", holders[0]["pid"])
    finally:
        await conn.close()
