"""Schema migrations: numbered, forward-only SQL files per backend, shipped in the package.

`migrations/NNNN_name.postgres.sql` and `migrations/NNNN_name.sqlite.sql`; each store applies
the ones its `schema_migrations` table does not list, in order, each in its own transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from watchdog.errors import StoreError

Backend = Literal["postgres", "sqlite"]
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(postgres|sqlite)\.sql$")

SCHEMA_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(backend: Backend) -> list[Migration]:
    """Every migration for `backend`, oldest first; numbering must have no gaps."""
    found = []
    for entry in resources.files("watchdog.store").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match and match[3] == backend:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    expected = list(range(1, len(found) + 1))
    if [m.version for m in found] != expected:
        raise StoreError(f"{backend} migrations are not numbered 1..{len(found)} without gaps")
    return found


def pending(backend: Backend, applied: set[int]) -> list[Migration]:
    """Migrations still to apply; refuses a database migrated by a newer release."""
    known = migrations(backend)
    newest = max(applied, default=0)
    if newest > len(known):
        raise StoreError(
            f"the database schema is at version {newest}, newer than this release knows "
            f"({len(known)}); run a watchdog release at least as new as the one that migrated it"
        )
    return [m for m in known if m.version not in applied]


def statements(sql: str) -> list[str]:
    """Split a migration script into statements (for drivers that run one at a time)."""
    out = []
    current: list[str] = []
    for line in sql.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("--")):
            continue
        current.append(line)
        if stripped.endswith(";"):
            out.append("\n".join(current))
            current = []
    if current and "".join(current).strip():
        out.append("\n".join(current))
    return out
