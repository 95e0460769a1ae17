#!/usr/bin/env bash
# bench/info.sh [REPS]: throughput of `strain info --json` over the public corpus, beside the
# reference `ssdeep` and `tlsh` tools hashing the same files in the same run, so the figures
# are comparable on whatever machine runs it. Each tool runs REPS times (default 5) on a warm
# page cache; the median wall time gives MB/s (MB = 10^6 bytes) and the ratios to strain.
#
# strain info does far more than either baseline (md5, sha1, sha256, ssdeep, TLSH, PE/ELF
# parse, imphash, strings, indicators, JSON), so a ratio near 1 means the extra work is cheap.
# Uses the release build (cmake --preset release), built here if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
corpus=${STRAIN_CORPUS_DIR:-$HOME/.cache/strain-corpus/public}
bin=${STRAIN_BIN:-build/release/strain}
if [[ ! -x $bin ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release -j2 --target strain >/dev/null
fi
mapfile -t files < <(find "$corpus" -type f | LC_ALL=C sort)
((${#files[@]} > 0)) || { echo "no corpus under $corpus" >&2; exit 1; }
bytes=$(cat "${files[@]}" | wc -c)
cat "${files[@]}" >/dev/null # warm the page cache

# wall seconds taken by "$@" (stdout discarded), to the nanosecond; the CPU seconds
# (user+sys, from GNU time) go to $cpu_file: on a shared machine wall time includes waiting
# for a core, CPU time does not, so both are reported.
cpu_file=$(mktemp)
trap 'rm -f "$cpu_file"' EXIT
elapsed() {
  local s e
  s=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$cpu_file" "$@" >/dev/null
  e=$(date +%s.%N)
  echo "$e - $s" | bc -l
}

median() { printf '%s\n' "$@" | LC_ALL=C sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }

declare -A med cmed
run() {
  local name=$1; shift
  local t=() c=()
  "$@" >/dev/null # warm-up, not timed
  for ((i = 0; i < reps; i++)); do
    t+=("$(elapsed "$@")")
    c+=("$(awk '{print $1 + $2}' "$cpu_file")")
  done
  med[$name]=$(median "${t[@]}")
  cmed[$name]=$(median "${c[@]}")
  printf '%-20s wall %7.3f s %7.1f MB/s | cpu %7.3f s %7.1f MB/s | wall runs: %s\n' "$name" \
    "${med[$name]}" "$(echo "$bytes / ${med[$name]} / 1000000" | bc -l)" \
    "${cmed[$name]}" "$(echo "$bytes / ${cmed[$name]} / 1000000" | bc -l)" "${t[*]}"
}

echo "corpus: ${#files[@]} files, $bytes bytes; $reps runs each; $(nproc) cores; $(date -u +%FT%TZ)"
echo "strain: $bin ($("$bin" --version)); $(ssdeep -V 2>&1 | head -1 | sed 's/^/ssdeep /'); tlsh $(tlsh -version 2>&1 | head -1)"
run "strain info --json" "$bin" info --json "${files[@]}"
run "ssdeep -b" ssdeep -b "${files[@]}"
run "tlsh -r" tlsh -r "$corpus"
s="strain info --json"
printf 'time ratio strain/ssdeep: wall %.2f, cpu %.2f; strain/tlsh: wall %.2f, cpu %.2f\n' \
  "$(echo "${med[$s]} / ${med[ssdeep -b]}" | bc -l)" "$(echo "${cmed[$s]} / ${cmed[ssdeep -b]}" | bc -l)" \
  "$(echo "${med[$s]} / ${med[tlsh -r]}" | bc -l)" "$(echo "${cmed[$s]} / ${cmed[tlsh -r]}" | bc -l)"
