"""`budget-watchdog test-channel NAME`, end to end against the local servers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.notify.conftest import Tls
from tests.notify.receiver import SECRET, Receiver
from tests.notify.slack_server import HOOK_PATH, TOKEN, Scripted, SlackStandIn
from tests.notify.smtp_server import PASSWORD, USER, Mailbox
from watchdog.cli import main

TITLE = "[TEST] watchdog test message for channel {}"


@pytest.fixture
def config(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    slack: tuple[SlackStandIn, str],
    receiver: tuple[Receiver, str],
    smtp_starttls: int,
    tls: Tls,
) -> Path:
    """An ops config whose channels point at the local Slack, webhook and SMTP servers."""
    monkeypatch.setenv("SLACK_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_HOOK", f"{slack[1]}{HOOK_PATH}")
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    path = tmp_path / "watchdog.yaml"
    path.write_text(
        f"""
channels:
  eng-slack:
    type: slack
    token: os.environ/SLACK_TOKEN
    channel: "#eng-budgets"
    base_url: {slack[1]}/api/
  eng-hook:
    type: slack
    webhook_url: os.environ/SLACK_HOOK
  finance-hook:
    type: webhook
    url: {receiver[1]}/hook
    secret: os.environ/HOOK_SECRET
  finance-mail:
    type: email
    host: 127.0.0.1
    port: {smtp_starttls}
    username: {USER}
    password: os.environ/SMTP_PASSWORD
    sender: budgets@example.com
    to: [finance@example.com]
    ca_file: {tls.ca_file}
  demo:
    type: console
""",
        encoding="utf-8",
    )
    return path


async def _run(*argv: str) -> int:
    """The CLI in a worker thread (it runs its own event loop), the servers on this one."""
    return await asyncio.to_thread(main, list(argv))


async def test_slack_gets_a_marked_test_message(
    config: Path, slack: tuple[SlackStandIn, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The bot posts the test message and the command prints the receipt."""
    code = await _run("test-channel", "eng-slack", "--config", str(config))
    out = capsys.readouterr().out
    [post] = slack[0].posts
    assert code == 0
    assert post["text"] == TITLE.format("eng-slack")
    assert f"Test message delivered to channel eng-slack (ref C0ENG:{post['ts']})." in out


async def test_an_incoming_webhook_gets_it_too(
    config: Path, slack: tuple[SlackStandIn, str]
) -> None:
    """The Slack incoming-webhook mode works the same way."""
    assert await _run("test-channel", "eng-hook", "--config", str(config)) == 0
    assert slack[0].hooks[0]["text"] == TITLE.format("eng-hook")


async def test_a_webhook_gets_a_signed_test_payload(
    config: Path, receiver: tuple[Receiver, str]
) -> None:
    """The payload says "test": true and carries a valid signature."""
    assert await _run("test-channel", "finance-hook", "--config", str(config)) == 0
    [attempt] = receiver[0].attempts
    body = json.loads(attempt.body)
    assert attempt.signature_ok
    assert body["test"] is True
    assert body["event_message"] == TITLE.format("finance-hook")


async def test_email_gets_a_test_subject(config: Path, mailbox: Mailbox) -> None:
    """The mail's subject is the test title."""
    assert await _run("test-channel", "finance-mail", "--config", str(config)) == 0
    [(_, mail)] = mailbox.mails
    assert mail["Subject"] == TITLE.format("finance-mail")


async def test_the_console_prints_it(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The console channel prints the test block."""
    assert await _run("test-channel", "demo", "--config", str(config)) == 0
    assert f"🟠 {TITLE.format('demo')}" in capsys.readouterr().out


async def test_an_unknown_name_lists_the_channels(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo exits 1, suggests the closest name and lists every channel."""
    code = await _run("test-channel", "eng-slak", "--config", str(config))
    err = capsys.readouterr().err
    assert code == 1
    assert "unknown channel 'eng-slak' (did you mean 'eng-slack'?)" in err
    assert "demo, eng-hook, eng-slack, finance-hook, finance-mail" in err


async def test_a_failed_delivery_exits_1_with_the_reason(
    config: Path, slack: tuple[SlackStandIn, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused token prints the hint, never the token, and exits 1."""
    slack[0].fail_next(Scripted(200, "invalid_auth"))
    code = await _run("test-channel", "eng-slack", "--config", str(config))
    captured = capsys.readouterr()
    assert code == 1
    assert "eng-slack: not delivered" in captured.err
    assert "check the xoxb- token in os.environ/SLACK_TOKEN" in captured.err
    assert TOKEN not in captured.err + captured.out


async def test_a_temporary_failure_says_to_try_again(
    config: Path, receiver: tuple[Receiver, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A 503 is reported as temporary."""
    receiver[0].answer(503)
    assert await _run("test-channel", "finance-hook", "--config", str(config)) == 1
    assert "temporary failure" in capsys.readouterr().err


async def test_without_channels_it_says_where_to_define_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No channels in the config: the error says so and names the file."""
    empty = tmp_path / "empty.yaml"
    empty.write_text("poll_interval: 60s\n", encoding="utf-8")
    assert await _run("test-channel", "x", "--config", str(empty)) == 1
    assert f"no channels are defined in {empty}" in capsys.readouterr().err


async def test_a_channel_a_litellm_config_makes_can_be_tested(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    receiver: tuple[Receiver, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`test-channel litellm-webhook` reaches the webhook the proxy's own config names."""
    monkeypatch.setenv("WEBHOOK_URL", f"{receiver[1]}/hook")
    litellm = tmp_path / "proxy_config.yaml"
    litellm.write_text(
        "general_settings:\n  alerting: [webhook]\n  alert_types: [budget_alerts]\n",
        encoding="utf-8",
    )
    ops = tmp_path / "watchdog.yaml"
    ops.write_text(f"litellm_config: {litellm}\n", encoding="utf-8")
    assert await _run("test-channel", "litellm-webhook", "--config", str(ops)) == 0
    [attempt] = receiver[0].attempts
    assert json.loads(attempt.body)["event_message"] == TITLE.format("litellm-webhook")
    assert "Test message delivered to channel litellm-webhook (ref " in capsys.readouterr().out
