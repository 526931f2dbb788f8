"""Value types shared by every stage: entities, snapshots, spend samples and ledger state. Pure."""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from watchdog.records import record

EMPTY: Mapping[Any, Any] = MappingProxyType({})


def empty() -> Mapping[Any, Any]:
    """The shared read-only empty mapping, as a dataclass default."""
    return EMPTY


class Scope(enum.StrEnum):
    """What a budget is about; LiteLLM tracks spend for each of these."""

    KEY = "key"
    TEAM = "team"
    USER = "user"
    CUSTOMER = "customer"
    TAG = "tag"
    GLOBAL = "global"
    DIMENSION = "dimension"
    QUERY = "query"


BUDGETED = frozenset({Scope.KEY, Scope.TEAM, Scope.USER, Scope.CUSTOMER})
"""Scopes for which LiteLLM keeps a max_budget, a budget_duration and a budget_reset_at."""

BLOCKABLE = frozenset({Scope.KEY, Scope.TEAM})
"""Scopes whose blocks LiteLLM enforces (customer blocks are enterprise-only, measured on
LiteLLM 1.108.7: the flag is set but requests are still served)."""

RESETTABLE = frozenset({Scope.KEY, Scope.USER})
"""Scopes whose spend LiteLLM sets back to zero through its API (its /team/update and
/customer/update answer 200 to spend 0 but keep the spend, measured on LiteLLM 1.108.7)."""


@dataclass(frozen=True, slots=True, order=True)
class EntityRef:
    """Identifies one entity: a scope and LiteLLM's stable id (token hash, team_id, user_id …)."""

    scope: Scope
    id: str

    def __str__(self) -> str:
        return f"{self.scope}:{self.id}"


@record
class Entity:
    """One key, team, user, customer, tag or the proxy, as a source last saw it."""

    scope: Scope
    id: str
    spend: Decimal
    """LiteLLM's spend counter: USD since the entity's last reset (or since creation)."""
    name: str | None = None
    """The alias people use (key_alias, team_alias, user email, customer alias)."""
    names: tuple[str, ...] = ()
    """Every name a rule's `match` may use: id, alias, email, masked key … (each once; a
    tuple, a third of a set's size, as there are a few per entity and 100k entities)."""
    max_budget: Decimal | None = None
    soft_budget: Decimal | None = None
    budget_duration: str | None = None
    budget_reset_at: datetime | None = None
    blocked: bool = False
    team_id: str | None = None
    team_name: str | None = None
    teams: frozenset[str] = frozenset()
    """For users: ids of every team they belong to."""
    masked_key: str | None = None
    """For keys: LiteLLM's masked form, e.g. "sk-...abcd". Never the key itself."""
    created_at: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=empty)
    source: str = "litellm"

    @property
    def ref(self) -> EntityRef:
        return EntityRef(self.scope, self.id)

    @property
    def label(self) -> str:
        """How the entity is named in messages: "team engineering", "key ci-bot (sk-...abcd)"."""
        if self.scope is Scope.GLOBAL:
            return "proxy-wide spend"
        if self.scope is Scope.KEY:
            masked = self.masked_key or "sk-..."
            return f"key {self.name} ({masked})" if self.name else f"key {masked}"
        return f"{self.scope} {self.name or self.id}"


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """How one source fared in the cycle that built a snapshot."""

    name: str
    ok: bool
    data_as_of: datetime | None
    """When the data in the snapshot was read from this source (None: never)."""
    error: str | None = None
    requests: int = 0


@record
class Sample:
    """LiteLLM's spend counter for one entity at one instant."""

    at: datetime
    spend: Decimal


