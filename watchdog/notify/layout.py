"""Layout helpers every channel shares: test marking, clipping, severity marks, progress bars.

Pure. They arrange what `render` wrote; none of them words a notice of its own.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from watchdog.money import fmt_percent
from watchdog.render import Message, Severity

TEST_MARK = "[TEST]"
ELLIPSIS = "…"

EMOJI: dict[Severity, str] = {
    "info": "🔵",
    "warning": "🟠",
    "critical": "🔴",
    "resolved": "✅",
}
COLOUR: dict[Severity, str] = {
    "info": "#2f6fde",
    "warning": "#e8912d",
    "critical": "#d62d20",
    "resolved": "#2eb67d",
}


def headline(message: Message) -> str:
    """The title, marked "[TEST] " for test messages (once, even if render already marked it)."""
    if message.test and not message.title.startswith(TEST_MARK):
        return f"{TEST_MARK} {message.title}"
    return message.title


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in "…" when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS


def filled_cells(ratio: Decimal, width: int) -> int:
    """How many of `width` cells a utilisation fills (a full bar from 100 % on)."""
    cells = (max(ratio, Decimal(0)) * width).to_integral_value(rounding=ROUND_HALF_UP)
    return min(width, int(cells))


def progress_bar(ratio: Decimal, width: int = 10) -> str:
    """A text progress bar like "▓▓▓▓▓▓▓▓░░ 82%"."""
    filled = filled_cells(ratio, width)
    return f"{'▓' * filled}{'░' * (width - filled)} {fmt_percent(ratio)}"
