"""The container image recipe (Dockerfile): read as text, since no Docker engine runs here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from watchdog import config

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
FINAL_STAGE = DOCKERFILE.rsplit("\nFROM ", 1)[1]


def _instructions(stage: str, name: str) -> list[str]:
    return [m[1].strip() for m in re.finditer(rf"^{name} (.+)$", stage, re.MULTILINE)]


def _baked_config() -> str:
    match = re.search(
        r"^COPY <<'EOF' /etc/watchdog/watchdog.yaml\n(.*?)^EOF$", DOCKERFILE, re.M | re.S
    )
    assert match, "the default config heredoc"
    return match[1]


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        pytest.param("USER", "10001:10001", id="non-root user 10001"),
        pytest.param("ENTRYPOINT", '["budget-watchdog"]', id="entrypoint"),
        pytest.param("CMD", '["run"]', id="runs the daemon"),
        pytest.param("EXPOSE", "9464", id="the HTTP port"),
    ],
)
def test_final_stage_runs_the_daemon_unprivileged(instruction: str, expected: str) -> None:
    """The image runs `budget-watchdog run` as user 10001 and serves on 9464."""
    assert _instructions(FINAL_STAGE, instruction) == [expected]


def test_both_stages_use_python_311_slim() -> None:
    """Build and runtime stages start from python:3.11-slim."""
    assert "ARG PYTHON_VERSION=3.11" in DOCKERFILE
    assert _instructions(DOCKERFILE, "FROM") == [
        "python:${PYTHON_VERSION}-slim AS build",
        "python:${PYTHON_VERSION}-slim",
    ]


def test_rules_are_baked_in_as_defaults() -> None:
    """The repository's rules are copied to /etc/watchdog/rules, where the chart mounts its own."""
    assert "rules/ /etc/watchdog/rules/" in _instructions(FINAL_STAGE, "COPY")


def test_baked_config_loads_and_matches_the_image_layout(tmp_path: Path) -> None:
    """The default config is valid and uses the image's rules, state directory and port."""
    path = tmp_path / "watchdog.yaml"
    path.write_text(_baked_config(), encoding="utf-8")
    settings = config.load(path, env={})
    assert settings.rules == ("/etc/watchdog/rules",)
    assert settings.state_file.startswith("/var/lib/watchdog/")
    assert settings.http.port == 9464
    assert "WATCHDOG_CONFIG=/etc/watchdog/watchdog.yaml" in FINAL_STAGE


def test_image_sets_no_override_that_would_beat_a_mounted_config() -> None:
    """Only WATCHDOG_CONFIG is set: any other WATCHDOG_* variable would override the config file."""
    env = re.findall(r"\b(WATCHDOG_[A-Z_]+)=", FINAL_STAGE)
    assert env == ["WATCHDOG_CONFIG"]


def test_build_context_holds_only_what_the_image_needs() -> None:
    """.dockerignore admits the package, its metadata and the rules, and nothing else."""
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*"
    admitted = {line[1:].rstrip("/") for line in rules if line.startswith("!")}
    assert admitted == {"pyproject.toml", "README.md", "watchdog", "rules"}
    sources: set[str] = set()
    for args in _instructions(DOCKERFILE, "COPY"):
        parts = args.split()
        if not parts[0].startswith(("--from=", "<<")):
            sources |= {p.rstrip("/") for p in parts[:-1]}
    assert sources == admitted


def test_baked_config_is_yaml_not_template() -> None:
    """The heredoc is plain YAML (no shell or Docker substitutions)."""
    assert "$" not in _baked_config()
    assert isinstance(yaml.safe_load(_baked_config()), dict)
