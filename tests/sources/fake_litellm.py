"""A local aiohttp server shaped like LiteLLM's admin API, built from the real fixtures.

It pages like the real proxy (size/page_size at most 100, 1-based pages, total_pages), checks
the master key, counts requests, and can be told to fail: a status, a hang, a broken body, or
to stop listening after some requests. Writes behave as measured on LiteLLM 1.108.7
(/team/update and /customer/update ignore `spend`).
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.conftest import FIXTURES

MASTER_KEY = "sk-master-unit-test-9f3c"
LITELLM = FIXTURES / "litellm"


def fixture(name: str) -> Any:
    return json.loads((LITELLM / name).read_text())


def clone_keys(count: int, *, team_id: str | None = None) -> list[dict[str, Any]]:
    """`count` keys shaped like the fixture's keys, each with its own token and alias."""
    base = fixture("key_list__return_full_object.json")["keys"][0]
    rows = []
    for i in range(count):
        row = copy.deepcopy(base)
        row.update(
            token=f"{i:064x}",
            key_alias=f"bulk-{i:04d}",
            key_name=f"sk-...{i:04d}",
            spend=0.001 * i,
            team_id=team_id,
        )
        rows.append(row)
    return rows


@dataclass
class Fault:
    """One planned misbehaviour for the next request to a path."""

    status: int = 200
    body: str | None = None
    hang: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Data:
    """What the fake proxy holds; starts as the fixtures' state."""

    keys: list[dict[str, Any]] = field(
        default_factory=lambda: fixture("key_list__return_full_object.json")["keys"]
    )
    teams: list[dict[str, Any]] = field(
        default_factory=lambda: fixture("v2_team_list.json")["teams"]
    )
    users: list[dict[str, Any]] = field(default_factory=lambda: fixture("user_list.json")["users"])
    customers: list[dict[str, Any]] = field(default_factory=lambda: fixture("customer_list.json"))
    tags: list[dict[str, Any]] = field(default_factory=lambda: fixture("spend_tags.json"))
    global_spend: dict[str, Any] = field(default_factory=lambda: fixture("global_spend.json"))
    logs: list[dict[str, Any]] = field(default_factory=lambda: fixture("global_spend_logs.json"))


