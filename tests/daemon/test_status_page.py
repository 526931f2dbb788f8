"""The status page at `/`, rendered by a real headless Chromium: content, layout and colours."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from tests.builders import shipped_example
from tests.conftest import require_tool
from watchdog.evaluate import evaluate
from watchdog.metrics import Metrics
from watchdog.model import SourceStatus
from watchdog.preview import rows
from watchdog.server import Health, build_app, serve
from watchdog.status import StatusView

pytestmark = pytest.mark.browser

RED_BAR = (212, 60, 60)
GREEN_BAR = (46, 158, 91)


def _view() -> StatusView:
    ruleset, snapshot, state, now = shipped_example()
    decisions = evaluate(ruleset, snapshot, state, now, explain=True)
    sources = [
        *snapshot.sources.values(),
        SourceStatus(
            "prometheus",
            ok=False,
            data_as_of=now - timedelta(minutes=12),
            error="connection refused",
        ),
    ]
    recent = [
        {
            "created_at": "2026-11-22 17:19",
            "channel": "eng-slack",
            "title": "Budget exceeded: team team-beta at 250%",
            "state": "delivered",
        }
    ]
    return StatusView(
        now=now,
        role="leader",
        budgets=rows(decisions),
        sources=sources,
        recent=recent,
        rules_files=ruleset.files,
        version="budget-watchdog test",
    )


def _chromium(*args: str, profile: Path) -> str:
    binary = require_tool("chromium", "/usr/bin/chromium")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
    ]
    done = subprocess.run(
        [binary, *flags, *args], capture_output=True, text=True, timeout=90, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


async def _serve(view: StatusView) -> tuple[object, str]:
    async def current() -> StatusView:
        return view

    app = build_app(
        health=Health(store_ok=True, snapshot_ok=True, role="leader"),
        metrics=Metrics(),
        view=current,
        clock=lambda: view.now,
    )
    runner, port = await serve(app, host="127.0.0.1", port=0)
    return runner, f"http://127.0.0.1:{port}/"


async def test_the_page_renders_budgets_sources_and_alerts(tmp_path: Path) -> None:
    """Chromium shows every budget, the failing source and recent alerts; bars have colour."""
    runner, url = await _serve(_view())
    try:
        dom = await asyncio.to_thread(_chromium, "--dump-dom", url, profile=tmp_path / "p1")
        shot = tmp_path / "status.png"
        await asyncio.to_thread(_chromium, f"--screenshot={shot}", url, profile=tmp_path / "p2")
    finally:
        await runner.cleanup()  # type: ignore[attr-defined]
    assert "team team-beta" in dom
    assert "proxy-wide spend" in dom
    assert "connection refused" in dom
    assert "Budget exceeded: team team-beta at 250%" in dom
    assert dom.count('class="bar ') >= 8
    image = Image.open(shot).convert("RGB")
    assert image.size == (1400, 1000)
    colours = {
        image.getpixel((x, y)) for x in range(0, image.width, 2) for y in range(0, image.height, 2)
    }
    assert RED_BAR in colours, "an over-budget bar is drawn red"
    assert GREEN_BAR in colours, "a healthy bar is drawn green"
    assert len(colours) > 50, "the page is not blank"
