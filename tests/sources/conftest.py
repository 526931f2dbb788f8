"""Shared pieces for the source tests: a fixture-shaped LiteLLM server, settings, fake sleep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from tests.sources.fake_litellm import MASTER_KEY, FakeLiteLLM
from watchdog.config import LiteLLMSettings
from watchdog.config_fields import Secret
from watchdog.sources.http import Retry


class FakeSleep:
    """Records the backoff delays instead of waiting; jitter is fixed at the midpoint."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)

    def retry(self, attempts: int = 3) -> Retry:
        return Retry(attempts=attempts, sleep=self, jitter=lambda: 0.5)


@pytest.fixture
async def proxy() -> AsyncIterator[FakeLiteLLM]:
    server = FakeLiteLLM()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


def litellm_settings(url: str, **changes: Any) -> LiteLLMSettings:
    """Settings for the fake proxy: its master key, a short deadline, small pages if asked."""
    fields: dict[str, Any] = {
        "url": url,
        "master_key": Secret(MASTER_KEY, "os.environ/LITELLM_MASTER_KEY"),
        "timeout": timedelta(seconds=5),
    }
    fields.update(changes)
    return LiteLLMSettings(**fields)
