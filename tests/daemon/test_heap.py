"""The C allocator keeps large blocks in mappings of their own once the daemon settles it."""

from __future__ import annotations

import ctypes
import sys

import pytest

from watchdog.heap import LARGE, settle_large_blocks


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _mapped_blocks() -> int:
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _MallInfo2
    info: _MallInfo2 = libc.mallinfo2()
    return int(info.hblks)


glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(ctypes.CDLL(None), "mallinfo2"),
    reason="glibc's malloc only",
)


@glibc
def test_a_large_block_is_mapped_even_after_a_larger_one_was_freed() -> None:
    """Unsettled, freeing a 4 MiB block moves glibc's threshold up to 4 MiB, and the next
    1 MiB block would come from the heap (and stay resident once freed)."""
    assert settle_large_blocks(env={})
    big = bytearray(4 * 2**20)
    del big
    before = _mapped_blocks()
    block = bytearray(2 * LARGE)
    assert _mapped_blocks() == before + 1
    del block
    assert _mapped_blocks() == before


@glibc
def test_a_threshold_set_in_the_environment_is_left_alone() -> None:
    assert not settle_large_blocks(env={"MALLOC_MMAP_THRESHOLD_": "65536"})


def test_elsewhere_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not settle_large_blocks(env={})
