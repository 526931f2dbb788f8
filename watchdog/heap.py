"""How the C allocator hands memory back: large blocks go back to the system when freed.

A cycle at scale builds and drops big tables (a dict of every key, a list per rule) that
glibc's malloc serves with their own mappings and unmaps when freed. But each such free also
raises glibc's threshold for the next large blocks (up to 32 MiB), which then come from the
heap and stay resident once freed. Over a few cycles at 100k entities that held 15 MB.
Fixing the threshold keeps large blocks in their own mappings.

Set `MALLOC_MMAP_THRESHOLD_` in the environment to choose another threshold: it is then left
as glibc read it. Other C libraries (musl, macOS) are left alone.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

LARGE = 256 * 1024
"""Blocks from this size on get mappings of their own (glibc starts at 128 KiB and moves up).
A response page of LiteLLM's lists (about 230 KB for 100 keys) stays below the threshold
that matters: the tables of a whole scope (1 to 5 MB) are what the heap kept."""

_M_MMAP_THRESHOLD = -3
"""`mallopt`'s parameter number in glibc's malloc.h."""


def settle_large_blocks(env: Mapping[str, str] | None = None) -> bool:
    """Fix glibc's threshold for mapping large blocks at `LARGE`; True when it was set."""
    environ = os.environ if env is None else env
    if "MALLOC_MMAP_THRESHOLD_" in environ:
        log.debug("malloc's threshold is left as the environment sets it")
        return False
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    done = bool(mallopt(_M_MMAP_THRESHOLD, LARGE))
    log.debug("malloc maps blocks of %d bytes and more: %s", LARGE, done)
    return done


def _glibc_mallopt() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols: the C library it runs on
        libc.gnu_get_libc_version  # noqa: B018 - glibc's own: absent from musl
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    found: Callable[[int, int], int] = mallopt
    return found
