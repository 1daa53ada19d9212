"""The ML half at genome scale (issue 22): the workflow from `input_vcf` against plink2 + a
plain scikit-learn forest by hand, on simulated structured cohorts (labels = deme).

    python bench/genome_scale.py --size 2000            # 2,000 x 68,701 records
    python bench/genome_scale.py --size 10000           # 10,000 x 99,248 records
    options: --model-timeout S (default 3600; 0 skips the model, the predictions and what
             needs them), --skip-by-hand, --skip-workflow, --fresh (remove results/ first)

The cohort (bench/simcohort.py: msprime island model, 5 demes, 1 % of samples unlabelled,
so that there are predictions) is made once under bench/work/genome_scale/. The workflow
runs with `--cores 2` in bench/work/genome_scale/wf<size>/ on a config of pure defaults
plus `input_vcf`, `samples` and `model: {target: population}` (at 10,000 also
`model: {n_estimators: 100, cv_repeats: 1}`: the lighter CV both arms use there), in
three timed phases:
  A. filter -> matrix -> features (the label-free part of the ML half);
  B. the model and the predictions (with --model-timeout; killed past it);
  C. the rest: association, report figures, notebooks, summary (what does not need the
     model when B did not finish).
The ML half's wall = A + B. Every job's wall and peak RSS are read from
results/benchmarks/**.tsv and set against the int8 matrix it reads (samples x sites).
By hand (bench/work/genome_scale/hand<size>/): plink2 (biallelic SNPs, --maf 0.01,
--geno 0.05 as features.min_call_rate, --indep-pairwise 50 5 0.8, --pca 10; `approx` at
10,000 samples), the pruned dosages read from the .bed with numpy, then
RandomForestClassifier(500 trees, max_features="sqrt") on the dosages + 10 PCs with
RepeatedStratifiedKFold(5, 3) (10,000: 100 trees, 5 x 1), a refit on all labelled samples
and the predictions of the unlabelled ones. Load (1/5/15 min) is recorded at the start
and end of every phase: the machine is shared. Writes bench/results/genome_scale.md
(its section for this size; the other size's section is kept).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work" / "genome_scale"
RESULTS = BENCH / "results" / "genome_scale.md"
PY = sys.executable
sys.path.insert(0, str(BENCH))

from run import loadavg, measure, table  # noqa: E402

# size -> (diploids per deme, sequence length): ~60,000 and ~100,000 records.
COHORTS = {2000: (400, 6e6), 10000: (2000, 7.5e6)}
LIGHT = {10000: {"n_estimators": 100, "cv_repeats": 1}}  # both arms, said in the results
SEED = 42


def cohort(size: int) -> tuple[Path, Path]:
    prefix = WORK / f"n{size}"
    vcf, sheet = Path(f"{prefix}.vcf.gz"), Path(f"{prefix}.samples.tsv")
    if not (vcf.exists() and sheet.exists() and Path(f"{vcf}.tbi").exists()):
        WORK.mkdir(parents=True, exist_ok=True)
        per_deme, length = COHORTS[size]
        subprocess.run([PY, str(BENCH / "simcohort.py"), str(per_deme), str(length), str(prefix)],
                       check=True)  # fmt: skip
    return vcf, sheet


# ----------------------------------------------------------------------------- workflow


# --tiny-model: a forest cheap enough to finish today, so that every job after the model
# (predictions, their figure, the model notebook, the summary) can be measured at scale;
# its workdir starts as a copy of the pure-defaults one (only the model and after rerun).
TINY = {"n_estimators": 20, "max_features": "sqrt", "n_shuffles": 1, "null_estimators": 10}


def workflow_dir(size: int, vcf: Path, sheet: Path, tiny: bool = False) -> Path:
    wd = WORK / (f"wf{size}_tiny" if tiny else f"wf{size}")
    if tiny and not wd.exists() and (WORK / f"wf{size}").exists():
        shutil.copytree(WORK / f"wf{size}", wd, symlinks=True,
                        ignore=shutil.ignore_patterns("model", "predict", "notebooks", "report",
                                                      "summary.*", "phase*.log"))  # fmt: skip
    (wd / "config").mkdir(parents=True, exist_ok=True)
    model = {"target": "population", **LIGHT.get(size, {}), **(TINY if tiny else {})}
    cfg = {"samples": str(sheet), "input_vcf": str(vcf), "model": model}
    (wd / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return wd


def snakemake_phase(wd: Path, targets: list[str], timeout: float | None, log: Path) -> dict:
    """Run the workflow on `targets`; wall, load before/after, finished or killed."""
    cmd = [PY, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(wd), "--cores", "2",
           "--rerun-incomplete", *targets]  # fmt: skip
    load0, start = loadavg(), time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            rc = None
    wall = time.perf_counter() - start
    return {"wall": wall, "rc": rc, "load": f"{load0} → {loadavg()}",
            "finished": rc == 0, "killed": rc is None}  # fmt: skip


PHASE_A = ["results/features/selected.tsv", "results/features/pca.tsv"]
PHASE_B = ["results/predict/predictions.tsv", "results/model/metrics.json"]
MODEL_FREE = [
    "results/association/association.tsv",
    "results/report/variants/filters.png",
    "results/report/population/pca_label.png",
    "results/report/association/manhattan.png",
    "results/notebooks/explore.html",
]


def benchmarks(wd: Path) -> pd.DataFrame:
    rows = []
    for path in sorted((wd / "results" / "benchmarks").rglob("*.tsv")):
        b = pd.read_csv(path, sep="\t")
        rel = path.relative_to(wd / "results" / "benchmarks").with_suffix("")
        rows.append({"job": str(rel), "s": float(b["s"].iloc[0]),
                     "max_rss": float(b["max_rss"].iloc[0]), "cpu": float(b["cpu_time"].iloc[0]),
                     "mtime": path.stat().st_mtime})  # fmt: skip
    return pd.DataFrame(rows)


def matrix_shape(wd: Path) -> tuple[int, int]:
    sites = sum(1 for _ in open(wd / "results" / "matrix" / "sites.tsv")) - 1
    samples = sum(1 for _ in open(wd / "results" / "matrix" / "samples.tsv")) - 1
    return samples, sites


def chunk_records(wd: Path, vcf: Path) -> dict:
    """Records of the input VCF in each calling chunk's BED (what its filter job reads)."""
    beds = sorted((wd / "results").rglob("chunk*.bed")) or sorted((wd / "results").rglob("*.bed"))
    cache = wd / "chunk_records.json"
    if cache.exists():
        return json.loads(cache.read_text())
    q = subprocess.run(["bcftools", "query", "-f", "%CHROM\t%POS\n", str(vcf)],
                       capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    chrom, pos = np.array(q[0::2]), np.array(q[1::2], dtype=np.int64)
    out = {}
    for bed in beds:
        n = 0
        for line in bed.read_text().splitlines():
            c, a, b = line.split("\t")[:3]
            n += int(((chrom == c) & (pos > int(a)) & (pos <= int(b))).sum())
        out[bed.stem.split(".")[-1]] = n
    cache.write_text(json.dumps(out))
    return out


# ----------------------------------------------------------------------------- by hand

PLINK_FILTERS = "--snps-only just-acgt --max-alleles 2 --maf 0.01 --geno 0.05"


def plink_log_seconds(log: Path) -> float:
    """Wall of one plink2 run from its log's Start/End time lines."""
    lines = [x for x in log.read_text().splitlines() if x.startswith(("Start time", "End time"))]
    fmt = "%a %b %d %H:%M:%S %Y"
    stamps = [time.mktime(time.strptime(x.split(": ", 1)[1].strip(), fmt)) for x in lines]
    return stamps[-1] - stamps[0]


def by_hand(size: int, vcf: Path, sheet: Path, reuse_plink: bool = False) -> dict:
    hd = WORK / f"hand{size}"
    if reuse_plink and (hd / "pruned.bed").exists():
        # The plink2 part of an earlier run (its wall from its logs), the forest anew.
        plink_wall = sum(plink_log_seconds(hd / f) for f in ("prune.log", "pruned.log"))
        light = LIGHT.get(size, {})
        trees, repeats = light.get("n_estimators", 500), light.get("cv_repeats", 3)
        r = measure([PY, __file__, "--forest", str(hd / "pruned"), str(sheet), str(trees),
                     str(repeats)], log=hd / "forest.log")  # fmt: skip
        out = json.loads((hd / "forest.log").read_text().strip().splitlines()[-1])
        pca = "--pca approx 10" if size > 5000 else "--pca 10"
        return {**r, **out, "wall": r["wall"] + plink_wall, "plink_wall": plink_wall,
                "trees": trees, "repeats": repeats, "pca": pca}  # fmt: skip
    shutil.rmtree(hd, ignore_errors=True)
    hd.mkdir(parents=True)
    pca = "--pca approx 10" if size > 5000 else "--pca 10"
    ids = "--set-all-var-ids '@:#:$r:$a' --new-id-max-allele-len 1000"
    light = LIGHT.get(size, {})
    trees, repeats = light.get("n_estimators", 500), light.get("cv_repeats", 3)
    script = (
        f"plink2 --vcf {vcf} {PLINK_FILTERS} {ids} --indep-pairwise 50 5 0.8 --threads 2 "
        f"--out {hd}/prune > /dev/null\n"
        f"plink2 --vcf {vcf} {PLINK_FILTERS} {ids} --extract {hd}/prune.prune.in {pca} "
        f"--make-bed --threads 2 --out {hd}/pruned > /dev/null\n"
        f"{PY} {__file__} --forest {hd}/pruned {sheet} {trees} {repeats}\n"
    )
    r = measure(script, log=hd / "by_hand.log")
    out = json.loads((hd / "by_hand.log").read_text().strip().splitlines()[-1])
    return {**r, **out, "trees": trees, "repeats": repeats, "pca": pca}


def read_bed(prefix: str) -> tuple[np.ndarray, list[str]]:
    """Dosage of A1 (the ALT allele as plink2 writes it from a VCF), float32, NaN missing,
    samples x variants, from a PLINK 1 .bed, with the samples' IDs."""
    fam = pd.read_csv(f"{prefix}.fam", sep=r"\s+", header=None, dtype=str)
    n = len(fam)
    raw = np.fromfile(f"{prefix}.bed", dtype=np.uint8)[3:]
    per = (n + 3) // 4
    raw = raw.reshape(-1, per)
    lut = np.array([2, np.nan, 1, 0], dtype=np.float32)  # 00, 01 (missing), 10, 11
    codes = np.stack([(raw >> s) & 3 for s in (0, 2, 4, 6)], axis=-1).reshape(len(raw), -1)
    return lut[codes[:, :n]].T.copy(), fam[1].tolist()


def forest(prefix: str, sheet: str, trees: int, repeats: int):
    """The plain forest of the by-hand arm; prints one JSON line."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score

    t0 = time.perf_counter()
    x, samples = read_bed(prefix)
    means = np.nanmean(x, axis=0)
    x = np.where(np.isnan(x), means, x)  # no missing in the simulation; a user's mean fill
    pcs = pd.read_csv(f"{prefix}.eigenvec", sep="\t", dtype={"#IID": str, "IID": str})
    pcs = pcs.rename(columns=lambda c: c.lstrip("#")).set_index("IID")  # plink2: "#IID"
    x = np.hstack([x, pcs.loc[samples].filter(like="PC").to_numpy(np.float32)])
    labels = pd.read_csv(sheet, sep="\t", dtype=str, keep_default_na=False)
    y = labels.set_index("sample").loc[samples, "population"].to_numpy()
    lab = y != ""
    t1 = time.perf_counter()
    rf = RandomForestClassifier(
        n_estimators=trees, max_features="sqrt", n_jobs=2, random_state=SEED
    )
    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=SEED)
    scores = cross_val_score(rf, x[lab], y[lab], cv=cv, scoring="accuracy")
    t2 = time.perf_counter()
    rf.fit(x[lab], y[lab])
    predicted = rf.predict(x[~lab]) if (~lab).any() else []
    t3 = time.perf_counter()
    print(json.dumps({
        "features": int(x.shape[1] - pcs.filter(like="PC").shape[1]), "load_s": t1 - t0,
        "cv_s": t2 - t1, "refit_predict_s": t3 - t2, "cv_accuracy": float(scores.mean()),
        "cv_sd": float(scores.std()), "predicted": len(predicted),
    }))  # fmt: skip


# ----------------------------------------------------------------------------- report


def workflow_accuracy(wd: Path):
    """CV accuracy (mean over the folds) of metrics.json, None before the model ran."""
    path = wd / "results" / "model" / "metrics.json"
    if not path.exists():
        return None
    m = json.loads(path.read_text())
    return m.get("metrics", {}).get("accuracy", {}).get("mean")


def job_table(wd: Path, since: float, vcf: Path) -> tuple[str, pd.DataFrame]:
    b = benchmarks(wd)
    b = b[b["mtime"] >= since]
    if b.empty:
        return "(no job ran)\n", b
    n, m = matrix_shape(wd)
    mat_mb = n * m / 1e6
    chunks = chunk_records(wd, vcf)
    rows = []
    for r in b.sort_values("mtime").itertuples():
        reads = mat_mb
        what = f"{n:,} × {m:,}"
        if r.job.startswith("filter/chunk"):
            key = r.job.rsplit(".", 1)[-1]
            if key in chunks:
                reads, what = n * chunks[key] / 1e6, f"{n:,} × {chunks[key]:,} (VCF chunk)"
        rows.append({"job": r.job, "wall s": f"{r.s:.1f}", "CPU s": f"{r.cpu:.1f}",
                     "peak RSS MB": f"{r.max_rss:,.0f}", "int8 matrix it reads": what,
                     "RSS / int8": f"{r.max_rss / reads:.1f}" if reads else "",
                     # Under load the wall is several times the CPU (single-threaded jobs):
                     # both are given; the CPU is what an idle machine's wall would be near.
                     "wall ≤ 60 s": "yes" if r.s <= 60 else "no",
                     "CPU ≤ 60 s, RSS ≤ 2 GB": "yes" if r.cpu <= 60 and r.max_rss <= 2000 else "no",
                     })  # fmt: skip
    return table(rows, list(rows[0])), b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, choices=sorted(COHORTS), required=True)
    ap.add_argument("--model-timeout", type=float, default=3600)
    ap.add_argument("--skip-by-hand", action="store_true")
    ap.add_argument("--skip-workflow", action="store_true")
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--reuse-plink", action="store_true", help="by hand: keep plink2's outputs")
    ap.add_argument("--tiny-model", action="store_true", help=f"model {TINY} (wf<size>_tiny)")
    phases = ["A", "B", "C", "hand"]
    ap.add_argument("--only", nargs="+", choices=phases, default=phases, help="phases to run")
    args = ap.parse_args()
    vcf, sheet = cohort(args.size)
    records = int(subprocess.run(f"bcftools index -n {vcf}", shell=True, capture_output=True,
                                 text=True, check=True).stdout)  # fmt: skip
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    light = LIGHT.get(args.size)
    lines = [
        f"## {args.size:,} samples × {records:,} records"
        + (f" (tiny model: {TINY})" if args.tiny_model else "") + "\n",
        f"`bench/genome_scale.py --size {args.size}` at {stamp}, commit {head}, 2 cores "
        f"(SHARED with other engineers' jobs: load given per phase). "
        + ("A 20-tree forest (`--tiny-model`): for the jobs after the model only."
           if args.tiny_model else
           f"Lighter CV on both arms: {light['n_estimators']} trees, 5 × {light['cv_repeats']}."
           if light else "Full CV on both arms: 500 trees, 5 × 3.")
        + "\n",
    ]  # fmt: skip
    wf_total = None
    only = set(args.only)
    if args.skip_workflow:
        only -= {"A", "B", "C"}
    if args.skip_by_hand or args.model_timeout == 0:
        only -= {"hand"} if args.skip_by_hand else set()
    if args.model_timeout == 0:
        only -= {"B"}
    if only & {"A", "B", "C"}:
        wd = workflow_dir(args.size, vcf, sheet, args.tiny_model)
        if args.fresh:
            shutil.rmtree(wd / "results", ignore_errors=True)
        t_start = time.time()
        phases, a, b = [], None, None
        if "A" in only:
            a = snakemake_phase(wd, PHASE_A, None, wd / "phaseA.log")
            phases.append(("A: filter → matrix → features", a))
        if "B" in only:
            b = snakemake_phase(wd, PHASE_B, args.model_timeout, wd / "phaseB.log")
            phases.append((f"B: model → predictions (cap {args.model_timeout:.0f} s)", b))
            if a and a["finished"] and b["finished"]:
                wf_total = a["wall"] + b["wall"]
        if "C" in only:
            model_done = (wd / "results" / "predict" / "predictions.tsv").exists()
            c = snakemake_phase(wd, [] if model_done else MODEL_FREE, None, wd / "phaseC.log")
            phases.append(("C: association, report, notebooks, summary", c))
        lines.append("\n### Workflow phases\n\n" + table(
            [{"phase": p, "wall s": f"{r['wall']:.1f}",
              "outcome": "done" if r["finished"] else ("killed at the cap" if r["killed"]
                                                       else f"failed (rc {r['rc']})"),
              "load 1/5/15 before → after": r["load"]} for p, r in phases],
            ["phase", "wall s", "outcome", "load 1/5/15 before → after"]))  # fmt: skip
        text, _ = job_table(wd, t_start - 1, vcf)
        lines.append("\n### Every job (results/benchmarks)\n\n" + text)
        acc = workflow_accuracy(wd)
        lines.append(f"\nWorkflow CV accuracy: {acc if acc is None else f'{acc:.3f}'}"
                     + (f"; ML half (A + B) wall {wf_total:.1f} s.\n" if wf_total else
                        "; ML half: A and B not both run and finished here.\n"))  # fmt: skip
    if "hand" in only:
        h = by_hand(args.size, vcf, sheet, args.reuse_plink)
        lines.append(
            f"\n### By hand: plink2 + scikit-learn forest\n\nplink2 `{PLINK_FILTERS} "
            f"--indep-pairwise 50 5 0.8`, `{h['pca']}`; forest {h['trees']} trees, sqrt, "
            f"5 × {h['repeats']} CV on {h['features']:,} pruned SNPs + 10 PCs, refit, "
            f"{h['predicted']} predictions. Wall **{h['wall']:.1f} s** ("
            + (
                f"plink2 {h['plink_wall']:.0f} s from its logs, an earlier run; "
                if "plink_wall" in h
                else ""
            )
            + f"forest: read "
            f"{h['load_s']:.1f} s, CV {h['cv_s']:.1f} s, refit + predict "
            f"{h['refit_predict_s']:.1f} s), CPU {h['cpu']:.0f} s, peak RSS "
            f"{h['rss'] / 1e6:,.0f} MB, load {h['load']} at the start, {loadavg()} at the end. "
            f"CV accuracy **{h['cv_accuracy']:.3f}** (sd {h['cv_sd']:.3f}).\n"
        )
        if wf_total:
            lines.append(
                f"\nML half workflow / by hand: **{wf_total / h['wall']:.2f}×** (target ≤ 2).\n"
            )
    section = "\n".join(lines)
    print(section)
    write_section(
        f"{args.size} {''.join(sorted(only))}{' tiny' if args.tiny_model else ''}", section
    )


def write_section(key: str, section: str):
    """Replace this run's section (size and phases) of RESULTS, keep the rest."""
    old = RESULTS.read_text() if RESULTS.exists() else ""
    marker = f"<!-- size {key} -->"
    parts = {}
    intro = "# The ML half at genome scale (issue 22)\n\nSee `bench/genome_scale.py` for how.\n"
    if old:
        chunks = old.split("<!-- size ")
        intro = chunks[0]
        for c in chunks[1:]:
            parts[c.split(" -->", 1)[0]] = "<!-- size " + c
    parts[key] = f"{marker}\n{section}\n"
    order = sorted(parts, key=lambda k: (int(k.split()[0]), k))
    RESULTS.write_text(intro + "".join(parts[k] for k in order))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--forest":
        forest(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
