"""The HTTP server on one port: health probes, /metrics, the status page (and callback ingest)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from watchdog.metrics import Metrics
from watchdog.status import StatusView, page


@dataclass
class Health:
    """What the probes report; the daemon updates it as it goes."""

    store_ok: bool = False
    snapshot_ok: bool = False
    role: str = "starting"
    last_tick: datetime | None = None
    """Start or end of the latest cycle (or standby check)."""
    stuck_after: timedelta = timedelta(minutes=5)

    def ready(self) -> tuple[bool, str]:
        if not self.store_ok:
            return False, "state store not connected"
        if self.role == "standby":
            return True, "standby: another replica holds the leader lock"
        if not self.snapshot_ok:
            return False, "no successful snapshot yet"
        return True, "ok"

    def alive(self, now: datetime) -> tuple[bool, str]:
        if self.last_tick is None or now - self.last_tick <= self.stuck_after:
            return True, "ok"
        return False, f"no cycle for {int((now - self.last_tick).total_seconds())} s"


def build_app(
    *,
    health: Health,
    metrics: Metrics,
    view: Callable[[], Awaitable[StatusView]],
    clock: Callable[[], datetime],
) -> web.Application:
    """The aiohttp application; more routes (e.g. callbacks) can be added before it starts."""

    async def liveliness(_: web.Request) -> web.Response:
        ok, why = health.alive(clock())
        return web.json_response(
            {"status": "healthy" if ok else "unhealthy", "detail": why}, status=200 if ok else 503
        )

    async def readiness(_: web.Request) -> web.Response:
        ok, why = health.ready()
        body = {
            "status": "healthy" if ok else "unhealthy",
            "role": health.role,
            "detail": why,
            "db": "connected" if health.store_ok else "disconnected",
        }
        return web.json_response(body, status=200 if ok else 503)

    async def prometheus(request: web.Request) -> web.StreamResponse:
        # Written in parts, yielding between them: at 100k budgets the per-budget series are
        # about 30 MB of text, which a cycle should not wait on, nor memory hold at once.
        response = web.StreamResponse(
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
        )
        await response.prepare(request)
        for chunk in metrics.chunks():
            await response.write(chunk)
            await asyncio.sleep(0)
        await response.write_eof()
        return response

    async def status(_: web.Request) -> web.Response:
        return web.Response(text=page(await view()), content_type="text/html")

    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_get("/health/liveliness", liveliness)
    app.router.add_get("/health/readiness", readiness)
    app.router.add_get("/metrics", prometheus)
    app.router.add_get("/", status)
    return app


async def serve(app: web.Application, *, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start listening; returns the runner (cleanup on exit) and the bound port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server  # aiohttp offers no public accessor for the bound port
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)
