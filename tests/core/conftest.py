"""Core tests run without the developer's own ops config."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """No WATCHDOG_CONFIG from the developer's shell changes what the CLI reads."""
    monkeypatch.delenv("WATCHDOG_CONFIG", raising=False)
