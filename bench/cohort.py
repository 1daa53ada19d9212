"""A real cohort of a thousand samples from reads (issue 21, point 2; the SLURM run of point 4).

The demo's simulator (scripts/demo.py) makes one tiny-read cohort: a random 2 x 5 kb
reference, an msprime population of `--make` samples, and per sample one unit of a few
hundred read pairs (10x of 10 kb: 500 pairs), so that the cost is the workflow's, not
BWA's. A project in bench/work/cohort/<name>/ lists the first N of them in its sheets and
sets nothing but what the cohort needs (sheets, reference, and the demo's genotype filters
for its low depth; `bcftools.mode` for gvcf); every other key keeps its default, and the
workflow's own profile (profiles/default) applies.

    .venv/bin/python bench/cohort.py make --samples 1001           # reads of 1,001 samples, once
    .venv/bin/python bench/cohort.py run n1000_joint --samples 1000 [--mode gvcf] [--from DIR]
    .venv/bin/python bench/cohort.py add n1000_joint               # + the next sample: dry run, run
    .venv/bin/python bench/cohort.py report n1000_joint ...        # markdown of the saved figures

`run` times the whole workflow (`snakemake --cores 2`, default targets) and polls the
Snakemake process itself (psutil, every 0.2 s) for its RSS and CPU time (its own, not its
jobs'); the jobs' own time comes from results/benchmarks/**.tsv (the files the run wrote).
Figures go to <workdir>/cohort.json. `--from DIR` starts from a copy of a finished run
(e.g. the gvcf mode on the joint run's BAMs). Not a test: timings depend on the load.
"""

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter, defaultdict
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / "work" / "cohort"
DATA = WORK / "data"
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests"))

# The simulator's settings of the tiny-read cohort (scripts/demo.py; every other key its
# default): 2 x 5 kb, 10x of 2 x 100 bp = 500 pairs per sample.
SIM = {"populations": 3, "contigs": 2, "contig_length": 5000, "coverage": 10, "n_unlabelled": 0}
# What the cohort needs beyond the defaults: its sheets and reference, and the demo's
# genotype filters (.test/demo/config.yaml) for its 10x reads.
FILTER = {"min_dp": 3, "min_gq": 10, "min_call_rate": 0.8}


def make(n, seed=20261122):
    """Reference, truth and one unit of reads per sample of an n-sample cohort in DATA."""
    import numpy as np
    from demo import (
        STREAM_READS,
        _rng,
        _write_fastq,
        n_unit_pairs,
        simulate_pairs,
        simulate_population,
        write_population,
    )

    params = {**SIM, "n_samples": n, "seed": seed}
    t0 = time.perf_counter()
    pop = simulate_population(params)
    DATA.mkdir(parents=True, exist_ok=True)
    write_population(pop, DATA)
    (DATA / "reads").mkdir(exist_ok=True)
    ref = np.concatenate(list(pop.reference.values()))
    offset = dict(
        zip(pop.reference, np.cumsum([0] + [len(s) for s in pop.reference.values()])[:-1])
    )
    site = np.array([offset[c] + p - 1 for c, p in zip(pop.sites["chrom"], pop.sites["pos"])])
    alt = np.array(["ACGT".index(a) for a in pop.sites["alt"]], np.uint8)
    n_pairs = n_unit_pairs(pop.params, 1)
    for i, s in enumerate(pop.samples):
        haps = np.tile(ref, (2, 1))
        for h in (0, 1):
            has = pop.haplotypes[:, i, h] == 1
            haps[h, site[has]] = alt[has]
        # The same random stream as the demo's own reads job (scripts/demo.py).
        rng = _rng(seed, STREAM_READS, i, zlib.crc32(b"L1"))
        reads = simulate_pairs(haps, pop.contigs, n_pairs, pop.params, rng)
        for mate in ("1", "2"):
            _write_fastq(
                DATA / "reads" / f"{s}_L1_R{mate}.fastq.gz",
                f"{s}_L1".encode(),
                mate.encode(),
                reads[f"r{mate}"],
                reads[f"q{mate}"],
            )
    pop.phenotypes.to_csv(DATA / "sheet.tsv", sep="\t", index=False)
    print(
        f"{n} samples, {len(pop.sites)} SNPs, {n_pairs} pairs each:"
        f" {time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
    )


def samples_of_data():
    with open(DATA / "sheet.tsv") as fh:
        return [(r["sample"], r["phenotype"], r["population"]) for r in csv.DictReader(fh, delimiter="\t")]


def write_sheets(workdir, n):
    rows = samples_of_data()
    if n > len(rows):
        raise SystemExit(f"only {len(rows)} samples in {DATA}: run make --samples {n}")
    rows = rows[:n]
    cfg = workdir / "config"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "samples.tsv").write_text(
        "sample\tphenotype\tpopulation\n" + "".join(f"{s}\t{p}\t{q}\n" for s, p, q in rows)
    )
    (cfg / "units.tsv").write_text(
        "sample\tunit\tfq1\tfq2\n"
        + "".join(
            f"{s}\tL1\t{DATA}/reads/{s}_L1_R1.fastq.gz\t{DATA}/reads/{s}_L1_R2.fastq.gz\n"
            for s, _, _ in rows
        )
    )
    return [s for s, _, _ in rows]


