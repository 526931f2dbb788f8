"""A daemon loads the libraries of the integrations its config uses, and no others."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OPTIONAL = ("asyncpg", "slack_sdk", "aiosmtplib", "prometheus_api_client", "requests")
"""Libraries of the PostgreSQL store, Slack and email channels and the Prometheus source."""

PROBE = """
import asyncio, sys
from watchdog.service import open_daemon

async def main() -> None:
    async with open_daemon(sys.argv[1], env={}, configure_logs=False) as daemon:
        await daemon.cycle()
    print(",".join(m for m in sys.argv[2:] if m in sys.modules))

asyncio.run(main())
"""


def test_an_embedded_daemon_with_a_console_channel_loads_no_optional_library(
    tmp_path: Path,
) -> None:
    """Each optional library costs memory (about 12 MB together) in every replica: a daemon
    on the embedded store, with a console channel and LiteLLM's data, loads none of them."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "budgets.yaml").write_text(
        "budgets:\n  - name: Every key\n    scope: key\n    match: '*'\n    amount: 10\n"
    )
    snapshot = Path(__file__).resolve().parents[2] / "examples" / "snapshot.json"
    config = tmp_path / "watchdog.yaml"
    config.write_text(
        f"snapshot_file: {snapshot}\nrules: [{rules}]\nstate_file: {tmp_path / 'state.db'}\n"
        "channels:\n  ops: {type: console}\nrouting:\n  default: [ops]\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(config), *OPTIONAL],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
