#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run the whole suite.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --dev

# The e2e suite's Prometheus (the LiteLLM peer installs its own PostgreSQL and Node.js).
if ! command -v prometheus >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
fi
export WATCHDOG_HELM="${WATCHDOG_HELM:-$(scripts/fetch-helm.sh)}"  # the chart tests (tests/helm)
# Everything above is installed, so a missing tool is a failure here, never a skip.
export WATCHDOG_REQUIRE_ALL="${WATCHDOG_REQUIRE_ALL:-1}"
exec .venv/bin/pytest "$@"
