"""The stores of tests/store, on SQLite and on PostgreSQL, for the callback tests."""

from __future__ import annotations

from tests.store.conftest import backend, postgres_database, postgres_url, store

__all__ = ["backend", "postgres_database", "postgres_url", "store"]
