"""Run every benchmark for one plan; print the tables and the machine, and keep them as JSON.

`python -m bench.run [quick|full|smoke]` writes bench/results/<plan>.json and prints markdown
ready for bench/README.md.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime

from bench import cycle, eval_core, history_memory, latency, store_claims
from bench.table import FULL, QUICK, ROOT, SMOKE, Plan, Table, describe, machine, speed

PLANS = {p.name: p for p in (QUICK, FULL, SMOKE)}


async def run_all(plan: Plan) -> tuple[list[Table], str]:
    """Every table, and the machine's speed before and after the evaluation benchmark."""
    before = speed()
    tables = [eval_core.measure(plan)]
    after = speed()
    tables.append(await cycle.measure(plan))
    tables.append(await latency.measure(plan))
    tables.append(await store_claims.measure(plan))
    tables.append(await history_memory.measure(plan))
    return tables, f"{before:.1f} ms before the evaluation, {after:.1f} ms after"


def main() -> None:
    plan = PLANS[sys.argv[1] if len(sys.argv) > 1 else "quick"]
    tables, pace = asyncio.run(run_all(plan))
    info = {**machine(), "speed (a fixed Python workload; smaller is faster)": pace}
    taken = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    record = {
        "plan": plan.name,
        "taken": taken,
        "machine": dict(info),
        "tables": [{"title": t.title, "rows": t.rows, "notes": t.notes} for t in tables],
    }
    (results / f"{plan.name}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"Plan `{plan.name}`, {taken}, on:\n\n{describe(info)}\n")
    print("\n\n".join(t.render() for t in tables))


if __name__ == "__main__":
    main()
