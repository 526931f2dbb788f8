"""The state store: alert claims (the dedup ledger and outbox), deliveries, actions, history.

One interface, two implementations run by the same tests: PostgreSQL through asyncpg
(production, several replicas) and an embedded SQLite file (the default); `open_store` in
`watchdog.store.factory` picks one from the settings. Claims are transactional (INSERT … ON
CONFLICT DO NOTHING): of two replicas deciding the same notice, exactly one wins and sends it.
`due` leases each row it returns to its caller for a short while, so two replicas never send
the same notice at once; a crash re-sends at most what was in flight, once its lease runs out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from watchdog.decisions import Decision
from watchdog.errors import StoreError
from watchdog.model import EntityRef, LedgerState, Snapshot, Snooze
from watchdog.render import Message
from watchdog.store.usage import RequestRecord, RequestStats, Spender, Within

if TYPE_CHECKING:
    from watchdog.store.rows import DecisionKey, Suppression

ACTION_KINDS = ("reset", "block", "unblock")
QUERY_KINDS = ("notices", "actions", "decisions", "dead", "snoozes")


class StoreUnavailableError(StoreError):
    """The database did not answer or refused a statement; the next cycle may succeed."""

    retryable = True


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """Retention and timing, the same for both stores (taken from the ops settings)."""

    retention: timedelta = timedelta(days=90)
    """Notices (counted from their period's end), decisions, actions and snoozes are kept
    this long."""
    request_retention: timedelta = timedelta(days=100)
    """Requests reported by LiteLLM's callbacks are kept this long (a period and the one
    before it, for dimension budgets and "vs last month")."""
    history_resolution: timedelta = timedelta(minutes=5)
    """At most one stored spend sample per entity per this interval."""
    history_retention: timedelta = timedelta(days=35)
    """Spend samples are kept this long (plus each entity's newest older one, its baseline)."""
    lease: timedelta = timedelta(minutes=2)
    """How long a delivery attempt owns its row: a crashed sender's notices are due again
    after this."""
    timeout: timedelta = timedelta(seconds=30)
    """Deadline for one database call, and for waiting on a lock another process holds."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A claimed notice waiting for delivery (new, retrying, or left in flight by a crash)."""

    id: int
    channel: str
    message: Message
    thread_key: str
    attempts: int
    """Failed attempts so far."""
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """A change made in LiteLLM (reset, block, unblock), for the audit trail."""

    kind: str
    """One of ACTION_KINDS: reset, block, unblock."""
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

    async def load_state(
        self,
        *,
        now: datetime,
        baselines: Sequence[datetime] = (),
        known: Snapshot | None = None,
    ) -> LedgerState:
        """Notices of current threads, streaks, actions, snoozes and spend history.

        `baselines`: instants (the start of each rule's current period) at or before which every
        entity keeps its last spend reading, however far past `history_retention` they are.
        `known`: the cycle's snapshot; the notice threads of an entity it holds name it by the
        snapshot's own id string rather than a copy read from the store.
        """
        ...

    async def claim(self, decisions: Sequence[Decision], *, now: datetime) -> list[Outgoing]:
        """Claim the notice decisions (others are ignored); returns only those this caller won.

        Claimed rows are due at once: send them through `due`, which leases them.
        """
        ...

    async def due(self, *, now: datetime, limit: int = 500) -> list[Outgoing]:
        """Claimed notices not yet delivered whose next attempt is due (includes crash leftovers).

        Each returned row is leased to this caller, so another replica's `due` skips it.
        """
        ...

    async def delivered(
        self, item: Outgoing, *, at: datetime, ref: str | None, thread: str | None
    ) -> None:
        """Mark a notice sent; `thread` is remembered as the thread's root when it is the first."""
        ...

    async def failed(
        self, item: Outgoing, *, at: datetime, error: str, retry_at: datetime | None
    ) -> None:
        """Record a failed attempt; retry_at None moves it to the dead-letter list."""
        ...

    async def replay(self, *, now: datetime, ids: Sequence[int] | None = None) -> int:
        """Move dead letters (all, or these ids) back to the outbox, due now; returns how many."""
        ...

    async def thread_ref(self, thread_key: str, channel: str) -> str | None:
        """The channel's reference of the first delivered notice in this thread, if any."""
        ...

    async def record_actions(self, records: Sequence[ActionRecord]) -> None:
        """Append to the audit trail; successful resets and blocks are remembered per budget."""
        ...

    async def record_bookkeeping(
        self,
        decisions: Sequence[Decision],
        *,
        now: datetime,
        suppressions: Mapping[DecisionKey, Suppression] | None = None,
    ) -> None:
        """Forecast streaks, reset baselines, suppression transitions (the decision log).

        Pass every decision of a cycle, once per cycle: a suppression that is absent from the
        cycle has ended, and a later one is logged again. A caller that gathered the cycle's
        suppressions as it went (`rows.gather_suppressions`) passes them as `suppressions`,
        and `decisions` need not hold the suppressed ones.
        """
        ...

    async def record_samples(self, snapshot: Snapshot, *, now: datetime) -> None:
        """Store spend readings that changed since the entity's last sample (at most one per
        history resolution)."""
        ...

    async def add_snooze(self, snooze: Snooze) -> None: ...

    async def record_requests(
        self, items: Sequence[RequestRecord], *, received_at: datetime
    ) -> int:
        """Store requests reported by LiteLLM's callbacks; one already stored (same id) is
        skipped, so a retried batch is harmless. Returns how many were new."""
        ...

    async def request_spend(
        self,
        dimension: str,
        *,
        start: datetime,
        end: datetime,
        within: Within | None = None,
        limit: int | None = None,
    ) -> list[Spender]:
        """Spend per value of `dimension` (e.g. "header:x-department", "model") for requests in
        [start, end), largest first; `within` keeps only requests carrying that value."""
        ...

    async def request_total(
        self, *, start: datetime, end: datetime, within: Within | None = None
    ) -> Decimal:
        """What the stored requests in [start, end) cost (those carrying `within`, if given)."""
        ...

    async def request_stats(self) -> RequestStats:
        """The oldest stored request and when the newest callback arrived."""
        ...

    async def prune(self, *, now: datetime, baselines: Sequence[datetime] = ()) -> dict[str, int]:
        """Delete what is older than the retention settings; returns rows deleted per table.
        Spend readings that are an entity's last at or before one of `baselines` stay."""
        ...

    async def query(self, kind: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Recent rows, newest first, for the status page and CLI: "notices", "actions",
        "decisions", "dead" (dead letters) or "snoozes"."""
        ...

    async def try_lead(self) -> bool:
        """Become, or confirm still being, the one replica that evaluates and sends.

        PostgreSQL: a session advisory lock held on a dedicated connection. SQLite: always.
        """
        ...

    async def release(self) -> None:
        """Give up leadership (another replica may take it over)."""
        ...

    async def aclose(self) -> None: ...