class FakeLiteLLM:
    """Serves `data` on 127.0.0.1 (port chosen by the OS) until `stop`."""

    def __init__(self, data: Data | None = None, *, master_key: str = MASTER_KEY) -> None:
        self.data = data or Data()
        self.master_key = master_key
        self.requests: list[str] = []
        self.bodies: list[tuple[str, Any]] = []
        self.queries: list[tuple[str, dict[str, str]]] = []
        """Path and query of every daily-activity request."""
        self.faults: dict[str, deque[Fault]] = {}
        self.stop_after: int | None = None
        self.delay = 0.0
        """Seconds each list page takes (to let concurrent requests overlap)."""
        self.in_flight = 0
        self.peak = 0
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self.url = ""

    def fail(self, path: str, *faults: Fault) -> None:
        self.faults.setdefault(path, deque()).extend(faults)

    def count(self) -> Counter[str]:
        return Counter(self.requests)

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware])
        get = {
            "/key/list": self._paged("keys", "size", "total_count", "current_page"),
            "/v2/team/list": self._paged("teams", "page_size", "total", "page"),
            "/user/list": self._paged("users", "page_size", "total", "page"),
            "/customer/list": self._plain(lambda: self.data.customers),
            "/spend/tags": self._plain(lambda: self.data.tags),
            "/global/spend": self._plain(lambda: self.data.global_spend),
            "/global/spend/logs": self._plain(lambda: self.data.logs),
            "/team/daily/activity": self._activity("team_daily_activity"),
            "/user/daily/activity": self._activity("user_daily_activity"),
            "/tag/daily/activity": self._activity("tag_daily_activity"),
        }
        for path, handler in get.items():
            app.router.add_get(path, handler)
        post = {
            "/key/{token}/reset_spend": self._key_reset,
            "/key/block": self._key_blocked(True),
            "/key/unblock": self._key_blocked(False),
            "/team/block": self._team_blocked(True),
            "/team/unblock": self._team_blocked(False),
            "/team/update": self._update("teams", "team_id", wrap=True),
            "/user/update": self._update("users", "user_id", wrap=True, spend=True),
            "/customer/update": self._update("customers", "user_id", wrap=False),
            "/customer/block": self._customer_block,
        }
        for path, handler in post.items():
            app.router.add_post(path, handler)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        path = (
            request.match_info.route.resource.canonical if request.match_info.route.resource else ""
        )
        self.requests.append(path or request.path)
        if self.stop_after is not None and len(self.requests) > self.stop_after:
            asyncio.get_running_loop().create_task(self.stop(), name="fake-litellm:stop")
            raise web.HTTPServiceUnavailable()
        if request.headers.get("Authorization") != f"Bearer {self.master_key}":
            return web.json_response(
                {
                    "error": {
                        "message": "Authentication Error, Invalid proxy server token passed.",
                        "type": "auth_error",
                        "param": "None",
                        "code": "401",
                    }
                },
                status=401,
            )
        queue = self.faults.get(request.path)
        if queue:
            fault = queue.popleft()
            if fault.hang:
                await self._closing.wait()
            return web.Response(
                status=fault.status,
                text=fault.body if fault.body is not None else "{}",
                headers=fault.headers,
                content_type="application/json",
            )
        if request.method == "POST":
            self.bodies.append((request.path, await request.json()))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            result: web.StreamResponse = await handler(request)
        finally:
            self.in_flight -= 1
        return result

    def _paged(
        self, field_name: str, size_param: str, total_name: str, page_name: str
    ) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            rows: list[dict[str, Any]] = getattr(self.data, field_name)
            size = int(request.query.get(size_param, "10"))
            if size > 100:
                return web.json_response(
                    {"detail": [{"msg": "Input should be less than or equal to 100"}]}, status=422
                )
            page = int(request.query.get("page", "1"))
            body = {
                field_name: rows[(page - 1) * size : page * size],
                total_name: len(rows),
                page_name: page,
                "total_pages": math.ceil(len(rows) / size),
            }
            return web.json_response(body)

        return handler

    def _activity(self, name: str) -> Callable[[web.Request], Any]:
        """A daily-activity table: the captured answer as page 1, then an empty last page."""

        async def handler(request: web.Request) -> web.Response:
            self.queries.append((request.path, dict(request.query)))
            body = fixture(f"{name}.json")
            if request.query.get("page", "1") != "1":
                body = {"results": [], "metadata": {**body["metadata"], "has_more": False}}
            return web.json_response(body)

        return handler

    def _plain(self, rows: Callable[[], Any]) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            del request
            return web.json_response(rows())

        return handler

    def _find(self, rows: Iterable[dict[str, Any]], field_name: str, value: str) -> dict[str, Any]:
        for row in rows:
            if row.get(field_name) == value:
                return row
        raise web.HTTPNotFound(text=json.dumps({"detail": f"{value} not found"}))

    async def _key_reset(self, request: web.Request) -> web.Response:
        row = self._find(self.data.keys, "token", request.match_info["token"])
        before, row["spend"] = row["spend"], 0.0
        return web.json_response({"key_hash": row["token"], "spend": 0.0, "previous_spend": before})

    def _key_blocked(self, blocked: bool) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            row = self._find(self.data.keys, "token", (await request.json())["key"])
            row["blocked"] = blocked
            return web.json_response(row)

        return handler

    def _team_blocked(self, blocked: bool) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            row = self._find(self.data.teams, "team_id", (await request.json())["team_id"])
            row["blocked"] = blocked
            return web.json_response(row)

        return handler

    def _update(
        self, rows_name: str, id_field: str, *, wrap: bool, spend: bool = False
    ) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            body = await request.json()
            row = self._find(getattr(self.data, rows_name), id_field, body[id_field])
            if spend and "spend" in body:
                row["spend"] = body["spend"]
            if "blocked" in body:
                row["blocked"] = body["blocked"]
            return web.json_response({id_field: row[id_field], "data": row} if wrap else row)

        return handler

    async def _customer_block(self, request: web.Request) -> web.Response:
        ids = (await request.json())["user_ids"]
        rows = [self._find(self.data.customers, "user_id", i) for i in ids]
        for row in rows:
            row["blocked"] = True
        return web.json_response({"blocked_users": rows})
