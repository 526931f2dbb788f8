"""Which entities a rule covers: its scope, `match` and `exclude`, and query results. Pure."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

from watchdog.model import Entity, Scope, Snapshot
from watchdog.rules import Rule


def chosen(rule: Rule, pool: Iterable[Entity]) -> list[Entity]:
    """The entities of `pool`, in its order, that the rule's match and exclude pick."""
    patterns = [p.casefold() for p in rule.match]
    excludes = [p.casefold() for p in rule.exclude]
    everything = "*" in patterns  # matches whatever the names: no need to compute them
    if everything and not excludes:
        return list(pool)
    picked = []
    for entity in pool:
        names = [n.casefold() for n in entity.names] or [entity.id.casefold()]
        if not everything and not _matches(names, patterns):
            continue
        if excludes and _matches(names, excludes):
            continue
        picked.append(entity)
    return picked


def _matches(names: Sequence[str], patterns: Sequence[str]) -> bool:
    for pattern in patterns:
        if pattern == "*":
            return True
        if any(ch in pattern for ch in "*?["):
            if any(fnmatch.fnmatchcase(n, pattern) for n in names):
                return True
        elif pattern in names:
            return True
    return False


def query_entities(rule: Rule, snapshot: Snapshot) -> list[Entity]:
    """A query rule's series (Prometheus or callback dimensions) as entities, matched by name."""
    results = snapshot.queries.get(rule.name, {})
    patterns = [p.casefold() for p in rule.match] or ["*"]
    excludes = [p.casefold() for p in rule.exclude]
    out = []
    for series, spend in sorted(results.items()):
        names = [series.casefold()]
        if _matches(names, patterns) and not _matches(names, excludes):
            out.append(
                Entity(
                    scope=rule.scope,
                    id=series,
                    spend=spend,
                    name=series,
                    names=(series,),
                    source=_query_source(rule),
                )
            )
    return out


def _query_source(rule: Rule) -> str:
    return "prometheus" if rule.scope is Scope.QUERY else "callbacks"
