"""Changes watchdog makes in LiteLLM: set spend back to zero, block and unblock.

Used by scheduled resets and hard-limit blocks. Every change checks LiteLLM's answer, because
some endpoints accept fields they ignore: measured on LiteLLM 1.108.7, `/team/update` and
`/customer/update` answer 200 to `spend: 0` and keep the spend, so those resets fail with
a clear `ActionError` instead of passing silently. `/customer/unblock` is enterprise-only; a
customer is unblocked with `/customer/update` and `blocked: false`, which the open-source
proxy honours at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp

from watchdog.config import LiteLLMSettings
from watchdog.errors import ActionError
from watchdog.model import Entity, EntityRef, Scope
from watchdog.money import ZERO, from_api
from watchdog.sources.http import JsonApi, Retry, SessionHolder
from watchdog.sources.litellm import litellm_api


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What LiteLLM reported after a change."""

    entity: EntityRef
    action: str
    """reset, block or unblock."""
    spend_before: Decimal | None = None
    """Spend before a reset, when LiteLLM tells it (keys)."""
    spend_after: Decimal | None = None
    blocked: bool | None = None
    requests: int = 0


_BLOCK = {
    Scope.KEY: ("/key/block", "key"),
    Scope.TEAM: ("/team/block", "team_id"),
}
_UNBLOCK = {
    Scope.KEY: ("/key/unblock", "key"),
    Scope.TEAM: ("/team/unblock", "team_id"),
}
_UPDATE = {
    Scope.USER: ("/user/update", "user_id"),
    Scope.TEAM: ("/team/update", "team_id"),
    Scope.CUSTOMER: ("/customer/update", "user_id"),
}


class LiteLLMAdmin:
    """Resets, blocks and unblocks keys, teams, users and customers through the admin API.

    `change` returns what LiteLLM reported; `reset_spend`, `block` and `unblock` take an
    entity, as the daemon's action stage calls them.
    """

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

    async def change(self, action: str, ref: EntityRef) -> ActionResult:
        """Make one change ("reset", "block" or "unblock"); ActionError if it did not happen."""
        api = litellm_api(
            self._settings, session=self._session.get(), retry=self._retry, error=ActionError
        )
        if action == "reset":
            return await _reset(api, ref)
        if action in ("block", "unblock"):
            return await _set_blocked(api, ref, blocked=action == "block")
        raise ValueError(f"unknown action {action!r}; expected reset, block or unblock")

    async def reset_spend(self, entity: Entity) -> Decimal | None:
        """Set the entity's spend to zero; returns the spend LiteLLM reports afterwards."""
        return (await self.change("reset", entity.ref)).spend_after

    async def block(self, entity: Entity) -> None:
        await self.change("block", entity.ref)

    async def unblock(self, entity: Entity) -> None:
        await self.change("unblock", entity.ref)

    async def aclose(self) -> None:
        await self._session.aclose()


async def _reset(api: JsonApi, ref: EntityRef) -> ActionResult:
    if ref.scope is Scope.KEY:
        body = _object(await api.post(f"/key/{ref.id}/reset_spend", {"reset_to": 0}), ref)
        before, after = from_api(body.get("previous_spend")), from_api(body.get("spend"))
    elif ref.scope in _UPDATE:
        path, field = _UPDATE[ref.scope]
        body = _object(await api.post(path, {field: ref.id, "spend": 0}), ref)
        before, after = None, from_api(_row(body).get("spend"))
    else:
        raise _unsupported("reset the spend of", ref)
    if after is None or after != ZERO:
        raise ActionError(
            f"LiteLLM did not reset the spend of {ref}: it answered spend {after} "
            f"(this LiteLLM version ignores spend on {_where(ref)}; let LiteLLM reset it "
            "with budget_duration, or reset keys and users instead)",
            retryable=False,
        )
    return ActionResult(ref, "reset", before, after, requests=api.requests)


async def _set_blocked(api: JsonApi, ref: EntityRef, *, blocked: bool) -> ActionResult:
    """Block or unblock; customers unblock through /customer/update (/customer/unblock is paid)."""
    action = "block" if blocked else "unblock"
    row: Mapping[str, Any]
    if ref.scope is Scope.CUSTOMER and blocked:
        body = _object(await api.post("/customer/block", {"user_ids": [ref.id]}), ref)
        rows = body.get("blocked_users")
        row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
    elif ref.scope is Scope.CUSTOMER:
        body = _object(
            await api.post("/customer/update", {"user_id": ref.id, "blocked": False}), ref
        )
        row = _row(body)
    elif ref.scope in _BLOCK:
        path, field = (_BLOCK if blocked else _UNBLOCK)[ref.scope]
        row = _row(_object(await api.post(path, {field: ref.id}), ref))
    else:
        raise _unsupported(action, ref)
    if bool(row.get("blocked")) is not blocked:
        raise ActionError(
            f"LiteLLM did not {action} {ref}: it answered blocked={row.get('blocked')!r}",
            retryable=False,
        )
    return ActionResult(
        ref, action, spend_after=from_api(row.get("spend")), blocked=blocked, requests=api.requests
    )


def _object(body: object, ref: EntityRef) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise ActionError(
            f"LiteLLM answered an unexpected shape for {ref}: {type(body).__name__}",
            retryable=True,
        )
    return body


def _row(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The updated row: /team/update and /user/update wrap it in `data`."""
    data = body.get("data")
    return data if isinstance(data, dict) else body


def _unsupported(what: str, ref: EntityRef) -> ActionError:
    return ActionError(
        f"LiteLLM cannot {what} a {ref.scope} through its API ({ref})", retryable=False
    )


def _where(ref: EntityRef) -> str:
    return _UPDATE[ref.scope][0] if ref.scope in _UPDATE else "/key/{key}/reset_spend"
