"""Changes in LiteLLM: scheduled resets, hard-limit blocks and unblocks, recorded and announced.

Each change is decided by the pure core (RESET, BLOCK, UNBLOCK decisions), made here through
LiteLLM's admin API, written to the audit trail with spend before and after, and announced to
the budget's channels through the same ledger as every other notice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from watchdog.decisions import Action, Decision
from watchdog.errors import ActionError
from watchdog.model import Entity
from watchdog.notices import announce
from watchdog.rules import RuleSet
from watchdog.store import ActionRecord

log = logging.getLogger(__name__)


class Admin(Protocol):
    """LiteLLM's write API, as far as watchdog uses it."""

    async def reset_spend(self, entity: Entity) -> Decimal | None:
        """Set the entity's spend to zero; returns the spend LiteLLM reports afterwards."""
        ...

    async def block(self, entity: Entity) -> None: ...

    async def unblock(self, entity: Entity) -> None: ...


@dataclass(frozen=True, slots=True)
class Done:
    """The outcome of one change: the audit record and the notices announcing it."""

    record: ActionRecord
    announcements: list[Decision]


async def perform(
    decisions: Sequence[Decision], *, admin: Admin | None, rules: RuleSet, now: datetime
) -> list[Done]:
    """Make each change, one at a time (they are few); failures are recorded, not raised."""
    done = []
    for decision in decisions:
        if decision.action not in (Action.RESET, Action.BLOCK, Action.UNBLOCK):
            continue
        done.append(await _one(decision, admin=admin, rules=rules, now=now))
    return done


async def _one(decision: Decision, *, admin: Admin | None, rules: RuleSet, now: datetime) -> Done:
    alert = decision.alert
    entity = alert.entity
    before = entity.spend if entity is not None else None
    record = ActionRecord(
        kind=decision.action.value,
        rule=alert.rule,
        entity=alert.ref,
        period=alert.period.key,
        at=now,
        ok=False,
        spend_before=before,
    )
    if admin is None or entity is None:
        error = "no LiteLLM admin API configured (litellm.url and litellm.master_key)"
        log.warning(
            "%s not made: %s",
            decision.action.value,
            error,
            extra={"rule": alert.rule, "entity": alert.label},
        )
        return Done(replace(record, error=error), [])
    try:
        after = await _call(admin, decision.action, entity)
    except ActionError as exc:
        log.error(
            "%s of %s failed: %s",
            decision.action.value,
            alert.label,
            exc,
            extra={"rule": alert.rule, "retryable": exc.retryable},
        )
        return Done(replace(record, error=str(exc)), [])
    log.info(
        "%s %s in LiteLLM",
        _past(decision.action),
        alert.label,
        extra={"rule": alert.rule, "period": alert.period.key, "note": decision.note},
    )
    ok = replace(record, ok=True, spend_after=after)
    return Done(ok, announce(decision, rules, spend_before=before, spend_after=after))


async def _call(admin: Admin, action: Action, entity: Entity) -> Decimal | None:
    if action is Action.RESET:
        after = await admin.reset_spend(entity)
        return after if after is not None else Decimal(0)
    if action is Action.BLOCK:
        await admin.block(entity)
    else:
        await admin.unblock(entity)
    return entity.spend


def _past(action: Action) -> str:
    return {Action.RESET: "reset", Action.BLOCK: "blocked", Action.UNBLOCK: "unblocked"}[action]
