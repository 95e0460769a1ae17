#!/usr/bin/env bash
# Query cost against the public-corpus index versus `strain genes` on the same sample (the
# issue's target: at most 1.5x). CPU seconds (user + sys) of whole processes, RUNS runs per
# sample timed together and divided (the clock ticks in 10 ms: one run of a small file reads
# 0.01 or 0.02 s), so start-up and database opening are counted against strain query.
# usage: bench/query_speed.sh STRAIN DB FILE...
set -euo pipefail
strain=$1; db=$2; shift 2
runs=${RUNS:-20}
cpu() { # command...: CPU seconds per run over $runs runs
    /usr/bin/time -f "%U %S" bash -c 'n=$1; shift; for ((i = 0; i < n; i++)); do "$@" >/dev/null; done' \
        _ "$runs" "$@" 2>&1 | tail -1 | awk -v n="$runs" '{print ($1 + $2) / n}'
}
printf "%-60s %10s %10s %7s\n" "sample" "genes s" "query s" "ratio"
for f in "$@"; do
    g=$(cpu "$strain" genes "$f")
    q=$(cpu "$strain" query --db "$db" "$f")
    printf "%-60s %10.3f %10.3f %7.2f\n" "${f#"$HOME"/.cache/strain-corpus/public/}" "$g" "$q" \
        "$(awk -v a="$q" -v b="$g" 'BEGIN {print (b > 0 ? a / b : 0)}')"
done
