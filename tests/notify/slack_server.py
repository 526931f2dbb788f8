"""A local stand-in for Slack's Web API and incoming webhooks that checks requests like Slack.

It answers `chat.postMessage` and `chat.update` at /api/, an incoming webhook at /services/…,
rejects what Slack rejects (wrong token, missing text, blocks over the limits, bad thread_ts)
and replays scripted failures: 429 with Retry-After, invalid_auth, 500.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "xoxb-test-0000-secret-token"
HOOK_PATH = "/services/T0000/B0000/hooksecretXYZ"
CHANNELS = {"#eng-budgets": "C0ENG", "C0ENG": "C0ENG", "#private": "C0PRIV"}
"""Channel names and ids the bot can see; #private exists but the bot is not in it."""
_TS = re.compile(r"^\d{10}\.\d{6}$")
_LIMITS = {"blocks": 50, "header": 150, "section": 3000, "fields": 10, "field": 2000}


@dataclass
class Scripted:
    """A failure to answer with instead of the normal reply."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    text: str | None = None
    hang: bool = False
    """Answer nothing until the test ends (a request that times out)."""


@dataclass
class SlackStandIn:
    """State of the stand-in: what was posted and what to answer next."""

    posts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    script: deque[Scripted] = field(default_factory=deque)
    refuse_updates: str | None = None
    """Error code chat.update answers with (e.g. message_not_found)."""
    released: asyncio.Event = field(default_factory=asyncio.Event)
    _clock: int = 1_700_000_000

    def fail_next(self, *failures: Scripted) -> None:
        self.script.extend(failures)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/chat.postMessage", self._post)
        app.router.add_post("/api/chat.update", self._update)
        app.router.add_post(HOOK_PATH, self._hook)
        return app

    def _next_ts(self) -> str:
        self._clock += 1
        return f"{self._clock}.000100"

    async def _api(self, request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
        self.requests += 1
        if self.script:
            return None, await self._scripted(self.script.popleft())
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return None, _error("invalid_auth")
        if not request.content_type.startswith("application/json"):
            return None, _error("invalid_arguments")
        body: dict[str, Any] = await request.json()
        problem = check_message(body)
        if problem:
            return None, _error(problem)
        channel = CHANNELS.get(str(body.get("channel")))
        if channel is None:
            return None, _error("channel_not_found")
        if channel == "C0PRIV":
            return None, _error("not_in_channel")
        return {**body, "channel": channel}, None

    async def _scripted(self, failure: Scripted, *, hook: bool = False) -> web.Response:
        if failure.hang:
            await self.released.wait()
        return _reply(failure, hook=hook)

    async def _post(self, request: web.Request) -> web.Response:
        body, failure = await self._api(request)
        if failure is not None:
            return failure
        assert body is not None
        thread_ts = body.get("thread_ts")
        if thread_ts is not None and not any(
            p["ts"] == thread_ts and p["channel"] == body["channel"] for p in self.posts
        ):
            return _error("thread_not_found")
        ts = self._next_ts()
        self.posts.append({**body, "ts": ts})
        return web.json_response({"ok": True, "channel": body["channel"], "ts": ts})

    async def _update(self, request: web.Request) -> web.Response:
        body, failure = await self._api(request)
        if failure is not None:
            return failure
        assert body is not None
        if self.refuse_updates:
            return _error(self.refuse_updates)
        if not any(p["ts"] == body.get("ts") for p in self.posts):
            return _error("message_not_found")
        self.updates.append(body)
        return web.json_response({"ok": True, "channel": body["channel"], "ts": body["ts"]})

    async def _hook(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.script:
            return await self._scripted(self.script.popleft(), hook=True)
        body: dict[str, Any] = json.loads(await request.text())
        problem = check_message(body)
        if problem or "thread_ts" in body:
            return web.Response(status=400, text=problem or "invalid_payload")
        self.hooks.append(body)
        return web.Response(text="ok", content_type="text/plain")


def check_message(body: dict[str, Any]) -> str | None:
    """The error Slack would answer for this message body, or None when it is acceptable."""
    text, blocks = body.get("text"), body.get("blocks")
    if not isinstance(text, str) or not text.strip():
        return "no_text"
    if not isinstance(blocks, list) or len(blocks) > _LIMITS["blocks"]:
        return "invalid_blocks"
    if "thread_ts" in body and not _TS.match(str(body["thread_ts"])):
        return "invalid_thread_ts"
    for block in blocks:
        if not _block_ok(block):
            return "invalid_blocks"
    return None


def _block_ok(block: dict[str, Any]) -> bool:
    kind = block.get("type")
    if kind == "header":
        text = block["text"]
        return text["type"] == "plain_text" and 0 < len(text["text"]) <= _LIMITS["header"]
    if kind == "section":
        fields = block.get("fields", [])
        text = block.get("text", {"text": ""})["text"]
        return (
            (bool(fields) or bool(text))
            and len(text) <= _LIMITS["section"]
            and len(fields) <= _LIMITS["fields"]
            and all(0 < len(f["text"]) <= _LIMITS["field"] for f in fields)
        )
    if kind == "context":
        elements = block["elements"]
        return 0 < len(elements) <= 10 and all(e["type"] == "mrkdwn" for e in elements)
    return False


def _error(code: str) -> web.Response:
    return web.json_response({"ok": False, "error": code})


def _reply(failure: Scripted, *, hook: bool = False) -> web.Response:
    headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
    if hook:
        return web.Response(status=failure.status, text=failure.text or "", headers=headers)
    if failure.status >= 400 and failure.text is not None:
        return web.Response(status=failure.status, text=failure.text, headers=headers)
    return web.json_response(
        {"ok": failure.error is None, "error": failure.error or ""},
        status=failure.status,
        headers=headers,
    )
