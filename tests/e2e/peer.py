"""The real LiteLLM proxy the end-to-end tests run against, and a small admin client for it.

`start_peer` runs tests/e2e/litellm_peer/start.sh (PostgreSQL on 55432, LiteLLM 1.108.7 on
127.0.0.1:4000, installed under PEER_ROOT) unless a healthy proxy with our master key is
already there; a file lock keeps two test sessions from starting it at once.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

HERE = Path(__file__).resolve().parent / "litellm_peer"
URL = "http://127.0.0.1:4000"
MASTER_KEY = "sk-master-local-test-1234"
IDLE_CONNECTION_S = 1.0
"""How long an admin connection may stay idle for reuse (the proxy closes its own after 5 s)."""
DEFAULT_ROOT = "/tmp/watchdog-litellm-peer"
T = TypeVar("T")
BASH = shutil.which("bash") or "/bin/bash"


@dataclass(frozen=True)
class Peer:
    """A running proxy: where it is, its master key, and whether this session started it."""

    url: str
    master_key: str
    root: Path
    started: bool

    @asynccontextmanager
    async def admin(self) -> AsyncIterator[PeerAdmin]:
        """An admin client on a session of its own (one per test, on the test's loop).

        Idle connections are dropped after a second: the proxy (uvicorn) closes them after
        five, and a request sent on one it is closing fails with "Server disconnected", as a
        fixture's clean-up did after a test that ran a few seconds.
        """
        connector = aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_S)
        async with aiohttp.ClientSession(connector=connector) as session:
            yield PeerAdmin(session, self.url, self.master_key)


def healthy(url: str = URL, master_key: str = MASTER_KEY) -> bool:
    """The proxy answers readiness and accepts our master key."""
    request = urllib.request.Request(  # noqa: S310 - loopback http
        f"{url}/key/list?size=1", headers={"Authorization": f"Bearer {master_key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".watchdog-e2e.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start_peer(root: Path) -> Peer:
    """Reuse a healthy proxy, else run start.sh (~80 s from scratch, seconds when installed)."""
    with _locked(root):
        if healthy():
            return Peer(URL, MASTER_KEY, root, started=False)
        env = {**os.environ, "PEER_ROOT": str(root), "LITELLM_MASTER_KEY": MASTER_KEY}
        done = subprocess.run(
            [BASH, str(HERE / "start.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0 or not healthy():
            log = root / "run" / "litellm.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(
                f"LiteLLM peer did not start (exit {done.returncode}):\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n{tail}"
            )
        return Peer(URL, MASTER_KEY, root, started=True)


def stop_peer(peer: Peer) -> None:
    subprocess.run(
        [BASH, str(HERE / "stop.sh")],
        env={**os.environ, "PEER_ROOT": str(peer.root)},
        capture_output=True,
        timeout=120,
        check=False,
    )


class PeerError(AssertionError):
    """The proxy answered an admin call with an unexpected status."""


class PeerAdmin:
    """Admin calls with the master key, answers read with exact Decimals."""

    def __init__(self, session: aiohttp.ClientSession, url: str, master_key: str) -> None:
        self.session = session
        self.url = url
        self.master_key = master_key

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        expect: Iterable[int] = (200,),
    ) -> tuple[int, Any, dict[str, str]]:
        auth = {"Authorization": f"Bearer {key or self.master_key}", **(headers or {})}
        async with (
            asyncio.timeout(60),
            self.session.request(
                method, self.url + path, json=body, params=params, headers=auth
            ) as response,
        ):
            text = await response.text()
            if response.status not in set(expect):
                raise PeerError(f"{method} {path} → HTTP {response.status}: {text[:500]}")
            parsed = json.loads(text, parse_float=Decimal) if text else None
            return response.status, parsed, dict(response.headers)

    async def get(self, path: str, **params: str) -> Any:
        return (await self.call("GET", path, params=params))[1]

    async def post(self, path: str, body: Any) -> Any:
        return (await self.call("POST", path, body))[1]

    async def new_team(self, alias: str, **fields: Any) -> str:
        return str((await self.post("/team/new", {"team_alias": alias, **fields}))["team_id"])

    async def new_key(self, alias: str, **fields: Any) -> tuple[str, str]:
        """(the sk- key for requests, its token hash that identifies it everywhere else)."""
        made = await self.post("/key/generate", {"key_alias": alias, **fields})
        return str(made["key"]), str(made["token"])

    async def chat(
        self,
        key: str,
        *,
        model: str = "mock-expensive",
        user: str | None = None,
        tags: Iterable[str] = (),
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Decimal]:
        """One chat request; (status, the cost LiteLLM reported for it, 0 when refused)."""
        body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
        if user:
            body["user"] = user
        extra = {"x-litellm-tags": ",".join(tags)} if tags else {}
        extra.update(headers or {})
        status, _, headers = await self.call(
            "POST",
            "/chat/completions",
            body,
            key=key,
            headers=extra,
            expect=(200, 400, 401, 403, 422, 429),
        )
        cost = headers.get("x-litellm-response-cost") if status == 200 else None
        return status, Decimal(cost) if cost else Decimal(0)

    async def key_info(self, token: str) -> Any:
        return (await self.get("/key/info", key=token))["info"]

    async def team_info(self, team_id: str) -> Any:
        return (await self.get("/team/info", team_id=team_id))["team_info"]

    async def user_info(self, user_id: str) -> Any:
        return (await self.get("/user/info", user_id=user_id))["user_info"]

    async def customer_info(self, customer_id: str) -> Any:
        return await self.get("/customer/info", end_user_id=customer_id)

    async def delete_keys(self, tokens: list[str]) -> None:
        for start in range(0, len(tokens), 100):
            await self.post("/key/delete", {"keys": tokens[start : start + 100]})


async def wait_for(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    what: str,
    within: float = 90.0,
    every: float = 1.0,
) -> T:
    """Poll until `done(value)`: LiteLLM writes spend to its database in batches."""
    deadline = time.monotonic() + within
    while True:
        value = await fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:g}s waiting for {what}: {value!r}")
        await asyncio.sleep(every)


def close_to(value: object, expected: Decimal) -> bool:
    """LiteLLM adds float costs: equal within a billionth of a dollar."""
    return isinstance(value, Decimal | int | float) and abs(Decimal(str(value)) - expected) < (
        Decimal("1e-9")
    )
