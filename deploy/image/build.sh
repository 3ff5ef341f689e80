#!/usr/bin/env bash
# Builds the worker image offline (CI, or any host without a registry): the base from
# offline-base.sh, then the root Dockerfile with no network. Usage: deploy/image/build.sh [TAG]
# (default strata:local). Later builds reuse every cached layer whose inputs did not change.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tag=${1:-strata:local}
eval "$(bash "$repo/deploy/image/offline-base.sh")"
echo "[image] docker build -t $tag (BASE=$BASE BUILD_BASE=$BUILD_BASE)" >&2
docker build --network=none --build-arg "BASE=$BASE" --build-arg "BUILD_BASE=$BUILD_BASE" -t "$tag" "$repo" >&2
echo "$tag"
