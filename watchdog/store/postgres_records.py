"""The PostgreSQL store's statements for everything but the outbox: state, bookkeeping, history.

Batches go in as arrays or executemany, so 100,000 samples are one round trip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from watchdog.model import EntityRef, LedgerState, Sample, Snapshot, Snooze
from watchdog.store import ActionRecord, StoreOptions
from watchdog.store.codec import Query, finish_row
from watchdog.store.history import DENSE, THIN_SPAN, Batch
from watchdog.store.postgres_sql import count_rows
from watchdog.store.rows import (
    LOAD_MARGIN,
    Bookkeeping,
    DecisionKey,
    build_state,
    clip,
    readings,
)
from watchdog.store.rows import suppressed as rows_suppressed

if TYPE_CHECKING:
    from watchdog.store.postgres_sql import Conn

# Bookkeeping ---------------------------------------------------------------------------------


async def load_state(
    conn: Conn,
    now: datetime,
    history: Mapping[EntityRef, tuple[Sample, ...]],
    known: Snapshot | None = None,
) -> LedgerState:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        notices = await conn.fetch(
            "SELECT rule, scope, entity, period_key, channel, step, event, level, created_at,"
            " state FROM notices WHERE period_end IS NULL OR period_end > $1 ORDER BY id",
            now - LOAD_MARGIN,
        )
        forecasts = await conn.fetch(
            "SELECT rule, scope, entity, period_key, streak FROM forecasts WHERE streak > 0"
        )
        memory = await conn.fetch(
            "SELECT rule, scope, entity, kind, period_key, at, spend_before FROM budget_memory"
        )
        snoozes = await conn.fetch(
            "SELECT rule, scope, entity, until, reason, created_by FROM snoozes"
            " WHERE until > $1 ORDER BY id",
            now,
        )
    return build_state(
        notices=map(tuple, notices),
        forecasts=map(tuple, forecasts),
        memory=map(tuple, memory),
        snoozes=map(tuple, snoozes),
        history=history,
        known=known,
    )


async def suppressed(conn: Conn) -> dict[DecisionKey, str]:
    rows = await conn.fetch(
        "SELECT rule, scope, entity, period_key, step, channel, reason FROM decision_state"
    )
    return rows_suppressed(map(tuple, rows))


async def record_bookkeeping(conn: Conn, plan: Bookkeeping, now: datetime) -> None:
    await conn.executemany(
        "INSERT INTO forecasts (rule, scope, entity, period_key, streak, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (rule, scope, entity) DO UPDATE SET"
        " period_key = excluded.period_key, streak = excluded.streak,"
        " updated_at = excluded.updated_at",
        [(*k, m.period, m.streak, now) for k, m in plan.streaks.items()],
    )
    await conn.executemany(
        "INSERT INTO budget_memory (rule, scope, entity, kind, period_key, at)"
        " VALUES ($1, $2, $3, 'reset', $4, $5) ON CONFLICT DO NOTHING",
        [(*k, period, now) for k, period in plan.baselines.items()],
    )
    await conn.executemany(
        "INSERT INTO decision_state (rule, scope, entity, period_key, step, channel, reason,"
        " since) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT"
        " (rule, scope, entity, period_key, step, channel) DO UPDATE SET"
        " reason = excluded.reason, since = excluded.since",
        [(*k, s.reason, now) for k, s in plan.changed.items()],
    )
    await conn.executemany(
        "INSERT INTO decisions (at, rule, scope, entity, period_key, step, channel, reason,"
        " note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [(now, *k, s.reason, s.note) for k, s in plan.changed.items()],
    )
    await conn.executemany(
        "DELETE FROM decision_state WHERE rule = $1 AND scope = $2 AND entity = $3"
        " AND period_key = $4 AND step = $5 AND channel = $6",
        plan.ended,
    )


async def record_actions(conn: Conn, records: Sequence[ActionRecord]) -> None:
    for r in records:
        budget = (r.rule, r.entity.scope.value, r.entity.id)
        await conn.execute(
            "INSERT INTO actions (at, kind, rule, scope, entity, period_key, ok, spend_before,"
            " spend_after, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            r.at,
            r.kind,
            *budget,
            r.period,
            r.ok,
            r.spend_before,
            r.spend_after,
            clip(r.error),
        )
        if not r.ok:
            continue
        if r.kind == "unblock":
            await conn.execute(
                "DELETE FROM budget_memory WHERE rule = $1 AND scope = $2 AND entity = $3"
                " AND kind = 'block'",
                *budget,
            )
            continue
        await conn.execute(
            "INSERT INTO budget_memory (rule, scope, entity, kind, period_key, at, spend_before)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (rule, scope, entity, kind)"
            " DO UPDATE SET period_key = excluded.period_key, at = excluded.at,"
            " spend_before = excluded.spend_before",
            *budget,
            r.kind,
            r.period,
            r.at,
            r.spend_before,
        )


async def samples(conn: Conn) -> list[tuple[EntityRef, Sample]]:
    rows = await conn.fetch(
        "SELECT scope, entity, at, spend FROM samples ORDER BY scope, entity, at"
    )
    return readings(((r[0], r[1], r[2], r[3]) for r in rows), _as_read)


def _as_read(at: datetime) -> datetime:
    return at


async def add_samples(conn: Conn, rows: Batch) -> None:
    await conn.execute(
        "INSERT INTO samples (scope, entity, at, spend)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::numeric[])"
        " ON CONFLICT DO NOTHING",
        [scope.value for scope in rows.scopes],
        rows.ids,
        [s.at for s in rows.samples],
        [s.spend for s in rows.samples],
    )


async def add_snooze(conn: Conn, snooze: Snooze) -> None:
    entity = snooze.entity
    await conn.execute(
        "INSERT INTO snoozes (rule, scope, entity, until, reason, created_by)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        snooze.rule,
        entity.scope.value if entity else None,
        entity.id if entity else None,
        snooze.until,
        snooze.reason,
        snooze.created_by,
    )


_PRUNE = {
    "notices": "DELETE FROM notices WHERE period_end < $1",
    "threads": "DELETE FROM threads t WHERE NOT EXISTS (SELECT 1 FROM notices n"
    " WHERE n.thread_key = t.thread_key AND n.channel = t.channel)",
    "decisions": "DELETE FROM decisions WHERE at < $1",
    "decision_state": "DELETE FROM decision_state WHERE since < $1",
    "actions": "DELETE FROM actions WHERE at < $1",
    "forecasts": "DELETE FROM forecasts WHERE updated_at < $1",
    "snoozes": "DELETE FROM snoozes WHERE until < $1",
}
_PRUNE_SAMPLES = """
DELETE FROM samples s WHERE at < $1
  AND EXISTS (SELECT 1 FROM samples later WHERE later.scope = s.scope
    AND later.entity = s.entity AND later.at > s.at AND later.at <= $1)
  AND NOT EXISTS (SELECT 1 FROM unnest($2::timestamptz[]) AS b(at) WHERE s.at <= b.at
    AND NOT EXISTS (SELECT 1 FROM samples later WHERE later.scope = s.scope
      AND later.entity = s.entity AND later.at > s.at AND later.at <= b.at))
