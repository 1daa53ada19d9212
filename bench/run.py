"""Benchmark harness: where the time goes, side by side with the tools run by hand.

    .venv/bin/python bench/run.py [--quick] [--only NAME ...] [--repeats N]

Sections (NAME): workflow, matrix, model, dag, accuracy. Writes bench/results/<date>.md
(bench/results/<date>-quick.md with --quick) and prints the same markdown. Never a CI
test: run it on demand. See bench/README.md.
"""

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work"
RESULTS = BENCH / "results"
PY = sys.executable
SHARED = REPO.parent / "shared" / "data"
G1K = SHARED / "1000g_phase3_chr1_140kb_2504samples"
G1K_VCF = G1K / "1000G_phase3.chr1_11697036-11836540.vcf.gz"
sys.path[:0] = [str(REPO / "scripts"), str(REPO / "tests")]
CORES = 2


# ----------------------------------------------------------------------------- measuring


def loadavg() -> str:
    return "{:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())


def measure(cmd, cwd=None, env=None, poll=0.05, log=None) -> dict:
    """Run `cmd` (argv list, or a bash string); wall, CPU (user+sys of all waited-for
    descendants) and peak RSS (sum over the live process tree, sampled every `poll` s,
    and at least the largest single process' ru_maxrss). Raises on a non-zero exit."""
    if isinstance(cmd, str):
        cmd = ["bash", "-c", "set -euo pipefail; " + cmd]
    load = loadavg()
    # /usr/bin/time (a small process) forks the command: the command's ru_maxrss then
    # starts from its own pages, not from this (larger) Python process' high-water mark.
    maxrss_file = WORK / f".maxrss.{os.getpid()}"
    cmd = ["/usr/bin/time", "-f", "%M", "-o", str(maxrss_file), *cmd]
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    peak = [0]
    done = threading.Event()

    def sample():
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                total = root.memory_info().rss
                for child in root.children(recursive=True):
                    try:
                        total += child.memory_info().rss
                    except psutil.Error:
                        pass
                peak[0] = max(peak[0], total)
            except psutil.Error:
                return
            done.wait(poll)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (+ descendants)
    rc = os.waitstatus_to_exitcode(status)
    proc.returncode = rc
    wall = time.perf_counter() - start
    done.set()
    t.join()
    if log:
        out.close()
    if rc != 0:
        tail = Path(log).read_text()[-3000:] if log else ""
        raise RuntimeError(f"failed ({rc}): {shlex.join(cmd)[:500]}\n{tail}")
    cpu = usage.ru_utime + usage.ru_stime
    # %M (KiB): the largest single process; the sampled sum covers pipelines.
    maxrss = int(maxrss_file.read_text().split()[-1]) * 1024
    return {"wall": wall, "cpu": cpu, "rss": max(peak[0], maxrss), "load": load}


def mb(nbytes) -> str:
    return f"{nbytes / 2**20:,.0f}"


def table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- 1. workflow


