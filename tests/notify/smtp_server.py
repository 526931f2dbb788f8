"""A real SMTP server for the email tests (aiosmtpd on 127.0.0.1, an ephemeral port).

STARTTLS or implicit TLS with a throwaway certificate, AUTH required over TLS, and scripted
answers: 451 for the first DATA (then accept), 550 for a refused recipient.
"""

from __future__ import annotations

import asyncio
import ssl
import warnings
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USER = "watchdog"
PASSWORD = "smtp-test-password-s3cret"


@dataclass
class Mailbox:
    """Mail the server accepted, logins it saw, and answers to give instead of accepting."""

    mails: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    data_answers: deque[str] = field(default_factory=deque)
    refuse: dict[str, str] = field(default_factory=dict)
    """Recipient → answer to RCPT TO (e.g. "550 5.1.1 no such user")."""

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.data_answers:
            return self.data_answers.popleft()
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.mails.append((envelope, parsed))
        return "250 2.0.0 queued"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            self.logins.append(USER)
        return AuthResult(success=ok, handled=False)


async def serve(
    mailbox: Mailbox, *, server_tls: ssl.SSLContext | None, implicit_tls: bool = False
) -> tuple[asyncio.Server, int]:
    """Start an SMTP server on 127.0.0.1; returns it and its port.

    Without `server_tls` it is a plain relay: no STARTTLS, no AUTH (a local relay).
    """
    secure = server_tls is not None
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        with warnings.catch_warnings():
            # Implicit TLS is TLS, but aiosmtpd only counts STARTTLS and warns about AUTH.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return _smtp()

    def _smtp() -> SMTP:
        return SMTP(
            mailbox,
            hostname="smtp.test",
            tls_context=None if implicit_tls else server_tls,
            require_starttls=secure and not implicit_tls,
            auth_required=secure,
            auth_require_tls=secure and not implicit_tls,
            authenticator=mailbox.authenticate,
            enable_SMTPUTF8=True,
        )

    server = await loop.create_server(
        protocol, host="127.0.0.1", port=0, ssl=server_tls if implicit_tls else None
    )
    port = int(server.sockets[0].getsockname()[1])
    return server, port