def write_config(workdir, mode):
    """The user's template (config/config.yaml) with what this cohort needs."""
    import yaml

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg["samples"] = "config/samples.tsv"
    cfg["units"] = "config/units.tsv"
    cfg["reference"] = {"fasta": str(DATA / "reference.fa")}
    cfg["filter"] = dict(FILTER)
    if mode != "joint":
        cfg["bcftools"] = {"mode": mode}
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def snakemake_cmd(workdir, *args, cores=2):
    return [
        sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir),
        "--cores", str(cores), *args,
    ]  # fmt: skip


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def timed(cmd, log):
    """Run cmd; wall, and the process's own peak RSS and CPU (psutil, every 0.2 s), the
    load averages seen, the process tree's peak RSS."""
    loads, peak, tree_peak, cpu = [], 0, 0, 0.0
    start = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        ps = psutil.Process(proc.pid)
        done = threading.Event()

        def poll():
            nonlocal peak, tree_peak, cpu
            last_load = 0.0
            while not done.is_set():
                try:
                    rss = ps.memory_info().rss
                    t = ps.cpu_times()
                    cpu = t.user + t.system
                    peak = max(peak, rss)
                    tree = rss
                    for c in ps.children(recursive=True):
                        try:
                            tree += c.memory_info().rss
                        except psutil.Error:
                            pass
                    tree_peak = max(tree_peak, tree)
                except psutil.Error:
                    break
                if time.perf_counter() - last_load > 10:
                    loads.append(os.getloadavg()[0])
                    last_load = time.perf_counter()
                done.wait(0.2)

        th = threading.Thread(target=poll, daemon=True)
        th.start()
        rc = proc.wait()
        done.set()
        th.join()
    return {
        "rc": rc,
        "wall_s": time.perf_counter() - start,
        "snakemake_peak_rss_mb": peak / 2**20,
        "snakemake_cpu_s": cpu,
        "tree_peak_rss_mb": tree_peak / 2**20,
        "load_1min_mean": sum(loads) / len(loads) if loads else None,
        "load_1min_max": max(loads) if loads else None,
    }


def job_stats(text):
    """{rule: count} of the first 'Job stats' table in a Snakemake log."""
    from helpers import job_counts

    return job_counts(text)


def benchmarks(workdir, since):
    """Per benchmark folder: jobs, Σ wall s, Σ CPU s, max RSS MB; only files written since."""
    out = defaultdict(lambda: {"jobs": 0, "s": 0.0, "cpu_s": 0.0, "max_rss_mb": 0.0})
    root = workdir / "results" / "benchmarks"
    for path in root.rglob("*.tsv"):
        if path.stat().st_mtime < since:
            continue
        with open(path) as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        if not rows:
            continue
        r = rows[-1]
        rel = path.relative_to(root)
        # results/benchmarks/<step>/<sample>/... : the step is the rule family
        key = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        if key in ("calls", "filter", "regions") and len(rel.parts) > 1:
            key = f"{rel.parts[0]}/{re.sub(r'[0-9]+', 'N', rel.stem)}"
        b = out[key]
        b["jobs"] += 1
        b["s"] += float(r["s"])
        cpu = r.get("cpu_time", "")
        b["cpu_s"] += float(cpu) if cpu not in ("", "NA", "-") else 0.0
        rss = r.get("max_rss", "")
        if rss not in ("", "NA", "-"):
            b["max_rss_mb"] = max(b["max_rss_mb"], float(rss))
    return dict(out)


def summarise(workdir, tag, res, since, cores, log):
    text = Path(log).read_text()
    jobs = job_stats(text)
    bench = benchmarks(workdir, since)
    n_jobs = sum(v for k, v in jobs.items() if k != "total")
    job_s = sum(b["s"] for b in bench.values())
    res.update(
        {
            "tag": tag,
            "jobs": jobs,
            "n_jobs": n_jobs,
            "bench": bench,
            "jobs_wall_sum_s": job_s,
            "jobs_cpu_sum_s": sum(b["cpu_s"] for b in bench.values()),
            "cores": cores,
            # Core-seconds of the run not spent inside a job, per job.
            "overhead_per_job_s": (res["wall_s"] * cores - job_s) / n_jobs if n_jobs else None,
            "snakemake_cpu_per_job_s": res["snakemake_cpu_s"] / n_jobs if n_jobs else None,
            "steps_done": re.findall(r"(\d+) of (\d+) steps \(100%\) done", text)[-1:],
        }
    )
    return res


def save(workdir, key, res):
    path = workdir / "cohort.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = res
    path.write_text(json.dumps(data, indent=2) + "\n")


