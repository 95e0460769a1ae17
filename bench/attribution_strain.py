"""strain's column of bench/attribution.py: the same tasks T1-T4 through the strain CLI.

One database holds the whole corpus (`strain import`, all cores). Every hold-out task copies
it and removes the held-out samples with `strain db remove`, so the rarity weights of the
remaining index are exactly those of a database that never saw them (query-time filtering
would leave their document frequencies behind). Queries run with --all so that the ranking
below the threshold is recorded too (for the calibration); the tasks score the verdict, as
the baselines' match thresholds do.

run() also returns the (score, correct) pairs of every T1/T3/T4 query's top-ranked actor:
bench/attribution.py --calibrate turns them into src/engine/calibration_table.h, and the
tasks are scored at the threshold that table sets (the engine's default once the header is
regenerated), by the engine's own verdict rule applied to the --all output (verdict()).
"""
import collections
import json
import os
import shutil
import subprocess
import time

from attribution import groups_of


def _strain(strain_bin, *args):
    return subprocess.run([strain_bin] + list(args), capture_output=True, text=True)


def _build(strain_bin, rows, tmp):
    manifest = os.path.join(tmp, "strain_all.tsv")
    with open(manifest, "w") as f:
        for r in rows:
            f.write("%s\t%s\t%s\t%s\n" % (r["file"], r["actor"], r["family"], r["format"]))
    db = os.path.join(tmp, "strain_all.db")
    t0 = time.time()
    p = _strain(strain_bin, "import", "--db", db, "--quiet", manifest)
    if p.returncode != 0:
        raise RuntimeError("strain import failed: %s" % p.stderr)
    clean = clean_files()
    if clean:
        p = _strain(strain_bin, "add", "--db", db, "--quiet", "--compact", "--clean", *clean)
        if p.returncode != 0:
            raise RuntimeError("strain add --clean failed: %s" % p.stderr)
    return db, time.time() - t0, clean


# The clean set: goodware that links the runtimes the corpus links (the MSVC static C/C++
# runtime of every Visual Studio from 2013 to 2026, node-addon-api and N-API glue, glibc
# start-up code), none of it from a corpus family: scripts/clean.tsv lists it, and
# scripts/clean-set.sh fetches it into $STRAIN_CLEAN_DIR (default
# ~/.cache/strain-corpus/clean). Added with `strain add --clean`, its code stops counting as
# evidence. An empty or missing directory means no clean set.
def clean_dir():
    d = os.environ.get("STRAIN_CLEAN_DIR")
    if not d:
        cache = os.environ.get("STRAIN_CORPUS_CACHE", os.path.expanduser("~/.cache/strain-corpus"))
        d = os.path.join(cache, "clean")
    return d


def clean_files():
    out = []
    for root, _, names in os.walk(clean_dir()):
        out.extend(os.path.join(root, n) for n in names)
    return sorted(out)


