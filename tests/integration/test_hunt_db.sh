#!/bin/bash
# The database modes of hunt and cluster end to end, on mingw-w64 fixtures built here
# (tests/unit/engine/fixtures/mkfixtures.sh) and the public corpus:
#  - `strain hunt SEED... --db` gives the same (seed, sample, score) as `strain hunt --in` over
#    the same files with the database's clean program as --clean (parsed with python3), with
#    the labels given to `strain add`; a clean seed finds nothing;
#  - a missing database, a file that is not a database and a damaged stored genome (written
#    with the sqlite3 CLI) fail with a message and a non-zero exit;
#  - `strain cluster --db` groups the samples as `strain cluster PATH --labels` groups the
#    same files (cryptocoinjs), and its DOT renders with graphviz.
set -euo pipefail
B="${STRAIN_BIN:?}"
S="${STRAIN_SOURCE_DIR:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
F="$T/fx"
bash "$S/tests/unit/engine/fixtures/mkfixtures.sh" "$F" >/dev/null 2>&1
DB="$T/fx.db"
add() { "$B" add --db "$DB" --quiet "$@"; }
add --actor north --family alpha "$F"/ref/alpha_v*.exe
add --actor north --family beta "$F"/ref/beta_v*.exe
add --actor south --family gamma "$F"/ref/gamma_v*.exe
add --actor east --family delta "$F"/ref/delta_v*.exe
add --clean "$F/clean/libonly.exe"

SEEDS=("$F/query/alpha_v4.exe" "$F/query/zeta.exe" "$F/ref/gamma_v1.exe" "$F/query/epsilon.exe")
"$B" hunt "${SEEDS[@]}" --db "$DB" --min-score 10 --json >"$T/db.jsonl" 2>"$T/db.err"
"$B" hunt "${SEEDS[@]}" --in "$F/ref" "$F/clean" --clean "$F/clean/libonly.exe" --min-score 10 \
    --json --threads 2 >"$T/st.jsonl" 2>/dev/null
STRAIN_DB="$DB" "$B" hunt "$F/query/alpha_v4.exe" --db >"$T/text.txt" 2>/dev/null
/usr/bin/python3 - "$T/db.jsonl" "$T/st.jsonl" "$T/text.txt" "${SEEDS[@]}" <<'PY'
import json, os, sys
db = [json.loads(l) for l in open(sys.argv[1])]
st = [json.loads(l) for l in open(sys.argv[2])]
key = lambda r: (r["seed"], r["sha256"])
a = {key(r): r for r in db}
b = {key(r): r for r in st}
assert len(a) == len(db), "a (seed, sample) pair reported twice"
assert set(a) == set(b), (sorted(set(a) ^ set(b)))
for k in a:
    assert abs(a[k]["score"] - b[k]["score"]) < 1e-6, (k, a[k]["score"], b[k]["score"])
    assert a[k]["functions"] == b[k]["functions"] and abs(a[k]["coverage"] - b[k]["coverage"]) < 1e-9
    for ch in ("code_score", "string_score"):
        assert abs(a[k][ch] - b[k][ch]) < 1e-6, (k, ch, a[k][ch], b[k][ch])
    assert a[k]["shared_strings"] == b[k]["shared_strings"], k
    # the score combines the two channels (strain_comparison.combined_score)
    c, s_ = a[k]["code_score"], a[k]["string_score"]
    assert abs(a[k]["score"] - max(0.8 * s_ + 0.2 * c, c - 60)) < 1e-6, a[k]
# labels are the ones given to `strain add`, the path the file added
labels = {"alpha": "north", "beta": "north", "gamma": "south", "delta": "east"}
for r in db:
    fam = os.path.basename(r["path"]).split("_v")[0]
    assert r["family"] == fam and r["actor"] == labels[fam], r
    assert r["member"] is None and len(r["sha256"]) == 64
seeds = {os.path.basename(r["seed"]) for r in db}
assert "zeta.exe" not in seeds, "zeta shares only the clean library"
assert {os.path.basename(r["path"]) for r in db if r["seed"].endswith("gamma_v1.exe")} == \
    {"gamma_v1.exe", "gamma_v2.exe", "gamma_v3.exe"}
