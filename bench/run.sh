#!/usr/bin/env bash
# Run the benchmarks: bench/run.sh (full plan, ~10 min) or bench/run.sh --quick (~1 min).
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth) for the store figures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev >/dev/null
plan=full
if [ "${1:-}" = "--quick" ]; then plan=quick; fi
exec .venv/bin/python -m bench.run "$plan"
