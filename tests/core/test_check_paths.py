"""`budget-watchdog check` over several files, with an ops config, and on good rules."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.core.checking import BAD, GOOD, check

# Across files -------------------------------------------------------------------------------


def test_a_name_used_in_two_files_is_reported_in_the_second(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The duplicate is reported at its own name's line:col and names where the first one is."""
    monkeypatch.chdir(BAD)
    code, seen, _, _ = check(capsys, "duplicate_names")
    assert code == 1
    second = str(Path("duplicate_names") / "b_copy.yaml")
    first = str(Path("duplicate_names") / "a_engineering.yaml")
    assert [(s.path, s.line, s.col) for s in seen] == [(second, 4, 11)]
    assert "name: duplicate budget name 'Engineering monthly'" in seen[0].message
    assert f"first defined at {first}:2" in seen[0].message


def test_a_good_file_next_to_a_bad_one_adds_no_problems(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the bad file's problems are printed when a good file is checked with it."""
    monkeypatch.chdir(BAD)
    good = str(GOOD / "every_field.yaml")
    code, seen, _, err = check(
        capsys, good, "unknown_scope.yaml", str(GOOD / "litellm_budgets.yaml")
    )
    assert code == 1
    assert [(s.path, s.line, s.col) for s in seen] == [("unknown_scope.yaml", 3, 12)]
    assert "1 problem in 1 file" in err


def test_problems_in_several_files_are_all_reported(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking two bad files reports both and counts the files."""
    monkeypatch.chdir(BAD)
    code, seen, _, err = check(capsys, "tabs.yaml", "bare_number.yaml")
    assert code == 1
    assert sorted(s.path for s in seen) == ["bare_number.yaml", "tabs.yaml"]
    assert "2 problems in 2 files" in err


def test_a_path_that_does_not_exist(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A missing file is a problem at 1:1 naming the reason, not a traceback."""
    missing = str(tmp_path / "rules" / "teams.yaml")
    code, seen, _, _ = check(capsys, missing)
    assert code == 1
    assert [(s.path, s.line, s.col) for s in seen] == [(missing, 1, 1)]
    assert "cannot read file: No such file or directory" in seen[0].message


def test_a_directory_without_rule_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A directory holding no *.yaml files is an error, not a silent success."""
    (tmp_path / "README.md").write_text("budgets live elsewhere\n", encoding="utf-8")
    code, seen, _, _ = check(capsys, str(tmp_path))
    assert code == 1
    assert [(s.path, s.line, s.col) for s in seen] == [(str(tmp_path), 1, 1)]
    assert "no rule files (*.yaml) found" in seen[0].message


# With an ops config: channel names are checked too -------------------------------------------

CONFIG = """\
channels:
  eng-slack: {type: console}
  finance-email: {type: console}
"""

NOTIFY_TYPO = """\
budgets:
  - name: Engineering monthly
    scope: team
    match: engineering
    amount: 5000
    notify: [eng-slack, finance-mail]
"""


def test_an_unknown_channel_is_reported_when_a_config_is_given(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`check --config` names the unknown channel and the channels the config defines."""
    (tmp_path / "cfg.yaml").write_text(CONFIG, encoding="utf-8")
    rules = tmp_path / "teams.yaml"
    rules.write_text(NOTIFY_TYPO, encoding="utf-8")
    code, seen, _, _ = check(capsys, "--config", str(tmp_path / "cfg.yaml"), str(rules))
    assert code == 1
    assert [(s.path, s.line, s.col) for s in seen] == [(str(rules), 2, 11)]
    assert "notify: unknown channel 'finance-mail' (did you mean 'finance-email'?)" in (
        seen[0].message
    )
    assert "eng-slack, finance-email" in seen[0].message


def test_channel_names_are_not_checked_without_a_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a config the same file passes, and the output says channels were not checked."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "teams.yaml").write_text(NOTIFY_TYPO, encoding="utf-8")
    code, seen, out, _ = check(capsys, "teams.yaml")
    assert (code, seen) == (0, [])
    assert "channel names not checked: no --config" in out


def test_known_channels_pass_with_a_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Rules naming only defined channels pass `check --config`."""
    (tmp_path / "cfg.yaml").write_text(CONFIG, encoding="utf-8")
    rules = tmp_path / "teams.yaml"
    rules.write_text(NOTIFY_TYPO.replace("finance-mail", "finance-email"), encoding="utf-8")
    code, seen, out, _ = check(capsys, "--config", str(tmp_path / "cfg.yaml"), str(rules))
    assert (code, seen) == (0, [])
    assert out.strip() == "1 budget in 1 file: OK"


def test_a_bad_config_is_reported_with_the_rules(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A mistake in the config is a located problem too, with a suggestion."""
    config = tmp_path / "cfg.yaml"
    config.write_text("pol_interval: 30s\n", encoding="utf-8")
    code, seen, _, _ = check(capsys, "--config", str(config), str(GOOD / "litellm_budgets.yaml"))
    assert code == 1
    assert [(s.path, s.line, s.col) for s in seen] == [(str(config), 1, 1)]
    assert "did you mean 'poll_interval'?" in seen[0].message


# Good files ---------------------------------------------------------------------------------


def test_the_shipped_rules_pass(capsys: pytest.CaptureFixture[str]) -> None:
    """The example rules in rules/ pass, as the README promises a newcomer."""
    code, seen, out, err = check(capsys, str(ROOT / "rules"))
    assert (code, seen, err) == (0, [], "")
    assert re.search(r"^\d+ budgets in \d+ files: OK", out, re.M)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("every_field.yaml", id="every field a budget accepts"),
        pytest.param("anchors_and_merge.yaml", id="a budget reused with an anchor and <<"),
        pytest.param("litellm_budgets.yaml", id="budgets kept in LiteLLM, a team called no"),
    ],
)
def test_hand_written_good_files_pass(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each good example exits 0 with no problems."""
    code, seen, out, _ = check(capsys, str(GOOD / name))
    assert (code, seen) == (0, [])
    assert ": OK" in out


def test_quiet_prints_nothing_on_success(capsys: pytest.CaptureFixture[str]) -> None:
    """`check -q` is silent when everything is valid (for pre-commit hooks)."""
    code, _, out, err = check(capsys, "-q", str(GOOD))
    assert (code, out, err) == (0, "", "")


def test_rules_dir_is_the_default(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check` without paths and without a config reads ./rules."""
    shutil.copytree(GOOD, tmp_path / "rules")
    monkeypatch.chdir(tmp_path)
    code, seen, out, _ = check(capsys)
    assert (code, seen) == (0, [])
    assert "10 budgets in 3 files: OK" in out
