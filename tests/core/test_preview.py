"""`budget-watchdog preview`: every budget, where it stands and what would happen; sends nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.builders import shipped_example
from tests.conftest import ROOT
from watchdog.cli import main
from watchdog.evaluate import Standing, evaluate
from watchdog.preview import Board, rows, top_rows

SNAPSHOT = str(ROOT / "examples" / "snapshot.json")
RULES = str(ROOT / "rules")


def _preview(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["preview", "--snapshot", SNAPSHOT, "--rules", RULES, *args])
    return code, capsys.readouterr().out


def test_shipped_example_shows_every_budget_and_sends_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's example: a table of budgets, a summary, and a promise nothing was sent."""
    code, out = _preview(capsys)
    assert code == 0
    assert out.splitlines()[0].split() == [
        "RULE",
        "ENTITY",
        "SPEND",
        "BUDGET",
        "USED",
        "RESETS",
        "FORECAST",
        "WOULD",
    ]
    assert "13 budgets checked at 2026-11-22 17:20 UTC: 6 would alert" in out
    assert "Nothing was sent or changed." in out


@pytest.mark.parametrize(
    ("entity", "fragment"),
    [
        pytest.param(
            "team team-beta",
            "crossed the hard limit 100% ($0.02)",
            id="team over its LiteLLM budget",
        ),
        pytest.param(
            "key alice-alpha (sk-...koTQ)",
            "crossed the soft limit $0.0005",
            id="key over its soft budget in litellm_budget_table",
        ),
        pytest.param(
            "user user-bob@example.test",
            "crossed the hard limit 100% ($0.005)",
            id="user over budget",
        ),
        pytest.param(
            "proxy-wide spend",
            "crossed the alert step 50% ($0.50)",
            id="the proxy from its daily totals",
        ),
        pytest.param(
            "customer Acme Corp",
            "ok — next: the alert step 50% ($0.0015)",
            id="customer under its first step",
        ),
    ],
)
def test_rows_say_what_would_happen(
    capsys: pytest.CaptureFixture[str], entity: str, fragment: str
) -> None:
    """Each budget's row names the step that would fire or the next one to watch."""
    _, out = _preview(capsys, "--format", "json")
    rows = {r["entity"]: r for r in json.loads(out)}
    assert fragment in rows[entity]["outcome"]


def test_firing_shows_only_budgets_that_would_act(capsys: pytest.CaptureFixture[str]) -> None:
    """--firing leaves out budgets with nothing to do."""
    _, out = _preview(capsys, "--firing", "--format", "json")
    rows = json.loads(out)
    assert len(rows) == 6
    assert all(r["notices"] for r in rows)


def test_counting_since_first_seen_is_marked(capsys: pytest.CaptureFixture[str]) -> None:
    """A tag's all-time counter cannot give month spend yet: the figure is marked and explained."""
    _, out = _preview(capsys)
    assert "$0.00†" in out
    assert "† counted since watchdog first saw it" in out


def test_with_a_config_channels_are_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """With --config the routing is applied and each notice names its channel."""
    config = tmp_path / "watchdog.yaml"
    config.write_text("channels:\n  ops: {type: console}\nrouting:\n  default: [ops]\n")
    code = main(
        [
            "preview",
            "--config",
            str(config),
            "--snapshot",
            SNAPSHOT,
            "--rules",
            RULES,
            "--firing",
            "--format",
            "json",
        ]
    )
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert all("→ ops" in r["outcome"] for r in rows)


def test_at_moves_the_clock(capsys: pytest.CaptureFixture[str]) -> None:
    """--at evaluates the same snapshot as of another time (here: a later period)."""
    code, out = _preview(capsys, "--at", "2026-12-15T12:00:00Z", "--format", "json")
    rows = {r["entity"]: r for r in json.loads(out)}
    assert code == 0
    assert rows["proxy-wide spend"]["spend"] == "$0.00"


def test_a_broken_snapshot_file_is_reported_with_its_position(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Invalid JSON is a located error and exit code 1."""
    bad = tmp_path / "snap.json"
    bad.write_text('{"watchdog_snapshot": 1,\n  "taken_at": }\n')
    code = main(["preview", "--snapshot", str(bad), "--rules", RULES])
    assert code == 1
    assert f"{bad}:2:15: not valid JSON" in capsys.readouterr().err


def test_top_rows_builds_only_the_most_used_budgets() -> None:
    """The status page's board: the `limit` most used budgets, most used first, and the count
    of every budget; the same rows as the full table for those budgets."""
    decisions = evaluate(*shipped_example(), explain=True)
    every = rows(decisions)
    shown, total = top_rows(decisions, 3)
    assert total == len(every) == 13
    expected = sorted(every, key=lambda r: -(r.ratio or 0))[:3]
    assert shown == expected
    assert [r.ratio for r in shown] == sorted((r.ratio or 0 for r in shown), reverse=True)
    assert top_rows(decisions, 100) == (sorted(every, key=lambda r: -(r.ratio or 0)), 13)


def test_top_rows_reads_budgets_with_nothing_to_do_from_their_standings() -> None:
    """The daemon hands the board its idle budgets as standings, not UNDER decisions: the
    board shows the same rows, and counts the same budgets, as from the full decisions."""
    args = shipped_example()
    standings: list[Standing] = []
    decisions = evaluate(*args, standings=standings)
    assert standings, "the example has budgets with nothing to do"
    explained = evaluate(*args, explain=True)
    for limit in (0, 1, 3, 100):
        shown, total = top_rows(decisions, limit, standings)
        expected, count = top_rows(explained, limit)
        assert (sorted(shown, key=repr), total) == (sorted(expected, key=repr), count)
        assert [r.ratio for r in shown] == [r.ratio for r in expected]
    assert any(r.outcome.startswith("ok — next: ") for r in top_rows([], 100, standings)[0])


def test_on_the_board_a_budget_with_decisions_comes_before_an_idle_one_used_alike() -> None:
    """Two budgets at the same use: the one with something to say is shown first, whichever
    the board was given first."""
    standings: list[Standing] = []
    evaluate(*shipped_example(), standings=standings)
    idle, other = standings[0], standings[1]
    decided = replace(idle, entity=other.entity).decision()  # the same use, another entity
    for order in ("idle first", "decisions first"):
        board = Board(1)
        if order == "idle first":
            board.append(idle)
        board.add_decisions([decided])
        if order == "decisions first":
            board.append(idle)
        [shown], count = board.rows()
        assert (shown.entity, count) == (other.entity.label, 2), order


def test_with_a_config_the_budgets_of_its_litellm_config_are_shown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """preview reads what the daemon runs: the LiteLLM config's proxy budget, routed as set."""
    monkeypatch.chdir(tmp_path)  # no rules/ here: the LiteLLM config alone, as the daemon does
    litellm = ROOT / "tests" / "core" / "litellm_configs" / "budget_only.yaml"
    config = tmp_path / "watchdog.yaml"
    config.write_text(
        f"litellm_config: {litellm}\n"
        "channels:\n  ops: {type: console}\nrouting:\n  default: [ops]\n"
    )
    code = main(["preview", "--config", str(config), "--snapshot", SNAPSHOT, "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {r["rule"] for r in rows} == {"LiteLLM: proxy budget"}
    assert [r["entity"] for r in rows] == ["proxy-wide spend"]
