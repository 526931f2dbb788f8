"""`budget-watchdog preview` against live sources (a local LiteLLM-shaped server)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.sources.fake_litellm import MASTER_KEY, FakeLiteLLM
from watchdog import snapshot
from watchdog.cli import main
from watchdog.model import Scope

RULES = str(ROOT / "rules")


def config_file(tmp_path: Path, url: str) -> str:
    path = tmp_path / "watchdog.yaml"
    path.write_text(
        f"litellm:\n  url: {url}\n  master_key: os.environ/WD_TEST_LITELLM_KEY\n", encoding="utf-8"
    )
    return str(path)


async def preview(*args: str) -> int:
    """Run the CLI in a worker thread (it runs its own event loop) while the server serves."""
    return await asyncio.to_thread(main, ["preview", "--rules", RULES, *args])


async def test_live_preview_reads_litellm_and_saves_the_snapshot(
    proxy: FakeLiteLLM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without --snapshot the config's LiteLLM is read; --save-snapshot keeps what was read."""
    monkeypatch.setenv("WD_TEST_LITELLM_KEY", MASTER_KEY)
    saved = tmp_path / "saved.json"
    code = await preview("-c", config_file(tmp_path, proxy.url), "--save-snapshot", str(saved))
    out = capsys.readouterr().out
    assert code == 0
    assert "team team-beta" in out
    assert f"Snapshot written to {saved}." in out
    loaded = snapshot.load(saved).snapshot
    assert {s: len(e) for s, e in loaded.entities.items()} == {
        Scope.KEY: 7,
        Scope.TEAM: 2,
        Scope.USER: 4,
        Scope.CUSTOMER: 2,
        Scope.TAG: 10,
        Scope.GLOBAL: 1,
    }
    assert loaded.sources["litellm"].ok


async def test_saved_snapshot_previews_the_same(
    proxy: FakeLiteLLM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The saved file gives the same rows as the live read it came from."""
    monkeypatch.setenv("WD_TEST_LITELLM_KEY", MASTER_KEY)
    saved = tmp_path / "saved.json"
    config = config_file(tmp_path, proxy.url)
    await preview("-c", config, "--format", "json", "--save-snapshot", str(saved))
    live = json.loads(capsys.readouterr().out)
    taken_at = snapshot.load(saved).snapshot.taken_at.isoformat()
    await preview("-c", config, "--format", "json", "--snapshot", str(saved), "--at", taken_at)
    again = json.loads(capsys.readouterr().out)
    assert live == again
    assert len(live) > 3


async def test_no_source_says_what_to_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With neither a snapshot nor a config, preview explains both ways to get spend."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WATCHDOG_CONFIG", raising=False)
    code = await preview()
    err = capsys.readouterr().err
    assert code == 2
    assert "--snapshot FILE" in err
    assert "litellm.url" in err
    assert "litellm.master_key" in err


async def test_a_failing_source_is_reported_and_fails_the_command(
    proxy: FakeLiteLLM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A wrong master key: exit 1, the setting named on stderr, the key nowhere."""
    monkeypatch.setenv("WD_TEST_LITELLM_KEY", "sk-preview-typo-3307")
    code = await preview("-c", config_file(tmp_path, proxy.url))
    captured = capsys.readouterr()
    assert code == 1
    assert "source litellm failed" in captured.err
    assert "litellm.master_key" in captured.err
    assert "sk-preview-typo-3307" not in captured.out + captured.err
