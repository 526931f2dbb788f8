"""What every benchmark shares: result tables, the plan of sizes, memory and machine readings."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

Cell = str | int | float | None

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Plan:
    """Sizes one run covers; `quick` and `full` are the two shipped plans."""

    name: str
    entities: tuple[int, ...]
    rules: tuple[int, ...]
    crossings: int
    """Alert-latency crossings to time."""
    claims: tuple[int, ...]
    """Notices claimed per store measurement."""
    max_budgets: int = 1_000_000
    """Evaluation sizes above this many (rule, entity) pairs are left out (time bound)."""
    naive_keys: int = 20_000
    """At most this many /key/info calls per naive read; beyond, the rest is extrapolated."""
    repeats: int = 3
    """Best of this many runs for the small sizes (CPU figures are noisy)."""
    history: tuple[int, ...] = (1_000, 10_000)
    """Entities whose spend history is measured in memory."""
    readings: int = 100
    """Spend readings per entity in that measurement."""


QUICK = Plan(
    "quick",
    entities=(1_000, 10_000),
    rules=(1, 10),
    crossings=20,
    claims=(1_000,),
    history=(1_000,),
)
FULL = Plan(
    "full",
    entities=(1_000, 10_000, 100_000),
    rules=(1, 10, 100),
    crossings=200,
    claims=(1_000, 10_000),
)
SMOKE = Plan(
    "smoke",
    entities=(1_000,),
    rules=(1,),
    crossings=3,
    claims=(1_000,),
    naive_keys=200,
    repeats=1,
    history=(200,),
    readings=10,
)
"""The smallest run of each benchmark, for the test suite."""


@dataclass
class Table:
    """One benchmark's result: rows of named cells, printed as an aligned text table."""

    title: str
    columns: tuple[str, ...]
    rows: list[dict[str, Cell]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, **cells: Cell) -> None:
        unknown = set(cells) - set(self.columns)
        if unknown:
            raise ValueError(f"{self.title}: unknown columns {sorted(unknown)}")
        self.rows.append({c: cells.get(c) for c in self.columns})

    def render(self) -> str:
        text = [[_cell(row[c]) for c in self.columns] for row in self.rows]
        widths = [max([len(c)] + [len(r[i]) for r in text]) for i, c in enumerate(self.columns)]
        lines = [f"## {self.title}", ""]
        header = (c.ljust(w) for c, w in zip(self.columns, widths, strict=True))
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        lines.extend(
            "| " + " | ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) + " |"
            for r in text
        )
        lines.extend(["", *self.notes] if self.notes else [])
        return "\n".join(lines)


def _cell(value: Cell) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}" if value < 10 else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return value


# Memory --------------------------------------------------------------------------------------


def _status(field_name: str) -> int:
    """A size from /proc/self/status, in bytes (0 where there is no /proc)."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return 0
    found = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.M)
    return int(found[1]) * 1024 if found else 0


def rss() -> int:
    """Resident memory now, in bytes."""
    return _status("VmRSS")


def peak_rss() -> int:
    """The highest resident memory since start (or since `reset_peak_rss`), in bytes."""
    return _status("VmHWM")


def reset_peak_rss() -> None:
    """Start counting the peak afresh (Linux: writing 5 to clear_refs resets VmHWM)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def mb(size: float) -> float:
    return size / 1_000_000


# The machine ---------------------------------------------------------------------------------


def machine() -> Mapping[str, str]:
    """Where the figures were taken: cores, CPU model, memory, Python."""
    cpu = ""
    try:
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = found[1].strip() if found else ""
    except OSError:
        pass
    memory = _meminfo_total()
    return {
        "cores (nproc)": str(os.cpu_count() or 0),
        "CPU": cpu or platform.processor() or "unknown",
        "RAM": f"{memory / 2**30:.1f} GiB" if memory else "unknown",
        "Python": platform.python_version(),
        "OS": f"{platform.system()} {platform.release()}",
    }


def speed() -> float:
    """Milliseconds of CPU a fixed pure-Python workload takes, best of 5: how fast this machine
    runs Python at the moment. Shared machines of one kind vary by up to a half within an
    hour, so a run's figures are comparable with another's only next to this."""
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        rows = [(i * 7919 % 1000, str(i), Decimal(i) / 7) for i in range(20_000)]
        rows.sort()
        best = min(best, time.process_time() - start)
    return best * 1000


def _meminfo_total() -> int:
    try:
        found = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    except OSError:
        return 0
    return int(found[1]) * 1024 if found else 0


def describe(info: Mapping[str, str]) -> str:
    return "\n".join(f"- {k}: {v}" for k, v in info.items())


# Results files -------------------------------------------------------------------------------


def from_results(record: Mapping[str, object]) -> str:
    """Markdown for a bench/results/<plan>.json record: the machine, then every table."""
    info = record.get("machine")
    tables = record.get("tables")
    assert isinstance(info, dict)
    assert isinstance(tables, list)
    parts = [f"Plan `{record.get('plan')}`, {record.get('taken')}, on:\n\n{describe(info)}"]
    for saved in tables:
        rows: list[dict[str, Cell]] = saved["rows"]
        columns = tuple(rows[0]) if rows else ()
        parts.append(Table(saved["title"], columns, rows, list(saved["notes"])).render())
    return "\n\n".join(parts)


if __name__ == "__main__":
    import json
    import sys

    for name in sys.argv[1:] or [str(ROOT / "bench" / "results" / "full.json")]:
        print(from_results(json.loads(Path(name).read_text())))
