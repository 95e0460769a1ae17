#!/bin/bash
# `strain import` compacts the database it filled, `--no-compact` does not, and the layout
# changes no answer:
#  - with compaction the postings and feature_df b-trees are one run of pages below their root
#    and the file has no free page (read with the sqlite3 shell's dbstat and freelist_count);
#    without it the postings pages of the samples are interleaved;
#  - compaction also writes the read index (docs/store.md), so the compacted database answers
#    from it and the other from its tables: `strain query --json --all` of every imported
#    file is byte-identical on both (one import thread, so both give the samples the same ids);
#  - after one more sample, `strain add --compact` and `strain db compact` join the pages
#    again, and `strain db check` passes on both; a plain `strain add` says the index is out
#    of date, `strain db stats` agrees, and `strain db compact` makes it current again.
set -euo pipefail
B="${STRAIN_BIN:?}"
C="${STRAIN_CORPUS_DIR:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# a dozen small addons of four families (PE and ELF)
: >"$T/m.tsv"
for d in websockets/bufferutil websockets/utf-8-validate cryptocoinjs/keccak level/leveldown; do
    find "$C/$d" -type f -name '*.node' | sort | head -3 | while read -r f; do
        printf '%s\t%s\t%s\n' "$f" "${d%%/*}" "${d##*/}" >>"$T/m.tsv"
    done
done
[ "$(wc -l <"$T/m.tsv")" -ge 8 ] || { echo "corpus files missing under $C" >&2; exit 1; }
"$B" import --db "$T/c.db" --quiet -j 1 "$T/m.tsv"
"$B" import --db "$T/n.db" --quiet -j 1 --no-compact "$T/m.tsv"
run() { # tree db: 1 when the tree's pages below its root are one run
    sqlite3 "$2" "SELECT count(*) = max(pageno) - min(pageno) + 1 FROM dbstat WHERE name = '$1'
                  AND pageno != (SELECT rootpage FROM sqlite_schema WHERE name = '$1')"
}
[ "$(run postings "$T/c.db")" = 1 ] || { echo "import did not compact postings" >&2; exit 1; }
[ "$(run feature_df "$T/c.db")" = 1 ] || { echo "import did not compact feature_df" >&2; exit 1; }
[ "$(sqlite3 "$T/c.db" 'PRAGMA freelist_count')" = 0 ]
[ "$(run postings "$T/n.db")" = 0 ] || { echo "--no-compact: postings contiguous" >&2; exit 1; }
stat_of() { # db key: a field of `strain db stats --json`
    "$B" db --db "$1" stats --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}
[ "$(stat_of "$T/c.db" index_current)" = True ] || { echo "import wrote no current index" >&2; exit 1; }
[ "$(stat_of "$T/n.db" index_bytes)" = 0 ] || { echo "--no-compact wrote an index" >&2; exit 1; }
cut -f1 "$T/m.tsv" | while read -r f; do
    "$B" query --db "$T/c.db" --json --all "$f" >"$T/qc.json"
    "$B" query --db "$T/n.db" --json --all "$f" >"$T/qn.json"
    cmp -s "$T/qc.json" "$T/qn.json" || { echo "query differs on $f" >&2; diff "$T/qc.json" "$T/qn.json" | head >&2; exit 1; }
done
# a later `add` appends pages: `add --compact` and `db compact` join them again
X=$(find "$C/node-hid" -type f -name '*.node' | sort | head -1)
"$B" add --db "$T/n.db" --quiet --compact --actor node-hid --family node-hid "$X"
[ "$(run postings "$T/n.db")" = 1 ] || { echo "add --compact did not compact" >&2; exit 1; }
"$B" add --db "$T/c.db" --actor node-hid --family node-hid "$X" 2>"$T/add.err"
grep -q "read index .* is now out of date" "$T/add.err" || { echo "add: no stale-index note" >&2; cat "$T/add.err" >&2; exit 1; }
[ "$(stat_of "$T/c.db" index_current)" = False ] || { echo "index current after add" >&2; exit 1; }
"$B" db --db "$T/c.db" compact >/dev/null
[ "$(stat_of "$T/c.db" index_current)" = True ] || { echo "db compact: index not current" >&2; exit 1; }
[ "$(run postings "$T/c.db")" = 1 ] || { echo "db compact did not compact" >&2; exit 1; }
"$B" db --db "$T/c.db" check >/dev/null
"$B" db --db "$T/n.db" check >/dev/null
echo ok
