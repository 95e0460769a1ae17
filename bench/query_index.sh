#!/usr/bin/env bash
# The read index's effect on query cost (docs/store.md): per file, CPU of `strain genes`,
# of `strain query` against DB (compacted, so its read index is current) and against a copy
# of DB without the index (the same tables, read through SQLite), in alternating rounds.
# CPU is perf's task-clock (ms per run, RUNS runs each) when perf is there, else user+sys
# from /usr/bin/time (10 ms ticks: use more runs). Prints ms and ratios to genes.
# usage: bench/query_index.sh STRAIN DB FILE...
set -euo pipefail
strain=$1; db=$2; shift 2
runs=${RUNS:-20}
rounds=${ROUNDS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[[ -f "$db-index" ]] || { echo "query_index: $db has no read index (run strain db compact)" >&2; exit 1; }
cp "$db" "$tmp/noidx.db"
"$strain" db stats --db "$db" | grep -q "read index .*current" ||
    { echo "query_index: the read index of $db is stale (run strain db compact)" >&2; exit 1; }
cpu() { # command...: CPU ms per run
    if command -v perf >/dev/null 2>&1; then
        perf stat -x, -e task-clock -r "$runs" "$@" 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}'
    else
        /usr/bin/time -f "%U %S" bash -c 'n=$1; shift; for ((i = 0; i < n; i++)); do "$@" >/dev/null; done' \
            _ "$runs" "$@" 2>&1 | tail -1 | awk -v n="$runs" '{print 1000 * ($1 + $2) / n}'
    fi
}
printf "%-48s %5s %9s %9s %9s %7s %7s\n" sample round genes_ms idx_ms tables_ms idx/g tab/g
for f in "$@"; do
    for ((r = 1; r <= rounds; r++)); do
        g=$(cpu "$strain" genes "$f")
        q=$(cpu "$strain" query --db "$db" "$f")
        t=$(cpu "$strain" query --db "$tmp/noidx.db" "$f")
        printf "%-48s %5d %9.2f %9.2f %9.2f %7.2f %7.2f\n" \
            "$(echo "$f" | awk -F/ '{print $(NF-3) "/" $(NF-2) "/" $(NF-1)}')" "$r" "$g" "$q" "$t" \
            "$(awk -v a="$q" -v b="$g" 'BEGIN {print a / b}')" "$(awk -v a="$t" -v b="$g" 'BEGIN {print a / b}')"
    done
done
