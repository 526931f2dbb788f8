"""Per-request usage as both stores keep it: what LiteLLM's callbacks said, never content.

A `RequestRecord` holds a request's cost, tokens and who or what made it (key, team, user, end
user, model, tags, chosen headers). It never holds prompts, messages or responses. Each record
is also stored as one row per attribute value (`dimensions`), so spend per department, model or
tag in a time range is one indexed query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from watchdog.dimensions import header_key
from watchdog.model import empty

NANO = Decimal("0.000000001")
"""Costs are kept to the nano-dollar, so sums are exact on both stores."""

Within = tuple[str, str]
"""(dimension, value): count only requests that carry this attribute value."""


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One LiteLLM request as its callback reported it."""

    id: str
    """LiteLLM's request id: the same on a retried callback, so storing is idempotent."""
    at: datetime
    """When the request ended (LiteLLM's endTime)."""
    cost: Decimal
    """response_cost in USD, to the nano-dollar."""
    status: str = "success"
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    key_hash: str | None = None
    """LiteLLM's hash of the virtual key (its id), never the key."""
    key_alias: str | None = None
    team_id: str | None = None
    team_alias: str | None = None
    user_id: str | None = None
    end_user: str | None = None
    tags: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=empty)
    """Chosen request headers, lower-case name → value."""

    def dimensions(self) -> list[tuple[str, str, str | None]]:
        """(dimension, value, label) for every attribute value this request carries."""
        found: list[tuple[str, str, str | None]] = []
        plain = (
            ("model", self.model, None),
            ("key", self.key_hash, self.key_alias),
            ("team", self.team_id, self.team_alias),
            ("user", self.user_id, None),
            ("end_user", self.end_user, None),
        )
        found.extend((dim, value, label) for dim, value, label in plain if value)
        found.extend(("tag", tag, None) for tag in dict.fromkeys(self.tags) if tag)
        found.extend((header_key(name), value, None) for name, value in self.headers.items())
        return found


@dataclass(frozen=True, slots=True)
class Spender:
    """One attribute value and what its requests cost in a time range."""

    value: str
    label: str | None
    """A readable name where LiteLLM gives one (key alias, team alias)."""
    spend: Decimal
    requests: int


@dataclass(frozen=True, slots=True)
class RequestStats:
    """How far the stored requests reach."""

    first_at: datetime | None
    """The oldest stored request (None: none stored)."""
    last_received_at: datetime | None
    """When the newest callback arrived."""


class UsageReader(Protocol):
    """What reading stored requests takes: the part of the Store that dimension budgets and
    attribution use."""

    async def request_spend(
        self,
        dimension: str,
        *,
        start: datetime,
        end: datetime,
        within: Within | None = None,
        limit: int | None = None,
    ) -> list[Spender]: ...

    async def request_total(
        self, *, start: datetime, end: datetime, within: Within | None = None
    ) -> Decimal: ...

    async def request_stats(self) -> RequestStats: ...
