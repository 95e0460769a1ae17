#!/usr/bin/env bash
# Query cost against the public-corpus index versus `strain genes` on the same sample (the
# issue's target: at most 1.5x). CPU seconds (user + sys) of whole processes, median of
# RUNS runs per sample, so start-up and database opening are counted against strain query.
# usage: bench/query_speed.sh STRAIN DB FILE...
set -euo pipefail
strain=$1; db=$2; shift 2
runs=${RUNS:-5}
cpu() { /usr/bin/time -f "%U %S" "$@" 2>&1 >/dev/null | tail -1 | awk '{print $1 + $2}'; }
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
printf "%-60s %10s %10s %7s\n" "sample" "genes s" "query s" "ratio"
for f in "$@"; do
    g=$(for i in $(seq "$runs"); do cpu "$strain" genes "$f"; done | median)
    q=$(for i in $(seq "$runs"); do cpu "$strain" query --db "$db" "$f"; done | median)
    printf "%-60s %10.3f %10.3f %7.2f\n" "${f#"$HOME"/.cache/strain-corpus/public/}" "$g" "$q" \
        "$(awk -v a="$q" -v b="$g" 'BEGIN {print (b > 0 ? a / b : 0)}')"
done