def run(name, n, mode, src=None, cores=2, extra=()):
    workdir = WORK / name
    if src is not None and not workdir.exists():
        t0 = time.perf_counter()
        shutil.copytree(WORK / src, workdir, symlinks=True)
        (workdir / "cohort.json").unlink(missing_ok=True)
        print(f"copied {src} -> {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    workdir.mkdir(parents=True, exist_ok=True)
    write_sheets(workdir, n)
    write_config(workdir, mode)
    res = {"samples": n, "mode": mode, "from": src, "uptime_start": uptime()}
    since = time.time() - 1
    log = workdir / "run.log"
    res.update(timed(snakemake_cmd(workdir, *extra, cores=cores), log))
    res["uptime_end"] = uptime()
    summarise(workdir, "run", res, since, cores, log)
    save(workdir, "run", res)
    print(json.dumps({k: v for k, v in res.items() if k != "bench"}, indent=1), file=sys.stderr)
    if res["rc"]:
        raise SystemExit(f"snakemake failed, see {log}")


def add(name, cores=2):
    """Add the next sample of DATA to a finished run: dry run (jobs per rule), then run."""
    workdir = WORK / name
    n = sum(1 for _ in open(workdir / "config" / "samples.tsv")) - 1
    dry = subprocess.run(
        snakemake_cmd(workdir, "-n", "--quiet", "rules"), capture_output=True, text=True
    )
    before = job_stats(dry.stdout + dry.stderr)
    write_sheets(workdir, n + 1)
    t0 = time.perf_counter()
    dry = subprocess.run(
        snakemake_cmd(workdir, "-n", "--quiet", "rules"), capture_output=True, text=True
    )
    dry_wall = time.perf_counter() - t0
    planned = job_stats(dry.stdout + dry.stderr)
    res = {
        "samples": n + 1,
        "planned_before": before,
        "planned": planned,
        "dry_run_wall_s": dry_wall,
        "uptime_start": uptime(),
    }
    since = time.time() - 1
    log = workdir / "add.log"
    res.update(timed(snakemake_cmd(workdir, cores=cores), log))
    res["uptime_end"] = uptime()
    summarise(workdir, "add", res, since, cores, log)
    save(workdir, "add", res)
    print(json.dumps({k: v for k, v in res.items() if k != "bench"}, indent=1), file=sys.stderr)
    if res["rc"]:
        raise SystemExit(f"snakemake failed, see {log}")


def records(vcf):
    """(CHROM, POS, REF, ALT, every GT) of every record."""
    import pysam

    with pysam.VariantFile(str(vcf)) as fh:
        samples = list(fh.header.samples)
        return samples, [
            (r.chrom, r.pos, r.ref, r.alts, tuple(r.samples[s]["GT"] for s in samples))
            for r in fh
        ]


def report(names):
    for name in names:
        data = json.loads((WORK / name / "cohort.json").read_text())
        for key, r in data.items():
            print(f"\n### {name} / {key}\n")
            print(f"- samples {r['samples']}, jobs {r['n_jobs']}, wall {r['wall_s']:.0f} s, rc {r['rc']}")
            print(f"- uptime at start: `{r['uptime_start']}`; at end: `{r['uptime_end']}`")
            print(f"- load (1 min) during: mean {r['load_1min_mean']}, max {r['load_1min_max']}")
            print(
                f"- Σ job wall {r['jobs_wall_sum_s']:.0f} s, Σ job CPU {r['jobs_cpu_sum_s']:.0f} s;"
                f" idle core-s per job {r['overhead_per_job_s']:.3f};"
                f" Snakemake CPU {r['snakemake_cpu_s']:.0f} s = {r['snakemake_cpu_per_job_s']:.3f} s/job;"
                f" Snakemake peak RSS {r['snakemake_peak_rss_mb']:.0f} MB"
            )
            if "planned" in r:
                print(f"- planned after adding: {r['planned']} (before: {r['planned_before']})")
            print("\n| step | jobs | Σ wall s | Σ CPU s | max RSS MB |\n|---|---:|---:|---:|---:|")
            for k, b in sorted(r["bench"].items(), key=lambda kv: -kv[1]["s"]):
                print(f"| {k} | {b['jobs']} | {b['s']:.1f} | {b['cpu_s']:.1f} | {b['max_rss_mb']:.0f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--samples", type=int, default=1001)
    r = sub.add_parser("run")
    r.add_argument("name")
    r.add_argument("--samples", type=int, default=1000)
    r.add_argument("--mode", default="joint", choices=["joint", "gvcf"])
    r.add_argument("--from", dest="src")
    r.add_argument("--cores", type=int, default=2)
    a = sub.add_parser("add")
    a.add_argument("name")
    p = sub.add_parser("report")
    p.add_argument("names", nargs="+")
    args = ap.parse_args(argv)
    if args.cmd == "make":
        make(args.samples)
    elif args.cmd == "run":
        run(args.name, args.samples, args.mode, args.src, args.cores)
    elif args.cmd == "add":
        add(args.name)
    else:
        report(args.names)


if __name__ == "__main__":
    main()
