#!/usr/bin/env bash
# `strain add` stores the certificates of signed samples: after adding the signed corpus
# files, `strain certs list --json` names each signer of signed.tsv (thumbprint from
# openssl, as recorded there) with the right sample count, family and actor.
set -euo pipefail
: "${STRAIN_BIN:?}" "${STRAIN_SHARED_DIR:?}" "${STRAIN_CORPUS_DIR:?}"
tsv=$STRAIN_SHARED_DIR/corpus/signed.tsv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files=()
while IFS=$'\t' read -r source _ version path family actor sha _; do
  [[ "$source" == npm ]] || continue
  base=${path##*/}
  f=$(find "$STRAIN_CORPUS_DIR/$actor/$family" -name "$base" -path "*/$version*" | while read -r c; do
        [[ "$(sha256sum "$c" | cut -d' ' -f1)" == "$sha" ]] && echo "$c"; done | head -n 1)
  if [[ -z "$f" ]]; then
    [[ "${STRAIN_REQUIRE_CORPUS:-0}" == 1 ]] && { echo "missing corpus file $base ($sha)"; exit 1; }
    echo "corpus not fetched: skipped"; exit 0
  fi
  files+=("$f")
done < <(tail -n +2 "$tsv")
((${#files[@]} >= 2)) || { echo "expected the signed npm rows of signed.tsv"; exit 1; }
"$STRAIN_BIN" add --db "$tmp/t.db" --actor mikaelbr --family snoretoast "${files[@]}" >/dev/null
"$STRAIN_BIN" certs list --db "$tmp/t.db" --json > "$tmp/certs.json"
/usr/bin/python3 - "$tsv" "$tmp/certs.json" "${#files[@]}" <<'PY'
import csv, json, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t") if r["source"] == "npm"]
data = json.load(open(sys.argv[2]))
certs = data if isinstance(data, list) else data.get("certificates", data)
by_sha1 = {c["sha1"].lower(): c for c in certs}
n = int(sys.argv[3])
for r in rows:
    c = by_sha1.get(r["signer_sha1"].lower())
    assert c is not None, "signer %s not stored" % r["signer_sha1"]
    assert c["serial"].upper() == r["signer_serial"].upper(), (c["serial"], r["signer_serial"])
    assert c["subject"] == r["signer_subject"], (c["subject"], r["signer_subject"])
    assert c["samples"] == n, c
    assert c["families"] == ["snoretoast"] and c["actors"] == ["mikaelbr"], c
print("ok: %d signer rows of signed.tsv stored by strain add" % len(rows))
PY
