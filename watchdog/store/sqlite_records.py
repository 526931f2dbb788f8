"""The SQLite store's statements for everything but the outbox: state, bookkeeping, history.

Run on the store's thread like `sqlite_sql`, whose conversions they share.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from watchdog.model import EntityRef, LedgerState, Sample, Snapshot, Snooze
from watchdog.store import ActionRecord, StoreOptions
from watchdog.store.codec import MONEY_COLUMNS, TIME_COLUMNS, Query, finish_row
from watchdog.store.history import DENSE, THIN_SPAN, Batch
from watchdog.store.rows import (
    LOAD_MARGIN,
    Bookkeeping,
    DecisionKey,
    build_state,
    clip,
    readings,
)
from watchdog.store.rows import suppressed as rows_suppressed
from watchdog.store.sqlite_sql import dt, money, opt_decimal, ts, write

# Bookkeeping ---------------------------------------------------------------------------------


def load_state(
    conn: sqlite3.Connection,
    now: datetime,
    history: Mapping[EntityRef, tuple[Sample, ...]],
    known: Snapshot | None = None,
) -> LedgerState:
    conn.execute("BEGIN")  # one snapshot for every read below
    try:
        return _load_state(conn, now, history, known)
    finally:
        conn.execute("COMMIT")


def _load_state(
    conn: sqlite3.Connection,
    now: datetime,
    history: Mapping[EntityRef, tuple[Sample, ...]],
    known: Snapshot | None,
) -> LedgerState:
    notices = conn.execute(
        "SELECT rule, scope, entity, period_key, channel, step, event, level, created_at, state"
        " FROM notices WHERE period_end IS NULL OR period_end > ? ORDER BY id",
        (ts(now - LOAD_MARGIN),),
    )
    memory = conn.execute(
        "SELECT rule, scope, entity, kind, period_key, at, spend_before FROM budget_memory"
    ).fetchall()
    snoozes = conn.execute(
        "SELECT rule, scope, entity, until, reason, created_by FROM snoozes"
        " WHERE until > ? ORDER BY id",
        (ts(now),),
    ).fetchall()
    return build_state(
        notices=((*r[:8], dt(r[8]), r[9]) for r in notices),  # read as they are used
        forecasts=conn.execute(
            "SELECT rule, scope, entity, period_key, streak FROM forecasts WHERE streak > 0"
        ).fetchall(),
        memory=[(*r[:5], dt(r[5]), opt_decimal(r[6])) for r in memory],
        snoozes=[(*r[:3], dt(r[3]), *r[4:]) for r in snoozes],
        history=history,
        known=known,
    )


def suppressed(conn: sqlite3.Connection) -> dict[DecisionKey, str]:
    rows = conn.execute(
        "SELECT rule, scope, entity, period_key, step, channel, reason FROM decision_state"
    )
    return rows_suppressed(rows)


def record_bookkeeping(conn: sqlite3.Connection, plan: Bookkeeping, now: datetime) -> None:
    with write(conn):
        conn.executemany(
            "INSERT INTO forecasts (rule, scope, entity, period_key, streak, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (rule, scope, entity) DO UPDATE SET"
            " period_key = excluded.period_key, streak = excluded.streak,"
            " updated_at = excluded.updated_at",
            [(*k, m.period, m.streak, ts(now)) for k, m in plan.streaks.items()],
        )
        conn.executemany(
            "INSERT INTO budget_memory (rule, scope, entity, kind, period_key, at)"
            " VALUES (?, ?, ?, 'reset', ?, ?) ON CONFLICT DO NOTHING",
            [(*k, period, ts(now)) for k, period in plan.baselines.items()],
        )
        conn.executemany(
            "INSERT INTO decision_state (rule, scope, entity, period_key, step, channel, reason,"
            " since) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT"
            " (rule, scope, entity, period_key, step, channel) DO UPDATE SET"
            " reason = excluded.reason, since = excluded.since",
            [(*k, s.reason, ts(now)) for k, s in plan.changed.items()],
        )
        conn.executemany(
            "INSERT INTO decisions (at, rule, scope, entity, period_key, step, channel, reason,"
            " note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(ts(now), *k, s.reason, s.note) for k, s in plan.changed.items()],
        )
        conn.executemany(
            "DELETE FROM decision_state WHERE rule = ? AND scope = ? AND entity = ?"
            " AND period_key = ? AND step = ? AND channel = ?",
            plan.ended,
        )


def record_actions(conn: sqlite3.Connection, records: Sequence[ActionRecord]) -> None:
    with write(conn):
        for r in records:
            budget = (r.rule, r.entity.scope.value, r.entity.id)
            conn.execute(
                "INSERT INTO actions (at, kind, rule, scope, entity, period_key, ok,"
                " spend_before, spend_after, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ts(r.at),
                    r.kind,
                    *budget,
                    r.period,
                    int(r.ok),
                    money(r.spend_before),
                    money(r.spend_after),
                    clip(r.error),
                ),
            )
            if not r.ok:
                continue
            if r.kind == "unblock":
                conn.execute(
                    "DELETE FROM budget_memory WHERE rule = ? AND scope = ? AND entity = ?"
                    " AND kind = 'block'",
                    budget,
                )
                continue
            conn.execute(
                "INSERT INTO budget_memory (rule, scope, entity, kind, period_key, at,"
                " spend_before) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (rule, scope, entity, kind) DO UPDATE SET"
                " period_key = excluded.period_key, at = excluded.at,"
                " spend_before = excluded.spend_before",
                (*budget, r.kind, r.period, ts(r.at), money(r.spend_before)),
            )


def samples(conn: sqlite3.Connection) -> list[tuple[EntityRef, Sample]]:
    rows = conn.execute("SELECT scope, entity, at, spend FROM samples ORDER BY scope, entity, at")
    return readings(((s, e, at, Decimal(v)) for s, e, at, v in rows), dt)


def add_samples(conn: sqlite3.Connection, rows: Batch) -> None:
    with write(conn):
        conn.executemany(
            "INSERT INTO samples (scope, entity, at, spend) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (
                (scope.value, entity, ts(s.at), str(s.spend))
                for scope, entity, s in zip(rows.scopes, rows.ids, rows.samples, strict=True)
            ),
        )


def add_snooze(conn: sqlite3.Connection, snooze: Snooze) -> None:
    entity = snooze.entity
    with write(conn):
        conn.execute(
            "INSERT INTO snoozes (rule, scope, entity, until, reason, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                snooze.rule,
                entity.scope.value if entity else None,
                entity.id if entity else None,
                ts(snooze.until),
                snooze.reason,
                snooze.created_by,
            ),
        )


_THIN_SAMPLES = """
DELETE FROM samples WHERE rowid IN (
  SELECT id FROM (
    SELECT s.rowid AS id, s.at AS at, CAST(s.spend AS REAL) AS spend,
      (SELECT n.at FROM samples n WHERE n.scope = s.scope AND n.entity = s.entity
        AND n.at > s.at ORDER BY n.at LIMIT 1) AS next_at,
      (SELECT CAST(n.spend AS REAL) FROM samples n WHERE n.scope = s.scope
        AND n.entity = s.entity AND n.at > s.at ORDER BY n.at LIMIT 1) AS next_spend,
      (SELECT CAST(p.spend AS REAL) FROM samples p WHERE p.scope = s.scope
        AND p.entity = s.entity AND p.at < s.at ORDER BY p.at DESC LIMIT 1) AS prev_spend
    FROM samples s WHERE s.at >= ? AND s.at < ?
  )
  WHERE next_at IS NOT NULL AND substr(at, 1, 13) = substr(next_at, 1, 13)
    AND next_spend >= spend AND (prev_spend IS NULL OR spend >= prev_spend)
)
"""
"""Readings in a range that `history.thin` would drop: not the last of their UTC hour, and on
neither side of a counter reset."""


_PRUNE_SAMPLES = """
DELETE FROM samples WHERE at < ?1
  AND EXISTS (SELECT 1 FROM samples later WHERE later.scope = samples.scope
    AND later.entity = samples.entity AND later.at > samples.at AND later.at <= ?1)
  AND NOT EXISTS (SELECT 1 FROM json_each(?2) b WHERE samples.at <= b.value
    AND NOT EXISTS (SELECT 1 FROM samples later WHERE later.scope = samples.scope
      AND later.entity = samples.entity AND later.at > samples.at AND later.at <= b.value))
