"""Run `budget-watchdog check` and read its file:line:col: message lines back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from watchdog.cli import main

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad_rules"
GOOD = HERE / "good_rules"
LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>.*)$")


@dataclass(frozen=True)
class Seen:
    """One reported problem, parsed back from the command's output."""

    path: str
    line: int
    col: int
    message: str


@dataclass(frozen=True)
class Want:
    """An expected problem: its position and fragments its message must contain."""

    line: int
    col: int
    fragments: tuple[str, ...]


def at(line: int, col: int, *fragments: str) -> Want:
    return Want(line, col, fragments)


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[Seen], str, str]:
    """Run the real CLI; return the exit code, the parsed problems, stdout and stderr."""
    code = main(["check", *args])
    out, err = capsys.readouterr()
    seen = []
    for line in out.splitlines():
        match = LINE.match(line)
        if match:
            seen.append(
                Seen(match["path"], int(match["line"]), int(match["col"]), match["message"])
            )
    return code, seen, out, err
