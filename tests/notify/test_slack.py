"""Slack: Block Kit by bot token with threads and in-place resolve, or by incoming webhook."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from tests.notify import messages
from tests.notify.conftest import FakeTime
from tests.notify.slack_server import HOOK_PATH, TOKEN, Scripted, SlackStandIn
from watchdog.channel_settings import SlackChannel
from watchdog.errors import DeliveryError
from watchdog.notify.slack import Pacer, SlackNotifier, SlackWebhookNotifier

Server = tuple[SlackStandIn, str]


def bot_channel(url: str, **fields: Any) -> SlackChannel:
    settings = {"type": "slack", "token": "os.environ/SLACK_TOKEN", "channel": "#eng-budgets"}
    settings |= {"base_url": f"{url}/api/", **fields}
    return SlackChannel.model_validate(settings, context={"env": {"SLACK_TOKEN": TOKEN}})


def bot(
    server: Server, session: aiohttp.ClientSession, time: FakeTime | None = None, **fields: Any
) -> SlackNotifier:
    clock = time or FakeTime()
    pacer = Pacer(clock=clock.clock, sleep=clock.sleep)
    return SlackNotifier(
        "eng-slack", bot_channel(server[1], **fields), session=session, pacer=pacer
    )


def hook(server: Server, session: aiohttp.ClientSession) -> SlackWebhookNotifier:
    channel = SlackChannel.model_validate(
        {"type": "slack", "webhook_url": f"{server[1]}{HOOK_PATH}", "mention": "<!here>"}
    )
    time = FakeTime()
    pacer = Pacer(clock=time.clock, sleep=time.sleep)
    return SlackWebhookNotifier("eng-hook", channel, session=session, pacer=pacer)


def texts(post: dict[str, Any]) -> str:
    """Every piece of text in a posted message, for searching."""
    parts = [post["text"]]
    for block in post["blocks"]:
        parts.append(block.get("text", {}).get("text", ""))
        parts.extend(f["text"] for f in block.get("fields", []))
        parts.extend(e["text"] for e in block.get("elements", []))
    return "\n".join(parts)


# Posting ---------------------------------------------------------------------------------------


async def test_a_notice_becomes_a_thread_root(
    slack: Server, session: aiohttp.ClientSession
) -> None:
    """The first notice of a budget and period is a new message; its ref starts the thread."""
    standin, _ = slack
    receipt = await bot(slack, session).send(messages.warning())
    [post] = standin.posts
    assert receipt.ref == f"C0ENG:{post['ts']}"
    assert receipt.thread == receipt.ref
    assert "thread_ts" not in post
    assert post["text"].startswith("Budget warning: team engineering at 82%")


@pytest.mark.parametrize(
    ("make", "mark"),
    [
        pytest.param(messages.warning, "🟠 Budget warning", id="a soft limit is orange"),
        pytest.param(messages.critical, "🔴 Budget exceeded", id="a hard limit is red"),
        pytest.param(messages.resolved, "✅ Back under budget", id="a resolution is a tick"),
        pytest.param(messages.as_test, "🟠 [TEST] Budget warning", id="a test is marked"),
    ],
)
async def test_the_header_shows_severity_and_title(
    slack: Server, session: aiohttp.ClientSession, make: Any, mark: str
) -> None:
    """The header block leads with the severity mark and the rendered title."""
    standin, _ = slack
    await bot(slack, session).send(make())
    header = standin.posts[0]["blocks"][0]
    assert header["type"] == "header"
    assert header["text"]["text"].startswith(mark)


async def test_the_layout_carries_every_part_of_the_message(
    slack: Server, session: aiohttp.ClientSession
) -> None:
    """Summary, utilisation bar, fields and the rule/data-as-of context all arrive."""
    standin, _ = slack
    message = messages.warning()
    await bot(slack, session).send(message)
    post = standin.posts[0]
    kinds = [b["type"] for b in post["blocks"]]
    assert kinds == ["header", "section", "section", "section", "context"]
    assert post["blocks"][1]["text"]["text"] == message.summary
    assert post["blocks"][2]["text"]["text"] == "`▓▓▓▓▓▓▓▓░░ 82%`"
    fields = [f["text"] for f in post["blocks"][3]["fields"]]
    assert "*Spent*\n$4,100.00" in fields
    assert "*Budget*\n$5,000.00" in fields
    context = [e["text"] for e in post["blocks"][4]["elements"]]
    assert context == ["Rule: Engineering monthly", "Data as of: 2026-11-18 12:00 UTC"]


@pytest.mark.parametrize(
    ("make", "mentioned"),
    [
        pytest.param(messages.critical, True, id="critical alerts mention"),
        pytest.param(messages.warning, False, id="warnings do not"),
        pytest.param(lambda: messages.as_test(messages.critical()), False, id="tests never do"),
    ],
)
async def test_critical_alerts_mention_the_configured_people(
    slack: Server, session: aiohttp.ClientSession, make: Any, mentioned: bool
) -> None:
    """`mention` prefixes critical alerts, in the fallback text and the summary section."""
    standin, _ = slack
    await bot(slack, session, mention="<!here>").send(make())
    post = standin.posts[0]
    assert post["text"].startswith("<!here> ") is mentioned
    assert post["blocks"][1]["text"]["text"].startswith("<!here> ") is mentioned


async def test_markup_in_names_is_escaped(slack: Server, session: aiohttp.ClientSession) -> None:
    """Entity names cannot inject Slack markup such as <!channel>."""
    standin, _ = slack
    message = replace(messages.warning(), summary="team <!channel> & co")
    await bot(slack, session).send(message)
    assert standin.posts[0]["blocks"][1]["text"]["text"] == "team &lt;!channel&gt; &amp; co"


async def test_slack_limits_are_respected(slack: Server, session: aiohttp.ClientSession) -> None:
    """Over-long texts are cut with "…" and many fields spread over sections Slack accepts."""
    standin, _ = slack
    huge = replace(
        messages.warning(),
        title="T" * 400,
        summary="S" * 5000,
        fields=tuple((f"Field {i}", "v" * 2500) for i in range(25)),
    )
    await bot(slack, session).send(huge)
    blocks = standin.posts[0]["blocks"]
    assert len(blocks[0]["text"]["text"]) == 150
    assert blocks[0]["text"]["text"].endswith("…")
    assert len(blocks[1]["text"]["text"]) == 3000
    sections = [b for b in blocks if b.get("fields")]
    assert [len(b["fields"]) for b in sections] == [10, 10, 5]
    assert all(len(f["text"]) == 2000 for b in sections for f in b["fields"])


# Threads ---------------------------------------------------------------------------------------


async def test_later_notices_reply_in_the_thread(
    slack: Server, session: aiohttp.ClientSession
) -> None:
    """A notice with a thread ref is a reply to the root; the thread ref is kept."""
    standin, _ = slack
    notifier = bot(slack, session)
    root = await notifier.send(messages.warning())
    reply = await notifier.send(messages.warning(), thread=root.thread)
    root_post, reply_post = standin.posts
    assert reply_post["thread_ts"] == root_post["ts"]
    assert reply.thread == root.thread
    assert reply.ref == f"C0ENG:{reply_post['ts']}"
    assert reply_post["reply_broadcast"] is False


async def test_a_critical_reply_is_broadcast(slack: Server, session: aiohttp.ClientSession) -> None:
    """Going over the hard limit inside a thread is also shown in the channel."""
    standin, _ = slack
    notifier = bot(slack, session)
    root = await notifier.send(messages.warning())
    await notifier.send(messages.critical(), thread=root.thread)
    assert standin.posts[1]["reply_broadcast"] is True


async def test_a_resolution_replies_and_updates_the_root(
    slack: Server, session: aiohttp.ClientSession
) -> None:
    """Back under budget: a reply in the thread, and the root message now shows resolved."""
    standin, _ = slack
    notifier = bot(slack, session)
    root = await notifier.send(messages.critical())
    await notifier.send(messages.resolved(), thread=root.thread)
    [update] = standin.updates
    assert f"C0ENG:{update['ts']}" == root.ref
    assert update["blocks"][0]["text"]["text"].startswith("✅ Back under budget")
    assert standin.posts[1]["thread_ts"] == update["ts"]


async def test_a_failed_root_update_does_not_fail_the_reply(
    slack: Server, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """The reply is the delivery: an update Slack refuses is logged, never retried."""
    standin, _ = slack
    notifier = bot(slack, session)
    root = await notifier.send(messages.critical())
    standin.refuse_updates = "cant_update_message"
    receipt = await notifier.send(messages.resolved(), thread=root.thread)
    assert receipt.thread == root.thread
    assert len(standin.posts) == 2
    assert "not updated" in caplog.text
    assert "cant_update_message" in caplog.text


async def test_a_malformed_thread_ref_is_a_permanent_error(
    slack: Server, session: aiohttp.ClientSession
) -> None:
    """A thread ref that is not CHANNEL:ts cannot become valid by retrying."""
    with pytest.raises(DeliveryError, match="CHANNEL_ID:ts") as caught:
        await bot(slack, session).send(messages.warning(), thread="no-colon")
    assert caught.value.retryable is False


# Failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "retryable", "retry_after", "says"),
    [
        pytest.param(
            Scripted(429, "ratelimited", retry_after=7), True, 7.0, "retry after 7 s", id="429"
        ),
        pytest.param(Scripted(500, text="oops"), True, None, "500", id="server error"),
        pytest.param(
            Scripted(200, "service_unavailable"),
            True,
            None,
            "service_unavailable",
            id="slack says unavailable",
        ),
        pytest.param(
            Scripted(200, "invalid_auth"),
            False,
            None,
            "check the xoxb- token in os.environ/SLACK_TOKEN",
            id="bad token",
        ),
        pytest.param(
            Scripted(200, "missing_scope"), False, None, "chat:write.public", id="missing scope"
        ),
    ],
)
async def test_failures_say_whether_to_retry(
    slack: Server,
    session: aiohttp.ClientSession,
    failure: Scripted,
    retryable: bool,
    retry_after: float | None,
    says: str,
) -> None:
    """Each Slack answer maps to retryable or not, with Retry-After and a hint."""
    standin, _ = slack
    standin.fail_next(failure)
    with pytest.raises(DeliveryError) as caught:
        await bot(slack, session).send(messages.warning())
    assert caught.value.retryable is retryable
    assert caught.value.retry_after == retry_after
    assert says in str(caught.value)
    assert standin.requests == 1, "the notifier never retries on its own"


@pytest.mark.parametrize(
    ("channel", "says"),
    [
        pytest.param("#nowhere", "channel #nowhere not found", id="unknown channel"),
        pytest.param("#private", "invite it with /invite @app", id="bot not in channel"),
    ],
)
async def test_channel_problems_are_permanent_with_a_hint(
    slack: Server, session: aiohttp.ClientSession, channel: str, says: str
) -> None:
    """A wrong channel or a missing invitation needs a person, not a retry."""
    with pytest.raises(DeliveryError, match=says) as caught:
        await bot(slack, session, channel=channel).send(messages.warning())
    assert caught.value.retryable is False


async def test_a_slow_slack_times_out_as_retryable(
    slack: Server, session: aiohttp.ClientSession
) -> None:
    """Every call has a deadline; running past it is worth another try."""
    standin, _ = slack
    standin.fail_next(Scripted(hang=True))
    with pytest.raises(DeliveryError, match="no answer within") as caught:
        await bot(slack, session, timeout=timedelta(milliseconds=200)).send(messages.warning())
    assert caught.value.retryable is True


async def test_an_unreachable_slack_is_retryable(
    session: aiohttp.ClientSession, closed_port: int
) -> None:
    """Connection refused is a transient failure."""
    server = (SlackStandIn(), f"http://127.0.0.1:{closed_port}")
    with pytest.raises(DeliveryError, match="cannot reach Slack") as caught:
        await bot(server, session).send(messages.warning())
    assert caught.value.retryable is True


# Pacing ----------------------------------------------------------------------------------------


async def test_messages_are_paced_to_one_per_second(
    slack: Server, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    """Back-to-back sends wait one second apart; after a quiet spell nothing waits."""
    notifier = bot(slack, session, fake_time)
    for _ in range(3):
        await notifier.send(messages.warning())
    assert fake_time.slept == [1.0, 1.0]
    fake_time.now += 5
    await notifier.send(messages.warning())
    assert fake_time.slept == [1.0, 1.0]
    assert len(slack[0].posts) == 4


async def test_a_rate_limited_send_still_used_its_slot(
    slack: Server, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    """A 429 counts as a message sent: the next try is paced too."""
    standin, _ = slack
    standin.fail_next(Scripted(429, "ratelimited", retry_after=3))
    notifier = bot(slack, session, fake_time)
    with pytest.raises(DeliveryError):
        await notifier.send(messages.warning())
    await notifier.send(messages.warning())
    assert fake_time.slept == [1.0]


# Incoming webhook ------------------------------------------------------------------------------


async def test_an_incoming_webhook_posts_blocks_without_threads(
    slack: Server, session: aiohttp.ClientSession
) -> None:
    """Webhook mode sends the same layout, never a thread_ts, and returns no thread."""
    standin, _ = slack
    receipt = await hook(slack, session).send(messages.critical(), thread="C0ENG:1700000001.000100")
    [posted] = standin.hooks
    assert "thread_ts" not in posted
    assert posted["text"].startswith("<!here> Budget exceeded")
    assert posted["blocks"][0]["text"]["text"].startswith("🔴")
    assert receipt.thread is None


@pytest.mark.parametrize(
    ("failure", "retryable", "retry_after"),
    [
        pytest.param(Scripted(429, retry_after=30, text="rate_limited"), True, 30.0, id="429"),
        pytest.param(Scripted(500, text="rollup_error"), True, None, id="500"),
        pytest.param(Scripted(404, text="no_service"), False, None, id="revoked webhook"),
        pytest.param(Scripted(410, text="channel_is_archived"), False, None, id="archived"),
    ],
)
async def test_incoming_webhook_failures(
    slack: Server,
    session: aiohttp.ClientSession,
    failure: Scripted,
    retryable: bool,
    retry_after: float | None,
) -> None:
    """Webhook answers map to retryable or not; the body names Slack's reason."""
    standin, _ = slack
    standin.fail_next(failure)
    with pytest.raises(DeliveryError) as caught:
        await hook(slack, session).send(messages.warning())
    assert caught.value.retryable is retryable
    assert caught.value.retry_after == retry_after
    assert str(failure.text) in str(caught.value)
