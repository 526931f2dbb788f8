"""LiteLLM's daily activity tables: who spent what, per UTC day, for a team or the whole proxy.

Used for attribution when LiteLLM's callbacks are not sent to watchdog: `/team/daily/activity`
(one team) and `/user/daily/activity` plus `/tag/daily/activity` (the whole proxy) break each
day's spend down by key, model and user or tag. Figures cover whole UTC days, paged by day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import aiohttp

from watchdog.config import LiteLLMSettings
from watchdog.model import empty
from watchdog.money import from_api
from watchdog.sources.http import JsonApi, Retry
from watchdog.sources.litellm import litellm_api

PAGE_DAYS = 100
"""Days asked per page (LiteLLM pages daily activity by day)."""
MAX_PAGES = 20
UNASSIGNED = "Unassigned"
"""LiteLLM's name for spend without a user or team."""
AUTOMATIC_TAG = "User-Agent:"
"""LiteLLM tags every request with its user agent; those are not tags people chose."""


@dataclass(frozen=True, slots=True)
class Activity:
    """Spend over some whole UTC days, and who made it."""

    spend: Decimal
    keys: Mapping[str, Decimal] = field(default_factory=empty)
    """Key hash → spend."""
    key_aliases: Mapping[str, str] = field(default_factory=empty)
    users: Mapping[str, Decimal] = field(default_factory=empty)
    teams: Mapping[str, Decimal] = field(default_factory=empty)
    models: Mapping[str, Decimal] = field(default_factory=empty)
    tags: Mapping[str, Decimal] = field(default_factory=empty)


class LiteLLMActivity:
    """Reads LiteLLM's daily activity for a team (`team_id`) or the proxy (None)."""

    def __init__(self, settings: LiteLLMSettings, *, session: aiohttp.ClientSession) -> None:
        self._api: JsonApi = litellm_api(settings, session=session, retry=Retry(attempts=1))

    async def read(self, *, team_id: str | None, first: date, last: date) -> Activity:
        """Spend from `first` to `last` (UTC days, both included) and its breakdown."""
        days = {"start_date": first.isoformat(), "end_date": last.isoformat()}
        if team_id is not None:
            rows = await self._pages("/team/daily/activity", {**days, "team_ids": team_id})
            return summarise(rows, entities=None)
        rows = await self._pages("/user/daily/activity", days)
        tags = await self._pages("/tag/daily/activity", days)
        return summarise(rows, entities="users", tag_rows=tags)

    async def total(self, *, team_id: str | None, first: date, last: date) -> Decimal:
        """Only the spend from `first` to `last` (for the comparison with a previous period)."""
        days = {"start_date": first.isoformat(), "end_date": last.isoformat()}
        if team_id is not None:
            rows = await self._pages("/team/daily/activity", {**days, "team_ids": team_id})
        else:
            rows = await self._pages("/user/daily/activity", days)
        return sum((_spend(r) for r in rows), Decimal(0))

    async def _pages(self, path: str, params: Mapping[str, str]) -> list[Mapping[str, Any]]:
        rows: list[Mapping[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            body = await self._api.get(path, {**params, "page": page, "page_size": PAGE_DAYS})
            results = body.get("results") if isinstance(body, dict) else None
            rows.extend(r for r in results or () if isinstance(r, dict))
            meta = body.get("metadata") if isinstance(body, dict) else None
            if not isinstance(meta, dict) or not meta.get("has_more"):
                break
        return rows


def summarise(
    rows: Sequence[Mapping[str, Any]],
    *,
    entities: str | None,
    tag_rows: Sequence[Mapping[str, Any]] = (),
) -> Activity:
    """Add the days up. `entities` names what the breakdown's entities are ("users"), if kept."""
    keys: dict[str, Decimal] = defaultdict(Decimal)
    aliases: dict[str, str] = {}
    users: dict[str, Decimal] = defaultdict(Decimal)
    teams: dict[str, Decimal] = defaultdict(Decimal)
    models: dict[str, Decimal] = defaultdict(Decimal)
    tags: dict[str, Decimal] = defaultdict(Decimal)
    total = Decimal(0)
    for row in rows:
        total += _spend(row)
        breakdown = _dict(row.get("breakdown"))
        for name, item in _dict(breakdown.get("models")).items():
            models[name] += _spend(item)
        for key_hash, item in _dict(breakdown.get("api_keys")).items():
            keys[key_hash] += _spend(item)
            meta = _dict(_dict(item).get("metadata"))
            if meta.get("key_alias"):
                aliases[key_hash] = str(meta["key_alias"])
            # A team's own table has no user entities: the key's owner stands for them.
            owner = meta.get("user_email") or meta.get("user_id")
            into, who = (users, owner) if entities is None else (teams, meta.get("team_id"))
            if who:
                into[str(who)] += _spend(item)
        if entities == "users":
            for name, item in _dict(breakdown.get("entities")).items():
                if name != UNASSIGNED:
                    users[name] += _spend(item)
    for row in tag_rows:
        for name, item in _dict(_dict(row.get("breakdown")).get("entities")).items():
            if not name.startswith(AUTOMATIC_TAG):
                tags[name] += _spend(item)
    return Activity(
        spend=total,
        keys=dict(keys),
        key_aliases=aliases,
        users=dict(users),
        teams=dict(teams),
        models=dict(models),
        tags=dict(tags),
    )


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _spend(item: object) -> Decimal:
    metrics = _dict(_dict(item).get("metrics"))
    return from_api(metrics.get("spend")) or Decimal(0)
