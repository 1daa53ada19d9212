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
import resource
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
# What the cohort needs beyond the defaults: its sheets and reference, the demo's
# genotype filters (.test/demo/config.yaml) for its 10x reads, and (unless --fastqc)
# no FastQC: its JVM costs ~3-4 s CPU per unit, two thirds of a tiny sample's trim + map
# job (6.5 s CPU), i.e. the tool's cost, not the workflow's, and more than a shared
# 2-core machine has for 1,000 samples.
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
    starts = np.cumsum([0] + [len(s) for s in pop.reference.values()])[:-1]
    offset = dict(zip(pop.reference, starts, strict=True))
    site = np.array(
        [offset[c] + p - 1 for c, p in zip(pop.sites["chrom"], pop.sites["pos"], strict=True)]
    )
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
        return [
            (r["sample"], r["phenotype"], r["population"])
            for r in csv.DictReader(fh, delimiter="\t")
        ]


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


def write_config(workdir, mode, fastqc=False):
    """The user's template (config/config.yaml) with what this cohort needs."""
    import yaml

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg["samples"] = "config/samples.tsv"
    cfg["units"] = "config/units.tsv"
    cfg["reference"] = {"fasta": str(DATA / "reference.fa")}
    cfg["filter"] = dict(FILTER)
    if not fastqc:
        cfg["fastqc"] = {"enabled": False}
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


# The test-only settings of tests/test_slurm.py: no accounting here (job states from
# squeue), quick status checks, no account.
SLURM_ARGS = [
    "--workflow-profile", str(REPO / "profiles" / "slurm"),
    "--slurm-status-command", "squeue",
    "--slurm-init-seconds-before-status-checks", "1",
    "--seconds-between-status-checks", "2",
    "--latency-wait", "5",
    "--slurm-no-account",
]  # fmt: skip


