"""The swappable runtime: config, rules, channels and sources, rebuilt whole and only when valid.

A reload (a file changed, or SIGHUP) validates everything first; only a complete new runtime
replaces the old one, so a broken rule file never stops a running daemon from using its last
good rules.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiohttp

from watchdog import config, litellm_config
from watchdog.act import Admin
from watchdog.errors import ConfigError
from watchdog.notify import Notifier
from watchdog.notify.factory import build_notifiers
from watchdog.rule_files import load_rules, rule_files
from watchdog.rules import RuleSet
from watchdog.sources import Source
from watchdog.sources.factory import build_admin, build_sources

Stamp = tuple[tuple[str, int, int], ...]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """Everything a reload replaces at once."""

    settings: config.Settings
    rules: RuleSet
    notifiers: Mapping[str, Notifier]
    sources: tuple[Source, ...]
    admin: Admin | None
    loaded_at: datetime
    stamp: Stamp

    async def aclose(self) -> None:
        for notifier in self.notifiers.values():
            await notifier.aclose()
        for source in self.sources:
            await source.aclose()


def stamp(
    config_path: str | None, rule_paths: tuple[str, ...], litellm: str | None = None
) -> Stamp:
    """Identity of the files on disk (config, rules, LiteLLM's config): a change of any name,
    size or mtime means "reload"."""
    paths = [Path(config_path)] if config_path else []
    if litellm:
        paths.append(Path(litellm))
    with contextlib.suppress(OSError):
        paths.extend(rule_files(rule_paths))
    marks = []
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            marks.append((str(path), -1, -1))
            continue
        marks.append((str(path), info.st_mtime_ns, info.st_size))
    for raw in rule_paths:  # a file added to or removed from a rules directory
        directory = Path(raw)
        if directory.is_dir():
            marks.append((str(directory), directory.stat().st_mtime_ns, 0))
    return tuple(sorted(marks))


async def build(
    config_path: str | None,
    *,
    session: aiohttp.ClientSession,
    now: datetime,
    env: Mapping[str, str] | None = None,
) -> Runtime:
    """Load and validate config and rules, then build channels and sources (InputError if bad)."""
    settings, rules = compose(config_path, env)
    return Runtime(
        settings=settings,
        rules=rules,
        notifiers=build_notifiers(settings, session=session),
        sources=tuple(build_sources(settings, session=session)),
        admin=build_admin(settings, session=session),
        loaded_at=now,
        stamp=stamp(config_path, settings.rules, settings.litellm_config),
    )


def compose(
    config_path: str | None, env: Mapping[str, str] | None = None
) -> tuple[config.Settings, RuleSet]:
    """The settings and rules the daemon runs: the config, its rule files and what a LiteLLM
    config adds (budgets and channels), checked together (InputError if bad)."""
    settings, derived = load_settings(config_path, env)
    if derived is not None and not config.has_native_rules(settings):
        rules = settings.apply(RuleSet())  # the LiteLLM config alone
    else:
        rules = settings.apply(load_rules(settings.rules))
    if derived is not None:
        rules = litellm_config.combine(rules, derived)
    unknown = config.rule_channel_problems(rules, set(settings.channels), config_path or "<config>")
    if unknown:
        raise ConfigError(unknown)
    return settings, rules


def load_settings(
    config_path: str | None, env: Mapping[str, str] | None = None
) -> tuple[config.Settings, litellm_config.Derived | None]:
    """The config with the channels its LiteLLM config makes, and what that config derived
    (None without one); its warnings are logged (InputError if either file is bad)."""
    environ = env if env is not None else os.environ
    settings = config.load(config_path, environ)
    if not settings.litellm_config:
        return settings, None
    derived = litellm_config.load(settings.litellm_config, environ)
    if derived.errors:
        raise ConfigError(list(derived.errors))
    settings, replaced = litellm_config.with_channels(settings, derived)
    for note in (*map(str, derived.warnings), *replaced):
        log.warning("LiteLLM config: %s", note)
    if problems := config.routing_problems(settings, config_path):
        raise ConfigError(problems)
    return settings, derived
