"""The snapshot file: a snapshot (and optional spend history) as JSON, written and read back.

The file keeps money as strings ("0.05384000000000001") so nothing is lost to floats, and may
carry spend history so period baselines and forecasts can be previewed offline. Written by
`budget-watchdog preview --save-snapshot`, read by `preview --snapshot` and the file source.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

from watchdog.errors import InputError, Problem
from watchdog.model import DailySeries, Entity, EntityRef, Sample, Scope, Snapshot, SourceStatus

FORMAT = 1


class SnapshotFile:
    """A snapshot plus the spend history stored with it."""

    def __init__(
        self, snapshot: Snapshot, history: Mapping[EntityRef, tuple[Sample, ...]] | None = None
    ) -> None:
        self.snapshot = snapshot
        self.history: Mapping[EntityRef, tuple[Sample, ...]] = history or {}


# Writing -------------------------------------------------------------------------------------


def dumps(snapshot: Snapshot, history: Mapping[EntityRef, Sequence[Sample]] | None = None) -> str:
    """The JSON text of a snapshot file."""
    body: dict[str, Any] = {
        "watchdog_snapshot": FORMAT,
        "taken_at": _iso(snapshot.taken_at),
        "sources": {
            name: {
                "ok": s.ok,
                "data_as_of": _iso(s.data_as_of),
                "error": s.error,
                "requests": s.requests,
            }
            for name, s in sorted(snapshot.sources.items())
        },
        "entities": {
            scope.value: [_entity(e) for e in sorted(ents.values(), key=lambda e: e.id)]
            for scope, ents in sorted(snapshot.entities.items())
        },
    }
    if history:
        body["history"] = {
            str(ref): [[_iso(s.at), _dec(s.spend)] for s in samples]
            for ref, samples in sorted(history.items())
            if samples
        }
    if snapshot.rates:
        body["rates"] = {
            str(ref): {w: _dec(v) for w, v in rates.items()}
            for ref, rates in sorted(snapshot.rates.items())
        }
    if snapshot.daily:
        body["daily"] = {
            str(ref): {
                "start": series.start.isoformat(),
                "days": {d.isoformat(): _dec(v) for d, v in sorted(series.days.items())},
            }
            for ref, series in sorted(snapshot.daily.items())
        }
    if snapshot.queries:
        body["queries"] = {
            rule: {k: _dec(v) for k, v in sorted(res.items())}
            for rule, res in sorted(snapshot.queries.items())
        }
    return json.dumps(body, indent=1, sort_keys=False, default=_json_default) + "\n"


def _json_default(value: object) -> object:
    """Metadata read with parse_float=Decimal holds Decimals; JSON writes them as numbers."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} cannot be written to a snapshot file")


