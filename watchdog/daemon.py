"""The daemon: the one place where I/O, the clock and the pure core meet.

Each cycle: read every source into a snapshot, load the ledger, evaluate, make the changes
that are due in LiteLLM, claim the notices, record bookkeeping and samples. A separate task
delivers claimed notices from the outbox, so a slow channel never delays a cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import aiohttp

from watchdog import __version__, reload
from watchdog.act import perform
from watchdog.attribute import attribute
from watchdog.callbacks.spend import Watch, with_callbacks
from watchdog.decisions import Action, Decision
from watchdog.deliver import Courier, Outcome, RetryPolicy
from watchdog.errors import InputError, WatchdogError
from watchdog.evaluate import Standing, baselines, evaluate
from watchdog.metrics import Metrics, actions_of
from watchdog.model import Scope, Snapshot, SourceStatus
from watchdog.preview import Board, Row
from watchdog.server import Health
from watchdog.snapshot import collect
from watchdog.sources.litellm_activity import LiteLLMActivity
from watchdog.status import SHOWN, StatusView
from watchdog.store import ActionRecord, Outgoing, Store, StoreUnavailableError
from watchdog.store.rows import DecisionKey, Suppression, gather_suppressions

log = logging.getLogger(__name__)

RULES_SOURCE = "rules"
PRUNE_EVERY = timedelta(hours=1)
CLAIM_BATCH = 500
"""Notices claimed (and their messages rendered) at a time."""


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block.

    Evaluation makes no reference cycles, yet each collection triggered by its allocations
    walks every object the daemon holds (a million at 100k entities): up to a quarter of the
    evaluation's time. Its garbage is freed by reference counting as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Reader:
    """What `evaluate` finds, read as it finds it and mostly not kept.

    Where each idle budget stands, and what was decided about every other budget, go to the
    status board, the per-budget gauges and the counters of alerts held back; the cycle's
    suppressions are gathered for the decision log; only the decisions that do something
    (notify, reset, block, record) are kept. At 100k entities and 10 rules, holding the 65k
    standings until the board and gauges read them cost 17 MB at the cycle's peak, and so
    did holding the 33k decisions of a later cycle that said a notice was sent already.
    """

    def __init__(self, board: Board, metrics: Metrics, now: datetime) -> None:
        self.board, self.metrics, self.now = board, metrics, now
        self.kept: list[Decision] = []
        self.suppressions: dict[DecisionKey, Suppression] = {}
        metrics.budget_gauges.begin()

    def append(self, standing: Standing, /) -> None:
        self.board.append(standing)
        self.metrics.budget_gauges.add_standing(standing, self.now)

    def extend(self, decisions: Iterable[Decision], /) -> None:
        """One budget's decisions (or the sources'), all at once."""
        found = decisions if isinstance(decisions, list) else list(decisions)
        self.board.add_decisions(found)
        self.metrics.budget_gauges.add_decisions(found, self.now)
        self.metrics.observe_suppressed(found)
        gather_suppressions(self.suppressions, found)
        self.kept.extend(d for d in found if d.action is not Action.NONE)

    def close(self) -> tuple[tuple[list[Row], int], int]:
        """The board, and how many budgets were measured (each has one reading in the
        gauges, however many channels its decisions went to)."""
        budgets = self.metrics.budget_gauges.end()
        self.metrics.budgets.set(budgets)
        return self.board.rows(), budgets


def utcnow() -> datetime:
    """The one clock."""
    return datetime.now(UTC)


@dataclass
class Report:
    """What one cycle did."""

    role: str
    decisions: list[Decision] = field(default_factory=list)
    """Those that do something (notify, reset, block, record), sources' included."""
    budgets: int = 0
    """Budgets measured: those with decisions and those with nothing to do."""
    claimed: int = 0
    changes: int = 0
    failed_sources: list[str] = field(default_factory=list)


