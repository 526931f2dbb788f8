"""Email: multipart text + HTML over STARTTLS or TLS with login, threaded per budget and period."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest

from tests.notify import messages
from tests.notify.conftest import Tls
from tests.notify.smtp_server import PASSWORD, USER, Mailbox
from watchdog.channel_settings import EmailChannel
from watchdog.errors import DeliveryError
from watchdog.notify.email import EmailNotifier

SENT_AT = datetime(2026, 11, 18, 12, 0, 5, tzinfo=UTC)
RECIPIENTS = ("finance@example.com", "eng-leads@example.com")


def channel(port: int, tls: Tls, **fields: Any) -> EmailChannel:
    settings: dict[str, Any] = {
        "type": "email",
        "host": "127.0.0.1",
        "port": port,
        "security": "starttls",
        "username": USER,
        "password": "os.environ/SMTP_PASSWORD",
        "sender": "Budget watchdog <budgets@example.com>",
        "to": list(RECIPIENTS),
        "ca_file": str(tls.ca_file),
    }
    settings.update(fields)
    return EmailChannel.model_validate(settings, context={"env": {"SMTP_PASSWORD": PASSWORD}})


def notifier(port: int, tls: Tls, **fields: Any) -> EmailNotifier:
    return EmailNotifier("finance-mail", channel(port, tls, **fields), clock=lambda: SENT_AT)


def parts(mail: EmailMessage) -> dict[str, str]:
    """Content type → decoded text of each leaf part."""
    found = {}
    for part in mail.walk():
        if not part.is_multipart():
            assert isinstance(part, EmailMessage)
            found[part.get_content_type()] = str(part.get_content())
    return found


async def test_a_notice_arrives_as_text_and_html(
    mailbox: Mailbox, smtp_starttls: int, tls: Tls
) -> None:
    """One multipart/alternative mail to every recipient, after STARTTLS and login."""
    message = messages.warning()
    receipt = await notifier(smtp_starttls, tls).send(message)
    [(envelope, mail)] = mailbox.mails
    assert mailbox.logins == [USER]
    assert envelope.mail_from == "budgets@example.com"
    assert sorted(envelope.rcpt_tos) == sorted(RECIPIENTS)
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Subject"] == message.title
    assert mail["From"] == "Budget watchdog <budgets@example.com>"
    assert [a.strip() for a in str(mail["To"]).split(",")] == list(RECIPIENTS)
    assert mail["Date"] == "Wed, 18 Nov 2026 12:00:05 +0000"
    body = parts(mail)
    assert set(body) == {"text/plain", "text/html"}
    assert message.summary in body["text/plain"]
    assert "Spent: $4,100.00" in body["text/plain"]
    assert receipt.ref == mail["Message-ID"]


async def test_the_html_part_is_self_contained(
    mailbox: Mailbox, smtp_starttls: int, tls: Tls
) -> None:
    """Inline CSS, a utilisation bar, fields in a table, and nothing loaded from elsewhere."""
    await notifier(smtp_starttls, tls).send(messages.warning())
    html = parts(mailbox.mails[0][1])["text/html"]
    assert '<td width="82%"' in html
    assert "Spent</th>" in html
    assert "$4,100.00</td>" in html
    for remote in ("<style", "<img", "<script", "http"):
        assert remote not in html


async def test_message_ids_thread_a_budget_and_period(
    mailbox: Mailbox, smtp_starttls: int, tls: Tls
) -> None:
    """Message-ID comes from the message id; replies point at the thread's first mail."""
    channel_ = notifier(smtp_starttls, tls)
    first = await channel_.send(messages.warning())
    second = await channel_.send(messages.critical(), thread=first.thread)
    (_, one), (_, two) = mailbox.mails
    topic = f"<{messages.warning().thread}@example.com>"
    assert one["Message-ID"] == f"<{messages.warning().id}@example.com>"
    assert one["References"] == topic
    assert two["In-Reply-To"] == one["Message-ID"]
    assert str(two["References"]).split() == [topic, str(one["Message-ID"])]
    assert second.thread == first.thread == one["Message-ID"]


async def test_a_retried_mail_keeps_its_message_id(
    mailbox: Mailbox, smtp_starttls: int, tls: Tls
) -> None:
    """451 then 250: the first try is retryable, the second delivers the same Message-ID."""
    mailbox.data_answers.append("451 4.3.0 mailbox busy, try again")
    channel_ = notifier(smtp_starttls, tls)
    message = messages.critical()
    with pytest.raises(DeliveryError, match="451") as caught:
        await channel_.send(message)
    assert caught.value.retryable is True
    receipt = await channel_.send(message)
    [(_, mail)] = mailbox.mails
    assert mail["Message-ID"] == receipt.ref == f"<{message.id}@example.com>"