def _entity(e: Entity) -> dict[str, Any]:
    out: dict[str, Any] = {"id": e.id, "spend": _dec(e.spend)}
    optional: dict[str, Any] = {
        "name": e.name,
        "max_budget": _dec(e.max_budget),
        "soft_budget": _dec(e.soft_budget),
        "budget_duration": e.budget_duration,
        "budget_reset_at": _iso(e.budget_reset_at),
        "team_id": e.team_id,
        "team_name": e.team_name,
        "masked_key": e.masked_key,
        "created_at": _iso(e.created_at),
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    extra = sorted(set(e.names) - {e.id, e.name or ""})
    if extra:
        out["names"] = extra
    if e.teams:
        out["teams"] = sorted(e.teams)
    if e.blocked:
        out["blocked"] = True
    if e.metadata:
        out["metadata"] = dict(e.metadata)
    if e.source != "litellm":
        out["source"] = e.source
    return out


def save(
    path: str | Path,
    snapshot: Snapshot,
    history: Mapping[EntityRef, Sequence[Sample]] | None = None,
) -> None:
    Path(path).write_text(dumps(snapshot, history), encoding="utf-8")


# Reading -------------------------------------------------------------------------------------


def load(path: str | Path) -> SnapshotFile:
    """Read a snapshot file; InputError names the file and the entry that is wrong."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError([Problem(name, 1, 1, f"cannot read snapshot: {exc.strerror}")]) from None
    return loads(text, name)


def loads(text: str, name: str = "<snapshot>") -> SnapshotFile:
    try:
        raw = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputError(
            [Problem(name, exc.lineno, exc.colno, f"not valid JSON: {exc.msg}")]
        ) from None
    try:
        return _parse(raw)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise InputError([Problem(name, 1, 1, f"not a watchdog snapshot: {_why(exc)}")]) from None


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc) or type(exc).__name__


def _parse(raw: Any) -> SnapshotFile:
    if not isinstance(raw, dict) or "watchdog_snapshot" not in raw:
        raise ValueError(
            'expected an object with "watchdog_snapshot": 1 (write one with '
            "`budget-watchdog preview --save-snapshot FILE`)"
        )
    if raw["watchdog_snapshot"] != FORMAT:
        raise ValueError(f"format {raw['watchdog_snapshot']!r} is not supported (expected 1)")
    taken_at = _time(raw["taken_at"], "taken_at")
    assert taken_at is not None
    sources = {
        n: SourceStatus(
            name=n,
            ok=bool(s.get("ok", True)),
            data_as_of=_time(s.get("data_as_of"), f"sources.{n}.data_as_of"),
            error=s.get("error"),
            requests=int(s.get("requests", 0)),
        )
        for n, s in raw.get("sources", {}).items()
    }
    entities: dict[Scope, dict[str, Entity]] = {}
    for scope_name, rows in raw.get("entities", {}).items():
        scope = Scope(scope_name)
        entities[scope] = {}
        for i, row in enumerate(rows):
            entity = _entity_from(scope, row, f"entities.{scope_name}[{i}]")
            entities[scope][entity.id] = entity
    history = {
        _ref(k): tuple(Sample(_req_time(at, k), _decimal(v, k)) for at, v in samples)
        for k, samples in raw.get("history", {}).items()
    }
    rates = {
        _ref(k): MappingProxyType({w: _decimal(v, k) for w, v in r.items()})
        for k, r in raw.get("rates", {}).items()
    }
    queries = {
        rule: MappingProxyType({k: _decimal(v, rule) for k, v in res.items()})
        for rule, res in raw.get("queries", {}).items()
    }
    daily = {
        _ref(k): DailySeries(
            start=date.fromisoformat(v["start"]),
            days=MappingProxyType(
                {date.fromisoformat(d): _decimal(x, k) for d, x in v["days"].items()}
            ),
        )
        for k, v in raw.get("daily", {}).items()
    }
    snapshot = Snapshot(
        taken_at=taken_at,
        daily=MappingProxyType(daily),
        entities=MappingProxyType({s: MappingProxyType(e) for s, e in entities.items()}),
        sources=MappingProxyType(sources),
        rates=MappingProxyType(rates),
        queries=MappingProxyType(queries),
    )
    return SnapshotFile(snapshot, MappingProxyType(history))


def _entity_from(scope: Scope, row: dict[str, Any], where: str) -> Entity:
    if "id" not in row:
        raise ValueError(f"{where}: missing field 'id'")
    entity_id = str(row["id"])
    names = [entity_id, *map(str, row.get("names", []))]
    if row.get("name"):
        names.append(str(row["name"]))
    return Entity(
        scope=scope,
        id=entity_id,
        spend=_decimal(row.get("spend", "0"), f"{where}.spend"),
        name=row.get("name"),
        names=tuple(dict.fromkeys(names)),
        max_budget=_opt_decimal(row.get("max_budget"), f"{where}.max_budget"),
        soft_budget=_opt_decimal(row.get("soft_budget"), f"{where}.soft_budget"),
        budget_duration=row.get("budget_duration"),
        budget_reset_at=_time(row.get("budget_reset_at"), f"{where}.budget_reset_at"),
        blocked=bool(row.get("blocked", False)),
        team_id=row.get("team_id"),
        team_name=row.get("team_name"),
        teams=frozenset(row.get("teams", [])),
        masked_key=row.get("masked_key"),
        created_at=_time(row.get("created_at"), f"{where}.created_at"),
        metadata=MappingProxyType(dict(row.get("metadata", {}))),
        source=str(row.get("source", "litellm")),
    )


def _ref(text: str) -> EntityRef:
    scope, sep, entity_id = text.partition(":")
    if not sep:
        raise ValueError(f"{text!r}: expected scope:id such as team:engineering")
    return EntityRef(Scope(scope), entity_id)


def _decimal(value: object, where: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{where}: expected an amount, got {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"{where}: expected a finite amount, got {value!r}")
    return amount


def _opt_decimal(value: object, where: str) -> Decimal | None:
    return None if value is None else _decimal(value, where)


def _time(value: object, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected an ISO-8601 time, got {value!r}")
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{where}: expected an ISO-8601 time, got {value!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _req_time(value: object, where: str) -> datetime:
    at = _time(value, where)
    if at is None:
        raise ValueError(f"{where}: a sample needs a time")
    return at


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"
