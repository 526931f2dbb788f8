"""Slack Block Kit layout of a rendered message, kept inside Slack's documented limits. Pure.

Header with the severity mark, the summary, the utilisation bar, the fields (ten per section)
and a context line with the rule and the data's age; the top-level `text` is always set for
notifications and screen readers. Anything too long is cut with "…".
"""

from __future__ import annotations

from typing import Any

from watchdog.notify.layout import EMOJI, clip, headline, progress_bar
from watchdog.render import Message

MAX_BLOCKS = 50
HEADER_CHARS = 150
SECTION_CHARS = 3000
FIELD_CHARS = 2000
FIELDS_PER_SECTION = 10
CONTEXT_ELEMENTS = 10
TEXT_CHARS = 3000
CONTEXT_LABELS = ("Rule", "Data as of")
"""Fields shown small in the context line rather than as facts."""

Block = dict[str, Any]


def mention_for(message: Message, mention: str | None) -> str | None:
    """The channel's mention, for critical notices only (never for tests)."""
    if mention and message.severity == "critical" and not message.test:
        return mention
    return None


def fallback_text(message: Message, *, mention: str | None = None) -> str:
    """The top-level `text`: what notifications and screen readers show."""
    head = headline(message)
    return clip(f"{mention} {head}" if mention else head, TEXT_CHARS)


def blocks(message: Message, *, mention: str | None = None) -> list[Block]:
    """The message as Block Kit blocks."""
    summary = escape(message.summary)
    out: list[Block] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": clip(f"{EMOJI[message.severity]} {headline(message)}", HEADER_CHARS),
                "emoji": True,
            },
        },
        _section(f"{mention} {summary}" if mention else summary),
    ]
    if message.utilisation is not None:
        out.append(_section(f"`{progress_bar(message.utilisation)}`"))
    facts = [(k, v) for k, v in message.fields if k not in CONTEXT_LABELS]
    notes = [f"{escape(k)}: {escape(v)}" for k, v in message.fields if k in CONTEXT_LABELS]
    room = MAX_BLOCKS - len(out) - (1 if notes else 0) - 1
    sections = [facts[i : i + FIELDS_PER_SECTION] for i in range(0, len(facts), FIELDS_PER_SECTION)]
    out.extend(
        {"type": "section", "fields": [_field(k, v) for k, v in chunk]} for chunk in sections[:room]
    )
    left = sum(len(chunk) for chunk in sections[room:])
    if left:
        notes.insert(0, f"+{left} more")
    if message.description and len(out) < MAX_BLOCKS - 1:
        out.append(_section(f"_{escape(message.description)}_"))
    if notes:
        out.append(_context(notes))
    return out


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_CHARS)}}


def _field(label: str, value: str) -> Block:
    return {"type": "mrkdwn", "text": clip(f"*{escape(label)}*\n{escape(value)}", FIELD_CHARS)}


def _context(notes: list[str]) -> Block:
    elements = [{"type": "mrkdwn", "text": clip(n, FIELD_CHARS)} for n in notes[:CONTEXT_ELEMENTS]]
    return {"type": "context", "elements": elements}
