#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build strain, fetch the public
# corpus, build a reference database from it with a few files held out, and attribute the
# held-out files (which strain has never seen) against it, printing the report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
corpus=$(scripts/corpus.sh)
shared=${STRAIN_SHARED_DIR:-$PWD/../shared}
work=build/demo
rm -rf "$work"
mkdir -p "$work"
# Held out: the newest build of three families, and the only Linux build of argon2 (its
# Windows builds stay indexed: same family, other format).
holdout='leveldown@6.1.1@pe32+ usb@2.18.0@pe32+ bufferutil@4.1.0@pe32+ argon2@0.45.1@elf64'
awk -F'\t' -v corpus="$corpus" -v holdout="$holdout" -v out="$work" '
  BEGIN { n = split(holdout, h, " "); for (i = 1; i <= n; i++) skip[h[i]] = 1 }
  NR == 1 { next }
  {
    suffix = ($8 == "pe32") ? "@win32-ia32" : ($8 == "elf64") ? "@linux-x64" : ""
    m = split($5, parts, "/")
    path = corpus "/" $2 "/" $1 "/" $4 suffix "/" parts[m]
    if (($1 "@" $4 "@" $8) in skip) print path > (out "/holdout.txt")
    else print path "\t" $2 "\t" $1 "\t" $8 > (out "/reference.tsv")
  }' "$shared/corpus/public.tsv"
echo "== building the reference database ($(wc -l < "$work/reference.tsv") samples)" >&2
build/release/strain import --db "$work/strain.db" "$work/reference.tsv"
# The clean set: goodware from other npm packages that links the same runtimes (MSVC static
# C/C++ runtimes, N-API glue): its code stops counting as evidence.
clean=$(scripts/clean-set.sh)
mapfile -t cleanfiles < <(find "$clean" -type f | sort)
build/release/strain add --db "$work/strain.db" --clean --quiet --compact "${cleanfiles[@]}"
build/release/strain db stats --db "$work/strain.db"
echo "== attributing $(wc -l < "$work/holdout.txt") held-out files" >&2
mapfile -t queries < "$work/holdout.txt"
build/release/strain query --db "$work/strain.db" "${queries[@]}"
