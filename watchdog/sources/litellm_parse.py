"""Turn LiteLLM admin API responses into entities. Pure: JSON in, `Entity` values out.

Handles what the real proxy sends (see tests/fixtures/litellm): money as floats with noise
(0.05384000000000001, read exactly as Decimal), `max_budget: null` for unlimited and 0.0 on
/global/spend for "no proxy budget", a key's soft_budget inside `litellm_budget_table`,
customers' budgets in their budget row, and three formats of `budget_reset_at`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from types import MappingProxyType
from typing import Any

from watchdog.model import EMPTY, DailySeries, Entity, Scope
from watchdog.money import ZERO, from_api

GLOBAL_ID = "proxy"
SHARED = 4096
"""Distinct budgets and times kept as one object each: 100k entities share a few hundred budget
amounts and reset times, and each repeat would otherwise cost a Decimal or datetime of its own."""


def parse_time(value: object) -> datetime | None:
    """ISO-8601 with "Z", "+00:00" or micro-seconds; naive times are UTC. None if absent/bad."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _time(value)


@lru_cache(maxsize=SHARED)
def _time(value: str) -> datetime | None:
    text = value.strip().replace("Z", "+00:00")
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _money(value: object) -> Decimal | None:
    return from_api(value)


def _spend(value: object) -> Decimal:
    amount = from_api(value)
    return amount if amount is not None else ZERO


def _budget(value: object) -> Decimal | None:
    """A budget field: null means unlimited; LiteLLM never enforces a negative budget."""
    if isinstance(value, Decimal):  # how JsonApi reads JSON numbers
        return _shared_exact(str(value))  # the text keeps 100 and 100.0 apart
    if isinstance(value, int | float | str):
        return _shared_budget(value)
    return _own_budget(value)


@lru_cache(maxsize=SHARED)
def _shared_exact(text: str) -> Decimal | None:
    return _own_budget(Decimal(text))


@lru_cache(maxsize=SHARED, typed=True)
def _shared_budget(value: float | str) -> Decimal | None:
    return _own_budget(value)


def _own_budget(value: object) -> Decimal | None:
    amount = from_api(value)
    return amount if amount is not None and amount >= 0 else None


def _meta(value: object) -> Mapping[str, Any]:
    """Metadata as plain JSON values (numbers read as Decimal go back to int/float).

    Flat metadata (no nested objects or lists) that many entities repeat, an owner or a cost
    centre, is shared: one mapping each would cost about 200 bytes per entity.
    """
    if not isinstance(value, dict) or not value:
        return EMPTY
    plain = _plain(value)
    if any(isinstance(v, dict | list) for v in plain.values()):
        return MappingProxyType(plain)
    # the type beside each value: 1, 1.0 and True are equal keys, but not the same metadata
    return _shared_meta(tuple((k, type(v), v) for k, v in plain.items()))


@lru_cache(maxsize=SHARED)
def _shared_meta(items: tuple[tuple[str, type, object], ...]) -> Mapping[str, Any]:
    return MappingProxyType({k: v for k, _, v in items})


@lru_cache(maxsize=SHARED)
def _shared_teams(teams: frozenset[str]) -> frozenset[str]:
    """A user's teams, shared by the users of the same teams (a set costs 200 bytes)."""
    return teams


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):  # JSON floats, read exactly; metadata is not money
        return float(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _names(*values: object) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if isinstance(v, str) and v))


def key(row: Mapping[str, Any]) -> Entity | None:
    """A key from /key/list?return_full_object=true (or /key/info's `info`)."""
    token = row.get("token")
    if not isinstance(token, str) or not token:
        return None
    table = row.get("litellm_budget_table") or {}
    soft = row.get("soft_budget")
    if soft is None and isinstance(table, dict):
        soft = table.get("soft_budget")
    alias = row.get("key_alias") if isinstance(row.get("key_alias"), str) else None
    masked = row.get("key_name") if isinstance(row.get("key_name"), str) else None
    return Entity(
        scope=Scope.KEY,
        id=token,
        spend=_spend(row.get("spend")),
        name=alias,
        names=_names(token, alias, masked),
        max_budget=_budget(row.get("max_budget")),
        soft_budget=_budget(soft),
        budget_duration=_common(row.get("budget_duration")),
        budget_reset_at=parse_time(row.get("budget_reset_at")),
        blocked=bool(row.get("blocked")),
        team_id=_common(row.get("team_id")),
        team_name=_common(row.get("team_alias")),
        masked_key=_mask(masked),
        metadata=_meta(row.get("metadata")),
        created_at=parse_time(row.get("created_at")),
    )


def team(row: Mapping[str, Any]) -> Entity | None:
    """A team from /v2/team/list (or /team/list, /team/info's `team_info`)."""
    team_id = _text(row.get("team_id"))
    if team_id is None:
        return None
    alias = _text(row.get("team_alias"))
    return Entity(
        scope=Scope.TEAM,
        id=team_id,
        spend=_spend(row.get("spend")),
        name=alias,
        names=_names(team_id, alias),
        max_budget=_budget(row.get("max_budget")),
        soft_budget=_budget(row.get("soft_budget")),
        budget_duration=_common(row.get("budget_duration")),
        budget_reset_at=parse_time(row.get("budget_reset_at")),
        blocked=bool(row.get("blocked")),
        metadata=_meta(row.get("metadata")),
        created_at=parse_time(row.get("created_at")),
    )


