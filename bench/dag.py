"""How the workflow's DAG scales with the number of samples (issue 5 scale figures).

For each cohort size, writes a synthetic project (tiny reference, 4-read paired gzip FASTQs
per sample, so that every sheet check runs as on real data) and times `snakemake --dry-run`
(wall and CPU time of the Snakemake process: parsing, sheet validation, DAG). Then, for one
size, creates every output of a complete run (empty files, times ordered with `--touch`), adds
one sample and counts the jobs a dry run plans, per rule, in joint and gvcf calling modes.

    .venv/bin/python bench/dag.py                          # 100, 1,000, 10,000; add 1 to 1,000
    .venv/bin/python bench/dag.py --sizes 100 1000 --add-to 100 --json out.json

Prints markdown tables. Not a test: timings depend on the machine and its load.
"""

import argparse
import gzip
import json
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WORK = REPO / "bench" / "work" / "dag"
sys.path.insert(0, str(REPO / "tests"))
from helpers import job_counts  # noqa: E402  (the dry-run job table parser the tests use)

READ_LEN = 100


def _fastq(path, sample, mate, rng):
    """Four reads: enough for the sheet checks (first reads, pairing by name)."""
    lines = []
    for i in range(4):
        seq = "".join(rng.choice("ACGT") for _ in range(READ_LEN))
        lines += [f"@{sample}.{i}/{mate}", seq, "+", "I" * READ_LEN]
    with gzip.open(path, "wt", compresslevel=1) as fh:
        fh.write("\n".join(lines) + "\n")


def write_project(workdir, n_samples, seed=1):
    """Config, sheets, reference and FASTQs of `n_samples` samples (one paired unit each).

    Samples already present keep their files (so that growing a cohort keeps its state)."""
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    ref = data / "ref.fa"
    if not ref.exists():
        contigs = [
            f">chr{c}\n" + "".join(rng.choice("ACGT") for _ in range(5000)) + "\n" for c in (1, 2)
        ]
        ref.write_text("".join(contigs))
    samples = [f"S{i:05d}" for i in range(1, n_samples + 1)]
    for s in samples:
        for mate in (1, 2):
            fq = data / f"{s}_R{mate}.fastq.gz"
            if not fq.exists():
                _fastq(fq, s, mate, rng)
    (workdir / "config").mkdir(exist_ok=True)
    (workdir / "config/samples.tsv").write_text(
        "sample\tphenotype\n"
        + "".join(f"{s}\t{'case' if i % 2 else 'control'}\n" for i, s in enumerate(samples))
    )
    (workdir / "config/units.tsv").write_text(
        "sample\tunit\tfq1\tfq2\n"
        + "".join(f"{s}\tL1\tdata/{s}_R1.fastq.gz\tdata/{s}_R2.fastq.gz\n" for s in samples)
    )
    return samples


def write_config(workdir, mode="joint"):
    with open(REPO / "config" / "config.yaml") as fh:
        cfg = yaml.safe_load(fh)
    cfg["samples"] = "config/samples.tsv"
    cfg["units"] = "config/units.tsv"
    cfg["reference"]["fasta"] = "data/ref.fa"
    cfg["bcftools"] = {"mode": mode}
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def run_snakemake(workdir, *args):
    """(completed process, wall s, CPU s) of one Snakemake run in workdir."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir)]
    cmd += ["--cores", "2", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    return proc, wall, cpu


def dry_run(workdir):
    proc, wall, cpu = run_snakemake(workdir, "-n", "--quiet", "rules")
    return job_counts(proc.stdout + proc.stderr), wall, cpu


def bench_sizes(sizes, work):
    rows = []
    for n in sizes:
        workdir = work / f"n{n}"
        t0 = time.perf_counter()
        write_project(workdir, n)
        write_config(workdir)
        setup = time.perf_counter() - t0
        jobs, wall, cpu = dry_run(workdir)
        rows.append(
            {
                "samples": n,
                "jobs": sum(jobs.values()),
                "wall_s": wall,
                "cpu_s": cpu,
                "setup_s": setup,
            }
        )
        print(f"  {n} samples: {sum(jobs.values())} jobs, dry run {wall:.1f} s", file=sys.stderr)
    return rows


def complete_state(workdir):
    """Make every planned output exist and be newer than its inputs, as after a full run:
    create the outputs and logs the dry run lists (paths without a suffix are directory
    outputs), then let `--touch` order their times along the DAG."""
    proc, _, _ = run_snakemake(workdir, "-n")
    for line in proc.stdout.splitlines():
        key, _, value = line.strip().partition(": ")
        # Logs too: a later job may read them (e.g. the QC report reads the trim logs).
        if key not in ("output", "log", "benchmark"):
            continue
        for out in value.split(", "):
            path = workdir / out
            if path.suffix:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
            else:
                path.mkdir(parents=True, exist_ok=True)
    return run_snakemake(workdir, "--touch", "--quiet", "all")[1]


def bench_add_one(n, work, mode):
    """Jobs planned after adding one sample to a complete run of n samples."""
    workdir = work / f"add_{mode}_{n}"
    write_project(workdir, n)
    write_config(workdir, mode)
    # A complete state: every output present and newer than its inputs.
    touch_wall = complete_state(workdir)
    before, _, _ = dry_run(workdir)
    write_project(workdir, n + 1)
    jobs, wall, cpu = dry_run(workdir)
    return {
        "mode": mode,
        "samples": n,
        "jobs_before": sum(before.values()),
        "jobs_after_adding_one": sum(jobs.values()),
        "per_rule": jobs,
        "wall_s": wall,
        "cpu_s": cpu,
        "touch_s": touch_wall,
    }


def markdown(rows, adds):
    out = [
        "| samples | jobs in the DAG | jobs per sample | dry run wall (s) | dry run CPU (s) |",
        "|---:|---:|---:|---:|---:|",
    ]
    out += [
        f"| {r['samples']:,} | {r['jobs']:,} | {r['jobs'] / r['samples']:.2f} | {r['wall_s']:.1f}"
        f" | {r['cpu_s']:.1f} |"
        for r in rows
    ]
    for a in adds:
        out += [
            "",
            f"Adding one sample to a complete run of {a['samples']:,} ({a['mode']} calling):"
            f" {a['jobs_after_adding_one']} jobs planned"
            f" (before adding: {a['jobs_before']}); dry run {a['wall_s']:.1f} s wall.",
            "",
            "| rule | jobs |",
            "|---|---:|",
        ]
        out += [f"| {rule} | {count} |" for rule, count in a["per_rule"].items()]
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument(
        "--add-to", type=int, default=1000, help="cohort size for the add-one count (0: skip)"
    )
    ap.add_argument("--modes", nargs="+", default=["joint", "gvcf"], choices=["joint", "gvcf"])
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help="scratch folder")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    ap.add_argument("--keep", action="store_true", help="keep the scratch projects")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    rows = bench_sizes(args.sizes, args.work)
    adds = [bench_add_one(args.add_to, args.work, mode) for mode in args.modes if args.add_to]
    print(markdown(rows, adds))
    if args.json:
        args.json.write_text(json.dumps({"dry_run": rows, "add_one": adds}, indent=2) + "\n")
    if not args.keep:
        for d in args.work.iterdir():
            if d.is_dir() and re.fullmatch(r"n\d+|add_\w+_\d+", d.name):
                shutil.rmtree(d)
    return {"dry_run": rows, "add_one": adds}


if __name__ == "__main__":
    main()
