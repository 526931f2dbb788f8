"""The C allocator keeps large blocks in mappings of their own once the daemon settles it."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

from watchdog.heap import settle_large_blocks

_PROBE = """
import ctypes, sys
from watchdog.heap import LARGE, settle_large_blocks

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost")
                .split()]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "settle":
    assert settle_large_blocks(env={})
big = bytearray(4 * 2**20)
del big
before = libc.mallinfo2().hblks
block = bytearray(2 * LARGE)
print(libc.mallinfo2().hblks - before)
"""


def _mapped_after_a_larger_free(mode: str) -> int:
    """In a process of its own (a heap with free room would serve the block whatever the
    threshold): blocks newly mapped for one block of twice `LARGE`, allocated just after a
    4 MiB block was freed."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(ctypes.CDLL(None), "mallinfo2"),
    reason="glibc's malloc only",
)


@glibc
def test_a_large_block_is_mapped_even_after_a_larger_one_was_freed() -> None:
    """Left as it starts, freeing a 4 MiB block moves glibc's threshold up to 4 MiB, and
    the next large block comes from the heap (and stays resident once freed)."""
    assert _mapped_after_a_larger_free("settle") == 1
    assert _mapped_after_a_larger_free("leave") == 0


@glibc
def test_a_threshold_set_in_the_environment_is_left_alone() -> None:
    assert not settle_large_blocks(env={"MALLOC_MMAP_THRESHOLD_": "65536"})


def test_elsewhere_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not settle_large_blocks(env={})
