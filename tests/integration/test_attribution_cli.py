"""strain add / import / query end to end on mingw-w64 fixtures (tests/unit/engine/fixtures):
labels go in through both commands, --json follows docs/query-schema.md, the clean set
silences a shared library, --explain shows disassembly side by side, bad input fails cleanly."""
import json
import math
import os
import subprocess
import sys
import tempfile

STRAIN = os.environ["STRAIN_BIN"]
SRC = os.environ["STRAIN_SOURCE_DIR"]


def run(*args, ok=(0,)):
    p = subprocess.run([STRAIN] + list(args), capture_output=True, text=True)
    if p.returncode not in ok:
        sys.exit("strain %s -> %d\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def check_score(x):
    """The score from its two channels (docs/attribution.md): per channel the noisy-OR of
    share and evidence mass, then max(0.8 strings + 0.2 code, code - 0.6)."""
    for k in ("share", "string_share"):
        assert 0 <= x[k] <= 1 + 1e-9, x
    assert x["evidence"] >= 0 and x["string_evidence"] >= 0, x
    code = 1 - (1 - x["share"]) * math.exp(-x["evidence"] / 300)
    strs = 1 - (1 - x["string_share"]) * math.exp(-x["string_evidence"] / 300)
    assert abs(x["code_score"] - code) < 1e-4 and abs(x["string_score"] - strs) < 1e-4, x
    want = max(0.8 * strs + 0.2 * code, code - 0.6)
    assert abs(x["score"] - want) < 1e-4, (x, want)


def check_schema(o):
    assert isinstance(o["file"], str) and len(o["sha256"]) == 64, o
    v = o["verdict"]
    for k in ("actor", "family"):
        assert v[k] is None or isinstance(v[k], str), v
    for k in ("score", "confidence", "threshold"):
        assert isinstance(v[k], float) and 0 <= v[k] <= 1, v
    assert v["closest_actor"] is None or isinstance(v["closest_actor"], str), v
    assert 0 <= v["closest_score"] <= 1, v
    if o["actors"]:  # the ranked list and the closest actor agree
        assert v["closest_actor"] == o["actors"][0]["name"], (v, o["actors"])
        assert abs(v["closest_score"] - o["actors"][0]["score"]) < 1e-9, v
    if v["actor"] is None and v["closest_actor"] is not None:
        assert v["closest_score"] < v["threshold"], v
    for lst in (o["actors"], o["families"]):
        for x in lst:
            assert isinstance(x["name"], str) and 0 <= x["score"] <= 1
            assert 0 <= x["confidence"] <= 1 and x["samples"] >= 1
            check_score(x)
    for n in o["neighbors"]:
        assert len(n["sha256"]) == 64 and 0 <= n["score"] <= 1
        check_score(n)
    for f in o["evidence"]["functions"]:
        assert f["query_address"].startswith("0x") and f["ref_address"].startswith("0x")
        assert f["weight"] > 0 and 0 <= f["similarity"] <= 1 and len(f["ref_sha256"]) == 64
        assert f["match"] in ("exact", "similar", "neutral"), f
        assert f["match"] != "exact" or f["similarity"] == 1.0, f
    for f in o["evidence"]["fragments"]:
        assert len(f["hash"]) == 16 and f["weight"] > 0
    for f in o["evidence"]["strings"]:
        assert len(f["hash"]) == 16 and f["weight"] > 0 and isinstance(f["text"], str), f
        assert f["encoding"] in ("ascii", "utf16le") and f["offset"].startswith("0x"), f
    assert isinstance(o["stats"]["strings_indexed"], bool)


def main():
    if subprocess.run(["sh", "-c", "command -v x86_64-w64-mingw32-gcc"],
                      capture_output=True).returncode != 0:
        sys.exit("mingw-w64 is required")
    with tempfile.TemporaryDirectory() as tmp:
        fx = os.path.join(tmp, "fx")
        subprocess.run(["bash", os.path.join(SRC, "tests/unit/engine/fixtures/mkfixtures.sh"),
                        fx], check=True, capture_output=True)
        db = os.path.join(tmp, "t.db")
        # north's families through `add`, the others through `import` (relative paths)
        for fam in ("alpha", "beta"):
            files = [os.path.join(fx, "ref", "%s_v%d.exe" % (fam, v)) for v in (1, 2, 3)]
            run("add", "--db", db, "--quiet", "--actor", "north", "--family", fam,
                "--tag", "fixture", *files)
        man = os.path.join(fx, "manifest.tsv")
        with open(man, "w") as f:
            f.write("path\tactor\tfamily\ttags\n")
            for fam, actor in (("gamma", "south"), ("delta", "east")):
                for v in (1, 2, 3):
                    f.write("ref/%s_v%d.exe\t%s\t%s\tfixture,v%d\n" % (fam, v, actor, fam, v))
        p = run("import", "--db", db, "-j", "2", man)
        assert "12" not in p.stdout  # summary goes to stderr, stdout stays clean
        show = json.loads(run("db", "show", "--db", db, "--json",
                              subprocess.run(["sha256sum", os.path.join(fx, "ref/gamma_v2.exe")],
                                             capture_output=True, text=True).stdout[:64]).stdout)
        text = json.dumps(show)
        assert "south" in text and "gamma" in text, text
        stats = run("db", "stats", "--db", db).stdout
        assert "12" in stats, stats

        q = lambda *a: json.loads(run("query", "--db", db, "--json", "--threshold", "0.15",
                                      *a, ok=(0,)).stdout)
        # before the clean set, zeta (unknown actor, links minilib) resembles gamma/delta
        before = q("--all", os.path.join(fx, "query/zeta.exe"))[0]
        check_schema(before)
        assert before["families"][0]["name"] in ("gamma", "delta"), before["families"]
        run("add", "--db", db, "--quiet", "--clean", os.path.join(fx, "clean/libonly.exe"))
        out = q(os.path.join(fx, "query/zeta.exe"), os.path.join(fx, "query/alpha_v4.exe"),
                os.path.join(fx, "query/stranger.exe"))
        assert len(out) == 3
        for o in out:
            check_schema(o)
        zeta, alpha, stranger = out
        assert zeta["verdict"]["actor"] is None and zeta["actors"] == [], zeta["verdict"]
        assert stranger["verdict"]["actor"] is None, stranger["verdict"]
        assert alpha["verdict"]["actor"] == "north" and alpha["verdict"]["family"] == "alpha"
        assert alpha["neighbors"][0]["family"] == "alpha"
        assert alpha["evidence"]["functions"], alpha["evidence"]
        # strings: alpha v4 shares its family's messages, shown with their text
        texts = [x["text"] for x in alpha["evidence"]["strings"]]
        assert texts and all(t.startswith("alpha_") for t in texts), texts
        assert alpha["stats"]["strings_indexed"] is True
        assert alpha["families"][0]["string_score"] > 0.5, alpha["families"][0]
        # a database from before string features (no sample carries the strings marker, as
        # if built by an older strain): strings are left out, the code still attributes
        import shutil
        import sqlite3
        old = os.path.join(tmp, "old.db")
        shutil.copyfile(db, old)
        con = sqlite3.connect(old)
        con.execute("DELETE FROM feature_df WHERE kind = 6 AND hash = 0")
        con.commit()
        con.close()
        o = json.loads(run("query", "--db", old, "--json", "--threshold", "0.15",
                           os.path.join(fx, "query/alpha_v4.exe")).stdout)[0]
        check_schema(o)
        assert o["stats"]["strings_indexed"] is False and not o["evidence"]["strings"], o
        assert o["verdict"]["family"] == "alpha" and o["families"][0]["string_score"] == 0, o
        t = run("query", "--db", old, os.path.join(fx, "query/alpha_v4.exe")).stdout
        assert "predates string features" in t, t
        # --explain: query and reference disassembly side by side
        t = run("query", "--db", db, "--threshold", "0.15", "--explain",
                os.path.join(fx, "query/alpha_v4.exe")).stdout
        assert "verdict:    actor north, family alpha" in t, t
        assert "explain #1" in t and " | " in t, t
        # archives: members are indexed and recorded as <folder>/<archive>!<member>
        import zipfile
        arch = os.path.join(tmp, "refs.zip")
        with zipfile.ZipFile(arch, "w") as z:
            z.write(os.path.join(fx, "query/alpha_v4.exe"), "alpha_v4.exe")
        db2 = os.path.join(tmp, "z.db")
        run("add", "--db", db2, "--quiet", "--actor", "north", "--family", "alpha", arch)
        listing = run("db", "list", "--db", db2).stdout
        assert os.path.realpath(arch) + "!alpha_v4.exe" in listing, listing
        assert "refs.zip!refs.zip" not in listing, listing
        # errors: missing database, missing file, bad option
        p = run("query", "--db", os.path.join(tmp, "none.db"), os.path.join(fx, "query/zeta.exe"),
                ok=(1,))
        assert "no database" in p.stderr
        p = run("query", "--db", db, os.path.join(tmp, "missing.exe"), ok=(1,))
        run("query", "--db", db, "--threshold", "7", os.path.join(fx, "query/zeta.exe"), ok=(2,))
        run("add", "--db", db, os.path.join(fx, "query/zeta.exe"), ok=(2,))  # no labels
    print("ok")


if __name__ == "__main__":
    main()
