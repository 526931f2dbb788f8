"""Fixtures for the channel tests: local Slack, webhook and SMTP servers, TLS, fake time."""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import trustme
from aiohttp import web

from tests.notify.receiver import Receiver
from tests.notify.slack_server import SlackStandIn
from tests.notify.smtp_server import Mailbox, serve


@dataclass
class FakeTime:
    """A clock that moves only when something sleeps on it (or a test says so)."""

    now: float = 1_800_000_000.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass(frozen=True)
class Tls:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""

    server: ssl.SSLContext
    ca_file: Path


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    ca_file = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Tls(server=server, ca_file=ca_file)


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@pytest.fixture
async def slack() -> AsyncIterator[tuple[SlackStandIn, str]]:
    """The Slack stand-in and its base URL (http://127.0.0.1:PORT)."""
    standin = SlackStandIn()
    runner, url = await _serve(standin.app())
    yield standin, url
    standin.released.set()
    await runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    """The webhook receiver and its base URL."""
    hooks = Receiver()
    runner, url = await _serve(hooks.app())
    yield hooks, url
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
async def smtp_starttls(mailbox: Mailbox, tls: Tls) -> AsyncIterator[int]:
    """Port of an SMTP server requiring STARTTLS and AUTH."""
    server, port = await serve(mailbox, server_tls=tls.server)
    yield port
    server.close()
    await server.wait_closed()


@pytest.fixture
async def smtp_tls(mailbox: Mailbox, tls: Tls) -> AsyncIterator[int]:
    """Port of an SMTP server speaking implicit TLS and requiring AUTH."""
    server, port = await serve(mailbox, server_tls=tls.server, implicit_tls=True)
    yield port
    server.close()
    await server.wait_closed()


@pytest.fixture
async def smtp_plain(mailbox: Mailbox) -> AsyncIterator[int]:
    """Port of a plain SMTP relay: no TLS, no AUTH."""
    server, port = await serve(mailbox, server_tls=None)
    yield port
    server.close()
    await server.wait_closed()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
