"""Shared layout: progress bars, clipping, test marks, Block Kit limits, the console block."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.notify import messages
from watchdog.notify.blocks import MAX_BLOCKS, blocks, fallback_text, mention_for
from watchdog.notify.console import ConsoleNotifier
from watchdog.notify.layout import clip, headline, progress_bar
from watchdog.notify.sample import sample_message


@pytest.mark.parametrize(
    ("ratio", "bar"),
    [
        pytest.param("0", "░░░░░░░░░░ 0%", id="empty"),
        pytest.param("0.82", "▓▓▓▓▓▓▓▓░░ 82%", id="82 percent"),
        pytest.param("0.049", "░░░░░░░░░░ 4.9%", id="under a cell"),
        pytest.param("0.05", "▓░░░░░░░░░ 5%", id="half a cell rounds up"),
        pytest.param("1", "▓▓▓▓▓▓▓▓▓▓ 100%", id="full"),
        pytest.param("1.37", "▓▓▓▓▓▓▓▓▓▓ 137%", id="over budget stays full"),
        pytest.param("-0.1", "░░░░░░░░░░ -10%", id="a refund never underflows"),
    ],
)
def test_progress_bar(ratio: str, bar: str) -> None:
    """Ten cells, rounded half up, full from 100 % on, with the percentage as render formats it."""
    assert progress_bar(Decimal(ratio)) == bar


@pytest.mark.parametrize(
    ("text", "limit", "clipped"),
    [
        pytest.param("short", 10, "short", id="fits"),
        pytest.param("exactly10!", 10, "exactly10!", id="exact fit"),
        pytest.param("eleven chars", 10, "eleven ch…", id="cut with an ellipsis"),
    ],
)
def test_clip(text: str, limit: int, clipped: str) -> None:
    """Text is cut to the limit, the last character an ellipsis."""
    assert clip(text, limit) == clipped
    assert len(clip(text, limit)) <= limit


@pytest.mark.parametrize(
    ("title", "test", "shown"),
    [
        pytest.param("Budget alert: x", False, "Budget alert: x", id="real notices as rendered"),
        pytest.param("Budget alert: x", True, "[TEST] Budget alert: x", id="tests are marked"),
        pytest.param("[TEST] hello", True, "[TEST] hello", id="never marked twice"),
    ],
)
def test_headline_marks_tests_once(title: str, test: bool, shown: str) -> None:
    """Every channel shows a test message as such, exactly once."""
    assert headline(replace(messages.warning(), title=title, test=test)) == shown


def test_blocks_never_exceed_fifty() -> None:
    """Hundreds of fields still make at most 50 blocks, and say how many were left out."""
    many = replace(messages.warning(), fields=tuple((f"F{i}", "v") for i in range(600)))
    out = blocks(many)
    assert len(out) == MAX_BLOCKS
    assert out[-1]["type"] == "context"
    assert out[-1]["elements"][0]["text"] == "+140 more"


def test_the_fallback_text_is_the_title() -> None:
    """Notifications show the rendered title (with the mention for critical alerts)."""
    critical = messages.critical()
    assert fallback_text(critical) == critical.title
    mention = mention_for(critical, "<@U0123>")
    assert fallback_text(critical, mention=mention) == f"<@U0123> {critical.title}"


async def test_console_prints_a_readable_block() -> None:
    """Title, summary, bar, aligned fields and a separator, on the given stream."""
    out = io.StringIO()
    message = messages.warning()
    receipt = await ConsoleNotifier("demo", stream=out).send(message)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"🟠 {message.title}"
    assert lines[1] == message.summary
    assert lines[2] == "▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓░░░░ 82%"
    assert "  Spent       $4,100.00" in lines
    assert set(lines[-1]) == {"─"}
    assert receipt.ref == message.id


def test_the_test_message_is_marked_and_complete() -> None:
    """test-channel's message is marked everywhere and shaped like a real notice."""
    now = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    message = sample_message("eng-slack", now=now)
    assert message.title == "[TEST] watchdog test message for channel eng-slack"
    assert message.test is True
    assert message.payload["test"] is True
    assert message.payload["id"] == message.id
    assert ("Channel", "eng-slack") in message.fields
    assert ("Sent at", "2026-11-18 12:00 UTC") in message.fields
    assert set(messages.warning().payload) == set(message.payload)
    later = sample_message("eng-slack", now=now.replace(minute=1))
    assert later.id != message.id, "each test is a new message for receivers that dedupe"


def test_the_rules_description_is_shown_in_slack_and_email() -> None:
    """A budget's description (owner, how to ask for more) appears under the facts."""
    from watchdog.notify.mail import html_part

    message = replace(messages.warning(), description="Owned by Ana; ask finance for more.")
    texts = [b["text"]["text"] for b in blocks(message) if b["type"] == "section" and "text" in b]
    assert "_Owned by Ana; ask finance for more._" in texts
    assert "Owned by Ana; ask finance for more.</p>" in html_part(message)