@dataclass(frozen=True, slots=True)
class DailySeries:
    """Spend per UTC day, as LiteLLM's daily views report it, covering `start` to today."""

    start: date
    """First day the series covers (days without spend are absent, not missing)."""
    days: Mapping[date, Decimal] = field(default_factory=empty)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the sources said in one cycle. Built by the shell, read by the pure core."""

    taken_at: datetime
    entities: Mapping[Scope, Mapping[str, Entity]] = field(default_factory=empty)
    sources: Mapping[str, SourceStatus] = field(default_factory=empty)
    rates: Mapping[EntityRef, Mapping[str, Decimal]] = field(default_factory=empty)
    """Spend increase over trailing windows ("1h", "24h", "7d") from Prometheus, when known."""
    queries: Mapping[str, Mapping[str, Decimal]] = field(default_factory=empty)
    """Results of rule-defined PromQL queries: rule name → series label → USD in the period."""
    daily: Mapping[EntityRef, DailySeries] = field(default_factory=empty)
    """Per-day spend where the source reports it (the proxy-wide total from /global/spend/logs)."""

    def of(self, scope: Scope) -> Mapping[str, Entity]:
        return self.entities.get(scope, EMPTY)

    def get(self, ref: EntityRef) -> Entity | None:
        return self.of(ref.scope).get(ref.id)

    def count(self) -> int:
        return sum(len(v) for v in self.entities.values())


# Ledger state: what the store remembers, handed to the pure core each cycle ------------------


class NoticeEvent(enum.StrEnum):
    """What a notice told a channel."""

    FIRED = "fired"
    RESOLVED = "resolved"
    REPEAT = "repeat"


@dataclass(frozen=True, slots=True)
class Notice:
    """One claimed notice in the ledger for one (rule, entity, period, channel) thread."""

    threshold: str
    """The step it was about, e.g. "80%@4000" or "forecast@5000"."""
    event: NoticeEvent
    level: str | None
    """The step in force after this notice (for a resolution: the step spend is back at)."""
    at: datetime
    delivered: bool = True


ThreadKey = tuple[str, Scope, str, str, str]
"""(rule, scope, entity id, period key, channel): one conversation about one budget."""

BudgetKey = tuple[str, Scope, str]
"""(rule, scope, entity id): one budget, across periods."""


@dataclass(frozen=True, slots=True)
class ForecastMemory:
    """Hysteresis state of a projection for one budget and period."""

    period: str
    streak: int = 0
    """Consecutive evaluations with the projection over its threshold."""


@dataclass(frozen=True, slots=True)
class ActionMemory:
    """Last change watchdog made to a budget in LiteLLM (a reset, a block, an unblock)."""

    period: str
    at: datetime
    spend_before: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Snooze:
    """A person silenced a rule and/or entity until `until`, for a stated reason."""

    until: datetime
    reason: str
    rule: str | None = None
    entity: EntityRef | None = None
    created_by: str = ""

    def covers(
        self, rule: str, ref: EntityRef | None, now: datetime, names: Collection[str] = ()
    ) -> bool:
        """True while active for this rule and entity (named by id or by any of its names)."""
        if now >= self.until:
            return False
        if self.rule is not None and self.rule.casefold() != rule.casefold():
            return False
        if self.entity is None:
            return True
        if ref is None or self.entity.scope is not ref.scope:
            return False
        wanted = self.entity.id.casefold()
        return wanted == ref.id.casefold() or wanted in {n.casefold() for n in names}


@dataclass(frozen=True, slots=True)
class LedgerState:
    """What the store knows that the core needs: notices, streaks, actions, snoozes, history."""

    notices: Mapping[ThreadKey, tuple[Notice, ...]] = field(default_factory=empty)
    forecasts: Mapping[BudgetKey, ForecastMemory] = field(default_factory=empty)
    resets: Mapping[BudgetKey, ActionMemory] = field(default_factory=empty)
    blocks: Mapping[BudgetKey, ActionMemory] = field(default_factory=empty)
    """Blocks watchdog made and has not yet lifted."""
    snoozes: tuple[Snooze, ...] = ()
    history: Mapping[EntityRef, tuple[Sample, ...]] = field(default_factory=empty)
    """Spend samples per entity, oldest first, for period baselines and forecasts."""
