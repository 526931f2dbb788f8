"""Which channels hear about a budget, and when they would rather not (quiet hours). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from watchdog.model import Entity, Scope
from watchdog.rules import Routing, Rule


def route(rule: Rule, entity: Entity | None, routing: Routing) -> tuple[str, ...]:
    """Channels for a budget: the rule's own, plus the owners' (team of a key too), else default."""
    channels = list(rule.notify)
    if entity is not None:
        channels.extend(_owners(entity, routing))
    if not channels:
        channels.extend(routing.default)
    return tuple(dict.fromkeys(channels))


def _owners(entity: Entity, routing: Routing) -> Iterable[str]:
    own = routing.owners.get(entity.scope, {})
    for name in (entity.id, entity.name):
        if name and name in own:
            yield from own[name]
    if entity.team_id or entity.team_name:
        teams = routing.owners.get(Scope.TEAM, {})
        for name in (entity.team_id, entity.team_name):
            if name and name in teams:
                yield from teams[name]


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Hours in which a channel receives nothing; notices wait until they end."""

    start: int
    """Minutes after local midnight when quiet begins."""
    end: int
    tz: tzinfo = UTC
    days: frozenset[int] = field(default_factory=lambda: frozenset(range(7)))
    """Weekdays (0 = Monday) on which quiet hours start."""

    def covers(self, now: datetime) -> bool:
        local = now.astimezone(self.tz)
        minute = local.hour * 60 + local.minute
        if self.start <= self.end:
            return local.weekday() in self.days and self.start <= minute < self.end
        if minute >= self.start:
            return local.weekday() in self.days
        yesterday = (local.weekday() - 1) % 7
        return minute < self.end and yesterday in self.days
