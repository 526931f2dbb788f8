"""Request attributes a dimension budget can count: LiteLLM's own fields and chosen headers. Pure.

LiteLLM reports each request with its model, key, team, user, end user and tags; watchdog also
keeps the request headers the ops config names (`http.callback_headers`). A rule's `dimension:`
names one of these: a built-in name, or a header by its full name (`X-Department`) or without
the `X-` prefix (`department`) when that does not clash with a built-in name.
"""

from __future__ import annotations

from collections.abc import Iterable

BUILTIN = ("model", "key", "team", "user", "end_user", "tag")
"""Attributes every LiteLLM callback carries, as stored."""
_ALIASES = {
    "customer": "end_user",
    "end-user": "end_user",
    "enduser": "end_user",
    "tags": "tag",
    "models": "model",
    "api_key": "key",
    "user_id": "user",
    "team_id": "team",
}
DEFAULT_HEADERS = (
    "X-Department",
    "X-Team",
    "X-Agent",
    "X-OpenWebUI-User-Id",
    "X-OpenWebUI-User-Email",
)
HEADER_PREFIX = "header:"


def header_key(header: str) -> str:
    """How a header's values are stored: "header:x-department"."""
    return HEADER_PREFIX + header.strip().lower()


def short_name(header: str) -> str:
    """The name a rule may use for a header: "X-Department" → "department"."""
    lowered = header.strip().lower()
    return lowered.removeprefix("x-")


def resolve(name: str, headers: Iterable[str]) -> str | None:
    """The stored key for a rule's `dimension:` (None when it names nothing known)."""
    wanted = name.strip().lower()
    builtin = _ALIASES.get(wanted, wanted)
    if builtin in BUILTIN:
        return builtin
    for header in headers:
        full = header.strip().lower()
        if wanted in (full, short_name(full), short_name(full).replace("-", "_")):
            return header_key(header)
    return None


def accepted(headers: Iterable[str]) -> str:
    """The names a rule may use, for error messages."""
    names = tuple(headers)
    shown = [short_name(h) for h in names if short_name(h) not in BUILTIN]
    full = [h for h in names if short_name(h) in BUILTIN]
    return ", ".join([*BUILTIN, *shown, *full])


def title(key: str) -> str:
    """A stored key as people read it: "header:x-department" → "X-Department"."""
    if key.startswith(HEADER_PREFIX):
        return "-".join(part.capitalize() for part in key[len(HEADER_PREFIX) :].split("-"))
    return key.replace("_", " ")
