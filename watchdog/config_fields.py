"""Field types every part of the ops config shares: secrets and values read from the
environment (`os.environ/NAME`, LiteLLM's convention), and the base model of every section.

A `Secret` never prints itself: logs, repr and errors show where it came from, not its value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, ValidationInfo

_ENV_REF = re.compile(r"^os\.environ/([A-Za-z_][A-Za-z0-9_]*)$")


class Secret:
    """A secret value: resolved from the environment, never shown in logs, repr or errors."""

    __slots__ = ("_source", "_value")

    def __init__(self, value: str, source: str = "") -> None:
        self._value = value
        self._source = source

    def reveal(self) -> str:
        """The secret itself, for the one call that needs it."""
        return self._value

    @property
    def source(self) -> str:
        """Where it came from ("os.environ/NAME" or "inline"), safe to show."""
        return self._source or "inline"

    def __repr__(self) -> str:
        return f"Secret({self.source!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def resolve_secret(value: object, env: Mapping[str, str] | None = None) -> Secret:
    """`os.environ/NAME` → the variable's value; anything else is taken literally."""
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str):
        raise ValueError("expected text or os.environ/NAME")
    match = _ENV_REF.match(value.strip())
    if not match:
        return Secret(value, "inline")
    source = env if env is not None else os.environ
    name = match[1]
    if name not in source:
        raise ValueError(
            f"environment variable {name} is not set (referenced as os.environ/{name})"
        )
    return Secret(source[name], f"os.environ/{name}")


def _secret(value: object, info: ValidationInfo) -> Secret:
    return resolve_secret(value, _env(info))


def _env(info: ValidationInfo) -> Mapping[str, str] | None:
    context = info.context if isinstance(info.context, dict) else {}
    env = context.get("env")
    return env if isinstance(env, Mapping) else None


SecretField = Annotated[
    Secret,
    BeforeValidator(_secret),
    PlainSerializer(lambda s: s.source),
]


def _env_text(value: object, info: ValidationInfo) -> object:
    """Plain settings may also be written as os.environ/NAME (e.g. a URL from a Secret)."""
    if isinstance(value, str) and _ENV_REF.match(value.strip()):
        return resolve_secret(value, _env(info)).reveal()
    return value


EnvStr = Annotated[str, BeforeValidator(_env_text)]


class ConfigModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, use_attribute_docstrings=True
    )
