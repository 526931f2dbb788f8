"""Small builders that keep the core's tests readable: entities, rules, snapshots, ledgers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from watchdog.decisions import Action, Decision, Reason
from watchdog.evaluate import evaluate
from watchdog.model import (
    Entity,
    LedgerState,
    Notice,
    NoticeEvent,
    Sample,
    Scope,
    Snapshot,
    SourceStatus,
    ThreadKey,
)
from watchdog.rule_files import load_rules
from watchdog.rules import Routing, Rule, RuleSet
from watchdog.snapshot import load
from watchdog.store.usage import RequestRecord

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
"""A Wednesday in the middle of a month."""
NOVEMBER = "2026-11-01T00:00:00Z"
OCTOBER = "2026-10-01T00:00:00Z"


def money(value: str | int) -> Decimal:
    return Decimal(str(value))


def team(
    spend: str | int, budget: str | int | None = None, *, name: str = "engineering", **fields: Any
) -> Entity:
    """A team that LiteLLM created before this month, so period spend needs care."""
    defaults: dict[str, Any] = {
        "created_at": datetime(2026, 11, 1, tzinfo=UTC),
    }
    defaults.update(fields)
    return Entity(
        scope=Scope.TEAM,
        id=f"id-{name}",
        spend=money(spend),
        name=name,
        names=(f"id-{name}", name),
        max_budget=None if budget is None else money(budget),
        **defaults,
    )


def live_snap(*teams: tuple[str, str | int]) -> Snapshot:
    """Teams (name, spend) created just now, read just now: for daemons that run on the
    real clock, whose period is whatever month it is today."""
    now = datetime.now(UTC)
    return snap(*(team(spend, name=name, created_at=now) for name, spend in teams), at=now)


def key(
    spend: str | int,
    budget: str | int | None = None,
    *,
    alias: str = "ci-bot",
    team_name: str | None = None,
    **fields: Any,
) -> Entity:
    defaults: dict[str, Any] = {"created_at": datetime(2026, 11, 1, tzinfo=UTC)}
    defaults.update(fields)
    return Entity(
        scope=Scope.KEY,
        id=f"hash-{alias}",
        spend=money(spend),
        name=alias,
        names=(f"hash-{alias}", alias),
        masked_key="sk-...abcd",
        max_budget=None if budget is None else money(budget),
        team_id=f"id-{team_name}" if team_name else None,
        team_name=team_name,
        **defaults,
    )


def rule(**fields: Any) -> Rule:
    """A monthly team budget of $5,000 for engineering unless told otherwise."""
    base: dict[str, Any] = {
        "name": "Engineering monthly",
        "scope": "team",
        "match": "engineering",
        "amount": 5000,
        "period": "monthly",
    }
    base.update(fields)
    return Rule.model_validate({k: v for k, v in base.items() if v is not None})


def rules(*items: Rule, channels: Iterable[str] = ("eng-slack",), **routing: Any) -> RuleSet:
    return RuleSet(rules=items, routing=Routing(default=tuple(channels), **routing))


def snap(
    *entities: Entity,
    at: datetime = NOW,
    as_of: datetime | None = None,
    ok: bool = True,
    error: str | None = None,
) -> Snapshot:
    grouped: dict[Scope, dict[str, Entity]] = {}
    for entity in entities:
        grouped.setdefault(entity.scope, {})[entity.id] = entity
    status = SourceStatus("litellm", ok=ok, data_as_of=at if as_of is None else as_of, error=error)
    return Snapshot(
        taken_at=at,
        entities=MappingProxyType({s: MappingProxyType(e) for s, e in grouped.items()}),
        sources=MappingProxyType({"litellm": status}),
    )


def thread(
    rule_name: str = "Engineering monthly",
    *,
    entity: str = "id-engineering",
    period: str = NOVEMBER,
    channel: str = "eng-slack",
    scope: Scope = Scope.TEAM,
) -> ThreadKey:
    return (rule_name, scope, entity, period, channel)


def sent(
    step: str,
    *,
    level: str | None = "",
    event: NoticeEvent = NoticeEvent.FIRED,
    at: datetime = NOW - timedelta(hours=1),
) -> Notice:
    """A notice already claimed; `level` defaults to the step itself."""
    return Notice(threshold=step, event=event, level=step if level == "" else level, at=at)


def ledger(*threads: tuple[ThreadKey, Iterable[Notice]], **fields: Any) -> LedgerState:
    notices = {k: tuple(v) for k, v in threads}
    return LedgerState(notices=MappingProxyType(notices), **fields)


def history(ref_entity: Entity, *points: tuple[datetime, str | int]) -> LedgerState:
    samples = tuple(Sample(at, money(v)) for at, v in points)
    return LedgerState(history=MappingProxyType({ref_entity.ref: samples}))


def notices(decisions: Iterable[Decision]) -> list[tuple[Reason, str, str]]:
    """(reason, step, channel) of every decision that sends something."""
    return [
        (d.reason, d.step or d.alert.step, d.channel or "")
        for d in decisions
        if d.action is Action.NOTIFY
    ]


def acts(decisions: Iterable[Decision]) -> list[tuple[Action, Reason]]:
    return [(d.action, d.reason) for d in decisions if d.action not in (Action.NOTIFY, Action.NONE)]


def reasons(decisions: Iterable[Decision]) -> list[Reason]:
    return [d.reason for d in decisions]


def run(
    ruleset: RuleSet, snapshot: Snapshot, state: LedgerState | None = None, now: datetime = NOW
) -> list[Decision]:
    return evaluate(ruleset, snapshot, state or LedgerState(), now)


def request(rid: str, cost: str, at: datetime, **fields: Any) -> RequestRecord:
    """A request of team engineering, by ana's ci-bot key on gpt-4o, unless told otherwise."""
    base: dict[str, Any] = {
        "model": "gpt-4o",
        "key_hash": "hash-ci-bot",
        "key_alias": "ci-bot",
        "team_id": "id-engineering",
        "team_alias": "engineering",
        "user_id": "ana",
    }
    department = fields.pop("department", "engineering")
    base.update(fields)
    return RequestRecord(
        id=rid,
        at=at,
        cost=Decimal(cost),
        headers=MappingProxyType({"x-department": department}),
        **base,
    )


def shipped_example() -> tuple[RuleSet, Snapshot, LedgerState, datetime]:
    """`evaluate`'s arguments for the README's example: the shipped rules over
    examples/snapshot.json and its history, at the instant it was taken."""
    root = Path(__file__).resolve().parent.parent
    loaded = load(root / "examples" / "snapshot.json")
    snapshot = loaded.snapshot
    rules = load_rules([root / "rules"])
    return rules, snapshot, LedgerState(history=loaded.history), snapshot.taken_at
