"""Fakes for tests, typed against the real Protocols. Never imported by production code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from watchdog.decisions import Action, Decision, Reason
from watchdog.errors import ActionError, DeliveryError, SourceError
from watchdog.model import (
    ActionMemory,
    BudgetKey,
    Entity,
    ForecastMemory,
    LedgerState,
    Notice,
    Scope,
)
from watchdog.notify import Receipt
from watchdog.render import Message
from watchdog.rules import RuleSet
from watchdog.sources import Reading


class FakeSource:
    """A source whose entities tests set directly; `fail` makes the next reads raise."""

    def __init__(self, name: str = "litellm", entities: Iterable[Entity] = ()) -> None:
        self._name = name
        self.entities: dict[Scope, dict[str, Entity]] = {}
        self.fail: SourceError | None = None
        self.reads = 0
        self.set(entities)

    @property
    def name(self) -> str:
        return self._name

    def set(self, entities: Iterable[Entity]) -> None:
        for entity in entities:
            self.entities.setdefault(entity.scope, {})[entity.id] = entity

    async def read(self, *, rules: RuleSet, now: datetime) -> Reading:
        del rules
        self.reads += 1
        if self.fail is not None:
            raise self.fail
        frozen: Mapping[Scope, Mapping[str, Entity]] = MappingProxyType(
            {s: MappingProxyType(dict(e)) for s, e in self.entities.items()}
        )
        return Reading(source=self._name, taken_at=now, entities=frozen, requests=1)

    async def aclose(self) -> None:
        return None


class RecordingNotifier:
    """A channel that keeps what it was sent; `fail_with` makes sends raise."""

    def __init__(self, name: str = "recorder") -> None:
        self._name = name
        self.sent: list[tuple[Message, str | None]] = []
        self.fail_with: DeliveryError | None = None

    @property
    def name(self) -> str:
        return self._name

    async def send(self, message: Message, *, thread: str | None = None) -> Receipt:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((message, thread))
        ref = f"{self._name}:{len(self.sent)}"
        return Receipt(ref=ref, thread=thread or ref)

    async def aclose(self) -> None:
        return None


def remember(state: LedgerState, decisions: Iterable[Decision], now: datetime) -> LedgerState:
    """The ledger after the shell claimed, sent and recorded `decisions` (a pure store stand-in).

    Notices are appended to their threads; forecast streaks, reset baselines and actions are
    remembered the way the real stores do, so a test can run a timeline through the core.
    """
    notices = {k: list(v) for k, v in state.notices.items()}
    forecasts = dict(state.forecasts)
    resets = dict(state.resets)
    blocks = dict(state.blocks)
    for d in decisions:
        a = d.alert
        key: BudgetKey = (a.rule, a.scope, a.entity_id)
        if d.action is Action.NOTIFY and d.event is not None:
            notices.setdefault(d.thread, []).append(
                Notice(threshold=d.step or a.step, event=d.event, level=d.level, at=now)
            )
        elif d.action is Action.RECORD and d.streak is not None:
            forecasts[key] = ForecastMemory(period=a.period.key, streak=d.streak)
        elif d.action is Action.RECORD and d.reason is Reason.BASELINE:
            resets[key] = ActionMemory(period=a.period.key, at=now)
        elif d.action is Action.RESET:
            resets[key] = ActionMemory(period=a.period.key, at=now, spend_before=a.spend)
        elif d.action is Action.BLOCK:
            blocks[key] = ActionMemory(period=a.period.key, at=now)
        elif d.action is Action.UNBLOCK:
            blocks.pop(key, None)
    return replace(
        state,
        notices=MappingProxyType({k: tuple(v) for k, v in notices.items()}),
        forecasts=MappingProxyType(forecasts),
        resets=MappingProxyType(resets),
        blocks=MappingProxyType(blocks),
    )


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class FakeAdmin:
    """LiteLLM's write API, remembering every change; `fail` makes the next changes raise."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail: ActionError | None = None

    async def reset_spend(self, entity: Entity) -> Decimal | None:
        self._call("reset", entity)
        return Decimal(0)

    async def block(self, entity: Entity) -> None:
        self._call("block", entity)

    async def unblock(self, entity: Entity) -> None:
        self._call("unblock", entity)

    def _call(self, action: str, entity: Entity) -> None:
        if self.fail is not None:
            raise self.fail
        self.calls.append((action, entity.id))
