#!/usr/bin/env bash
# Idempotent set-up: a virtualenv in .venv with watchdog installed.
#   scripts/setup.sh          runtime only
#   scripts/setup.sh --dev    plus test and lint tools, and the system packages tests use
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true

if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install --quiet -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
else
  .venv/bin/python -m pip install --quiet -e . 2>&1 | grep -v '^WARNING: Location' || true
fi
.venv/bin/python -c 'import watchdog' >/dev/null
