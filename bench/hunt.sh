#!/bin/bash
# Hunt throughput over the public corpus beside the yara CLI scanning the same files with a
# rule strain generated (keccak, two versions, secp256k1 excluded). Both use 2 threads
# (the machine's cores). Prints a Markdown table row per tool; wall and CPU (user + sys) time.
# The hunt runs raw and with the clean set ($STRAIN_CLEAN_DIR, default the clean-set.sh cache).
# The retrohunt (`hunt --db`) runs against a database of the same corpus indexed first (its
# indexing time is printed apart): its MB/s is the corpus size over its time, for comparison.
# usage: bench/hunt.sh [STRAIN_BIN] [CORPUS_DIR]
set -euo pipefail
B="${1:-build/dev/strain}"
C="${2:-$HOME/.cache/strain-corpus/public}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
K="$C/cryptocoinjs/keccak"
"$B" yara "$K/3.0.0/node.napi.node" "$K/3.0.2/node.napi.node" --name keccak \
    --exclude "$C/cryptocoinjs/secp256k1" >"$T/rule.yar" 2>/dev/null
bytes=$(find "$C" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
files=$(find "$C" -type f | wc -l)
cat "$C"/*/*/*/* >/dev/null # page cache
run() { # label, command...
    local label=$1
    shift
    /usr/bin/time -f "%e %U %S" -o "$T/time" "$@" >"$T/out" 2>/dev/null || true
    read -r wall user sys <"$T/time"
    awk -v l="$label" -v b="$bytes" -v w="$wall" -v u="$user" -v s="$sys" -v h="$(wc -l <"$T/out")" \
        'BEGIN { printf "| %s | %.1f | %.1f | %.1f | %.1f | %d |\n", l, w, u + s, b / 1e6 / w, b / 1e6 / (u + s), h }'
}
echo "files: $files, bytes: $bytes"
echo
echo "| tool | wall s | CPU s | MB/s (wall) | MB/s (CPU) | output lines |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
run "strain hunt (1 seed, genomes + compare, 2 threads)" "$B" hunt "$K/3.0.0/node.napi.node" \
    --in "$C" --threads 2 --json
# With the clean set (scripts/clean-set.sh), as analysts hunt: its code and strings count for
# nothing, so the runtime's strings stop making every addon a hit.
CLEAN_DIR="${STRAIN_CLEAN_DIR:-$HOME/.cache/strain-corpus/clean}"
if [ -d "$CLEAN_DIR" ]; then
    run "strain hunt, same, --clean (the $(find "$CLEAN_DIR" -type f | wc -l)-file clean set)" "$B" \
        hunt "$K/3.0.0/node.napi.node" --in "$C" --threads 2 --json --clean "$CLEAN_DIR"
fi
run "yara -p 2 (generated rule, $(grep -c "\$f" "$T/rule.yar") hex strings)" yara -r -p 2 "$T/rule.yar" "$C"
DB="$T/corpus.db"
/usr/bin/time -f "%e" -o "$T/itime" bash -c 'for d in "$2"/*/*; do
    "$1" add --db "$3" --quiet -j2 --actor "$(basename "$(dirname "$d")")" --family "$(basename "$d")" "$d"
done' _ "$B" "$C" "$DB"
run "strain hunt --db (1 seed, retrohunt of the indexed corpus)" "$B" hunt "$K/3.0.0/node.napi.node" \
    --db "$DB" --json
echo
echo "indexing the corpus for the retrohunt (strain add -j2, per family): $(cat "$T/itime") s"
