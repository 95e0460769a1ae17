#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build strain, fetch the public
# corpus and report on a real sample from it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
corpus=$(scripts/corpus.sh)
sample="$corpus/level/leveldown/6.1.1/node.napi.node"
build/release/strain info "$sample"
