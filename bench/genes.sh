#!/usr/bin/env bash
# Benchmark `strain genes`: throughput beside a plain Zydis decode loop (bench_genes, same
# process, same bytes), then peak RSS of the CLI per file against the budget
# 8 x file size + 64 MB. Uses the release preset. Usage: bench/genes.sh [FILE...]
# (default: every PE/ELF x86/x64 file of the public corpus).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
cmake --preset release >/dev/null
cmake --build --preset release -j2 --target bench_genes strain >/dev/null
corpus=${STRAIN_CORPUS_DIR:-$HOME/.cache/strain-corpus/public}
if [ "$#" -gt 0 ]; then files=("$@"); else mapfile -t files < <(find "$corpus" -type f | sort); fi
echo "## bench_genes (release build, $(date -u +%Y-%m-%d), $(nproc) cores, one used)"
build/release/bench/bench_genes -n 3 "${files[@]}"
echo
echo "## peak RSS of 'strain genes' (budget: 8 x file + 64 MB)"
worst=0
for f in "${files[@]}"; do
    size=$(stat -c %s "$f")
    rss_kb=$( { /usr/bin/time -f '%M' build/release/strain genes "$f" >/dev/null; } 2>&1 | tail -1)
    budget_kb=$(( (8 * size) / 1024 + 65536 ))
    pct=$(( 100 * rss_kb / budget_kb ))
    [ "$pct" -gt "$worst" ] && worst=$pct
    printf '%-70s %8d KB file %8d KB peak %3d%% of budget\n' "${f: -70}" $((size / 1024)) "$rss_kb" "$pct"
done
echo "worst: ${worst}% of budget"