@dataclass
class Daemon:
    """The long-running worker; built once by `cli run`, driven by `run()` or `cycle()`."""

    runtime: reload.Runtime
    store: Store
    session: aiohttp.ClientSession
    config_path: str | None
    metrics: Metrics = field(default_factory=Metrics)
    health: Health = field(default_factory=Health)
    clock: Callable[[], datetime] = utcnow
    env: Mapping[str, str] | None = None
    snapshot: Snapshot | None = None
    rules_error: str = ""
    last: Report | None = None
    """The last cycle's report, without its decisions (the status board keeps what it shows)."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    _courier: Courier | None = None
    _pruned_at: datetime | None = None
    _board: tuple[list[Row], int] = ([], 0)
    """The status page's most used budgets and how many there are, from the last cycle."""
    _callbacks: Watch = field(default_factory=Watch)

    # One cycle ---------------------------------------------------------------------------

    async def cycle(self) -> Report:
        """Read, evaluate, act, claim; returns what happened."""
        started = self.clock()
        self.health.last_tick = started
        if not await self._lead():
            self.last = Report(role="standby")
            self._board = ([], 0)
            return self.last
        rt = self.runtime
        snapshot = await collect(rt.sources, rules=rt.rules, now=started, previous=self.snapshot)
        snapshot = self._with_rules_status(snapshot, started)
        snapshot = await self._with_callbacks(snapshot, started)
        self._log_source_changes(self.snapshot, snapshot)
        self.snapshot = snapshot
        self.health.snapshot_ok = self.health.snapshot_ok or any(
            s.ok for n, s in snapshot.sources.items() if n != RULES_SOURCE
        )
        state = await self.store.load_state(
            now=started, baselines=baselines(rt.rules, started), known=snapshot
        )
        self.metrics.history_readings.set(sum(map(len, state.history.values())))
        reader = _Reader(Board(SHOWN), self.metrics, self.clock())
        with gc_paused():
            evaluate(rt.rules, snapshot, state, started, standings=reader, decided=reader)
        # The ledger as loaded (notices, history view) goes before the rest of the cycle
        # allocates: kept to the end, it was 10 MB more at the cycle's peak at 100k entities.
        del state
        decisions = reader.kept
        self._board, budgets = reader.close()
        changes = _not_blocking_what_resets(actions_of(decisions))
        done = await perform(changes, admin=rt.admin, rules=rt.rules, now=started)
        await self.store.record_actions([d.record for d in done])
        notices = _after_resets(
            [d for d in decisions if d.action is Action.NOTIFY],
            [d.record for d in done],
        )
        notices += [n for d in done for n in d.announcements]
        notices = await self._attribute(notices, snapshot, started)
        claimed = await self._claim(notices, started)
        await self.store.record_bookkeeping(
            decisions, now=started, suppressions=reader.suppressions
        )
        del reader
        await self.store.record_samples(snapshot, now=started)
        if claimed:
            self.wake.set()
        await self._prune(started)
        report = Report(
            role="leader",
            decisions=decisions,
            budgets=budgets,
            claimed=claimed,
            changes=len(done),
            failed_sources=[n for n, s in snapshot.sources.items() if not s.ok],
        )
        self._observe(
            report,
            snapshot,
            notices,
            claimed_count=claimed,
            duration=(self.clock() - started).total_seconds(),
        )
        self.health.last_tick = self.clock()
        # Only what the page shows is kept (`_board`): holding every decision would keep this
        # cycle's entities alive through the next one, doubling the daemon's memory at its peak.
        self.last = replace(report, decisions=[])
        return report

    async def _attribute(
        self, notices: list[Decision], snapshot: Snapshot, now: datetime
    ) -> list[Decision]:
        """Who drove the spend, on firing team, proxy-wide and dimension alerts: from stored
        callbacks when they are on, else from LiteLLM's daily activity."""
        settings = self.runtime.settings
        callbacks = settings.http.callback_token is not None
        live = settings.litellm is not None and not settings.snapshot_file
        if not callbacks and not (live and settings.litellm and settings.litellm.master_key):
            return notices
        activity = (
            LiteLLMActivity(settings.litellm, session=self.session)
            if live and settings.litellm is not None and settings.litellm.master_key
            else None
        )
        return await attribute(
            notices,
            store=self.store if callbacks else None,
            rules=self.runtime.rules,
            headers=settings.http.callback_headers,
            now=now,
            activity=activity,
            team_names={e.id: e.name for e in snapshot.of(Scope.TEAM).values() if e.name},
        )

    async def deliver(self) -> Outcome:
        """One delivery round over everything due."""
        outcome = await self.courier.round()
        for item in outcome.sent:
            log.info(
                "delivered %s",
                item.message.title,
                extra={"channel": item.channel, "id": item.message.id},
            )
        for item, error in outcome.retrying:
            log.warning(
                "delivery to %s failed, will retry: %s",
                item.channel,
                error,
                extra={"id": item.message.id, "attempts": item.attempts + 1},
            )
        for item, error in outcome.dead:
            log.error(
                "delivery to %s gave up: %s", item.channel, error, extra={"id": item.message.id}
            )
        self.metrics.observe_delivery(outcome)
        await self._count_dead_letters()
        return outcome

    async def _count_dead_letters(self) -> None:
        """The dead-letter gauge, read from the store (a replay elsewhere lowers it)."""
        try:
            dead = await self.store.query("dead", limit=DEAD_LETTER_CAP)
        except WatchdogError as exc:
            log.debug("could not count dead letters: %s", exc)
            return
        self.metrics.dead.set(len(dead))

    @property
    def courier(self) -> Courier:
        rt = self.runtime
        if self._courier is None or self._courier.notifiers is not rt.notifiers:
            limits = {
                name: getattr(ch, "max_attempts", 0)
                for name, ch in rt.settings.channels.items()
                if getattr(ch, "max_attempts", 0)
            }
            paused = self._courier.paused_until if self._courier else {}
            self._courier = Courier(
                store=self.store,
                notifiers=rt.notifiers,
                clock=self.clock,
                policy=RetryPolicy(
                    base=rt.settings.delivery.backoff_base,
                    cap=rt.settings.delivery.backoff_cap,
                    max_attempts=rt.settings.delivery.max_attempts,
                    send_timeout=rt.settings.delivery.send_timeout,
                ),
                max_attempts=limits,
                paused_until=paused,
            )
        return self._courier

    # Reload ------------------------------------------------------------------------------

    async def reload_if_changed(self, *, force: bool = False) -> bool:
        """Swap in a new runtime when files changed (or `force`); keep the old one on errors."""
        settings = self.runtime.settings
        current = reload.stamp(self.config_path, settings.rules, settings.litellm_config)
        if not force and current == self.runtime.stamp:
            return False
        now = self.clock()
        try:
            fresh = await reload.build(
                self.config_path, session=self.session, now=now, env=self.env
            )
        except (InputError, WatchdogError, OSError) as exc:
            text = str(exc) or type(exc).__name__
            if text != self.rules_error:
                log.error("rules or config invalid; the last good ones stay in force: %s", text)
            self.rules_error = text
            self.runtime = replace(self.runtime, stamp=current)
            self.metrics.rules_valid.set(0)
            return False
        old, self.runtime = self.runtime, fresh
        await old.aclose()
        if self.rules_error:
            log.info("rules and config valid again")
        self.rules_error = ""
        self.metrics.rules_valid.set(1)
        self.metrics.rules_loaded.set(now.timestamp())
        log.info(
            "reloaded %d budgets from %d files", len(fresh.rules.rules), len(fresh.rules.files)
        )
        return True

    # The loop ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, grace: timedelta = timedelta(seconds=10)) -> None:
        """Cycle every poll interval, deliver continuously, reload on change, until `stop`."""
        self.metrics.rules_valid.set(1)
        self.metrics.rules_loaded.set(self.runtime.loaded_at.timestamp())
        async with asyncio.TaskGroup() as group:
            group.create_task(self._cycles(stop), name="cycles")
            group.create_task(self._deliveries(stop, grace), name="deliveries")
            group.create_task(self._reloads(stop), name="reloads")

    async def _cycles(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.cycle()
            except WatchdogError as exc:
                log.error("cycle failed: %s", exc)
            await _wait(stop, self.runtime.settings.poll_interval)

    async def _deliveries(self, stop: asyncio.Event, grace: timedelta) -> None:
        while not stop.is_set():
            if self.health.role == "leader":
                with contextlib.suppress(WatchdogError):
                    await self.deliver()
            await _wait(self.wake, timedelta(seconds=2))
            self.wake.clear()
        with contextlib.suppress(WatchdogError, TimeoutError):
            async with asyncio.timeout(grace.total_seconds()):
                await self.deliver()  # finish what was in flight

    async def _reloads(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.reload_if_changed()
            await _wait(stop, timedelta(seconds=2))

    # Helpers -----------------------------------------------------------------------------

    async def _lead(self) -> bool:
        if not self.runtime.settings.leader_lock:
            self.health.role = "leader"  # active-active: the ledger alone prevents duplicates
            self.metrics.leader.set(1)
            return True
        try:
            leader = await self.store.try_lead()
        except StoreUnavailableError as exc:
            if self.health.role != "standby":
                log.error("state store unreachable, standing by: %s", exc)
            leader = False
        role = "leader" if leader else "standby"
        if role != self.health.role:
            log.info("this replica is now %s", role)
        self.health.role = role
        self.metrics.leader.set(1 if leader else 0)
        return leader

    def _with_rules_status(self, snapshot: Snapshot, now: datetime) -> Snapshot:
        status = SourceStatus(
            RULES_SOURCE,
            ok=not self.rules_error,
            data_as_of=None if self.rules_error else now,
            error=self.rules_error.splitlines()[0] if self.rules_error else None,
        )
        sources = dict(snapshot.sources)
        sources[RULES_SOURCE] = status
        return replace(snapshot, sources=MappingProxyType(sources))

    async def _with_callbacks(self, snapshot: Snapshot, now: datetime) -> Snapshot:
        """Dimension budgets' spend from the stored callbacks (see watchdog.callbacks.spend)."""
        http = self.runtime.settings.http
        return await with_callbacks(
            snapshot,
            store=self.store,
            rules=self.runtime.rules,
            headers=http.callback_headers,
            enabled=http.callback_token is not None,
            watch=self._callbacks,
            now=now,
        )

    def _log_source_changes(self, before: Snapshot | None, after: Snapshot) -> None:
        for name, status in after.sources.items():
            previous = before.sources.get(name) if before else None
            was_ok = previous.ok if previous else True
            if was_ok and not status.ok:
                log.error("source %s failing: %s", name, status.error, extra={"source": name})
            elif previous is not None and not was_ok and status.ok:
                log.info("source %s recovered", name, extra={"source": name})

    async def _claim(self, notices: list[Decision], now: datetime) -> int:
        """Claim the notices a batch at a time; how many this instance won.

        A claim renders each message; in batches, the messages of one batch are alive at a
        time rather than those of every notice of a first cycle over many budgets.
        """
        won = 0
        for start in range(0, len(notices), CLAIM_BATCH):
            claimed = await self.store.claim(notices[start : start + CLAIM_BATCH], now=now)
            self._log_claims(claimed)
            won += len(claimed)
        return won

    def _log_claims(self, claimed: list[Outgoing]) -> None:
        for item in claimed:
            payload = item.message.payload
            log.info(
                "alert due: %s",
                item.message.title,
                extra={
                    "channel": item.channel,
                    "id": item.message.id,
                    "reason": payload.get("reason"),
                    "rule": payload.get("rule"),
                },
            )

    def _observe(
        self,
        report: Report,
        snapshot: Snapshot,
        notices: list[Decision],
        *,
        claimed_count: int,
        duration: float,
    ) -> None:
        self.metrics.observe_snapshot(snapshot)
        self.metrics.observe_lost_claims(len(notices) - claimed_count)
        self.metrics.cycle.observe(duration)

    async def _prune(self, now: datetime) -> None:
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        counts = await self.store.prune(now=now, baselines=baselines(self.runtime.rules, now))
        if any(counts.values()):
            log.info("pruned old rows", extra={"pruned": counts})

    async def view(self) -> StatusView:
        recent = await self.store.query("notices", limit=20)
        dead = await self.store.query("dead", limit=1000)
        rt = self.runtime
        return StatusView(
            now=self.clock(),
            role=self.health.role,
            budgets=self._board[0],
            total=self._board[1],
            sources=list(self.snapshot.sources.values()) if self.snapshot else (),
            recent=recent,
            rules_files=rt.rules.files,
            rules_error=self.rules_error,
            dead_letters=len(dead),
            version=f"budget-watchdog {__version__}",
        )


def _not_blocking_what_resets(changes: list[Decision]) -> list[Decision]:
    """No block of an entity being reset in the same cycle: the block was judged on spend the
    reset is about to clear; the next cycle judges again."""
    resetting = {d.alert.ref for d in changes if d.action is Action.RESET}
    return [d for d in changes if not (d.action is Action.BLOCK and d.alert.ref in resetting)]


def _after_resets(notices: list[Decision], changes: Sequence[ActionRecord]) -> list[Decision]:
    """Notices without those about entities reset in this cycle.

    They were judged on spend read before the reset; the next cycle judges the new period on
    what LiteLLM holds after it (the reset's own announcement still goes out).
    """
    reset = {c.entity for c in changes if c.kind == "reset" and c.ok}
    if not reset:
        return notices
    return [d for d in notices if d.alert.ref not in reset]


DEAD_LETTER_CAP = 10_000
"""Dead letters counted for the gauge at most (the alert is about more than zero)."""


async def _wait(event: asyncio.Event, longest: timedelta) -> None:
    """Until `event` is set or `longest` has passed."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(longest.total_seconds()):
            await event.wait()
