"""The LiteLLM source: every key, team, user, customer, tag and the proxy-wide total, each cycle.

Lists are read page by page: the first page says how many there are, the rest are fetched
concurrently (at most `concurrency` requests at once), so a cycle costs requests in proportion
to pages, never to entities. Responses are turned into entities by `litellm_parse`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import aiohttp

from watchdog.config import LiteLLMSettings
from watchdog.errors import SourceError
from watchdog.model import DailySeries, Entity, EntityRef, Scope
from watchdog.rules import RuleSet
from watchdog.sources import Reading
from watchdog.sources import litellm_parse as parse
from watchdog.sources.http import ErrorType, JsonApi, Retry, SessionHolder, first_error

NAME = "litellm"
PROXY_REF = EntityRef(Scope.GLOBAL, parse.GLOBAL_ID)

Row = Mapping[str, Any]
Rows = list[Row]
Part = tuple[list[Entity], DailySeries | None]


class LiteLLMSource:
    """Reads LiteLLM's admin API with the master key; one `Reading` per cycle."""

    def __init__(
        self,
        settings: LiteLLMSettings,
        *,
        session: aiohttp.ClientSession | None = None,
        retry: Retry | None = None,
    ) -> None:
        self._settings = settings
        self._session = SessionHolder(session)
        self._retry = retry or Retry(attempts=settings.retries)
        self._known: Mapping[Scope, Mapping[str, Entity]] = {}
        """What the last successful read built, reused for entities that did not change."""

    @property
    def name(self) -> str:
        return NAME

    async def read(self, *, rules: RuleSet, now: datetime) -> Reading:
        """Every list in `settings.scopes`, read concurrently; SourceError if any fails."""
        del rules
        api = litellm_api(self._settings, session=self._session.get(), retry=self._retry)
        readers: dict[Scope, Callable[[], Coroutine[Any, Any, Part]]] = {
            Scope.KEY: lambda: self._keys(api),
            Scope.TEAM: lambda: self._teams(api),
            Scope.USER: lambda: self._users(api),
            Scope.CUSTOMER: lambda: _listed(api, "/customer/list", parse.customer),
            Scope.TAG: lambda: _listed(api, "/spend/tags", parse.tag),
            Scope.GLOBAL: lambda: _proxy(api, now),
        }
        parts: dict[Scope, asyncio.Task[Part]] = {}
        try:
            async with asyncio.TaskGroup() as tg:
                for scope in dict.fromkeys(self._settings.scopes):
                    parts[scope] = tg.create_task(readers[scope](), name=f"litellm:{scope}")
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        reading = _reading({scope: task.result() for scope, task in parts.items()}, now, api)
        self._known = reading.entities
        return reading

    async def aclose(self) -> None:
        await self._session.aclose()

    async def _keys(self, api: JsonApi) -> Part:
        keys = await self._pages(
            api, Scope.KEY, parse.key, "/key/list", "keys", "size", return_full_object="true"
        )
        return keys, None

    async def _teams(self, api: JsonApi) -> Part:
        return await self._pages(
            api, Scope.TEAM, parse.team, "/v2/team/list", "teams", "page_size"
        ), None

    async def _users(self, api: JsonApi) -> Part:
        return await self._pages(
            api, Scope.USER, parse.user, "/user/list", "users", "page_size"
        ), None

    async def _pages(
        self,
        api: JsonApi,
        scope: Scope,
        build: Callable[[Row], Entity | None],
        path: str,
        field: str,
        size_param: str,
        **params: str,
    ) -> list[Entity]:
        """Every entity of a paginated list: page 1 gives the page count, the rest run at once.

        Each page is turned into entities as soon as it arrives, so the decoded JSON of one
        page at a time (per request in flight) is alive, not that of the whole list.
        """
        query: dict[str, str | int] = {**params, size_param: self._settings.page_size}
        first = await api.get(path, {**query, "page": 1})
        known = self._known.get(scope, {})
        found = _built(first, path, field, build, known)
        pages = _page_count(first, path)
        del first  # the rows are entities now
        if pages > 1:

            async def page(n: int) -> list[Entity]:
                body = await api.get(path, {**query, "page": n})
                return _built(body, path, field, build, known)

            async with asyncio.TaskGroup() as tg:
                rest = [
                    tg.create_task(page(n), name=f"litellm:{path}#{n}") for n in range(2, pages + 1)
                ]
            for task in rest:
                found.extend(task.result())
        return found


