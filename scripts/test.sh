#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run the whole suite.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --dev

# System packages: Prometheus for the e2e suite, Chromium for the status page's browser test
# (the LiteLLM peer installs its own PostgreSQL and Node.js).
missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
export WATCHDOG_HELM="${WATCHDOG_HELM:-$(scripts/fetch-helm.sh)}"  # the chart tests (tests/helm)
# Everything above is installed, so a missing tool is a failure here, never a skip.
export WATCHDOG_REQUIRE_ALL="${WATCHDOG_REQUIRE_ALL:-1}"
exec .venv/bin/pytest "$@"
