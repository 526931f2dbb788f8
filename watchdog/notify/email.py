"""Email through SMTP (aiosmtplib): STARTTLS, implicit TLS or none, optional login.

4xx answers and connection trouble are worth retrying; 5xx answers (a refused recipient, a
refused login) are not, and say what to fix.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from datetime import UTC, datetime

import aiosmtplib

from watchdog.channel_settings import EmailChannel
from watchdog.errors import DeliveryError
from watchdog.notify import Receipt
from watchdog.notify.mail import compose
from watchdog.notify.outcome import Transitions, excerpt
from watchdog.render import Message

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class EmailNotifier:
    """Sends each message as one multipart email to every recipient of the channel."""

    def __init__(
        self, name: str, channel: EmailChannel, *, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self._name = name
        self._channel = channel
        self._clock = clock
        self._health = Transitions(log, name)
        self._where = f"email {name} ({channel.host}:{channel.port})"

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"EmailNotifier({self._name!r}, host={self._channel.host!r})"

    async def aclose(self) -> None:
        return None

    async def send(self, message: Message, *, thread: str | None = None) -> Receipt:
        ch = self._channel
        mail = compose(message, sender=ch.sender, to=ch.to, date=self._clock(), thread=thread)
        timeout = ch.timeout.total_seconds()
        try:
            async with asyncio.timeout(timeout):
                refused, _ = await aiosmtplib.send(
                    mail,
                    hostname=ch.host,
                    port=ch.port,
                    use_tls=ch.security == "tls",
                    start_tls=ch.security == "starttls",
                    username=ch.username if ch.password else None,
                    password=ch.password.reveal() if ch.password else None,
                    cert_bundle=ch.ca_file,
                    timeout=timeout,
                )
        except TimeoutError:
            error = DeliveryError(f"{self._where}: no answer within {timeout:g} s", retryable=True)
            raise self._health.failed(error) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise self._health.failed(self._error(exc)) from None
        if refused:
            log.warning(
                "channel %s: some recipients were refused: %s",
                self._name,
                ", ".join(f"{rcpt} ({answer.code})" for rcpt, answer in sorted(refused.items())),
                extra={"channel": self._name},
            )
        self._health.ok()
        ref = str(mail["Message-ID"])
        return Receipt(ref=ref, thread=thread or ref)

    def _error(self, exc: BaseException) -> DeliveryError:
        where = self._where
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            source = self._channel.password.source if self._channel.password else "password"
            return DeliveryError(
                f"{where}: login refused for {self._channel.username!r} ({exc.code} "
                f"{excerpt(exc.message, 120)}); check username and the password in {source}",
                retryable=False,
            )
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(
                f"{r.recipient}: {r.code} {excerpt(r.message, 80)}" for r in exc.recipients
            )
            return DeliveryError(
                f"{where}: recipients refused: {detail}",
                retryable=all(400 <= code < 500 for code in codes),
            )
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            return DeliveryError(
                f"{where}: server answered {exc.code} {excerpt(exc.message, 160)}",
                retryable=400 <= exc.code < 500,
            )
        if _certificate_problem(exc):
            return DeliveryError(
                f"{where}: the server's TLS certificate is not trusted; fix the certificate "
                "or set ca_file to the CA that signed it",
                retryable=False,
            )
        if isinstance(exc, (aiosmtplib.SMTPTimeoutError, TimeoutError)):
            return DeliveryError(f"{where}: the server stopped answering", retryable=True)
        if isinstance(exc, (ConnectionError, OSError)):
            return DeliveryError(
                f"{where}: cannot reach the server ({type(exc).__name__})", retryable=True
            )
        text = excerpt(str(exc), 160).rstrip(".")
        if isinstance(exc, aiosmtplib.SMTPNotSupported) or "not supported" in text:
            text += "; check security (starttls on port 587, tls on port 465, none for relays)"
        return DeliveryError(f"{where}: {text}", retryable=False)


def _certificate_problem(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)
