"""The errors watchdog raises on purpose; each says whether trying again can help."""

from __future__ import annotations

from dataclasses import dataclass


class WatchdogError(Exception):
    """Base class for errors watchdog raises on purpose."""


# Input errors: a person must fix a file ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One error in an input file, located as file:line:col."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class InputError(WatchdogError):
    """One or more input files are invalid; `problems` lists each with its location."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.path, p.line, p.col))
        super().__init__("\n".join(str(p) for p in self.problems))


class RuleError(InputError):
    """A rule file is invalid."""


class ConfigError(InputError):
    """The ops configuration is invalid."""


# Runtime errors: an outside system misbehaved ------------------------------------------------


class SourceError(WatchdogError):
    """A spend source could not be read this cycle; other sources are unaffected."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class DeliveryError(WatchdogError):
    """A channel failed to deliver; `retryable` says whether trying again could help."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class ActionError(WatchdogError):
    """A change through LiteLLM's API (reset, block, unblock) failed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class StoreError(WatchdogError):
    """The state store could not be opened or migrated."""