def sbatch_jobs():
    """{job id: (comment, state, min memory)} of every job the local controller knows."""
    out = subprocess.run(
        ["squeue", "-h", "-t", "all", "-o", "%i %k %T %m"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SLURM_CONF": "/etc/slurm/slurm.conf"},
    ).stdout
    return {f[0]: (f[1], f[2], f[3]) for f in (line.split() for line in out.splitlines())}


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
        # The path with sample names and numbers left out names the rule:
        # map/units/S/L1 (trim + map), map/S.markdup, calls/chunk.N, ...
        key = re.sub(r"\d+", "N", re.sub(r"S\d+", "S", str(path.relative_to(root))[:-4]))
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
    planned = sum(v for k, v in jobs.items() if k != "total")
    # The jobs this invocation finished (a stopped or resumed run finishes fewer than planned).
    n_jobs = len(re.findall(r"^Finished jobid: ", text, flags=re.M))
    job_s = sum(b["s"] for b in bench.values())
    res.update(
        {
            "tag": tag,
            "jobs": jobs,
            "planned_jobs": planned,
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


def run(name, n, mode, src=None, cores=2, extra=(), fastqc=False, slurm=False):
    workdir = WORK / name
    if src is not None and not workdir.exists():
        t0 = time.perf_counter()
        shutil.copytree(WORK / src, workdir, symlinks=True)
        (workdir / "cohort.json").unlink(missing_ok=True)
        print(f"copied {src} -> {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    workdir.mkdir(parents=True, exist_ok=True)
    write_sheets(workdir, n)
    write_config(workdir, mode, fastqc)
    res = {"samples": n, "mode": mode, "from": src, "fastqc": fastqc, "uptime_start": uptime()}
    res["args"] = list(extra)
    since = time.time() - 1
    log = workdir / "run.log"
    before = sbatch_jobs() if slurm else {}
    res.update(timed(snakemake_cmd(workdir, *extra, cores=cores), log))
    res["uptime_end"] = uptime()
    summarise(workdir, "run", res, since, cores, log)
    if slurm:
        jobs = {k: v for k, v in sbatch_jobs().items() if k not in before}
        res["sbatch"] = jobs
        res["sbatch_count"] = len(jobs)
        res["sbatch_by_name"] = dict(
            Counter(re.sub(r"_wildcards_\d+$", "_wildcards_N", c) for c, _, _ in jobs.values())
        )
        res["sbatch_states"] = dict(Counter(st for _, st, _ in jobs.values()))
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
    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    dry = subprocess.run(
        snakemake_cmd(workdir, "-n", "--quiet", "rules"), capture_output=True, text=True
    )
    dry_wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    dry_cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    planned = job_stats(dry.stdout + dry.stderr)
    res = {
        "samples": n + 1,
        "planned_before": before,
        "planned": planned,
        "dry_run_wall_s": dry_wall,
        # The Snakemake start a run pays before its first job (parse, sheets, DAG).
        "dry_run_cpu_s": dry_cpu,
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
            (r.chrom, r.pos, r.ref, r.alts, tuple(r.samples[s]["GT"] for s in samples)) for r in fh
        ]


def compare(a, b):
    """Do two runs' cohort VCFs have the same records (CHROM POS REF ALT, every GT)?"""
    ra, rb = (records(WORK / x / "results/calls/cohort.vcf.gz") for x in (a, b))
    same = ra == rb
    print(
        f"{a} vs {b}: {len(ra[1])} and {len(rb[1])} records x {len(ra[0])} samples; equal: {same}"
    )
    return same


def report(names):
    """Markdown of the saved figures of runs (bench/work/cohort/<name>/cohort.json)."""
    for name in names:
        data = json.loads((WORK / name / "cohort.json").read_text())
        for key, r in data.items():
            print(f"\n### {name} / {key}\n")
            print(
                f"- {r['samples']} samples, {r['mode'] if 'mode' in r else ''}; jobs finished"
                f" {r['n_jobs']} (planned {r.get('planned_jobs')}); wall {r['wall_s']:.0f} s;"
                f" exit {r['rc']}"
            )
            print(f"- uptime at start: `{r['uptime_start']}`; at end: `{r['uptime_end']}`")
            print(f"- 1-min load while running: mean {r['load_1min_mean']:.1f}, max")
            print(f"  {r['load_1min_max']:.1f}")
            print(
                f"- Snakemake process: CPU {r['snakemake_cpu_s']:.0f} s"
                f" ({r['snakemake_cpu_s'] / max(r['n_jobs'], 1):.3f} s per job),"
                f" peak RSS {r['snakemake_peak_rss_mb']:.0f} MB"
            )
            idle = (r["wall_s"] * r["cores"] - r["jobs_wall_sum_s"]) / max(r["n_jobs"], 1)
            print(
                f"- jobs' own time: Σ wall {r['jobs_wall_sum_s']:.0f} s, Σ CPU"
                f" {r['jobs_cpu_sum_s']:.0f} s; wall x {r['cores']} job slots - Σ job wall ="
                f" {idle:.3f} s per job"
            )
            if "planned" in r:
                print(f"- dry run after adding: {r['planned']} ({r['dry_run_wall_s']:.1f} s)")
            if "sbatch_count" in r:
                print(f"- sbatch jobs: {r['sbatch_count']}: {r['sbatch_by_name']}")
                print(f"  states {r['sbatch_states']}")
            print("\n| benchmark | jobs | Σ wall s | Σ CPU s | max RSS MB |")
            print("|---|---:|---:|---:|---:|")
            for k, x in sorted(r["bench"].items(), key=lambda kv: -kv[1]["s"]):
                print(
                    f"| {k} | {x['jobs']} | {x['s']:.1f} | {x['cpu_s']:.1f}"
                    f" | {x['max_rss_mb']:.0f} |"
                )


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
    r.add_argument("--fastqc", action="store_true", help="keep FastQC on (the default)")
    r.add_argument("--targets", nargs="*", default=[], help="default: the workflow's own")
    r.add_argument("--slurm", action="store_true", help="through profiles/slurm (local SLURM)")
    r.add_argument("--set-resources", nargs="*", default=[], help="passed to Snakemake")
    r.add_argument("--group-components", default="persample=10")
    a = sub.add_parser("add")
    a.add_argument("name")
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    p = sub.add_parser("report")
    p.add_argument("names", nargs="+")
    args = ap.parse_args(argv)
    if args.cmd == "make":
        make(args.samples)
    elif args.cmd == "run":
        extra = [*args.targets]
        if args.slurm:
            extra += [*SLURM_ARGS, "--group-components", args.group_components]
        if args.set_resources:
            extra += ["--set-resources", *args.set_resources]
        run(
            args.name, args.samples, args.mode, args.src, args.cores, extra, args.fastqc, args.slurm
        )
    elif args.cmd == "add":
        add(args.name)
    elif args.cmd == "compare":
        raise SystemExit(0 if compare(args.a, args.b) else 1)
    else:
        report(args.names)


if __name__ == "__main__":
    main()
