"""The state store: alert claims (the dedup ledger and outbox), deliveries, actions, history.

One interface, two implementations run by the same tests: PostgreSQL through asyncpg
(production, several replicas) and an embedded SQLite file (the default). Claims are
transactional (INSERT … ON CONFLICT DO NOTHING): of two replicas deciding the same notice,
exactly one wins and sends it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from watchdog.evaluate import Decision
from watchdog.model import EntityRef, LedgerState, Snapshot, Snooze
from watchdog.render import Message


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A claimed notice waiting for delivery (new, retrying, or left in flight by a crash)."""

    id: int
    channel: str
    message: Message
    thread_key: str
    attempts: int
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """A change made in LiteLLM (reset, block, unblock), for the audit trail."""

    kind: str
    rule: str
    entity: EntityRef
    period: str
    at: datetime
    ok: bool
    spend_before: Decimal | None = None
    spend_after: Decimal | None = None
    error: str | None = None


class Store(Protocol):
    """Durable state shared by every replica."""

    async def load_state(self, *, now: datetime) -> LedgerState:
        """Notices of current threads, streaks, actions, snoozes and spend history."""
        ...

    async def claim(self, decisions: Sequence[Decision], *, now: datetime) -> list[Outgoing]:
        """Claim notice decisions; returns only those this caller won (new identities)."""
        ...

    async def due(self, *, now: datetime, limit: int = 500) -> list[Outgoing]:
        """Claimed notices not yet delivered whose next attempt is due (includes crash leftovers)."""
        ...

    async def delivered(self, item: Outgoing, *, at: datetime, ref: str | None,
                        thread: str | None) -> None: ...

    async def failed(self, item: Outgoing, *, at: datetime, error: str,
                     retry_at: datetime | None) -> None:
        """Record a failed attempt; retry_at None moves it to the dead-letter list."""
        ...

    async def thread_ref(self, thread_key: str, channel: str) -> str | None: ...

    async def record_actions(self, records: Sequence[ActionRecord]) -> None: ...

    async def record_bookkeeping(self, decisions: Sequence[Decision], *, now: datetime) -> None:
        """Forecast streaks, reset baselines, suppression transitions (the decision log)."""
        ...

    async def record_samples(self, snapshot: Snapshot, *, now: datetime) -> None: ...

    async def add_snooze(self, snooze: Snooze) -> None: ...

    async def prune(self, *, now: datetime) -> dict[str, int]: ...

    async def query(self, kind: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Recent rows for the status page and CLI: "notices", "actions", "decisions", "dead"."""
        ...

    async def aclose(self) -> None: ...
