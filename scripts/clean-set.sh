#!/usr/bin/env bash
# Fetches the clean set (scripts/clean.tsv: goodware that links the runtimes the public corpus
# links, from other npm packages than the corpus's, never committed) into $STRAIN_CLEAN_DIR
# (default ~/.cache/strain-corpus/clean) and prints that directory. `strain add --clean` on
# its files makes their code (MSVC static C/C++ runtimes of VS 2013-2026, N-API glue, glibc
# start-up code) count for nothing as evidence. Uses the corpus's own fetch.sh: same format,
# same sha256 checks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${STRAIN_SHARED_DIR:-$root/../shared}
dest=${STRAIN_CLEAN_DIR:-${STRAIN_CORPUS_CACHE:-$HOME/.cache/strain-corpus}/clean}
sh "$shared/corpus/fetch.sh" "$root/scripts/clean.tsv" "$dest" >&2
echo "$dest"
