"""Daemons as real OS processes, and a webhook receiver that logs what it acknowledged."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Receiver:
    """A webhook endpoint. `hang` makes it hold requests open without answering (a delivery in
    flight); only requests it answered 200 are logged in `acked`."""

    hang: bool = False
    seen: list[str] = field(default_factory=list)
    acked: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def ids(self) -> list[str]:
        return [str(a["id"]) for a in self.acked]

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.seen.append(request.headers["webhook-id"])
        self.arrived.set()
        if self.hang:  # hold it open, never answer: the sender dies with it in flight
            await self._release.wait()
            raise web.HTTPServiceUnavailable
        self.acked.append({"id": request.headers["webhook-id"], "body": body})
        return web.json_response({"ok": True})


@dataclass
class Daemon:
    """`budget-watchdog run` in its own process."""

    config: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as handle:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "watchdog", "run", "--config", str(self.config)],
                cwd=ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, like a crashed pod."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def reap(self) -> None:
        """Kill the process if it still runs (a failed test must not leave it behind)."""
        if self.process is not None and self.process.poll() is None:
            self.kill()

    def stop(self) -> int:
        """SIGTERM: the graceful path."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    async def role(self) -> str:
        """The role the daemon reports on /health/readiness ("" when it does not answer)."""
        import aiohttp

        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(
                    f"http://127.0.0.1:{self.port}/health/readiness",
                    timeout=aiohttp.ClientTimeout(total=2),
                ) as response,
            ):
                return str((await response.json()).get("role", ""))
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError):
            return ""


async def until(
    check: Callable[[], bool], *, seconds: float, what: str, log: Path | None = None
) -> None:
    """Wait for `check` to hold; fail with the daemon's log when it does not in time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        if loop.time() > deadline:
            tail = log.read_text()[-3000:] if log and log.exists() else ""  # noqa: ASYNC240
            raise AssertionError(f"timed out waiting for {what}\n{tail}")
        await asyncio.sleep(0.1)
