"""Each benchmark at its smallest size, through the entry point bench/run.py uses: the figures
have the expected shape and sane values (no timing goals here: those live in bench/README.md)."""

from __future__ import annotations

import math

import asyncpg

from bench import cycle, eval_core, history_memory, latency, store_claims
from bench.eval_core import NEXT, NOW, remembered
from bench.synth import entities, history, population, rule_specs, ruleset, snapshot, team_names
from bench.table import SMOKE, Table, from_results, speed
from tests.conftest import require
from watchdog.decisions import Reason, by_reason
from watchdog.evaluate import evaluate


def test_evaluation_counts_a_decision_for_every_budget() -> None:
    (row,) = eval_core.measure(SMOKE).rows
    assert row["entities"] == 1_000
    assert isinstance(row["budgets"], int)
    assert row["budgets"] > 0
    assert isinstance(row["decisions"], int)
    assert row["decisions"] >= row["budgets"]  # a decision or a standing for every budget
    assert isinstance(row["cpu_s"], float)
    assert row["cpu_s"] > 0
    assert isinstance(row["next_cycle_s"], float)  # the cycle after, notices claimed
    assert row["next_cycle_s"] > 0
    assert isinstance(row["peak_mb"], float)
    assert row["peak_mb"] > 0


async def test_a_paged_cycle_asks_far_less_than_one_request_per_key() -> None:
    (row,) = (await cycle.measure(SMOKE)).rows
    assert isinstance(row["requests"], int)
    assert 0 < row["requests"] < 30
    naive = str(row["naive_requests"]).lstrip("~").replace(",", "")
    assert int(naive) > 800  # 800 keys, one /key/info each, plus the pages listing them
    assert isinstance(row["daemon_rss_mb"], float)
    assert isinstance(row["rss_2_cycles_mb"], float)
    assert 0 < row["rss_2_cycles_mb"] <= row["daemon_rss_mb"]  # the peak over all cycles
    assert isinstance(row["scrape_s"], float)  # the daemon was scraped as Prometheus would
    assert row["scrape_s"] > 0


async def test_every_crossing_reaches_the_slack_stand_in() -> None:
    (row,) = (await latency.measure(SMOKE)).rows
    assert row["crossings"] == SMOKE.crossings
    assert isinstance(row["median_s"], float)
    assert isinstance(row["max_s"], float)
    assert 0 < row["median_s"] <= row["max_s"]


async def test_racing_writers_never_win_the_same_notice() -> None:
    try:
        conn = await asyncpg.connect(store_claims.SERVER, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        require(False, "PostgreSQL on 127.0.0.1:5432 for the store benchmark")
    else:
        await conn.close()
    rows = (await store_claims.measure(SMOKE)).rows
    assert [(r["store"], r["writers"]) for r in rows] == [
        ("sqlite", 1),
        ("sqlite", 2),
        ("postgresql", 1),
        ("postgresql", 2),
    ]
    assert all(r["duplicates"] == 0 for r in rows)
    assert all(isinstance(r["claims_per_s"], float) and r["claims_per_s"] > 0 for r in rows)


def test_a_results_file_renders_as_the_tables_it_holds() -> None:
    table = Table("Pure evaluation (one core)", ("entities", "cpu_s"), notes=["A note."])
    table.add(entities=1_000, cpu_s=0.25)
    record = {
        "plan": "smoke",
        "taken": "2026-11-23 00:00 UTC",
        "machine": {"cores (nproc)": "2"},
        "tables": [{"title": table.title, "rows": table.rows, "notes": table.notes}],
    }
    text = from_results(record)
    assert "- cores (nproc): 2" in text
    assert table.render() in text


async def test_history_read_back_holds_what_was_written() -> None:
    (row,) = (await history_memory.measure(SMOKE)).rows
    assert row["readings"] == 200 * 10  # every entity spent in every cycle
    assert isinstance(row["written_b"], float)
    assert isinstance(row["loaded_b"], float)
    # a reading is a Sample, its Decimal and a tuple slot; the instant is shared per cycle
    assert 100 < row["written_b"] < 400
    assert 100 < row["loaded_b"] < 400


def test_the_next_cycle_finds_the_first_cycles_notices_claimed() -> None:
    """What the benchmark's second cycle reads: every notice the first sent, now deduped."""
    found = entities(population(1_000, now=NOW))
    snap, state = snapshot(found, now=NOW), history(found, now=NOW)
    rules = ruleset(rule_specs(10, team_names(1_000)))
    first = evaluate(rules, snap, state, NOW, explain=True)
    fired = by_reason(first)[Reason.FIRED]
    assert fired > 0
    after = evaluate(rules, snap, remembered(state, first, NOW), NEXT, explain=True)
    counts = by_reason(after)
    assert Reason.FIRED not in counts
    assert counts[Reason.DEDUPED] == fired


def test_the_machine_speed_is_measured() -> None:
    """The calibration each run reports next to its figures is a positive, finite time."""
    pace = speed()
    assert pace > 0
    assert math.isfinite(pace)
