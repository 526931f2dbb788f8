"""A local webhook receiver that checks Standard Webhooks signatures its own way.

It recomputes the HMAC from the raw bytes it received (never through watchdog's `verify`),
records every attempt, and answers scripted statuses (500, 429 with Retry-After, 400 …).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

SECRET = "whsec_" + base64.b64encode(b"receiver-test-signing-key-0123456789").decode()


@dataclass(frozen=True)
class Attempt:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    status: int


@dataclass
class Receiver:
    """What was received, and the statuses to answer next (200 once the script is empty)."""

    secret: str = SECRET
    attempts: list[Attempt] = field(default_factory=list)
    script: deque[tuple[int, dict[str, str], str]] = field(default_factory=deque)

    def answer(self, status: int, body: str = "", **headers: str) -> None:
        self.script.append((status, {k.replace("_", "-"): v for k, v in headers.items()}, body))

    @property
    def delivered(self) -> list[Attempt]:
        return [a for a in self.attempts if 200 <= a.status < 300]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        app.router.add_post("/moved", self._moved)
        return app

    async def _hook(self, request: web.Request) -> web.Response:
        raw = await request.read()
        status, headers, text = self.script.popleft() if self.script else (204, {}, "")
        headers_in = {k.lower(): v for k, v in request.headers.items()}
        self.attempts.append(Attempt(headers_in, raw, self._signed(headers_in, raw), status))
        return web.Response(status=status, headers=headers, text=text or None)

    async def _moved(self, request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/hook")

    def _signed(self, headers: dict[str, str], raw: bytes) -> bool:
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        signed = b".".join(
            [
                headers.get("webhook-id", "").encode(),
                headers.get("webhook-timestamp", "").encode(),
                raw,
            ]
        )
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        offered = headers.get("webhook-signature", "").split(" ")
        return any(o.startswith("v1,") and hmac.compare_digest(o[3:], expected) for o in offered)