# listed by seed (command-line order), then best score first
rank = [(sys.argv[4:].index(r["seed"]), -r["score"]) for r in db]
assert rank == sorted(rank), rank
text = open(sys.argv[3]).read().splitlines()
assert text[0].split()[:7] == ["score", "code", "strs", "funcs", "share", "shared", "seed"], text[0]
assert len(text) == 1 + sum(1 for r in db if r["seed"].endswith("alpha_v4.exe")
                            and r["score"] >= 30), text
print("hunt --db: %d hits, identical to the streaming hunt" % len(db))
PY
grep -q "1 clean" "$T/db.err"

# the clean program as a seed: its code counts for nothing
"$B" hunt "$F/clean/libonly.exe" --db "$DB" --min-score 1 --json >"$T/clean.jsonl" 2>/dev/null
test ! -s "$T/clean.jsonl"
echo "hunt --db: a clean seed finds nothing"

# failures: missing database, not a database, a damaged genome
set +e
"$B" hunt "${SEEDS[0]}" --db "$T/missing.db" >/dev/null 2>"$T/e1"
rc1=$?
head -c 4096 /dev/urandom >"$T/junk.db"
"$B" hunt "${SEEDS[0]}" --db "$T/junk.db" >/dev/null 2>"$T/e2"
rc2=$?
cp "$DB" "$T/damaged.db"
sqlite3 "$T/damaged.db" "UPDATE genomes SET genome = zeroblob(64)"
"$B" hunt "${SEEDS[0]}" --db "$T/damaged.db" >/dev/null 2>"$T/e3"
rc3=$?
"$B" cluster --db "$T/damaged.db" >/dev/null 2>"$T/e4"
rc4=$?
"$B" hunt "${SEEDS[0]}" --db "$DB" --in "$F/ref" >/dev/null 2>"$T/e5"
rc5=$?
set -e
[ $rc1 -eq 1 ] && grep -q "no database here" "$T/e1"
[ $rc2 -ne 0 ] && grep -q "junk.db" "$T/e2"
[ $rc3 -eq 3 ] && grep -q "stored genome unreadable" "$T/e3"
[ $rc4 -eq 3 ] && grep -q "stored genome unreadable" "$T/e4"
[ $rc5 -eq 2 ] && grep -q "exclusive" "$T/e5"
echo "hunt/cluster --db: missing ($rc1), junk ($rc2), damaged ($rc3, $rc4) databases fail with a message"

C="${STRAIN_CORPUS_DIR:-}"
if [ -z "$C" ] || [ ! -d "$C/cryptocoinjs" ]; then
    echo "corpus missing: cluster --db part skipped"
    exit 0
fi
CDB="$T/cc.db"
printf 'path\tactor\tfamily\n' >"$T/labels.tsv"
for fam in keccak secp256k1; do
    "$B" add --db "$CDB" --quiet --actor cryptocoinjs --family "$fam" "$C/cryptocoinjs/$fam"
    find "$C/cryptocoinjs/$fam" -type f | while read -r f; do
        printf '%s\tcryptocoinjs\t%s\n' "$(realpath "$f")" "$fam" >>"$T/labels.tsv"
    done
done
"$B" cluster --db "$CDB" --json --dot "$T/c.dot" --svg "$T/c.svg" >"$T/cdb.json"
"$B" cluster "$(realpath "$C/cryptocoinjs")" --labels "$T/labels.tsv" --json >"$T/cpath.json"
/usr/bin/python3 - "$T/cdb.json" "$T/cpath.json" <<'PY'
import json, sys
def groups(f):
    o = json.load(open(f))
    return o, sorted(sorted(m["path"] for m in g["members"]) for g in o["groups"])
a, ga = groups(sys.argv[1])
b, gb = groups(sys.argv[2])
assert ga == gb, (ga, gb)
names = sorted(g["name"] for g in a["groups"] if len(g["members"]) > 1)
assert names == sorted(g["name"] for g in b["groups"] if len(g["members"]) > 1), names
assert all(m["label"] in ("keccak", "secp256k1") for g in a["groups"] for m in g["members"])
print("cluster --db: %d groups, the same as clustering the files (%s)" % (len(ga), ", ".join(names)))
PY
grep -q "<svg" "$T/c.svg"
dot -Tplain "$T/c.dot" >/dev/null
echo "cluster --db: DOT renders"