async def test_test_mails_are_marked(mailbox: Mailbox, smtp_starttls: int, tls: Tls) -> None:
    """A test message's subject starts with [TEST]."""
    await notifier(smtp_starttls, tls).send(messages.as_test())
    assert str(mailbox.mails[0][1]["Subject"]).startswith("[TEST] Budget warning")


async def test_implicit_tls_works(mailbox: Mailbox, smtp_tls: int, tls: Tls) -> None:
    """security: tls speaks TLS from the first byte (port 465 style)."""
    await notifier(smtp_tls, tls, security="tls").send(messages.warning())
    assert len(mailbox.mails) == 1


async def test_a_local_relay_works_without_tls(mailbox: Mailbox, smtp_plain: int, tls: Tls) -> None:
    """security: none talks plain SMTP without a login (local relays)."""
    await notifier(smtp_plain, tls, security="none", username=None, password=None).send(
        messages.warning()
    )
    assert len(mailbox.mails) == 1
    assert mailbox.logins == []


async def test_starttls_is_never_downgraded(mailbox: Mailbox, smtp_plain: int, tls: Tls) -> None:
    """A server that does not offer STARTTLS gets nothing, least of all the password."""
    with pytest.raises(DeliveryError, match="check security") as caught:
        await notifier(smtp_plain, tls).send(messages.warning())
    assert caught.value.retryable is False
    assert mailbox.mails == []


@pytest.mark.parametrize(
    ("setup", "fields", "retryable", "says"),
    [
        pytest.param(
            {"refuse": {"finance@example.com": "550 5.1.1 no such user"}},
            {"to": ["finance@example.com"]},
            False,
            "finance@example.com: 550",
            id="550 bad recipient is permanent",
        ),
        pytest.param(
            {"refuse": {"finance@example.com": "450 4.2.0 mailbox busy"}},
            {"to": ["finance@example.com"]},
            True,
            "450",
            id="450 recipient is retryable",
        ),
        pytest.param(
            {"data": "554 5.7.1 rejected as spam"}, {}, False, "554", id="554 on data is permanent"
        ),
        pytest.param({}, {"username": "someone-else"}, False, "login refused", id="bad login"),
    ],
)
async def test_smtp_answers_are_classified(
    mailbox: Mailbox,
    smtp_starttls: int,
    tls: Tls,
    setup: dict[str, Any],
    fields: dict[str, Any],
    retryable: bool,
    says: str,
) -> None:
    """4xx answers are worth retrying, 5xx answers and refused logins are not."""
    mailbox.refuse.update(setup.get("refuse", {}))
    if "data" in setup:
        mailbox.data_answers.append(setup["data"])
    with pytest.raises(DeliveryError, match=says) as caught:
        await notifier(smtp_starttls, tls, **fields).send(messages.warning())
    assert caught.value.retryable is retryable


async def test_a_login_failure_names_the_fix(
    mailbox: Mailbox, smtp_starttls: int, tls: Tls
) -> None:
    """A refused login says which user and where the password comes from."""
    with pytest.raises(DeliveryError) as caught:
        await notifier(smtp_starttls, tls, username="nobody").send(messages.warning())
    assert "'nobody'" in str(caught.value)
    assert "os.environ/SMTP_PASSWORD" in str(caught.value)


async def test_some_refused_recipients_still_deliver(
    mailbox: Mailbox, smtp_starttls: int, tls: Tls, caplog: pytest.LogCaptureFixture
) -> None:
    """One bad address does not block the others (nor cause a resend): it is logged."""
    mailbox.refuse["finance@example.com"] = "550 5.1.1 no such user"
    await notifier(smtp_starttls, tls).send(messages.warning())
    [(envelope, _)] = mailbox.mails
    assert envelope.rcpt_tos == ["eng-leads@example.com"]
    assert "finance@example.com (550)" in caplog.text


async def test_an_untrusted_certificate_is_permanent(
    mailbox: Mailbox, smtp_starttls: int, tls: Tls, tmp_path: Any
) -> None:
    """Without the CA the certificate cannot be checked: a person must fix it."""
    with pytest.raises(DeliveryError, match="certificate is not trusted") as caught:
        await notifier(smtp_starttls, tls, ca_file=None).send(messages.warning())
    assert caught.value.retryable is False
    assert mailbox.mails == []


async def test_a_server_that_is_down_is_retryable(closed_port: int, tls: Tls) -> None:
    """Connection refused is worth retrying."""
    with pytest.raises(DeliveryError, match="cannot reach") as caught:
        await notifier(closed_port, tls).send(messages.warning())
    assert caught.value.retryable is True
