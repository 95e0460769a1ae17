#!/bin/bash
# The hunt/cluster/yara commands end to end, checked with independent tools:
#  - `strain yara` on two keccak versions (secp256k1, same actor, excluded): the rule is
#    scanned with the yara CLI over the whole corpus; it must hit every keccak version and
#    nothing else;
#  - `strain hunt --json` (JSON Lines, parsed with python3) from a keccak seed over the
#    cryptocoinjs directory and a zip of it, with the clean set: each keccak version is found
#    both as a file and as an archive member, and nothing else;
#  - `strain cluster --dot` renders with graphviz `dot`.
set -euo pipefail
C="${STRAIN_CORPUS_DIR:?}"
B="${STRAIN_BIN:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
K="$C/cryptocoinjs/keccak"
if [ ! -d "$K" ]; then
    echo "corpus missing: skip"
    exit 0
fi
"$B" yara "$K/3.0.0/node.napi.node" "$K/3.0.2/node.napi.node" --name keccak --family keccak \
    --actor cryptocoinjs --exclude "$C/cryptocoinjs/secp256k1" >"$T/k.yar"
yara -r "$T/k.yar" "$C" | awk '{print $2}' | sort >"$T/hits"
find "$K" -type f | sort >"$T/want"
diff "$T/want" "$T/hits"
echo "yara CLI: generated rule hits exactly the $(wc -l <"$T/want") keccak files"

"$B" cluster "$C/cryptocoinjs" --dot "$T/c.dot" --svg "$T/c.svg" >"$T/cluster.txt"
grep -q "<svg" "$T/c.svg"
dot -Tplain "$T/c.dot" >/dev/null
echo "cluster: DOT renders"

(cd "$C" && zip -qr "$T/cc.zip" cryptocoinjs)
# The clean set's code and strings count for nothing: without it, the MSVC runtime strings
# that keccak and secp256k1 (same author, same build setup) share lift secp256k1 to 77-85.
if [ ! -d "${STRAIN_CLEAN_DIR:-}" ]; then
    echo "clean set missing (scripts/clean-set.sh): skip the hunt check"
    exit 0
fi
"$B" hunt "$K/3.0.0/node.napi.node" --in "$C/cryptocoinjs" "$T/cc.zip" --json --threads 2 \
    --min-score 60 --clean "$STRAIN_CLEAN_DIR" >"$T/hunt.jsonl" 2>"$T/hunt.err"
grep -q "clean files" "$T/hunt.err" # --clean walks the clean set's directory
/usr/bin/python3 - "$T/hunt.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
files = sorted(r["path"].split("/cryptocoinjs/")[1] for r in rows if r["member"] is None)
members = sorted(r["member"].split("!", 1)[1] for r in rows if r["member"] is not None)
want = ["keccak/%s/node.napi.node" % v for v in ["3.0.0", "3.0.1", "3.0.2", "3.0.3", "3.0.4"]]
assert files == want, files
assert members == ["cryptocoinjs/" + w for w in want], members
assert all(0 <= r["coverage"] <= 1 and r["functions"] > 0 for r in rows)
print("hunt: %d hits, files and zip members agree" % len(rows))
PY
