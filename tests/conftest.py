"""Shared test conventions.

Tests that need an outside tool (helm, chromium, prometheus, PostgreSQL, the LiteLLM peer)
call `require(...)`: on a developer machine a missing tool skips the test with the reason;
under CI (`WATCHDOG_REQUIRE_ALL=1`, set by scripts/test.sh) it fails, so nothing is silently
left untested.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def require(condition: bool, reason: str) -> None:
    """Skip (locally) or fail (in CI) when a test's outside dependency is missing."""
    if condition:
        return
    if os.environ.get("WATCHDOG_REQUIRE_ALL") == "1":
        pytest.fail(f"required for CI: {reason}")
    pytest.skip(reason)


def require_tool(name: str, *candidates: str) -> str:
    """Path of an executable (by name, or the first existing candidate path)."""
    for candidate in (*candidates, name):
        path = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if path:
            return path
    require(False, f"{name} is not installed (scripts/test.sh installs it)")
    raise AssertionError("unreachable")
