#!/usr/bin/env bash
# Fetches the shared public corpus (real third-party binaries, never committed) into
# $STRAIN_CORPUS_DIR (default ~/.cache/strain-corpus/public) and prints that directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${STRAIN_SHARED_DIR:-$root/../shared}
dest=${STRAIN_CORPUS_DIR:-${STRAIN_CORPUS_CACHE:-$HOME/.cache/strain-corpus}/public}
if [[ ! -r "$shared/corpus/public.tsv" ]]; then
  echo "corpus: $shared/corpus/public.tsv not found (set STRAIN_SHARED_DIR)" >&2
  exit 1
fi
sh "$shared/corpus/fetch.sh" "$shared/corpus/public.tsv" "$dest" >&2
echo "$dest"
