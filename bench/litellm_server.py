"""A LiteLLM-shaped admin API on 127.0.0.1 serving a synthetic population, counting its load.

It pages like the real proxy (/key/list `size`, /v2/team/list and /user/list `page_size`, at
most 100, 1-based, `total_pages`), answers /key/info per key, and counts requests and response
bytes (GET /bench/stats, POST /bench/reset). Run in-process (`LiteLLMServer`) or as its own
process (`python -m bench.litellm_server ENTITIES`, which prints its URL), so that the client's
figures are not mixed with the server's work.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from bench.synth import Population, Row, population
from bench.table import ROOT

MASTER_KEY = "sk-bench-master-key"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LiteLLMServer:
    """Serves `pop` until `stop`; `requests` and `bytes` count what it answered."""

    def __init__(self, pop: Population) -> None:
        self.pop = pop
        self.by_token = {str(row["token"]): row for row in pop.keys}
        self.by_alias = {str(row["key_alias"]): row for row in pop.keys}
        self.requests = 0
        self.bytes = 0
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._churns = 0

    def set_spend(self, alias: str, spend: float) -> None:
        """Change a key's spend; the next read of the lists shows it."""
        self.by_alias[alias]["spend"] = spend

    async def start(self) -> str:
        app = web.Application(middlewares=[self._count])
        routes: dict[str, Handler] = {
            "/key/list": self._keys,
            "/key/info": self._key_info,
            "/v2/team/list": self._paged(lambda: self.pop.teams, "teams", "page_size"),
            "/user/list": self._paged(lambda: self.pop.users, "users", "page_size"),
            "/customer/list": self._fixed([]),
            "/spend/tags": self._fixed([]),
            "/global/spend/logs": self._fixed([]),
            "/global/spend": self._global,
            "/bench/stats": self._stats,
        }
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        app.router.add_post("/bench/reset", self._reset)
        app.router.add_post("/bench/churn", self._churn)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _count(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/bench/"):
            return await handler(request)
        if request.headers.get("Authorization") != f"Bearer {MASTER_KEY}":
            return web.json_response({"error": {"message": "Invalid proxy token"}}, status=401)
        response = await handler(request)
        self.requests += 1
        if isinstance(response, web.Response) and isinstance(response.body, bytes):
            self.bytes += len(response.body)
        return response

    async def _keys(self, request: web.Request) -> web.Response:
        size = int(request.query.get("size", "10"))
        full = request.query.get("return_full_object") == "true"
        page, rows, total = _page(self.pop.keys, request, size)
        if page is None:
            return _too_large()
        listed = rows if full else [row["token"] for row in rows]
        body = {"keys": listed, "total_count": total, "current_page": page}
        return _json({**body, "total_pages": math.ceil(total / size)})

    async def _key_info(self, request: web.Request) -> web.Response:
        row = self.by_token.get(request.query.get("key", ""))
        if row is None:
            return web.json_response({"detail": "key not found"}, status=404)
        info = {k: v for k, v in row.items() if k != "token"}
        return _json({"key": row["token"], "info": info})

    def _paged(self, rows: Callable[[], list[Row]], field: str, size_param: str) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            size = int(request.query.get(size_param, "10"))
            page, chosen, total = _page(rows(), request, size)
            if page is None:
                return _too_large()
            body = {field: chosen, "total": total, "page": page, "page_size": size}
            return _json({**body, "total_pages": math.ceil(total / size)})

        return handler

    def _fixed(self, body: Any) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            del request
            return _json(body)

        return handler

    async def _global(self, request: web.Request) -> web.Response:
        del request
        total = sum(float(row["spend"]) for row in self.pop.keys)
        return _json({"spend": total, "max_budget": 0.0})

    async def _stats(self, request: web.Request) -> web.Response:
        del request
        return web.json_response({"requests": self.requests, "bytes": self.bytes})

    async def _churn(self, request: web.Request) -> web.Response:
        """Raise the spend of a share (`?share=0.1`) of keys, teams and users, as traffic
        between two polls does; the rest read exactly as before."""
        share = float(request.query.get("share", "0.1"))
        self._churns += 1
        rng = random.Random(self._churns)
        changed = 0
        for rows in (self.pop.keys, self.pop.teams, self.pop.users):
            for row in rng.sample(rows, int(len(rows) * share)):
                row["spend"] = float(row["spend"]) + rng.uniform(0.01, 2.0)
                changed += 1
        return web.json_response({"changed": changed})

    async def _reset(self, request: web.Request) -> web.Response:
        del request
        self.requests = self.bytes = 0
        return web.json_response({"ok": True})


def _page(rows: list[Row], request: web.Request, size: int) -> tuple[int | None, list[Row], int]:
    if size > 100:
        return None, [], len(rows)
    page = int(request.query.get("page", "1"))
    return page, rows[(page - 1) * size : page * size], len(rows)


def _too_large() -> web.Response:
    body = {"detail": [{"msg": "Input should be less than or equal to 100"}]}
    return web.json_response(body, status=422)


def _json(body: Any) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), content_type="application/json")


@asynccontextmanager
async def apart(entities: int) -> AsyncIterator[str]:
    """A server for `entities` in a process of its own; yields its URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.litellm_server",
        str(entities),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        async with asyncio.timeout(120):
            url = (await process.stdout.readline()).decode().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the LiteLLM stand-in did not start (printed {url!r})")
        yield url
    finally:
        process.stdin.close()
        async with asyncio.timeout(30):
            await process.wait()


async def load(session: aiohttp.ClientSession, url: str, *, reset: bool = False) -> tuple[int, int]:
    """(requests, response bytes) the server counted; `reset` starts counting again."""
    async with asyncio.timeout(10):
        if reset:
            async with session.post(f"{url}/bench/reset") as response:
                response.raise_for_status()
        async with session.get(f"{url}/bench/stats") as response:
            body = await response.json()
    return int(body["requests"]), int(body["bytes"])


async def _serve(entities: int) -> None:
    server = LiteLLMServer(population(entities, now=datetime.now(UTC)))
    print(await server.start(), flush=True)
    try:
        await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin
    finally:
        await server.stop()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1])))
