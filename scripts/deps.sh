#!/usr/bin/env bash
# Installs every Debian package strain's build, tests, fuzzers and benchmarks need.
# Idempotent and quick when everything is present (one dpkg-query, no network).
set -euo pipefail

PACKAGES=(
  # build
  cmake ninja-build pkg-config gcc clang libclang-rt-14-dev
  # libraries
  libzydis-dev libzycore-dev libssl-dev libsqlite3-dev libpq-dev libarchive-dev
  libjansson-dev libyara-dev libmicrohttpd-dev libcmocka-dev
  # fixtures and ground truth for tests
  mingw-w64 gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 python3 python3-pefile ssdeep tlsh-tools
  python3-jsonschema
  osslsigncode sbsigntool openssl yara zip unzip p7zip-full bzip2 xz-utils sqlite3 graphviz
  # PE delay-load fixture: GNU ld 2.40 leaves the delay-import directory empty, lld + llvm-dlltool fill it
  lld llvm
  # ELF fixtures: 32-bit x86 (gcc -m32) and big-endian PowerPC ELF32/ELF64 (as + ld)
  gcc-multilib binutils-powerpc-linux-gnu
  # the public corpus is fetched with npm pack
  npm
  # services for later tests (PostgreSQL store)
  postgresql
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [[ "$status" == "ii " ]] || missing+=("$p")
done

# npm may come from outside Debian (nodejs images ship their own); accept any working npm.
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm}")
fi
read -r -a missing <<< "${missing[*]}"

if ((${#missing[@]} == 0)); then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
