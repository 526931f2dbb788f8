"""JSON over HTTP for sources and admin calls: auth, a deadline per call, retries with backoff.

One `JsonApi` serves one cycle (or one action): it counts the requests it makes, bounds how
many run at once, and turns every failure into the caller's error type with `retryable` set.
5xx answers, 429, timeouts and refused connections are retried with exponential backoff and
jitter; 401/403 name the setting that holds the credential; secrets never reach a message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp

from watchdog.errors import ActionError, SourceError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
ErrorType = type[SourceError] | type[ActionError]

BACKOFF_BASE = 0.5
"""Seconds before the first retry; doubled for each further one."""
BACKOFF_CAP = 10.0
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Retry:
    """How often and how patiently to retry; `sleep` and `jitter` are injectable for tests."""

    attempts: int = 3
    """Retries after the first try."""
    sleep: Sleep = asyncio.sleep
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Equal-jitter exponential backoff: half fixed, half random, capped."""
        span: float = min(BACKOFF_CAP, BACKOFF_BASE * float(2**attempt))
        wait: float = span / 2 + self.jitter() * span / 2
        return min(BACKOFF_CAP, max(wait, retry_after or 0.0))


class JsonApi:
    """Calls one HTTP JSON API with a shared session; counts requests in `requests`."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        base_url: str,
        service: str,
        credential: str,
        headers: Mapping[str, str],
        secrets: Iterable[str] = (),
        timeout: float,
        retry: Retry,
        concurrency: int = 4,
        error: ErrorType = SourceError,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._service = service
        self._credential = credential
        self._headers = dict(headers)
        self._secrets = tuple(s for s in secrets if s)
        self._timeout = timeout
        self._retry = retry
        self._gate = asyncio.Semaphore(concurrency)
        self._error = error
        self.requests = 0

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return await self.call("GET", path, params=params)

    async def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return await self.call("POST", path, body=body)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """The parsed JSON answer (floats as Decimal), after retries; raises the error type."""
        where = f"{method} {path}"
        for attempt in range(self._retry.attempts + 1):
            try:
                status, text, retry_after = await self._once(method, path, params, body)
            except (TimeoutError, aiohttp.ClientError) as exc:
                problem, retry_after = self._transport(exc), None
            else:
                if status < 400:
                    return self._parse(text, where)
                if status not in _RETRY_STATUS:
                    raise self._fail(self._refused(status, text, where), retryable=False)
                problem = f"HTTP {status}{_detail(text)}"
            if attempt == self._retry.attempts:
                raise self._fail(
                    f"{self._service} {where} failed after {attempt + 1} "
                    f"attempt{'s' if attempt else ''}: {problem}",
                    retryable=True,
                )
            wait = self._retry.delay(attempt, retry_after)
            log.debug(
                "%s %s: %s; retrying in %.1fs", self._service, where, self._scrub(problem), wait
            )
            await self._retry.sleep(wait)
        raise AssertionError("unreachable")

    async def _once(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        body: Mapping[str, Any] | None,
    ) -> tuple[int, str, float | None]:
        async with self._gate:
            self.requests += 1
            async with (
                asyncio.timeout(self._timeout),
                self._session.request(
                    method,
                    self._base + path,
                    params={k: str(v) for k, v in (params or {}).items()},
                    json=None if body is None else _plain(body),
                    headers=self._headers,
                ) as response,
            ):
                text = await response.text()
                return response.status, text, _retry_after(response.headers.get("Retry-After"))

    def _parse(self, text: str, where: str) -> Any:
        try:
            return json.loads(text, parse_float=Decimal)
        except ValueError:
            raise self._fail(
                f"{self._service} {where} returned malformed JSON{_snippet(text)}",
                retryable=True,
            ) from None

    def _transport(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            return f"no answer within {self._timeout:g}s"
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    def _refused(self, status: int, text: str, where: str) -> str:
        if status in (401, 403):
            return (
                f"{self._service} refused {where} with HTTP {status}: check {self._credential} "
                f"(it must be an admin credential for {self._base}){_detail(text)}"
            )
        return f"{self._service} {where} answered HTTP {status}{_detail(text)}"

    def _fail(self, message: str, *, retryable: bool) -> SourceError | ActionError:
        return self._error(self._scrub(message), retryable=retryable)

    def _scrub(self, text: str) -> str:
        """The text with every secret this client sends replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _detail(text: str) -> str:
    """The error text an API put in its body ({"error": {"message"}}, {"detail"}, {"error"})."""
    try:
        body = json.loads(text)
    except ValueError:
        return _snippet(text)
    message = _dig(body)
    return f": {message[:300]}" if message else ""


def _dig(body: object) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        return "; ".join(filter(None, (_dig(item) for item in body[:3])))
    if isinstance(body, dict):
        for field in ("message", "error", "detail", "msg"):
            found = _dig(body.get(field))
            if found:
                return found
    return ""


def _snippet(text: str) -> str:
    clean = " ".join(text.split())
    if not clean:
        return ""
    return f": {clean[:120]}{'…' if len(clean) > 120 else ''}"


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _plain(value: Any) -> Any:
    """Request bodies may carry Decimal amounts; JSON has only numbers."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class SessionHolder:
    """The caller's aiohttp session, or one made on first use and closed by `aclose`."""

    def __init__(self, session: aiohttp.ClientSession | None) -> None:
        self._session = session
        self._owned = session is None

    def get(self) -> aiohttp.ClientSession:
        if self._session is None or (self._owned and self._session.closed):
            self._session = aiohttp.ClientSession()
        return self._session

    async def aclose(self) -> None:
        if self._owned and self._session is not None:
            await self._session.close()
            self._session = None


def first_error(group: BaseExceptionGroup[Any]) -> BaseException:
    """The first SourceError or ActionError in a (nested) exception group, else the group itself."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            inner = first_error(exc)
            if inner is not exc:
                return inner
        elif isinstance(exc, SourceError | ActionError):
            return exc
    return group
