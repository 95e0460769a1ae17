#!/usr/bin/env bash
# The LuckyMouse pattern through the CLI: a vendor certificate validly signs the vendor's tool
# (added --clean with the vendor's runtime) and an actor's relay program that shares nothing
# with the tool but the C runtime. `strain certs list` and `strain query` of the relay must
# report an unrelated-code finding about that certificate; `strain query` of the vendor's
# second tool (same certificate, same vendor library, never added) must not. Fixtures are
# built by tests/unit/certs/mkfixtures.sh (openssl PKI, mingw-w64, osslsigncode); the
# signatures' validity is checked with osslsigncode, certificate and file identities with
# openssl and sha256sum. Then the same with real programs of the public corpus signed with
# the fixture vendor certificate: 7-Zip 4.0.2 as the vendor's clean software, 7-Zip 5.2.0 as
# its next release (no finding), a secp256k1 Node module as the actor's file (finding).
set -euo pipefail
: "${STRAIN_BIN:?}" "${STRAIN_SOURCE_DIR:?}"
for t in x86_64-w64-mingw32-gcc osslsigncode openssl; do
  command -v "$t" >/dev/null || { echo "$t missing: skipped"; exit 0; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fx=$tmp/fx
mkdir -p "$fx"
sh "$STRAIN_SOURCE_DIR/tests/unit/certs/mkfixtures.sh" "$fx" >/dev/null
cd "$fx"
for f in s_actor_proxy.exe s_vendor_tool1.exe s_vendor_tool2.exe; do
  osslsigncode verify -CAfile root.crt -in "$f" 2>&1 | grep -q "^Signature verification: ok" ||
    { echo "osslsigncode does not verify $f"; exit 1; }
done
db=$tmp/lm.db
"$STRAIN_BIN" add --quiet --db "$db" --ca root.crt --clean runtime.exe s_vendor_tool1.exe
"$STRAIN_BIN" add --quiet --db "$db" --ca root.crt --actor APT-LM --family relay s_actor_proxy.exe
"$STRAIN_BIN" certs list --db "$db" --json > "$tmp/list.json"
"$STRAIN_BIN" certs show "$(cat vendor.sha1)" --db "$db" --json > "$tmp/show.json"
for f in s_actor_proxy.exe s_vendor_tool2.exe; do
  "$STRAIN_BIN" query --db "$db" --ca root.crt --json "$f" > "$tmp/q_$f.json"
done
# Without --ca the fixture root is unknown: not a trusted vendor signature, not judged.
"$STRAIN_BIN" query --db "$db" --json s_actor_proxy.exe > "$tmp/q_noca.json"
"$STRAIN_BIN" query --db "$db" --ca root.crt s_actor_proxy.exe | grep -q "unrelated-code"

/usr/bin/python3 - "$tmp" "$(cat vendor.sha1)" "$(sha256sum s_actor_proxy.exe | cut -d' ' -f1)" \
  "$(sha256sum s_vendor_tool1.exe | cut -d' ' -f1)" <<'PY'
import json, sys
tmp, vendor, relay_sha, tool_sha = sys.argv[1:5]
show = json.load(open(tmp + "/show.json"))
ids = {s["sha256"]: s["id"] for s in show["linked_samples"]}
relay, tool = ids[relay_sha], ids[tool_sha]

certs = {c["sha1"]: c for c in json.load(open(tmp + "/list.json"))}
un = [f for f in certs[vendor]["findings"] if f["kind"] == "unrelated-code"]
assert len(un) == 1, certs[vendor]["findings"]
assert sorted(un[0]["sample_ids"]) == sorted([relay, tool]), un
for sha1, c in certs.items():
    if sha1 != vendor:
        assert all(f["kind"] != "unrelated-code" for f in c["findings"]), c

def unrelated(name):
    q = json.load(open(tmp + "/q_" + name + ".json"))[0]
    return q, [f for f in q["certificate_findings"] if f["kind"] == "unrelated-code"]

q, un = unrelated("s_actor_proxy.exe")
assert [s["verdict"] for s in q["signatures"]] == ["valid"], q["signatures"]
assert len(un) == 1 and un[0]["sha1"] == vendor, un
assert sorted(un[0]["sample_ids"]) == sorted([relay, tool]), un
q, un = unrelated("s_vendor_tool2.exe")
assert [s["verdict"] for s in q["signatures"]] == ["valid"], q["signatures"]
assert un == [], un
assert any(f["kind"] == "stolen" for f in q["certificate_findings"]), q["certificate_findings"]
q, un = unrelated("noca")
assert [s["verdict"] for s in q["signatures"]] == ["untrusted-root"], q["signatures"]
assert un == [], un
print("ok: unrelated-code for the relay (best %.3f), none for the vendor's second tool"
      % certs[vendor]["findings"][[f["kind"] for f in certs[vendor]["findings"]].index("unrelated-code")]["best_similarity"])
PY

# Real programs (MSVC x64 builds from the public corpus), located by their manifest SHA-256.
manifest=${STRAIN_SHARED_DIR:-}/corpus/public.tsv
corpus_file() { # family version path_in_tarball
  local row sha actor f
  row=$(awk -F'\t' -v f="$1" -v v="$2" -v p="$3" '$1 == f && $4 == v && $5 == p' "$manifest")
  [[ -n "$row" ]] || return 1
  actor=$(cut -f2 <<<"$row")
  sha=$(cut -f6 <<<"$row")
  for f in "${STRAIN_CORPUS_DIR:-/nonexistent}/$actor/$1/$2"/*; do
    [[ -f "$f" && "$(sha256sum "$f" | cut -d' ' -f1)" == "$sha" ]] && { echo "$f"; return 0; }
  done
  return 1
}
if ! z4=$(corpus_file 7za 4.0.2 package/win/x64/7za.exe) ||
   ! z5=$(corpus_file 7za 5.2.0 package/win/x64/7za.exe) ||
   ! sk=$(corpus_file secp256k1 4.0.2 package/prebuilds/win32-x64/node.napi.node); then
  [[ "${STRAIN_REQUIRE_CORPUS:-0}" == 1 ]] && { echo "corpus files missing"; exit 1; }
  echo "corpus not fetched: real-program part skipped"
  exit 0
fi
for x in "$z4:s7z4.exe" "$z5:s7z5.exe" "$sk:ssecp.node"; do
  osslsigncode sign -certs vendor.chain.pem -key vendor.key -h sha256 -in "${x%%:*}" \
    -out "${x##*:}" >/dev/null
done
db2=$tmp/real.db
"$STRAIN_BIN" add --quiet --db "$db2" --ca root.crt --clean s7z4.exe
"$STRAIN_BIN" add --quiet --db "$db2" --ca root.crt --actor APT-LM --family loader ssecp.node
"$STRAIN_BIN" certs list --db "$db2" --json > "$tmp/list2.json"
"$STRAIN_BIN" query --db "$db2" --ca root.crt --json s7z5.exe ssecp.node > "$tmp/q2.json"
/usr/bin/python3 - "$tmp" "$(cat vendor.sha1)" <<'PY'
import json, sys
tmp, vendor = sys.argv[1:3]
certs = {c["sha1"]: c for c in json.load(open(tmp + "/list2.json"))}
un = [f for f in certs[vendor]["findings"] if f["kind"] == "unrelated-code"]
assert len(un) == 1 and len(un[0]["sample_ids"]) == 2, certs[vendor]["findings"]
q = {r["file"]: r for r in json.load(open(tmp + "/q2.json"))}
def kinds(name):
    r = q[name]
    assert [s["verdict"] for s in r["signatures"]] == ["valid"], r["signatures"]
    return [f for f in r["certificate_findings"] if f["kind"] == "unrelated-code"]
assert kinds("s7z5.exe") == [], kinds("s7z5.exe")
k = kinds("ssecp.node")
assert len(k) == 1 and k[0]["sha1"] == vendor, k
print("ok: real programs: unrelated-code for the module (best %.4f), none for 7-Zip 5.2.0"
      % k[0]["best_similarity"])
PY