def user(row: Mapping[str, Any]) -> Entity | None:
    """A user from /user/list."""
    user_id = _text(row.get("user_id"))
    if user_id is None:
        return None
    email, alias = _text(row.get("user_email")), _text(row.get("user_alias"))
    raw_teams = row.get("teams")
    teams: list[Any] = raw_teams if isinstance(raw_teams, list) else []
    return Entity(
        scope=Scope.USER,
        id=user_id,
        spend=_spend(row.get("spend")),
        name=alias or email or user_id,
        names=_names(user_id, email, alias),
        max_budget=_budget(row.get("max_budget")),
        budget_duration=_common(row.get("budget_duration")),
        budget_reset_at=parse_time(row.get("budget_reset_at")),
        teams=_shared_teams(frozenset(sys.intern(str(t)) for t in teams if t)),
        metadata=_meta(row.get("metadata")),
        created_at=parse_time(row.get("created_at")),
    )


def customer(row: Mapping[str, Any]) -> Entity | None:
    """A customer (end user) from /customer/list; budgets live in `litellm_budget_table`."""
    customer_id = _text(row.get("user_id"))
    if customer_id is None:
        return None
    raw_table = row.get("litellm_budget_table")
    table: Mapping[str, Any] = raw_table if isinstance(raw_table, dict) else {}
    alias = _text(row.get("alias"))
    return Entity(
        scope=Scope.CUSTOMER,
        id=customer_id,
        spend=_spend(row.get("spend")),
        name=alias or customer_id,
        names=_names(customer_id, alias),
        max_budget=_budget(table.get("max_budget")),
        soft_budget=_budget(table.get("soft_budget")),
        budget_duration=_common(table.get("budget_duration")),
        budget_reset_at=parse_time(table.get("budget_reset_at")),
        blocked=bool(row.get("blocked")),
    )


def tag(row: Mapping[str, Any]) -> Entity | None:
    """A request tag from /spend/tags (all-time spend; LiteLLM keeps no tag budget in OSS)."""
    name = _text(row.get("individual_request_tag"))
    if name is None:
        return None
    return Entity(
        scope=Scope.TAG,
        id=name,
        spend=_spend(row.get("total_spend")),
        name=name,
        names=_names(name),
    )


def proxy(row: Mapping[str, Any]) -> Entity:
    """The proxy-wide figure from /global/spend (the last 30 days of spend logs).

    Its max_budget 0.0 means "none set". Period spend comes from the daily series instead.
    """
    budget = _budget(row.get("max_budget"))
    return Entity(
        scope=Scope.GLOBAL,
        id=GLOBAL_ID,
        spend=_spend(row.get("spend")),
        name="proxy",
        names=_names(GLOBAL_ID),
        max_budget=budget if budget else None,
    )


def daily_totals(rows: Iterable[Mapping[str, Any]], *, start: date) -> DailySeries:
    """Per-day proxy spend from /global/spend/logs ([{date, spend}], the last 30 days)."""
    days: dict[date, Decimal] = {}
    for row in rows:
        try:
            day = date.fromisoformat(str(row.get("date", ""))[:10])
        except ValueError:
            continue
        days[day] = days.get(day, ZERO) + _spend(row.get("spend"))
    return DailySeries(start=start, days=MappingProxyType(days))


def daily_window_start(today: date) -> date:
    """First day of LiteLLM's 30-day window (CURRENT_DATE - 30 days in its views)."""
    return today - timedelta(days=30)


def join_team_names(keys: Iterable[Entity], teams: Iterable[Entity]) -> list[Entity]:
    """Give each key its team's alias (the key list only carries team_id); a team the list
    does not have leaves the key's team name as it was."""
    aliases = {t.id: t.name for t in teams}
    out = []
    for k in keys:
        name = aliases.get(k.team_id, k.team_name) if k.team_id else k.team_name
        out.append(k if name == k.team_name else replace(k, team_name=name))
    return out


_BUT_TEAM_NAME = attrgetter(*(f.name for f in fields(Entity) if f.name != "team_name"))


def settled(new: Entity, known: Entity | None) -> Entity:
    """`known` (what the last read built) when `new` says the same, else `new`.

    Most entities do not change between two cycles; keeping last cycle's object for them
    means two snapshots share one copy instead of holding two. A key read without its team's
    alias matches a known key that has one (the alias is joined from the team list).
    """
    if known is None or known is new:
        return new
    if new.team_name is not None and new.team_name != known.team_name:
        return _sharing(new, known)
    return known if _BUT_TEAM_NAME(new) == _BUT_TEAM_NAME(known) else _sharing(new, known)


def _sharing(new: Entity, known: Entity) -> Entity:
    """`new`, holding `known`'s id and its other texts where they are equal.

    The store's history and suppressions key an entity by the id string it first read. A
    changed entity built with a copy of its own kept that first string alive beside the
    copy, so the daemon grew by an id for every entity whose spend ever changed (at 100k
    entities and a tenth of them spending each cycle, 8 MB over a dozen cycles).
    """
    names = known.names if new.names == known.names else _renamed(new.names, known.id)
    return replace(
        new,
        id=known.id,
        name=known.name if new.name == known.name else new.name,
        names=names,
        masked_key=known.masked_key if new.masked_key == known.masked_key else new.masked_key,
        metadata=known.metadata if new.metadata == known.metadata else new.metadata,
    )


def _renamed(names: tuple[str, ...], entity_id: str) -> tuple[str, ...]:
    return tuple(entity_id if n == entity_id else n for n in names)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _common(value: object) -> str | None:
    """`_text` for values many entities repeat (team ids and names, durations): one copy."""
    return sys.intern(value) if isinstance(value, str) and value else None


def _mask(key_name: str | None) -> str | None:
    """LiteLLM's key_name is already masked ("sk-...abcd"); never keep anything longer."""
    if key_name is None:
        return None
    if key_name.startswith("sk-...") and len(key_name) <= 12:
        return key_name
    return f"sk-...{key_name[-4:]}" if len(key_name) >= 4 else "sk-..."
