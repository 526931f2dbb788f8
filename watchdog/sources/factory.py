"""Build the configured sources and the LiteLLM admin client from the ops settings, once."""

from __future__ import annotations

import aiohttp

from watchdog.config import Settings
from watchdog.sources import Source
from watchdog.sources.file import FileSource
from watchdog.sources.litellm import LiteLLMSource
from watchdog.sources.litellm_admin import LiteLLMAdmin


def build_sources(settings: Settings, *, session: aiohttp.ClientSession) -> list[Source]:
    """A snapshot file alone (offline demos), else LiteLLM plus Prometheus when configured."""
    if settings.snapshot_file:
        return [FileSource(settings.snapshot_file)]
    sources: list[Source] = []
    if settings.litellm is not None:
        sources.append(LiteLLMSource(settings.litellm, session=session))
    if settings.prometheus is not None:
        # imported when configured: prometheus-api-client and requests cost memory in every
        # daemon that does not use them
        from watchdog.sources.prometheus import PrometheusSource  # noqa: PLC0415

        sources.append(PrometheusSource(settings.prometheus, session=session))
    return sources


def build_admin(settings: Settings, *, session: aiohttp.ClientSession) -> LiteLLMAdmin | None:
    """The write side, only against a live LiteLLM with a master key (never in file mode)."""
    litellm = settings.litellm
    if settings.snapshot_file or litellm is None or not litellm.master_key:
        return None
    return LiteLLMAdmin(litellm, session=session)
