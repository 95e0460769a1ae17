#!/usr/bin/env bash
# Throughput of strain's ssdeep and TLSH against the reference CLIs (ssdeep 2.14.1, tlsh 3.4.4)
# over the same files, in one script: prints a markdown table of MB/s and ratios.
#
#   bench/hash.sh [DIR] [ROUNDS]     DIR defaults to the public corpus, ROUNDS to 3
#
# Every side reads each file from disk (page cache, warmed first) and hashes it; ssdeep runs
# as one process over all files, tlsh as one `tlsh -r DIR`. Times are the CPU time
# (user + sys) of the processes: the machine is shared, so wall time measures the neighbours.
# Needs a release build: cmake --preset release && cmake --build --preset release.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-${STRAIN_CORPUS_DIR:-$HOME/.cache/strain-corpus/public}}
rounds=${2:-3}
bench=${BENCH_HASH:-$here/build/release/bench/bench_hash}
[ -x "$bench" ] || { echo "build $bench first (release preset)" >&2; exit 1; }
command -v ssdeep >/dev/null && command -v tlsh >/dev/null ||
    { echo "needs the ssdeep and tlsh CLIs" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
find "$dir" -type f -print0 | sort -z > "$tmp/files0"
tr '\0' '\n' < "$tmp/files0" > "$tmp/files"
nfiles=$(wc -l < "$tmp/files")
bytes=$(xargs -0 cat < "$tmp/files0" | wc -c) # also warms the page cache

# CPU seconds (user + sys) of a command and its children.
cpu() {
    /usr/bin/time -f '%U %S' -o "$tmp/t" "$@" > /dev/null 2>&1 || true
    awk '{ printf "%.3f", $1 + $2 }' "$tmp/t"
}

ss_cli=0
tl_cli=0
for _ in $(seq "$rounds"); do
    s=$(cpu sh -c "xargs -0 ssdeep -s < '$tmp/files0'")
    t=$(cpu tlsh -r "$dir")
    ss_cli=$(awk -v a="$ss_cli" -v b="$s" 'BEGIN { print a + b }')
    tl_cli=$(awk -v a="$tl_cli" -v b="$t" 'BEGIN { print a + b }')
done
"$bench" -n "$rounds" < "$tmp/files" > "$tmp/strain"
ss_ours=$(awk '$1 == "strain-ssdeep" { print $3 }' "$tmp/strain")
tl_ours=$(awk '$1 == "strain-tlsh" { print $3 }' "$tmp/strain")

mbps() { awk -v b="$bytes" -v r="$rounds" -v s="$1" 'BEGIN { printf "%.1f", b * r / 1e6 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }

echo "files: $nfiles, bytes: $bytes, rounds: $rounds (CPU seconds, user + sys)"
echo
echo "| hash | strain MB/s | CLI MB/s | strain / CLI |"
echo "| --- | ---: | ---: | ---: |"
echo "| ssdeep (vs ssdeep 2.14.1 -s) | $(mbps "$ss_ours") | $(mbps "$ss_cli") | $(ratio "$ss_ours" "$ss_cli") |"
echo "| TLSH (vs tlsh 3.4.4 -r) | $(mbps "$tl_ours") | $(mbps "$tl_cli") | $(ratio "$tl_ours" "$tl_cli") |"
