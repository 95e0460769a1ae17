#!/usr/bin/env bash
# Store benchmark (bench/bench_store.c): insert rate of synthetic samples with ~2,000
# postings each, one transaction per sample (what `strain add` does) and 100 per transaction
# (bulk import), latency of 5,000-key lookup batches at 10k samples and at 100k samples, and
# bytes on disk per sample. Usage: bench/store.sh [BUILD_DIR] [WORK_DIR]
# Builds nothing: run `cmake --preset release && cmake --build --preset release` first.
set -euo pipefail
build=${1:-build/release}
work=${2:-$(mktemp -d /tmp/strain-bench-store.XXXXXX)}
b=$build/bench/bench_store
[ -x "$b" ] || { echo "no $b: build the release preset first" >&2; exit 2; }
mkdir -p "$work"
rm -f "$work"/s10k.db* "$work"/s100k.db*
echo "# $(date -u +%FT%TZ) $(uname -m) $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
# 10k samples x 2,000 postings: the first 1,000 one transaction each, the rest in batches.
"$b" add "$work/s10k.db" 0 1000 2000 1
"$b" add "$work/s10k.db" 1000 10000 2000 100
"$b" query "$work/s10k.db" 10000 9
# One transaction per sample again, now that the database is 10k samples large.
"$b" add "$work/s10k.db" 10000 10200 2000 1
"$b" size "$work/s10k.db"
# 100k samples: 200 postings each (the same 20M postings as above: 100k x 2,000 would be
# 200M postings, hours of insertion on this machine), so lookups see 10x the samples.
"$b" add "$work/s100k.db" 0 100000 200 1000
"$b" query "$work/s100k.db" 100000 9
"$b" size "$work/s100k.db"
rm -f "$work"/s10k.db* "$work"/s100k.db*
