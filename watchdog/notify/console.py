"""Console: print each message as a readable block on standard output (demos, kubectl logs)."""

from __future__ import annotations

import sys
from typing import TextIO

from watchdog.notify import Receipt
from watchdog.notify.layout import EMOJI, headline, progress_bar
from watchdog.render import Message

WIDTH = 72


def block(message: Message) -> str:
    """The text printed for `message`: title, summary, bar, aligned fields, a separator."""
    lines = [f"{EMOJI[message.severity]} {headline(message)}", message.summary]
    if message.utilisation is not None:
        lines.append(progress_bar(message.utilisation, width=20))
    width = max((len(k) for k, _ in message.fields), default=0)
    lines.extend(f"  {k.ljust(width)}  {v}" for k, v in message.fields)
    lines.append("─" * WIDTH)
    return "\n".join(lines) + "\n"


class ConsoleNotifier:
    """Writes messages to a text stream (standard output unless told otherwise)."""

    def __init__(self, name: str, *, stream: TextIO | None = None) -> None:
        self._name = name
        self._stream = stream

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"ConsoleNotifier({self._name!r})"

    async def send(self, message: Message, *, thread: str | None = None) -> Receipt:
        del thread
        stream = self._stream or sys.stdout
        stream.write(block(message))
        stream.flush()
        return Receipt(ref=message.id)

    async def aclose(self) -> None:
        return None
