"""Composition and lifecycle: build the daemon's parts once, run them, close them in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from watchdog import config, logs, reload
from watchdog.act import Done, perform
from watchdog.callbacks.endpoint import Ingest, attach
from watchdog.daemon import Daemon, utcnow
from watchdog.decisions import Action, Decision
from watchdog.deliver import Outcome
from watchdog.evaluate import baselines, evaluate
from watchdog.heap import settle_large_blocks
from watchdog.metrics import Metrics
from watchdog.model import Snooze
from watchdog.server import Health, build_app, serve
from watchdog.snapshot import collect
from watchdog.store import Store
from watchdog.store.factory import open_store

__all__ = ["open_daemon", "run", "utcnow"]

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_daemon(
    config_path: str | None,
    *,
    env: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = utcnow,
    configure_logs: bool = True,
) -> AsyncIterator[Daemon]:
    """A ready daemon: config and rules validated, store open and migrated, channels built."""
    timeout = aiohttp.ClientTimeout(total=60, connect=10)
    async with aiohttp.ClientSession(timeout=timeout, raise_for_status=False) as session:
        runtime = await reload.build(config_path, session=session, now=clock(), env=env)
        settings = runtime.settings
        if configure_logs:
            logs.configure(settings.log_level, settings.log_format, secrets=settings.secrets())
        store = await open_store(settings)
        health = Health(
            store_ok=True, stuck_after=max(settings.poll_interval * 3, timedelta(minutes=5))
        )
        daemon = Daemon(
            runtime=runtime,
            store=store,
            session=session,
            config_path=config_path,
            metrics=Metrics(),
            health=health,
            clock=clock,
            env=env,
        )
        try:
            yield daemon
        finally:
            with contextlib.suppress(Exception):
                await store.release()
            await daemon.runtime.aclose()
            await store.aclose()


async def run(config_path: str | None, *, once: bool, env: Mapping[str, str] | None = None) -> int:
    """`budget-watchdog run`: the service, or one cycle with --once."""
    async with open_daemon(config_path, env=env) as daemon:
        settle_large_blocks()
        if once:
            return await _once(daemon)
        settings = daemon.runtime.settings
        runner, port = await serve_daemon(daemon)
        log.info(
            "watchdog started",
            extra={
                "port": port,
                "budgets": len(daemon.runtime.rules.rules),
                "poll_interval": str(settings.poll_interval),
                "callbacks": settings.http.callback_token is not None,
            },
        )
        stop = asyncio.Event()
        _signals(stop, daemon)
        try:
            await daemon.run(stop)
        finally:
            await runner.cleanup()
            log.info("watchdog stopped")
    return 0


async def serve_daemon(daemon: Daemon) -> tuple[web.AppRunner, int]:
    """The daemon's HTTP server (health, metrics, status page, callbacks), listening."""
    http = daemon.runtime.settings.http
    app = build_app(
        health=daemon.health, metrics=daemon.metrics, view=daemon.view, clock=daemon.clock
    )
    attach(app, callback_route(daemon))
    return await serve(app, host=http.host, port=http.port)


def callback_route(daemon: Daemon) -> Ingest:
    """POST /callbacks/litellm into the daemon's store, with the settings of the moment."""
    return Ingest(
        sink=daemon.store, settings=lambda: daemon.runtime.settings.http, clock=daemon.clock
    )


async def _once(daemon: Daemon) -> int:
    report = await daemon.cycle()
    outcome = await daemon.deliver() if report.role == "leader" else Outcome()
    print(  # noqa: T201 - the command's result
        f"cycle done: {report.budgets} budgets, {report.claimed} new notice(s), "
        f"{len(outcome.sent)} delivered, {len(outcome.retrying) + len(outcome.dead)} failed, "
        f"{report.changes} change(s) in LiteLLM"
        + (
            f"; failing sources: {', '.join(report.failed_sources)}"
            if report.failed_sources
            else ""
        )
    )
    return 1 if report.failed_sources or outcome.dead or outcome.retrying else 0


def _signals(stop: asyncio.Event, daemon: Daemon) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    reloads: set[asyncio.Task[bool]] = set()

    def hup() -> None:
        task = loop.create_task(daemon.reload_if_changed(force=True), name="reload:sighup")
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, hup)


async def resets(
    config_path: str | None, *, execute: bool, env: Mapping[str, str] | None = None
) -> tuple[list[Decision], list[Done]]:
    """`budget-watchdog reset`: the resets due now; with `execute`, make (only) them."""
    async with open_daemon(config_path, env=env, configure_logs=False) as daemon:
        rt = daemon.runtime
        now = daemon.clock()
        snapshot = await collect(rt.sources, rules=rt.rules, now=now, previous=None)
        state = await daemon.store.load_state(now=now, baselines=baselines(rt.rules, now))
        due = [d for d in evaluate(rt.rules, snapshot, state, now) if d.action is Action.RESET]
        if not execute or not due:
            return due, []
        done = await perform(due, admin=rt.admin, rules=rt.rules, now=now)
        await daemon.store.record_actions([d.record for d in done])
        await daemon.store.claim([n for d in done for n in d.announcements], now=now)
        await daemon.deliver()
        return due, done


@asynccontextmanager
async def store_only(
    config_path: str | None, *, env: Mapping[str, str] | None = None
) -> AsyncIterator[Store]:
    """The state store alone (for commands that do not read sources or send)."""
    settings = config.load(config_path, env if env is not None else os.environ)
    store = await open_store(settings)
    try:
        yield store
    finally:
        await store.aclose()


async def dead_letters(config_path: str | None) -> list[dict[str, Any]]:
    async with store_only(config_path) as store:
        return await store.query("dead", limit=1000)


async def replay(config_path: str | None, *, ids: Sequence[int] | None) -> tuple[int, int]:
    """Dead letters back to the outbox, then one delivery round; (moved, delivered)."""
    async with open_daemon(config_path, configure_logs=False) as daemon:
        moved = await daemon.store.replay(now=daemon.clock(), ids=ids)
        outcome = await daemon.deliver()
        return moved, len(outcome.sent)


async def snoozes(config_path: str | None) -> list[dict[str, Any]]:
    async with store_only(config_path) as store:
        return await store.query("snoozes", limit=1000)


async def add_snooze(config_path: str | None, snooze: Snooze) -> None:
    async with store_only(config_path) as store:
        await store.add_snooze(snooze)