"""
"""Readings past the history retention, but for each entity's last one at or before the cutoff
and at or before each baseline ($2)."""


_THIN_SAMPLES = """
DELETE FROM samples d USING (
  SELECT s.scope, s.entity, s.at, s.spend, nx.at AS next_at, nx.spend AS next_spend,
    pv.spend AS prev_spend
  FROM samples s
  LEFT JOIN LATERAL (SELECT n.at, n.spend FROM samples n WHERE n.scope = s.scope
    AND n.entity = s.entity AND n.at > s.at ORDER BY n.at LIMIT 1) nx ON true
  LEFT JOIN LATERAL (SELECT p.spend FROM samples p WHERE p.scope = s.scope
    AND p.entity = s.entity AND p.at < s.at ORDER BY p.at DESC LIMIT 1) pv ON true
  WHERE s.at >= $1 AND s.at < $2
) c
WHERE d.scope = c.scope AND d.entity = c.entity AND d.at = c.at AND c.next_at IS NOT NULL
  AND date_trunc('hour', c.at AT TIME ZONE 'UTC') = date_trunc('hour', c.next_at AT TIME ZONE 'UTC')
  AND c.next_spend >= c.spend AND (c.prev_spend IS NULL OR c.spend >= c.prev_spend)
"""
"""Readings in a range that `history.thin` would drop: not the last of their UTC hour, and on
neither side of a counter reset."""


async def prune(
    conn: Conn, now: datetime, options: StoreOptions, baselines: Sequence[datetime] = ()
) -> dict[str, int]:
    """Delete what is past retention; each entity keeps its newest sample before the cutoff."""
    counts = {}
    for name, statement in _PRUNE.items():
        args = (now - options.retention,) if "$1" in statement else ()
        counts[name] = count_rows(await conn.execute(statement, *args))
    samples_cutoff = now - options.history_retention
    pruned = await conn.execute(_PRUNE_SAMPLES, samples_cutoff, list(baselines))
    counts["samples"] = count_rows(pruned)
    thinned = await conn.execute(_THIN_SAMPLES, now - DENSE - THIN_SPAN, now - DENSE)
    counts["samples_thinned"] = count_rows(thinned)
    return counts


async def query(conn: Conn, spec: Query, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT {', '.join(spec.columns)} FROM {spec.table} {spec.where}"  # noqa: S608 - fixed names
        " ORDER BY id DESC LIMIT $1",
        limit,
    )
    return [finish_row(dict(r.items())) for r in rows]