def litellm_api(
    settings: LiteLLMSettings,
    *,
    session: aiohttp.ClientSession,
    retry: Retry,
    error: ErrorType = SourceError,
) -> JsonApi:
    """A `JsonApi` for LiteLLM's admin API, authenticated with the master key."""
    key = settings.master_key.reveal() if settings.master_key else ""
    return JsonApi(
        session=session,
        base_url=settings.url,
        service="LiteLLM",
        credential="litellm.master_key",
        headers={"Authorization": f"Bearer {key}"} if key else {},
        secrets=(key,),
        timeout=settings.timeout.total_seconds(),
        retry=retry,
        concurrency=settings.concurrency,
        error=error,
    )


async def _listed(
    api: JsonApi, path: str, build: Callable[[Row], Entity | None]
) -> tuple[list[Entity], None]:
    rows = _rows(await api.get(path), path, None)
    return [e for row in rows if (e := build(row))], None


async def _proxy(api: JsonApi, now: datetime) -> Part:
    """The proxy-wide figure (/global/spend) and its per-day totals (/global/spend/logs)."""
    async with asyncio.TaskGroup() as tg:
        total = tg.create_task(api.get("/global/spend"), name="litellm:/global/spend")
        logs = tg.create_task(api.get("/global/spend/logs"), name="litellm:/global/spend/logs")
    body = total.result()
    if not isinstance(body, dict):
        raise _shape("/global/spend", "an object with spend and max_budget", body)
    today = now.astimezone(UTC).date()
    daily = parse.daily_totals(
        _rows(logs.result(), "/global/spend/logs", None), start=parse.daily_window_start(today)
    )
    return [parse.proxy(body)], daily


def _reading(parts: Mapping[Scope, Part], now: datetime, api: JsonApi) -> Reading:
    entities = {scope: {e.id: e for e in found} for scope, (found, _) in parts.items()}
    if Scope.KEY in entities and Scope.TEAM in entities:
        keys = parse.join_team_names(entities[Scope.KEY].values(), entities[Scope.TEAM].values())
        entities[Scope.KEY] = {k.id: k for k in keys}
    series = [s for _, s in parts.values() if s is not None]
    daily = {PROXY_REF: series[0]} if series else {}
    return Reading(
        source=NAME,
        taken_at=now,
        entities=MappingProxyType({s: MappingProxyType(e) for s, e in entities.items()}),
        daily=MappingProxyType(daily),
        requests=api.requests,
    )


def _built(
    body: object,
    path: str,
    field: str,
    build: Callable[[Row], Entity | None],
    known: Mapping[str, Entity],
) -> list[Entity]:
    """The entities of one page (rows that are not entities are left out), each one the
    last read's object when it has not changed."""
    return [
        parse.settled(e, known.get(e.id)) for row in _rows(body, path, field) if (e := build(row))
    ]


def _rows(body: object, path: str, field: str | None) -> Rows:
    """The list of row objects in a response (the body itself, or `body[field]`)."""
    found = body.get(field) if isinstance(body, dict) and field else body
    if not isinstance(found, list):
        expected = f'an object with a "{field}" list' if field else "a JSON list"
        raise _shape(path, expected, body)
    return [row for row in found if isinstance(row, dict)]


def _page_count(body: object, path: str) -> int:
    pages = body.get("total_pages") if isinstance(body, dict) else None
    if isinstance(pages, bool) or not isinstance(pages, int) or pages < 0:
        raise _shape(path, "a page with an integer total_pages", body)
    return pages


def _shape(path: str, expected: str, body: object) -> SourceError:
    got = type(body).__name__ if not isinstance(body, dict) else f"keys {sorted(body)[:6]}"
    return SourceError(
        f"LiteLLM GET {path} answered an unexpected shape: expected {expected}, got {got} "
        "(is litellm.url a LiteLLM proxy of a supported version?)",
        retryable=True,
    )