def _without(strain_bin, db, tmp, drop):
    """A copy of db without the samples whose sha256 is in drop."""
    out = os.path.join(tmp, "strain_holdout.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(out + suffix):
            os.unlink(out + suffix)
    shutil.copyfile(db, out)
    for sha in sorted(drop):
        p = _strain(strain_bin, "db", "remove", "--db", out, sha)
        if p.returncode != 0 and "not found" not in p.stderr.lower():
            raise RuntimeError("strain db remove failed: %s" % p.stderr)
    return out


def _query(strain_bin, db, files, extra=()):
    """sha256 -> result object for each queried file."""
    if not files:
        return {}
    p = _strain(strain_bin, "query", "--db", db, "--json", "--all", *extra, *files)
    if p.returncode not in (0, 1):
        raise RuntimeError("strain query failed: %s" % p.stderr)
    return {o["sha256"]: o for o in json.loads(p.stdout)}


def _top(lst):
    return (lst[0]["name"], lst[0]["score"]) if lst else (None, 0.0)


def verdict(o, thr):
    """The engine's verdict rule (src/engine/query.c, rank_labels) at threshold thr, from a
    --all output: the best actor if it reaches thr, and its best family reaching thr."""
    if not o["actors"] or o["actors"][0]["score"] < thr:
        return None, None
    actor = o["actors"][0]["name"]
    for f in o["families"]:
        if f["score"] >= thr and f["actor"] == actor:
            return actor, f["name"]
    return actor, None


def run(strain_bin, rows, tmp, threshold=None):
    """T1-T4 at `threshold`, or at the threshold calibrated from this very run (the lowest
    score whose attributions were wrong at most 5% of the time: in-sample, see RESULTS.md)."""
    if not os.path.exists(strain_bin):
        raise ImportError("no strain binary at %s" % strain_bin)
    db, build_s, clean = _build(strain_bin, rows, tmp)
    t_start = time.time()
    groups = groups_of(rows)
    fams = collections.defaultdict(set)
    for r in rows:
        fams[r["actor"]].add(r["family"])
    t1, t2, t3, t4 = [], [], [], []  # (query row, output)

    queries = [g[-1] for g in groups.values() if len(g) >= 2]
    hold = _without(strain_bin, db, tmp, {q["sha256"] for q in queries})
    out = _query(strain_bin, hold, [q["file"] for q in queries])
    t1 = [(q, out[q["sha256"]]) for q in queries]

    seeds = [g for g in groups.values() if len(g) >= 2]
    out = _query(strain_bin, db, [g[0]["file"] for g in seeds], ("--neighbors", "1000"))
    t2 = [(g, out[g[0]["sha256"]]) for g in seeds]

    for actor, fs in sorted(fams.items()):
        if len(fs) < 2:
            continue
        for fam in sorted(fs):
            qs = [r for r in rows if r["family"] == fam]
            hold = _without(strain_bin, db, tmp, {r["sha256"] for r in qs})
            out = _query(strain_bin, hold, [r["file"] for r in qs])
            t3 += [(q, out[q["sha256"]]) for q in qs]

    for actor in sorted(fams):
        qs = [r for r in rows if r["actor"] == actor]
        hold = _without(strain_bin, db, tmp, {r["sha256"] for r in qs})
        out = _query(strain_bin, hold, [r["file"] for r in qs])
        t4 += [(q, out[q["sha256"]]) for q in qs]

    calib = []  # (top actor score, top actor right?, task)
    for task, lst, right in (("T1", t1, True), ("T3", t3, True), ("T4", t4, False)):
        for q, o in lst:
            name = o["actors"][0]["name"] if o["actors"] else None
            score = o["actors"][0]["score"] if o["actors"] else 0.0
            calib.append((score, right and name == q["actor"], task))
    table, calibrated = calibration_table(calib)
    thr = calibrated if threshold is None else threshold

    res = {"build_seconds": round(build_s, 1), "threshold": thr, "clean_set": clean}
    ok = sum(1 for q, o in t1 if verdict(o, thr)[1] == q["family"])
    res["T1"] = {"accuracy": ok / len(t1), "n": len(t1)}
    precs, recs = [], []
    for g, o in t2:
        seed = g[0]
        rel = {r["sha256"] for r in g[1:]}
        k = len(g) - 1
        ranked = [n["sha256"] for n in o["neighbors"]
                  if n["sha256"] != seed["sha256"] and n["score"] >= thr]
        top = ranked[:k]
        hit = sum(1 for sha in top if sha in rel)
        precs.append(hit / len(top) if top else 0.0)
        recs.append(hit / k)
    res["T2"] = {"precision": sum(precs) / len(precs), "recall": sum(recs) / len(recs),
                 "n": len(precs)}
    ok = sum(1 for q, o in t3 if verdict(o, thr)[0] == q["actor"])
    ranked_ok = sum(1 for q, o in t3 if o["actors"] and o["actors"][0]["name"] == q["actor"])
    res["T3"] = {"accuracy": ok / len(t3), "n": len(t3), "ranked_accuracy": ranked_ok / len(t3)}
    wrong = sum(1 for q, o in t4 if verdict(o, thr)[0] is not None)
    res["T4"] = {"false_attribution": wrong / len(t4), "n": len(t4)}
    res["seconds"] = round(time.time() - t_start + build_s, 1)
    res["calibration_pairs"] = calib
    res["raw"] = {"T1": [(q["sha256"], o) for q, o in t1], "T3": [(q["sha256"], o) for q, o in t3],
                  "T4": [(q["sha256"], o) for q, o in t4]}
    return res


EDGES = [0.0, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9,
         0.95, 0.97, 0.98, 0.99, 1.0]


def calibration_table(pairs, max_false=0.05, min_n=10):
    """Per score edge s: attributions scoring >= s, of which wrong, and 1 - that rate
    (made non-decreasing in s). The threshold is the lowest s whose rate is <= max_false
    over at least min_n attributions."""
    table = []
    best = 0.0
    thr = None
    for e in EDGES:
        sel = [c for s, c, _ in pairs if s >= e]
        n = len(sel)
        wrong = sum(1 for c in sel if not c)
        far = wrong / n if n else 0.0
        conf = max(best, 1.0 - far) if n else max(best, 1.0)
        best = conf
        table.append((e, n, wrong, far, conf))
        if thr is None and n >= min_n and far <= max_false:
            thr = e
    if thr is None:
        thr = EDGES[-1]
    return table, thr


def write_calibration(pairs, path, command):
    table, thr = calibration_table(pairs)
    with open(path, "w") as f:
        f.write("/* Generated by `%s` on the public corpus with the clean set of\n"
                " * bench/attribution_strain.py (%d queries: the top-ranked actor of every T1, T3\n"
                " * and T4 query). Per score s: of the attributions scoring >= s, the share that\n"
                " * named the right actor (non-decreasing in s). Do not edit. */\n"
                % (command, len(pairs)))
        f.write("/* score   attributions  wrong  false-rate  confidence */\n")
        for e, n, w, far, conf in table:
            f.write("/* %5.2f   %12d  %5d  %10.3f  %10.3f */\n" % (e, n, w, far, conf))
        f.write("static const double calib_score[] = {%s};\n" %
                ", ".join("%.2f" % t[0] for t in table))
        f.write("static const double calib_conf[] = {%s};\n" %
                ", ".join("%.3f" % t[4] for t in table))
        f.write("#define CALIB_THRESHOLD %.2f\n" % thr)
    return table, thr