def cohort_config(n_samples: int) -> dict:
    from helpers import deep_update, demo_config

    demo = {"n_samples": n_samples, "n_unlabelled": max(1, n_samples // 4)}
    return deep_update(demo_config(), {"demo": demo})


def ensure_cohort(n_samples: int) -> Path:
    """bench/work/cohort<n>: config, sheets and the demo reads made once by the workflow's
    own demo rules (demo_population, demo_reads), reused by every run."""
    import demo

    wd = WORK / f"cohort{n_samples}"
    stamp = wd / ".reads-done"
    cfg = cohort_config(n_samples)  # rewritten every time: follows the repo's defaults
    (wd / "config").mkdir(parents=True, exist_ok=True)
    cfg["samples"], cfg["units"] = "config/samples.tsv", "config/units.tsv"
    (wd / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    if stamp.exists():
        return wd
    samples, units = demo.demo_sheets(cfg["demo"])
    samples.to_csv(wd / cfg["samples"], sep="\t", index=False)
    units.to_csv(wd / cfg["units"], sep="\t", index=False)
    reads = [*units["fq1"], *units["fq2"]]
    print(f"generating the demo cohort ({n_samples} samples) in {wd} ...", flush=True)
    snakemake(wd, *reads, log=wd / "demo.log")
    stamp.touch()
    return wd


def snakemake(wd, *args, log=None):
    cmd = [PY, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(wd)]
    cmd += ["--cores", str(CORES), *args]
    return measure(cmd, cwd=wd, log=log, poll=0.2)


def tool_targets(wd: Path) -> list[str]:
    """What the by-hand pipeline also makes: FastQC of every unit, Cutadapt reports,
    BAMs, samtools stats, the joint VCF and its stats (no ML steps)."""
    units = pd.read_csv(wd / "config/units.tsv", sep="\t", dtype=str)
    out = ["results/calls/cohort.vcf.gz", "results/calls/cohort.stats.txt"]
    out += [f"results/fastqc/{s}/{u}" for s, u in zip(units["sample"], units["unit"], strict=True)]
    out += [f"results/bamstats/{s}.stats.txt" for s in sorted(set(units["sample"]))]
    return out


def run_workflow(wd: Path, i: int) -> dict:
    shutil.rmtree(wd / "results", ignore_errors=True)
    r = snakemake(
        wd, *tool_targets(wd), "--rerun-triggers", "mtime", log=WORK / f"workflow.{i}.log"
    )
    bench = [pd.read_csv(p, sep="\t") for p in (wd / "results/benchmarks").rglob("*.tsv")]
    b = pd.concat(bench)
    r["tool_cpu"] = float(b["cpu_time"].sum())
    r["tool_s"] = float(b["s"].sum())
    r["jobs"] = len(bench)
    r["max_job_rss"] = float(b["max_rss"].max()) * 2**20
    return r


def by_hand_env(cfg: dict) -> dict:
    """bench/by_hand.sh's environment: the run's settings of the same tools."""
    return {
        **os.environ,
        "CORES": str(CORES),
        "PLOIDY": str(cfg["ploidy"]),
        "CHUNKS": str(cfg["bcftools"]["chunks"]),
        "MPILEUP": cfg["bcftools"]["mpileup"],
        "CALL": cfg["bcftools"]["call"],
        "ADAPTER_R1": cfg["cutadapt"]["adapter_r1"],
        "ADAPTER_R2": cfg["cutadapt"]["adapter_r2"],
        "QUALITY": str(cfg["cutadapt"]["quality"]),
        "MIN_LENGTH": str(cfg["cutadapt"]["min_length"]),
    }


def run_by_hand(wd: Path, i: int) -> dict:
    cfg = yaml.safe_load((wd / "config/config.yaml").read_text())
    out = WORK / "by_hand"
    shutil.rmtree(out, ignore_errors=True)
    env = by_hand_env(cfg)
    cmd = ["bash", str(BENCH / "by_hand.sh"), str(wd / cfg["reference"]["fasta"])]
    cmd += [str(wd / "config/units.tsv"), str(out)]
    return measure(cmd, cwd=wd, env=env, log=WORK / f"by_hand.{i}.log", poll=0.2)


def vcf_body_md5(path) -> str:
    p = subprocess.run(
        f"bcftools view -H {shlex.quote(str(path))} | md5sum",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    )
    return p.stdout.split()[0]


def section_workflow(args) -> str:
    wd = ensure_cohort(args.n_samples)
    rows, runs = [], {"workflow": [], "by hand": []}
    same = None
    for i in range(args.repeats):  # alternated: by hand, workflow, by hand, workflow ...
        for name, fn in (("by hand", run_by_hand), ("workflow", run_workflow)):
            print(f"  {name} run {i + 1} ...", flush=True)
            r = fn(wd, i)
            runs[name].append(r)
            row = {
                "run": f"{name} #{i + 1}",
                "wall s": f"{r['wall']:.1f}",
                "CPU s": f"{r['cpu']:.1f}",
                "CPU/wall": f"{r['cpu'] / r['wall']:.2f}",
                "peak RSS MB": mb(r["rss"]),
                "load 1/5/15": r["load"],
            }
            if name == "workflow":
                floor = r["tool_cpu"] / CORES
                row["Σ tool CPU s (jobs)"] = f"{r['tool_cpu']:.1f} ({r['jobs']})"
                row["floor s"] = f"{floor:.1f}"
                row["wall / floor"] = f"{r['wall'] / floor:.2f}"
                bh = runs["by hand"][-1]
                row["wall / by hand"] = f"{r['wall'] / bh['wall']:.2f}"
            rows.append(row)
        if same is None:
            same = vcf_body_md5(wd / "results/calls/cohort.vcf.gz") == vcf_body_md5(
                WORK / "by_hand/cohort.vcf.gz"
            )
    cols = ["run", "wall s", "CPU s", "CPU/wall", "peak RSS MB", "Σ tool CPU s (jobs)"]
    cols += ["floor s", "wall / floor", "wall / by hand", "load 1/5/15"]
    med = {k: float(np.median([r["wall"] for r in v])) for k, v in runs.items()}
    floor = float(np.median([r["tool_cpu"] for r in runs["workflow"]])) / CORES
    bh_floor = float(np.median([r["cpu"] for r in runs["by hand"]])) / CORES
    wf_floor = float(np.median([r["cpu"] for r in runs["workflow"]])) / CORES
    cfg = cohort_config(args.n_samples)["demo"]
    units = pd.read_csv(wd / "config/units.tsv", sep="\t")
    return (
        f"## 1. Workflow vs the tools by hand\n\nDemo cohort: {args.n_samples} samples "
        f"({len(units)} units), {cfg['contigs']} × {cfg['contig_length']:,} bp, "
        f"{cfg['coverage']}× reads; `--cores {CORES}`; reads → FastQC, Cutadapt, BWA-MEM, "
        "markdup, samtools stats, joint VCF + stats (no ML steps). "
        f"Runs alternated. Joint VCF records identical (by hand vs workflow): **{same}**.\n\n"
        + table(rows, cols)
        + f"\nMedian wall: workflow {med['workflow']:.1f} s, by hand {med['by hand']:.1f} s "
        f"(ratio {med['workflow'] / med['by hand']:.2f}); floor Σ tool CPU ÷ {CORES} cores "
        f"= {floor:.1f} s; workflow wall / floor = {med['workflow'] / floor:.2f} "
        "(aim ≤ 1.1).\n\n"
        "Caveat: Snakemake's `benchmark:` `cpu_time` samples the job's process tree "
        "(psutil), so short-lived children (samtools, most of bwa and cutadapt here) are "
        "missed and that floor is too low. The exact CPU of both runs (`os.wait4` "
        f"rusage) gives a second floor: median by-hand CPU ÷ {CORES} = {bh_floor:.1f} s "
        f"(workflow wall / it = {med['workflow'] / bh_floor:.2f}), median workflow CPU "
        f"÷ {CORES} = {wf_floor:.1f} s (workflow wall / it = "
        f"{med['workflow'] / wf_floor:.2f}).\n"
    )


def step_name(rel: Path) -> str:
    """Benchmark file (relative to results/benchmarks) -> its step, e.g. map/units/S1/L1 ->
    trim_map, calls/chunk.0 -> calls: chunk."""
    parts = rel.with_suffix("").parts
    if parts[0] == "map":
        if parts[1] == "units":
            return "trim_map: cutadapt; FastQC beside bwa_mem \\| fixmate \\| sort"
        return "markdup: merge \\| markdup, index, stats"
    if parts[0] in ("calls", "reference", "demo"):
        stem = parts[1].rstrip("0123456789.").split(".")[0]
        return f"{parts[0]}: {stem}"
    return parts[0]


def section_steps(args) -> str:
    """Where the time goes: Σ per step of the last workflow run's benchmark files."""
    wd = WORK / f"cohort{args.n_samples}"
    root = wd / "results/benchmarks"
    rows = []
    for p in sorted(root.rglob("*.tsv")):
        b = pd.read_csv(p, sep="\t")
        rows.append({"step": step_name(p.relative_to(root)), "s": b["s"].sum(),
                     "cpu": b["cpu_time"].sum(), "rss": b["max_rss"].max()})  # fmt: skip
    if not rows:
        return "## Where the time goes\n\nNo workflow run in bench/work yet.\n"
    t = (
        pd.DataFrame(rows)
        .groupby("step")
        .agg(jobs=("s", "size"), s=("s", "sum"), cpu=("cpu", "sum"), rss=("rss", "max"))
    )
    t = t.sort_values("cpu", ascending=False)
    total = t["cpu"].sum()
    out = [
        {"step": k, "jobs": int(r.jobs), "Σ wall s": f"{r.s:.1f}", "Σ CPU s": f"{r.cpu:.1f}",
         "share of CPU": f"{r.cpu / total:.0%}", "max RSS MB": f"{r.rss:.0f}"}
        for k, r in t.iterrows()
    ]  # fmt: skip
    return (
        "## Where the time goes (workflow, last run, from results/benchmarks)\n\n"
        + table(out, ["step", "jobs", "Σ wall s", "Σ CPU s", "share of CPU", "max RSS MB"])
        + f"\nΣ CPU {total:.1f} s over {int(t['jobs'].sum())} jobs. Snakemake samples a job's "
        "CPU with psutil while it runs, so short-lived children (samtools, most of bwa and "
        "cutadapt) are missed: read the CPU column as a lower bound and Σ wall as the "
        "per-step cost under this load.\n"
    )


# ----------------------------------------------------------------------------- 2. VCF -> matrix


def ensure_sim_vcf(n_samples: int, n_snps: int) -> Path:
    path = WORK / f"sim_{n_samples}x{n_snps}.vcf.gz"
    if not Path(f"{path}.tbi").exists():
        print(f"simulating {path.name} ...", flush=True)
        subprocess.run([PY, str(BENCH / "simvcf.py"), str(n_samples), str(n_snps), str(path)],
                       check=True)  # fmt: skip
    return path


def vcf2matrix(method: str, vcf: Path, prefix: Path) -> dict:
    log = Path(f"{prefix}.{method}.log")
    r = measure([PY, str(BENCH / "vcf2matrix.py"), method, str(vcf), str(prefix)], log=log)
    op = json.loads(log.read_text().strip().splitlines()[-1])
    r["op_cpu"] = op.pop("cpu")  # the operation's CPU (children included), not the process'
    r.update(op)
    return r


def section_matrix(args) -> str:
    inputs = {"1000G chr1 140 kb": G1K_VCF} if G1K_VCF.exists() else {}
    n, m = (200, 5000) if args.quick else (2000, 100_000)
    inputs[f"simulated {n:,} × {m:,}"] = ensure_sim_vcf(n, m)
    # (label, method, on the filtered VCF?); the matrix step reads the filter's output.
    methods = [
        ("ours: filter (filter.py)", "ours_filter", False),
        ("ours: matrix (matrix.py build)", "ours_matrix", True),
        ("bcftools query → numpy", "bcftools_query", True),
        ("scikit-allel read_vcf → to_n_alt", "allel", True),
        ("bcftools view -e … \\| query → numpy", "bcftools_pipe", False),
    ]
    rows, notes = [], []
    for name, vcf in inputs.items():
        prefix = WORK / f"m2_{vcf.name.split('.')[0]}"
        filtered = Path(f"{prefix}.filtered.vcf.gz")
        base = vcf2matrix("baseline", vcf, prefix)
        res = {}
        for _ in range(args.repeats):  # alternated: every method once per round
            for _label, method, on_filtered in methods:
                r = vcf2matrix(method, filtered if on_filtered else vcf, prefix)
                res.setdefault(method, []).append(r)
        for label, method, _ in methods:
            rs = res[method]
            best = min(rs, key=lambda r: r["seconds"])
            secs = best.get("build_seconds", best["seconds"])
            gts = best["sites_in"] * best["samples"]
            mat = best["sites_out"] * best["samples"]
            rows.append({
                "VCF": name,
                "method": label,
                "sites in → out": f"{best['sites_in']:,} → {best['sites_out']:,}",
                "s (min of runs)": f"{secs:.2f}" + (f" (+write {best['seconds'] - secs:.2f})"
                                                    if "build_seconds" in best else ""),
                "M genotypes/s": f"{gts / secs / 1e6:.1f}",
                # CPU of the operation (bcftools children included): robust to load.
                "CPU s": f"{best.get('build_cpu', best['op_cpu']):.2f}",
                "peak RSS MB": mb(best["rss"])
                + (f" (build {mb(best['build_rss'])})" if "build_rss" in best else ""),
                "RSS − interpreter MB": (
                    mb(best["rss"] - base["rss"]) if method.startswith("ours") else ""
                ),
                "matrix MB": mb(mat) if method != "ours_filter" else "",
                "load 1/5/15": best["load"],
            })  # fmt: skip
        t = {k: min(r.get("build_seconds", r["seconds"]) for r in v) for k, v in res.items()}
        cpu = {k: min(r.get("build_cpu", r["op_cpu"]) for r in v) for k, v in res.items()}
        ours = res["ours_matrix"][0]
        mat = ours["sites_out"] * ours["samples"]
        rss = min(r["rss"] for r in res["ours_matrix"])
        build_rss = min(r["build_rss"] for r in res["ours_matrix"])
        notes.append(
            f"- {name}: matrix / bcftools query = {t['ours_matrix'] / t['bcftools_query']:.2f} "
            f"(aim ≤ 1.5); matrix / scikit-allel = {t['ours_matrix'] / t['allel']:.2f} "
            f"(aim < 1); in CPU s (load-robust, build only): matrix / "
            f"bcftools query = {cpu['ours_matrix'] / cpu['bcftools_query']:.2f}, matrix / "
            f"scikit-allel = {cpu['ours_matrix'] / cpu['allel']:.2f}; "
            f"filter + matrix / bcftools view | query = "
            f"{(t['ours_filter'] + t['ours_matrix']) / t['bcftools_pipe']:.2f}; "
            f"matrix step peak RSS / matrix = {rss / max(mat, 1):.1f} with the parquet write, "
            f"{build_rss / max(mat, 1):.1f} for the build alone; less the interpreter "
            f"({mb(base['rss'])} MB): {(rss - base['rss']) / max(mat, 1):.1f} and "
            f"{(build_rss - base['rss']) / max(mat, 1):.1f} (aim ≤ 2)"
        )
    cols = ["VCF", "method", "sites in → out", "s (min of runs)", "CPU s", "M genotypes/s"]
    cols += ["peak RSS MB", "RSS − interpreter MB", "matrix MB", "load 1/5/15"]
    return (
        "## 2. VCF → filtered matrix\n\nEach method in a fresh process (peak RSS of its "
        "process tree), the operation timed inside it (imports excluded); "
        f"{args.repeats} alternated round(s), fastest shown. Filters: the demo's settings "
        "(biallelic SNPs, QUAL ≥ 30, call rate ≥ 0.8, MAF ≥ 0.01; neither VCF has "
        "FORMAT/DP or GQ, so no genotype masking). The matrix rows read the filter's "
        "output; genotypes/s counts the input's sites × samples.\n\n"
        + table(rows, cols)
        + "\n"
        + "\n".join(notes)
        + "\n"
    )


# ----------------------------------------------------------------------------- 3. model

MODEL_CHILD = r"""
import json, sys, time
import numpy as np, pandas as pd
sys.path.insert(0, sys.argv[1])
import model
n, m, jobs = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
params = json.loads(sys.argv[5])
rng = np.random.default_rng(0)
y = np.where(np.arange(n) % 2, "case", "control")
g = (rng.random((n, m)) < 0.3).astype(np.int8) + (rng.random((n, m)) < 0.3)
g[:, :4] += (y == "case")[:, None].astype(np.int8)  # a little signal
g = np.minimum(g, 2).astype(np.int8)
g[rng.random((n, m)) < 0.01] = -1
ids = [f"c:{i + 1}:A:G" for i in range(m)]
names = [f"s{i}" for i in range(n)]
geno = pd.DataFrame(g, index=pd.Index(names, name="sample"), columns=ids)
samples = pd.DataFrame({"sample": names, "label": y})
start = time.perf_counter()
out = model.train(geno, samples, None, {**params, "n_jobs": jobs})
print(json.dumps({"seconds": time.perf_counter() - start,
                  "auc": out["metrics"]["metrics"]["roc_auc"]["mean"]}))
"""


def section_model(args) -> str:
    params = {"n_estimators": 100, "cv_folds": 5, "cv_repeats": 1, "n_shuffles": 1}
    if args.quick:
        grid = [(100, 500), (200, 500)]
    else:
        grid = [(100, 1000), (400, 1000), (1600, 1000), (400, 2000), (400, 4000)]
    rows = []
    for n, m in grid:
        for jobs in (1, 2):
            log = WORK / f"model_{n}_{m}_{jobs}.log"
            cmd = [PY, "-c", MODEL_CHILD, str(REPO / "scripts"), str(n), str(m), str(jobs)]
            r = measure([*cmd, json.dumps(params)], log=log)
            r.update(json.loads(log.read_text().strip().splitlines()[-1]))
            rows.append({
                "samples": n, "SNPs": f"{m:,}", "n_jobs": jobs, "train s": f"{r['seconds']:.1f}",
                "CPU s": f"{r['cpu']:.1f}", "peak RSS MB": mb(r["rss"]),
                "CV AUC": f"{r['auc']:.2f}", "load 1/5/15": r["load"],
            })  # fmt: skip
        one, two = (float(x["train s"]) for x in rows[-2:])
        rows[-1]["speed-up"] = f"{one / two:.2f}"
    cols = ["samples", "SNPs", "n_jobs", "train s", "speed-up", "CPU s", "peak RSS MB"]
    cols += ["CV AUC", "load 1/5/15"]
    return (
        "## 3. Model training\n\n`scripts/model.py` `train()` (CV + shuffled-label CV + "
        f"final refit: {params['cv_folds'] * params['cv_repeats'] * (1 + params['n_shuffles'])}"
        f" + 1 forest fits) with {params}, random genotypes (4 weakly causal SNPs), "
        "balanced binary labels. n_jobs 1 and 2 on 2 shared cores.\n\n"
        + table(rows, cols)
        + "\nProfile (py-spy, 200 × 2,000, n_jobs 1): ~65 % of `train()` is "
        "`SimpleImputer(strategy='most_frequent')` fitting (scikit-learn's per-column "
        "`scipy.stats.mode` loop) in every fold, not the forest. A vectorised "
        "most-frequent imputer (np.bincount over the "
        "0/1/2 codes) would remove most of it (scripts/model.py, not changed here).\n"
    )


# ----------------------------------------------------------------------------- 4. DAG


def section_dag(args) -> str:
    script = BENCH / "dag.py"
    if not script.exists():
        return "## 4. DAG\n\n`bench/dag.py` (issue 5) is not there yet: skipped.\n"
    quick = ["--sizes", "100", "--add-to", "100", "--modes", "joint"]
    cmd = [PY, str(script)] + (quick if args.quick else [])
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        err = p.stderr[-2000:]
        return f"## 4. DAG\n\n`bench/dag.py` failed ({p.returncode}):\n\n```\n{err}```\n"
    return f"## 4. DAG (bench/dag.py, load {loadavg()})\n\n{p.stdout}\n"


# ----------------------------------------------------------------------------- 5. accuracy


def realdata_vcf(name, ref, reads, extra=None) -> Path:
    """Joint calls of a shared real-data set by the workflow (as tests/test_realdata.py)."""
    from helpers import setup_workdir

    wd = WORK / f"real_{name}"
    vcf = wd / "results/calls/cohort.vcf.gz"
    if not vcf.exists():
        samples = [{"sample": s, "phenotype": ""} for s in reads]
        units = [{"sample": s, "unit": "L1", "fq1": a, "fq2": b} for s, (a, b) in reads.items()]
        # No labels here: predict_with (a placeholder, never read for the calls target)
        # lets the sheet checks pass without a trainable target column.
        dummy = WORK / "placeholder.skops"
        dummy.write_text("placeholder: the calls target never reads it\n")
        over = {"reference": {"fasta": str(ref)}, "demo": {"enabled": False}, **(extra or {})}
        over["predict_with"] = str(dummy)
        setup_workdir(wd, over, samples, units)
        snakemake(wd, "results/calls/cohort.vcf.gz", log=wd / "run.log")
    return vcf


def section_accuracy(args) -> str:
    from helpers import compare, genotypes

    rows = []

    def add(name, m):
        rows.append({"truth set": name} | {k: (f"{v:.3f}" if isinstance(v, float) else v)
                                             for k, v in m.items()})  # fmt: skip

    wd = WORK / f"cohort{args.n_samples}"
    truth_vcf = wd / "resources/demo/truth/truth.vcf.gz"
    for label, vcf in (("workflow", wd / "results/calls/cohort.vcf.gz"),
                       ("by hand", WORK / "by_hand/cohort.vcf.gz")):  # fmt: skip
        if vcf.exists() and truth_vcf.exists():
            called = genotypes(vcf)
            samples = sorted({s for gts in called.values() for s in gts})
            add(f"demo {args.n_samples} samples, {label}", compare(
                genotypes(truth_vcf, samples), called))  # fmt: skip
    giab = SHARED / "na12878_chr22_tiny_giab"
    if giab.is_dir():
        reads = {"NA12878": (giab / "reads/NA12878_R1.fastq.gz",
                             giab / "reads/NA12878_R2.fastq.gz")}  # fmt: skip
        vcf = realdata_vcf("giab", giab / "ref/q.fa", reads, {"bcftools": {"chunks": 3}})
        add(
            "NA12878 GIAB (14 SNVs; calls outside truth = unknown)",
            compare(genotypes(giab / "truth/NA12878.chr22.tiny.giab.vcf.gz"), genotypes(vcf)),
        )
    gbr = SHARED / "1000g_gbr_chr17_4kb_bcftools_mpileup"
    if gbr.is_dir():
        reads = {s: (gbr / f"reads/{s}_R1.fastq.gz", gbr / f"reads/{s}_R2.fastq.gz")
                 for s in ("HG00100", "HG00101", "HG00102")}  # fmt: skip
        extra = {"bcftools": {"chunks": 2, "mpileup": ""}}
        vcf = realdata_vcf("gbr", gbr / "ref/mpileup.ref.fa", reads, extra)
        expected = gbr / "expected_caller_output/bcftools_test_call_mpileup.1.out"
        add(
            "1000G GBR 3 samples vs bcftools' expected calls (SNPs + indels)",
            compare(genotypes(expected, snps_only=False), genotypes(vcf, snps_only=False)),
        )
    cols = ["truth set", "truth_sites", "called_sites", "recall", "precision"]
    cols += ["genotype_concordance"]
    return (
        "## 5. Accuracy\n\n`tests/helpers.py` `compare`/`genotypes`: sites matched on "
        "(chrom, pos, ref, alt); recall over truth sites with an ALT in the called samples; "
        "genotype concordance over matched sites.\n\n" + table(rows, cols)
    )


# ----------------------------------------------------------------------------- main

MARK = "<!-- section: "
SECTIONS = {
    "workflow": section_workflow,
    "steps": section_steps,
    "matrix": section_matrix,
    "model": section_model,
    "dag": section_dag,
    "accuracy": section_accuracy,
}


def read_sections(path: Path) -> dict:
    """{section name: text} of a results file written by main()."""
    if not path.exists():
        return {}
    parts = path.read_text().split(MARK)[1:]
    return dict(part.partition(" -->\n")[::2] for part in parts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small settings, to check the harness")
    ap.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run only these sections")
    ap.add_argument("--repeats", type=int, help="alternated runs per comparison (2; quick 1)")
    ap.add_argument("--n-samples", type=int, help="demo cohort size (32; quick 8)")
    ap.add_argument("--out", type=Path, help="results file (bench/results/<date>.md)")
    args = ap.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 2)
    args.n_samples = args.n_samples or (8 if args.quick else 32)
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    env = os.environ.copy()
    os.environ["PATH"] = f"{Path(PY).parent}:{env.get('PATH', '')}"  # snakemake, scripts
    now = dt.datetime.now(dt.UTC)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    head = (
        f"# Benchmarks {now:%Y-%m-%d %H:%M} UTC{' (--quick)' if args.quick else ''}\n\n"
        f"Commit {commit}; {psutil.cpu_count()} CPUs, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB; load average at start "
        f"{loadavg()} (the machine is shared: wall times are noisy, see bench/README.md).\n"
    )
    print(head, flush=True)
    out = args.out or RESULTS / f"{now:%Y-%m-%d}{'-quick' if args.quick else ''}.md"
    # Sections run with --only replace their own part of the file; others are kept (read
    # again before every write, so that runs of other sections may overlap).
    done = {}
    for name in args.only or list(SECTIONS):
        t0 = time.perf_counter()
        try:
            text = SECTIONS[name](args)
        except Exception as e:  # a failed section is reported, the others still run
            text = f"## {name}\n\nFAILED: {type(e).__name__}: {str(e)[:2000]}\n"
        text += f"\n_(section run {now:%H:%M} UTC, took {time.perf_counter() - t0:.0f} s)_\n\n"
        done[name] = text
        print(text, flush=True)
        done = {**read_sections(out), **done}
        body = "".join(f"{MARK}{k} -->\n{done[k]}" for k in SECTIONS if k in done)
        out.write_text(head + "\n" + body)
    print(f"written: {out}")


if __name__ == "__main__":
    main()
