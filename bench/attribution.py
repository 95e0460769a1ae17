#!/usr/bin/python3
"""Attribution benchmark over the public corpus: strain beside TLSH, ssdeep and imphash.

Tasks (issue "Reference database and attribution"), on groups = (family, format):
  T1 temporal attribution: index every file but the newest of each group, query the newest;
     top-1 family accuracy.
  T2 retrohunt: seed = the oldest file of each group, rank every other file; precision and
     recall at k = group size - 1 (items below a method's match threshold are not retrieved).
  T3 actor attribution of a family absent from the index: for actors with >= 2 families, hold
     one family out; top-1 actor accuracy over its files.
  T4 open set: hold an actor (all its families) out; share of its files wrongly attributed to
     some indexed actor instead of "unknown".
Baselines, computed in this run with the reference tools: TLSH (`tlsh -xref`, match when
distance <= 100), ssdeep (`ssdeep -a -x`, match when score >= 1), imphash (python3-pefile,
match when equal and non-empty). strain's column uses `strain add` / `strain query --json`
when the binary supports them.

usage: bench/attribution.py [--strain PATH] [--corpus DIR] [--shared DIR] [--json OUT]
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def natural_key(version):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", version)]


def load_manifest(shared, corpus):
    rows = []
    with open(os.path.join(shared, "corpus", "public.tsv")) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            r = dict(zip(header, line.rstrip("\n").split("\t")))
            suffix = {"pe32": "@win32-ia32", "elf64": "@linux-x64"}.get(r["format"], "")
            base = r["path_in_tarball"].rsplit("/", 1)[-1]
            r["file"] = os.path.join(corpus, r["actor"], r["family"], r["version"] + suffix, base)
            if not os.path.exists(r["file"]):
                sys.exit("missing corpus file %s (run scripts/corpus.sh)" % r["file"])
            rows.append(r)
    return rows


# --- baselines -------------------------------------------------------------------------

def tlsh_pairs(files, tmp):
    lst = os.path.join(tmp, "tlsh.lst")
    with open(lst, "w") as f:
        for p in files:
            out = subprocess.run(["tlsh", "-f", p], capture_output=True, text=True).stdout
            digest = out.split("\t")[0].strip()
            if re.fullmatch(r"[0-9A-F]{70}", digest):
                f.write("%s\t%s\n" % (digest, p))
    out = subprocess.run(["tlsh", "-xref", "-l", lst, "-T", "100000"], capture_output=True,
                         text=True).stdout
    dist = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            a, b, d = parts[0], parts[1], int(parts[2])
            dist[(a, b)] = dist[(b, a)] = d
    # similarity: higher is better; match when distance <= 100
    return lambda a, b: (-dist[(a, b)] if (a, b) in dist else None), lambda s: s >= -100


def ssdeep_pairs(files, tmp):
    sig = os.path.join(tmp, "ssdeep.txt")
    with open(sig, "w") as f:
        subprocess.run(["ssdeep", "-s"] + files, stdout=f, check=True)
    out = subprocess.run(["ssdeep", "-a", "-x", sig], capture_output=True, text=True).stdout
    score = {}
    pat = re.compile(r"^.*?:(.*) matches .*?:(.*) \((\d+)\)$")
    for line in out.splitlines():
        m = pat.match(line)
        if m:
            score[(m.group(1), m.group(2))] = int(m.group(3))
    return lambda a, b: score.get((a, b), score.get((b, a), 0)), lambda s: s >= 1


def imphash_pairs(files, tmp):
    import pefile
    ih = {}
    for p in files:
        try:
            pe = pefile.PE(p, fast_load=False)
            ih[p] = pe.get_imphash() or ""
        except pefile.PEFormatError:
            ih[p] = ""
    return lambda a, b: 1 if ih[a] and ih[a] == ih[b] else 0, lambda s: s >= 1


# --- tasks over a similarity function ----------------------------------------------------

def groups_of(rows):
    g = collections.defaultdict(list)
    for r in rows:
        g[(r["family"], r["format"])].append(r)
    for k in g:
        g[k].sort(key=lambda r: natural_key(r["version"]))
    return g


def nearest(sim, matched, query, index):
    best, best_s = None, None
    for r in index:
        s = sim(query["file"], r["file"])
        if s is None or not matched(s):
            continue
        if best_s is None or s > best_s:
            best, best_s = r, s
    return best


def run_tasks(rows, sim, matched):
    groups = groups_of(rows)
    res = {}
    # T1
    queries = [g[-1] for g in groups.values() if len(g) >= 2]
    qset = {id(q) for q in queries}
    index = [r for r in rows if id(r) not in qset]
    ok = sum(1 for q in queries if (n := nearest(sim, matched, q, index)) and
             n["family"] == q["family"])
    res["T1"] = {"accuracy": ok / len(queries), "n": len(queries)}
    # T2
    precs, recs = [], []
    for g in groups.values():
        if len(g) < 2:
            continue
        seed, rel = g[0], {id(r) for r in g[1:]}
        k = len(rel)
        scored = []
        for r in rows:
            if r is seed:
                continue
            s = sim(seed["file"], r["file"])
            if s is not None and matched(s):
                scored.append((s, r))
        scored.sort(key=lambda t: -t[0])
        top = [r for _, r in scored[:k]]
        hit = sum(1 for r in top if id(r) in rel)
        precs.append(hit / len(top) if top else 0.0)
        recs.append(hit / k)
    res["T2"] = {"precision": sum(precs) / len(precs), "recall": sum(recs) / len(recs),
                 "n": len(precs)}
    # T3
    fams = collections.defaultdict(set)
    for r in rows:
        fams[r["actor"]].add(r["family"])
    ok = n = 0
    for actor, fs in fams.items():
        if len(fs) < 2:
            continue
        for fam in fs:
            index = [r for r in rows if r["family"] != fam]
            for q in (r for r in rows if r["family"] == fam):
                nb = nearest(sim, matched, q, index)
                ok += 1 if nb and nb["actor"] == actor else 0
                n += 1
    res["T3"] = {"accuracy": ok / n, "n": n}
    # T4
    wrong = n = 0
    for actor in fams:
        index = [r for r in rows if r["actor"] != actor]
        for q in (r for r in rows if r["actor"] == actor):
            wrong += 1 if nearest(sim, matched, q, index) else 0
            n += 1
    res["T4"] = {"false_attribution": wrong / n, "n": n}
    return res


# Match cutoffs tried for the "@5%" rows: TLSH distance <= d (similarity -d), ssdeep score >= s.
CUTOFFS = {"tlsh": [-d for d in range(0, 301, 5)], "ssdeep": list(range(1, 101))}


def at_false_rate(rows, sim, cutoffs, max_false=0.05):
    """The baseline at its best cutoff whose T4 false attributions are <= max_false: the
    operating point strain's calibrated threshold is held to (both chosen in-sample, on this
    corpus), so the table compares like with like as well as at the tools' usual cutoffs."""
    best = None
    for c in cutoffs:
        r = run_tasks(rows, sim, lambda s, c=c: s >= c)
        if r["T4"]["false_attribution"] <= max_false and (
                best is None or r["T1"]["accuracy"] > best["T1"]["accuracy"]):
            best = r
            best["cutoff"] = abs(c)
    return best if best is not None else run_tasks(rows, sim, lambda s: False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strain", default=os.path.join(ROOT, "build", "release", "strain"))
    ap.add_argument("--corpus", default=os.environ.get(
        "STRAIN_CORPUS_DIR", os.path.expanduser("~/.cache/strain-corpus/public")))
    ap.add_argument("--shared", default=os.environ.get(
        "STRAIN_SHARED_DIR", os.path.join(ROOT, "..", "shared")))
    ap.add_argument("--json")
    ap.add_argument("--calibrate", metavar="HEADER",
                    help="write strain's confidence table (src/engine/calibration_table.h)")
    args = ap.parse_args()
    rows = load_manifest(args.shared, args.corpus)
    files = [r["file"] for r in rows]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in (("tlsh", tlsh_pairs), ("ssdeep", ssdeep_pairs),
                         ("imphash", imphash_pairs)):
            t0 = time.time()
            sim, matched = fn(files, tmp)
            results[name] = run_tasks(rows, sim, matched)
            results[name]["seconds"] = round(time.time() - t0, 1)
            if name in CUTOFFS:
                results[name + "@5%"] = at_false_rate(rows, sim, CUTOFFS[name])
        try:
            import attribution_strain
            results["strain"] = attribution_strain.run(args.strain, rows, tmp)
        except ImportError:
            pass
    print("%-11s %8s %9s %9s %8s %9s" % ("method", "T1 acc", "T2 prec", "T2 rec", "T3 acc",
                                         "T4 false"))
    for name, r in results.items():
        print("%-11s %8.3f %9.3f %9.3f %8.3f %9.3f" % (
            name, r["T1"]["accuracy"], r["T2"]["precision"], r["T2"]["recall"],
            r["T3"]["accuracy"], r["T4"]["false_attribution"]))
    for name in CUTOFFS:
        if "cutoff" in results.get(name + "@5%", {}):
            print("%s@5%%: %s cutoff %d (T4 false <= 5%%)" % (
                name, "distance <=" if name == "tlsh" else "score >=",
                results[name + "@5%"]["cutoff"]))
    n = results["tlsh"]
    print("queries: T1 %d, T2 %d seeds, T3 %d, T4 %d" % (
        n["T1"]["n"], n["T2"]["n"], n["T3"]["n"], n["T4"]["n"]))
    if "strain" in results:
        s = results["strain"]
        print("strain: threshold %.2f; T3 ranked (top actor, no threshold) %.3f; index built "
              "in %.1f s; total %.1f s; clean set: %d files" % (
                  s["threshold"], s["T3"]["ranked_accuracy"], s["build_seconds"], s["seconds"],
                  len(s["clean_set"])))
        for f in s["clean_set"]:
            print("  clean: %s" % f)
        import attribution_strain
        table, thr = attribution_strain.calibration_table(s["calibration_pairs"])
        print("confidence table (attributions scoring >= s: count, wrong, false rate, "
              "confidence); threshold at false rate <= 5%%: %.2f" % thr)
        for e, n, w, far, conf in table:
            print("  s >= %.2f  %4d  %4d  %.3f  %.3f" % (e, n, w, far, conf))
        if args.calibrate:
            attribution_strain.write_calibration(
                s["calibration_pairs"], args.calibrate,
                "/usr/bin/python3 bench/attribution.py --strain build/dev/strain --calibrate "
                + args.calibrate)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
