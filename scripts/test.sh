#!/usr/bin/env bash
# The one command that sets up and runs every test (README; .ci/run calls it verbatim):
# dependencies, the public corpus, a -Werror debug build and an ASan+UBSan build, brief
# libFuzzer runs of every harness, then ctest on both builds. Exits non-zero on any failure;
# the last lines are ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/deps.sh
export STRAIN_SHARED_DIR=${STRAIN_SHARED_DIR:-$root/../shared}
STRAIN_CORPUS_DIR=$(scripts/corpus.sh)
export STRAIN_CORPUS_DIR STRAIN_REQUIRE_CORPUS=1
STRAIN_CLEAN_DIR=$(scripts/clean-set.sh)
export STRAIN_CLEAN_DIR
# Authenticode ground truth: Debian's signed EFI images listed in signed.tsv.
export STRAIN_SIGNED_DIR=${STRAIN_SIGNED_DIR:-${STRAIN_CORPUS_CACHE:-$HOME/.cache/strain-corpus}/signed}
sh "$STRAIN_SHARED_DIR/corpus/fetch-debian-signed.sh" "$STRAIN_SHARED_DIR/corpus/signed.tsv" \
   "$STRAIN_SIGNED_DIR" >&2

common=(-DSTRAIN_WERROR=ON -DSTRAIN_CORPUS_DIR="$STRAIN_CORPUS_DIR"
        -DSTRAIN_SHARED_DIR="$STRAIN_SHARED_DIR" -DSTRAIN_CLEAN_DIR="$STRAIN_CLEAN_DIR")
for preset in dev asan fuzz; do
  cmake --preset "$preset" "${common[@]}" >/dev/null
  cmake --build --preset "$preset"
done

scripts/fuzz.sh build/fuzz "${STRAIN_FUZZ_SECONDS:-20}"

ctest --preset asan
ctest --preset dev
