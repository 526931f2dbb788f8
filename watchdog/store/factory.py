"""Pick and open the store the settings ask for: PostgreSQL for a database_url, else SQLite."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from watchdog.config import Settings
from watchdog.config_fields import Secret
from watchdog.errors import StoreError
from watchdog.store import Store, StoreOptions
from watchdog.store.sqlite import SqliteStore

log = logging.getLogger(__name__)

POSTGRES_SCHEMES = ("postgresql", "postgres")


def options_from(settings: Settings) -> StoreOptions:
    """Retention and timing from the ops settings."""
    return StoreOptions(
        retention=settings.retention,
        history_resolution=settings.history.resolution,
        history_retention=settings.history.retention,
        lease=settings.delivery.lease,
    )


async def open_store(
    settings: Settings, *, options: StoreOptions | None = None, holder: str | None = None
) -> Store:
    """Open and migrate the configured store; StoreError says what is wrong, never a password.

    `holder` names this replica in delivery leases (default: unique per opened store).
    """
    chosen = options or options_from(settings)
    url = settings.database_url
    if url is None or not url.reveal().strip():
        log.info("store: SQLite file %s", settings.state_file)
        return await SqliteStore.open(settings.state_file, options=chosen, holder=holder)
    scheme = _scheme(url)
    if scheme in POSTGRES_SCHEMES:
        # imported when configured: asyncpg costs memory in every daemon that does not use it
        from watchdog.store.pgconn import describe  # noqa: PLC0415
        from watchdog.store.postgres import PostgresStore  # noqa: PLC0415

        log.info("store: PostgreSQL %s", describe(url.reveal()))
        return await PostgresStore.open(url, options=chosen, holder=holder)
    raise StoreError(
        f"database_url ({url.source}) {scheme}; expected postgresql://user:password"
        "@host:5432/database, or no database_url for the embedded SQLite file "
        f"(state_file: {settings.state_file})"
    )


def _scheme(url: Secret) -> str:
    try:
        scheme = urlsplit(url.reveal().strip()).scheme.lower()
    except ValueError:
        return "is not a URL"
    if scheme in POSTGRES_SCHEMES:
        return scheme
    return f"has scheme {scheme!r}" if scheme else "has no scheme"
