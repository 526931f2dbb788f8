"""Secrets (bot token, webhook URL and signing secret, SMTP password) never show anywhere.

Each channel is driven through a success and its failures with every logger at DEBUG; the
secret must not appear in the captured logs, in any error message or in any repr.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiohttp
import pytest

from tests.notify import messages
from tests.notify.conftest import FakeTime, Tls
from tests.notify.receiver import SECRET, Receiver
from tests.notify.slack_server import HOOK_PATH, TOKEN, Scripted, SlackStandIn
from tests.notify.smtp_server import PASSWORD, Mailbox
from tests.notify.test_email import notifier as email_notifier
from tests.notify.test_slack import bot, hook
from tests.notify.test_webhook import notifier as webhook_notifier
from watchdog.errors import DeliveryError
from watchdog.notify import Notifier

Attempt = Callable[[], Awaitable[object]]


async def _drive(notifier: Notifier, before_each: list[Callable[[], None]]) -> list[str]:
    """Send once per setup step; the text of every error raised."""
    errors = []
    for prepare in before_each:
        prepare()
        try:
            await notifier.send(messages.critical())
        except DeliveryError as exc:
            errors.append(f"{exc} {exc!r}")
    return errors


SERVER_LOGGERS = ("aiohttp.access", "aiohttp.server", "aiohttp.web", "mail.log")
"""The local test servers' own logs: they see the secrets, as Slack or an SMTP server would."""


def _client_logs(caplog: pytest.LogCaptureFixture) -> str:
    """Everything watchdog and its client libraries logged, with every extra field."""
    lines = []
    for record in caplog.records:
        if record.name.startswith(SERVER_LOGGERS):
            continue
        lines.append(f"{record.name} {record.getMessage()} {vars(record)!r}")
    return "\n".join(lines)


def _assert_hidden(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text


@pytest.fixture(autouse=True)
def _everything_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


async def test_the_slack_token_stays_hidden(
    slack: tuple[SlackStandIn, str],
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Sending, Slack refusing the token, a 500 and a timeout never print the bot token."""
    standin, _ = slack
    notifier = bot(slack, session)
    errors = await _drive(
        notifier,
        [
            lambda: None,
            lambda: standin.fail_next(Scripted(200, "invalid_auth")),
            lambda: standin.fail_next(Scripted(500, text=f"echo {TOKEN}")),
        ],
    )
    assert len(errors) == 2
    _assert_hidden(TOKEN, _client_logs(caplog), *errors, repr(notifier), repr(notifier._channel))
    assert len(standin.posts) == 1, "the token did reach Slack"


async def test_the_slack_webhook_url_stays_hidden(
    slack: tuple[SlackStandIn, str],
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An incoming webhook URL is a secret: it shows in no log line or error."""
    standin, _ = slack
    notifier = hook(slack, session)
    errors = await _drive(
        notifier,
        [
            lambda: None,
            lambda: standin.fail_next(Scripted(404, text="no_service")),
            lambda: standin.fail_next(Scripted(500, text="rollup_error")),
        ],
    )
    assert len(errors) == 2
    _assert_hidden(
        HOOK_PATH, _client_logs(caplog), *errors, repr(notifier), repr(notifier._channel)
    )
    assert len(standin.hooks) == 1


async def test_the_webhook_secrets_stay_hidden(
    receiver: tuple[Receiver, str],
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The signing secret and header tokens never print, even when a receiver echoes them."""
    hooks, _ = receiver
    notifier = webhook_notifier(
        receiver, session, FakeTime(), headers={"Authorization": "os.environ/HOOK_TOKEN"}
    )
    errors = await _drive(
        notifier,
        [
            lambda: None,
            lambda: hooks.answer(400, "rejected Authorization: Bearer t0k3n"),
            lambda: hooks.answer(500, f"cannot check secret {SECRET}"),
        ],
    )
    assert len(errors) == 2
    assert "rejected Authorization: ***" in errors[0]
    for secret in (SECRET, "t0k3n"):
        _assert_hidden(
            secret, _client_logs(caplog), *errors, repr(notifier), repr(notifier._channel)
        )
    assert hooks.attempts[0].signature_ok


async def test_the_smtp_password_stays_hidden(
    mailbox: Mailbox, smtp_starttls: int, tls: Tls, caplog: pytest.LogCaptureFixture
) -> None:
    """Logging in, a refused login and a 451 never print the SMTP password."""
    good = email_notifier(smtp_starttls, tls)
    wrong_user = email_notifier(smtp_starttls, tls, username="nobody")
    errors = await _drive(good, [lambda: None, lambda: mailbox.data_answers.append("451 busy")])
    errors += await _drive(wrong_user, [lambda: None])
    assert len(errors) == 2
    _assert_hidden(PASSWORD, _client_logs(caplog), *errors, repr(good), repr(good._channel))
    assert len(mailbox.mails) == 1