"""
"""Readings past the history retention, but for each entity's last one at or before the cutoff
and at or before each baseline (?2: a JSON list of instants)."""


def prune(
    conn: sqlite3.Connection,
    now: datetime,
    options: StoreOptions,
    baselines: Sequence[datetime] = (),
) -> dict[str, int]:
    cutoff = ts(now - options.retention)
    samples_cutoff = ts(now - options.history_retention)
    kept = json.dumps([ts(b) for b in baselines])
    statements_ = {
        "notices": ("DELETE FROM notices WHERE period_end < ?", (cutoff,)),
        "threads": (
            (
                "DELETE FROM threads WHERE NOT EXISTS (SELECT 1 FROM notices n"
                " WHERE n.thread_key = threads.thread_key AND n.channel = threads.channel)"
            ),
            (),
        ),
        "decisions": ("DELETE FROM decisions WHERE at < ?", (cutoff,)),
        "decision_state": ("DELETE FROM decision_state WHERE since < ?", (cutoff,)),
        "actions": ("DELETE FROM actions WHERE at < ?", (cutoff,)),
        "forecasts": ("DELETE FROM forecasts WHERE updated_at < ?", (cutoff,)),
        "snoozes": ("DELETE FROM snoozes WHERE until < ?", (cutoff,)),
        "samples": (_PRUNE_SAMPLES, (samples_cutoff, kept)),
        "samples_thinned": (_THIN_SAMPLES, (ts(now - DENSE - THIN_SPAN), ts(now - DENSE))),
    }
    with write(conn):
        return {name: conn.execute(q, args).rowcount for name, (q, args) in statements_.items()}


def query(conn: sqlite3.Connection, spec: Query, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        f"SELECT {', '.join(spec.columns)} FROM {spec.table} {spec.where}"  # noqa: S608 - fixed names
        " ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [
        finish_row(dict(zip(spec.columns, map(_value, spec.columns, r), strict=True))) for r in rows
    ]


def _value(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in TIME_COLUMNS:
        return dt(value)
    if column in MONEY_COLUMNS:
        return Decimal(value)
    if column == "ok":
        return bool(value)
    return value
