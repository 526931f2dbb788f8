"""Email layout of a rendered message: multipart/alternative text + HTML, threading headers. Pure.

The HTML uses inline CSS and tables only (what mail clients render), no remote images: a
severity stripe, the title, the summary, a utilisation bar and the fields as a table.
`Message-ID` comes from the message id, `In-Reply-To`/`References` from its thread, so a mail
client keeps one conversation per budget and period.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from watchdog.money import fmt_percent
from watchdog.notify.layout import COLOUR, EMOJI, filled_cells, headline, progress_bar
from watchdog.render import Message

FALLBACK_DOMAIN = "budget-watchdog.invalid"
_FONT = "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif"


def domain_of(sender: str) -> str:
    """The sender's domain, for Message-IDs ("alerts@example.com" → "example.com")."""
    address = parseaddr(sender)[1]
    _, at, domain = address.rpartition("@")
    return domain if at and domain else FALLBACK_DOMAIN


def msgid(token: str, domain: str) -> str:
    """A Message-ID built from a stable token: "<wd_…@example.com>"."""
    return f"<{token}@{domain}>"


def compose(
    message: Message,
    *,
    sender: str,
    to: Sequence[str],
    date: datetime,
    thread: str | None = None,
) -> EmailMessage:
    """The email for `message`; `thread` is the Message-ID of the conversation's first mail."""
    domain = domain_of(sender)
    topic = msgid(message.thread, domain)
    mail = EmailMessage()
    mail["Subject"] = headline(message)
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Date"] = format_datetime(date)
    mail["Message-ID"] = msgid(message.id, domain)
    mail["In-Reply-To"] = thread or topic
    mail["References"] = " ".join(dict.fromkeys([topic, *([thread] if thread else [])]))
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Watchdog-Severity"] = message.severity
    mail.set_content(text_part(message), cte="quoted-printable")
    mail.add_alternative(html_part(message), subtype="html")
    return mail


def text_part(message: Message) -> str:
    """The plain-text part: the rendered body, with the utilisation bar after the title."""
    lines = message.body.splitlines() or [message.title]
    lines[0] = headline(message)
    if message.utilisation is not None:
        lines[1:1] = ["", progress_bar(message.utilisation, width=20)]
    return "\n".join(lines) + "\n"


def html_part(message: Message) -> str:
    """The HTML part: inline CSS, tables, no remote content."""
    colour = COLOUR[message.severity]
    rows = "".join(
        f'<tr><th style="text-align:left;padding:4px 12px 4px 0;color:#555;'
        f'font-weight:600;vertical-align:top">{html.escape(k)}</th>'
        f'<td style="padding:4px 0">{html.escape(v)}</td></tr>'
        for k, v in message.fields
    )
    bar = _bar(message) if message.utilisation is not None else ""
    note = (
        f'<p style="font-size:13px;margin:12px 0 0 0;color:#555">'
        f"{html.escape(message.description)}</p>"
        if message.description
        else ""
    )
    title = f"{EMOJI[message.severity]} {headline(message)}"
    return (
        '<!DOCTYPE html><html><body style="margin:0;padding:16px;background:#f6f6f6">'
        f'<table role="presentation" width="100%" style="max-width:640px;{_FONT};'
        f'background:#ffffff;border-top:6px solid {colour};border-collapse:collapse">'
        f'<tr><td style="padding:16px 20px">'
        f'<h1 style="font-size:18px;margin:0 0 8px 0;color:#1d1c1d">{html.escape(title)}</h1>'
        f'<p style="font-size:14px;margin:0 0 12px 0;color:#1d1c1d">'
        f"{html.escape(message.summary)}</p>{bar}"
        f'<table role="presentation" style="font-size:14px;border-collapse:collapse">{rows}'
        f"</table>{note}</td></tr></table></body></html>"
    )


def _bar(message: Message) -> str:
    assert message.utilisation is not None
    colour = COLOUR[message.severity]
    filled = filled_cells(message.utilisation, 100)
    used = (
        f'<td width="{filled}%" style="background:{colour};height:12px;font-size:0">&nbsp;</td>'
        if filled
        else ""
    )
    rest = (
        f'<td width="{100 - filled}%" style="background:#e4e4e4;height:12px;font-size:0">'
        "&nbsp;</td>"
        if filled < 100
        else ""
    )
    return (
        '<table role="presentation" width="100%" style="border-collapse:collapse;'
        f'margin:0 0 4px 0"><tr>{used}{rest}</tr></table>'
        f'<p style="font-size:12px;margin:0 0 12px 0;color:#555">'
        f"{html.escape(fmt_percent(message.utilisation))}</p>"
    )
