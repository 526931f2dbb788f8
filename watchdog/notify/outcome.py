"""What channels share about failures: Retry-After, short excerpts, and logging transitions."""

from __future__ import annotations

import email.utils
import logging
from datetime import datetime

from watchdog.errors import DeliveryError

RETRYABLE_STATUS = frozenset({408, 425, 429})
"""HTTP statuses below 500 that mean "try again later"."""


def retryable_status(status: int) -> bool:
    """True for 408, 425, 429 and every 5xx."""
    return status in RETRYABLE_STATUS or 500 <= status <= 599


def retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP-date), if readable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        at: datetime = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        return None
    return max(0.0, at.timestamp() - now)


def excerpt(text: str, limit: int = 200) -> str:
    """The start of a response body on one line, for error messages."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class Transitions:
    """Logs a channel going wrong (again only when the error changes) and its recovery once."""

    def __init__(self, log: logging.Logger, channel: str) -> None:
        self._log = log
        self._channel = channel
        self._last: str | None = None

    def failed(self, error: DeliveryError) -> DeliveryError:
        """Log `error` if it is news, then hand it back for raising."""
        text = str(error)
        if text != self._last:
            self._log.warning(
                "channel %s failing: %s",
                self._channel,
                text,
                extra={
                    "channel": self._channel,
                    "retryable": error.retryable,
                    "retry_after": error.retry_after,
                },
            )
        self._last = text
        return error

    def ok(self) -> None:
        """Note a delivery; logs "recovered" after a failure."""
        if self._last is not None:
            self._log.info("channel %s recovered", self._channel, extra={"channel": self._channel})
        self._last = None
