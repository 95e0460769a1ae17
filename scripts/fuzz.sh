#!/usr/bin/env bash
# scripts/fuzz.sh BUILD_DIR SECONDS: runs every libFuzzer harness in BUILD_DIR for SECONDS
# each, starting from its seed corpus (copied, so new inputs stay out of the repo). A crash
# fails the run and leaves the crashing input in build/fuzz-artifacts/ to commit as a
# regression input under fuzz/corpus/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1
seconds=$2
art=build/fuzz-artifacts
mkdir -p "$art"
shopt -s nullglob
ran=0
for bin in "$build"/fuzz/*_fuzzer; do
  name=$(basename "$bin")
  target=${name%_fuzzer}
  work=$(mktemp -d)
  if [[ -d fuzz/corpus/$target ]]; then cp -r "fuzz/corpus/$target/." "$work/"; fi
  echo "fuzz: $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
       -artifact_prefix="$art/$target-" -print_final_stats=1 "$work" >"$art/$target.log" 2>&1; then
    tail -n 40 "$art/$target.log" >&2
    echo "fuzz: $name FAILED (input in $art)" >&2
    rm -rf "$work"
    exit 1
  fi
  grep -E '^stat::number_of_executed_units' "$art/$target.log" | sed "s/^/fuzz: $name /" || true
  rm -rf "$work"
  ran=$((ran + 1))
done
# A harness directory with nothing in it means the fuzz build or this path is wrong: fail
# loudly rather than report a fuzzing run that fuzzed nothing.
if ((ran == 0)); then
  echo "fuzz: no *_fuzzer binaries in $build/fuzz" >&2
  exit 1
fi
echo "fuzz: $ran harnesses ran ${seconds}s each"
