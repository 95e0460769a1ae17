#!/usr/bin/env bash
# Checks that the working tree computes byte-identical genomes to a git ref (default: main):
# builds bench_genome_dump (release preset) from the ref in a temporary worktree and from this
# tree, runs both over every file of the public corpus (or the FILEs given) and compares the
# SHA-256 of each serialised genome. Exit 0 when all are identical. Used to check that a
# performance change of src/code/ leaves every genotype unchanged (DBs store them, the
# attribution engine is calibrated on them).
# Usage: bench/genome_identity.sh [REF] [FILE...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
ref=${1:-main}
shift || true
corpus=${STRAIN_CORPUS_DIR:-$HOME/.cache/strain-corpus/public}
if [ "$#" -gt 0 ]; then files=("$@"); else mapfile -t files < <(find "$corpus" -type f | sort); fi
tmp=$(mktemp -d)
trap 'git -C "$here" worktree remove --force "$tmp/ref" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

build() { # SRC_DIR BUILD_DIR
    cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRAIN_TESTS=OFF >/dev/null
    cmake --build "$2" -j2 --target bench_genome_dump >/dev/null
}

git -C "$here" worktree add --detach "$tmp/ref" "$ref" >/dev/null 2>&1
# The dump tool may be newer than the ref: use the working tree's copy in both builds.
cp "$here/bench/bench_genome_dump.c" "$tmp/ref/bench/"
build "$tmp/ref" "$tmp/build-ref"
build "$here" "$here/build/release"
"$tmp/build-ref/bench/bench_genome_dump" "${files[@]}" >"$tmp/ref.txt" || true
"$here/build/release/bench/bench_genome_dump" "${files[@]}" >"$tmp/new.txt" || true
n=$(wc -l <"$tmp/ref.txt")
if diff "$tmp/ref.txt" "$tmp/new.txt" >"$tmp/diff.txt"; then
    echo "identical: $n of $n genomes byte-identical to $ref"
else
    echo "DIFFERENT genomes (ref $ref, < ref, > working tree):"
    cat "$tmp/diff.txt"
    exit 1
fi
