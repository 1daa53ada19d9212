"""A realistic-size benchmark of the read half (issue 13): the workflow against
bench/by_hand.sh on reads simulated from the real E. coli K-12 genome.

8 haploid samples (`--samples`), each with its own wgsim mutations (seed = sample number),
`--coverage` 30x of 2 x 100 bp pairs (`wgsim -N <pairs> -1 100 -2 100 -e 0.002 -r 0.0005
-R 0.1 -h`, as ../shared/notes/measured-2026-11-29.md). Then, alternated (by hand,
workflow, by hand, ...; with `--parallel` both arms of a round at once, so that both see
the same load): the workflow's read targets (FastQC, Cutadapt, BWA-MEM, markdup,
samtools stats, joint VCF + stats; no ML steps) from an empty results/ with `--cores 2`,
and bench/by_hand.sh with the same tools, options and cores. Reports wall and CPU (exact
`os.wait4` rusage of each run's process tree), whether the VCF records are identical, SNP
recall/precision of each sample against wgsim's mutation list, and the workflow's time per
rule (its benchmark files).

    .venv/bin/python bench/ecoli.py       # 8 x 30x, 1 round; writes bench/results/ecoli.md
    .venv/bin/python bench/ecoli.py --repeats 2 --samples 4 --coverage 15

Not a test: timings depend on the machine and its load (the load average of each run is
in the table).
"""

import argparse
import datetime as dt
import gzip
import os
import shutil
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO / "scripts"), str(BENCH)]  # scripts/defaults.py, not bench/
from defaults import schema_defaults  # noqa: E402  (scripts/defaults.py)
from run import by_hand_env, loadavg, mb, measure, table, vcf_body_md5  # noqa: E402

GENOME = REPO.parent / "shared/data/ecoli_k12_refseq/GCF_000005845.2_ASM584v2_genomic.fna.gz"
READ_LEN = 100
CORES = 2


def simulate(data: Path, n_samples: int, coverage: float, pairs: int | None = None) -> int:
    """Reference (decompressed) and wgsim reads + mutation lists of samples E1..En; kept
    between runs (a sample is made again only if its files are missing). Pairs per sample."""
    data.mkdir(parents=True, exist_ok=True)
    ref = data / "ref.fa"
    if not ref.exists():
        with gzip.open(GENOME, "rb") as src, open(ref, "wb") as dst:
            shutil.copyfileobj(src, dst)
    length = sum(len(line.strip()) for line in open(ref) if not line.startswith(">"))
    pairs = pairs or round(coverage * length / (2 * READ_LEN))
    for i in range(1, n_samples + 1):
        s = f"E{i}"
        truth = data / f"{s}.truth.txt"
        done = data / f"{s}.{pairs}.done"
        if done.exists():
            continue
        print(f"simulating {s}: {pairs:,} pairs ...", flush=True)
        fq = [data / f"{s}_R{m}.fastq" for m in (1, 2)]
        with open(truth, "w") as out:
            subprocess.run(
                ["wgsim", "-S", str(i), "-N", str(pairs), "-1", str(READ_LEN), "-2", str(READ_LEN)]
                + ["-e", "0.002", "-r", "0.0005", "-R", "0.1", "-h", str(ref), *map(str, fq)],
                stdout=out,
                stderr=subprocess.DEVNULL,
                check=True,
            )
        subprocess.run(["pigz", "-p", "1", "-1", "-f", *map(str, fq)], check=True)
        done.touch()
    return pairs


def write_project(wd: Path, data: Path, n_samples: int) -> None:
    """Config (the defaults with samples, units, reference and ploidy 1) and sheets."""
    (wd / "config").mkdir(parents=True, exist_ok=True)
    samples = [f"E{i}" for i in range(1, n_samples + 1)]
    (wd / "config/samples.tsv").write_text(
        "sample\tphenotype\n" + "".join(f"{s}\t{'ab'[i % 2]}\n" for i, s in enumerate(samples))
    )
    (wd / "config/units.tsv").write_text(
        "sample\tunit\tfq1\tfq2\n"
        + "".join(f"{s}\tL1\t{data}/{s}_R1.fastq.gz\t{data}/{s}_R2.fastq.gz\n" for s in samples)
    )
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg |= {"samples": "config/samples.tsv", "units": "config/units.tsv", "ploidy": 1}
    cfg["reference"]["fasta"] = str(data / "ref.fa")
    (wd / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def targets(n_samples: int) -> list[str]:
    """What by_hand.sh also makes: FastQC, Cutadapt reports, BAMs, samtools stats, the
    joint VCF and its stats."""
    samples = [f"E{i}" for i in range(1, n_samples + 1)]
    out = ["results/calls/cohort.vcf.gz", "results/calls/cohort.stats.txt"]
    out += [f"results/fastqc/{s}/L1" for s in samples]  # one unit per sample
    return out + [f"results/bamstats/{s}.stats.txt" for s in samples]


def run_workflow(wd: Path, n_samples: int, i: int) -> dict:
    shutil.rmtree(wd / "results", ignore_errors=True)
    shutil.rmtree(wd / ".snakemake", ignore_errors=True)
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(wd)]
    cmd += ["--cores", str(CORES), *targets(n_samples)]
    return measure(cmd, cwd=wd, log=wd / f"workflow.{i}.log", poll=0.5)


def run_by_hand(wd: Path, i: int) -> dict:
    cfg = yaml.safe_load((wd / "config/config.yaml").read_text())
    cfg = {**schema_defaults(), **cfg}  # config/config.yaml sets only some defaults
    out = wd / "by_hand"
    shutil.rmtree(out, ignore_errors=True)
    env = by_hand_env(cfg)
    cmd = ["bash", str(BENCH / "by_hand.sh"), cfg["reference"]["fasta"]]
    cmd += [str(wd / "config/units.tsv"), str(out)]
    return measure(cmd, cwd=wd, env=env, log=wd / f"by_hand.{i}.log", poll=0.5)


def truth_snps(path: Path) -> set:
    """(chrom, pos, ref, alt) of wgsim's substitutions (haploid: one base each)."""
    t = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2, 3], dtype=str)
    t = t[t[2].str.fullmatch("[ACGT]") & t[3].str.fullmatch("[ACGT]")]
    return set(zip(t[0], t[1].astype(int), t[2], t[3], strict=True))


def called_snps(vcf: Path) -> dict:
    """sample -> {(chrom, pos, ref, alt)} of SNP records where its genotype is ALT."""
    q = subprocess.run(
        ["bcftools", "query", "-i", 'TYPE="snp" && GT="alt"']
        + ["-f", r"[%SAMPLE\t%CHROM\t%POS\t%REF\t%ALT\n]", str(vcf)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    calls = defaultdict(set)
    for line in q.splitlines():
        s, chrom, pos, ref, alt = line.split("\t")
        calls[s].add((chrom, int(pos), ref, alt))
    return calls


def accuracy(vcf: Path, data: Path, n_samples: int) -> list[dict]:
    calls = called_snps(vcf)
    rows = []
    for i in range(1, n_samples + 1):
        s = f"E{i}"
        truth, called = truth_snps(data / f"{s}.truth.txt"), calls.get(s, set())
        tp = len(truth & called)
        rows.append({"sample": s, "truth SNPs": len(truth), "called SNPs": len(called),
                     "recall": f"{tp / len(truth):.4f}",
                     "precision": f"{tp / max(len(called), 1):.4f}"})  # fmt: skip
    return rows


def step_times(wd: Path) -> list[dict]:
    """Σ per rule of the workflow's benchmark files (wall s, CPU s sampled by psutil)."""
    root = wd / "results/benchmarks"
    rows = []
    for p in sorted(root.rglob("*.tsv")):
        rel = p.relative_to(root).with_suffix("").parts
        if rel[0] == "map":
            step = (
                "trim_map (cutadapt; FastQC beside bwa mem \\| fixmate \\| sort)"
                if rel[1] == "units"
                else "markdup (merge \\| markdup, index, stats)"
            )
        elif rel[0] in ("calls", "reference"):
            step = f"{rel[0]}: {rel[1].rstrip('0123456789.').split('.')[0]}"
        else:
            step = rel[0]
        b = pd.read_csv(p, sep="\t")
        rows.append({"step": step, "s": b["s"].sum(), "cpu": b["cpu_time"].sum()})
    t = (
        pd.DataFrame(rows)
        .groupby("step")
        .agg(jobs=("s", "size"), s=("s", "sum"), cpu=("cpu", "sum"))
    )
    t = t.sort_values("s", ascending=False)
    return [{"step": k, "jobs": int(r.jobs), "Σ wall s": f"{r.s:.1f}", "Σ CPU s": f"{r.cpu:.1f}"}
            for k, r in t.iterrows()]  # fmt: skip


def _into(results, name, fn, *args):
    results[name] = fn(*args)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--coverage", type=float, default=30)
    ap.add_argument("--pairs", type=int, help="read pairs per sample (default: from --coverage)")
    ap.add_argument("--repeats", type=int, default=1, help="alternated rounds")
    ap.add_argument(
        "--parallel", action="store_true", help="run the two arms of a round at the same time"
    )
    ap.add_argument("--work", type=Path, default=BENCH / "work" / "ecoli")
    ap.add_argument("--out", type=Path, default=BENCH / "results" / "ecoli.md")
    args = ap.parse_args(argv)
    data, wd = args.work / "data", args.work / "project"
    (BENCH / "work").mkdir(exist_ok=True)  # bench/run.py measure() keeps a file there
    pairs = simulate(data, args.samples, args.coverage, args.pairs)
    write_project(wd, data, args.samples)
    start = dt.datetime.now(dt.UTC)
    runs, rows, same = {"by hand": [], "workflow": []}, [], []
    for i in range(args.repeats):
        results = {}
        if args.parallel:  # both arms at once: the same machine load for both
            print(f"  by hand and workflow run {i + 1} together (load {loadavg()}) ...")
            t = threading.Thread(target=_into, args=(results, "by hand", run_by_hand, wd, i))
            t.start()
            results["workflow"] = run_workflow(wd, args.samples, i)
            t.join()
        for name in ("by hand", "workflow"):
            if not args.parallel:
                print(f"  {name} run {i + 1} (load {loadavg()}) ...", flush=True)
                results[name] = (
                    run_by_hand(wd, i) if name == "by hand" else run_workflow(wd, args.samples, i)
                )
            r = results[name]
            runs[name].append(r)
            rows.append({"run": f"{name} #{i + 1}", "wall s": f"{r['wall']:.1f}",
                         "CPU s": f"{r['cpu']:.1f}", "CPU/wall": f"{r['cpu'] / r['wall']:.2f}",
                         "peak RSS MB": mb(r["rss"]), "load at start": r["load"]})  # fmt: skip
            print(f"    {rows[-1]}", flush=True)
        same.append(
            vcf_body_md5(wd / "results/calls/cohort.vcf.gz")
            == vcf_body_md5(wd / "by_hand/cohort.vcf.gz")
        )
        # Written after every round: a long benchmark stopped early keeps its figures.
        text = report(args, pairs, start, runs, rows, same, wd, data)
        args.out.write_text(text)
    print(text)


def report(args, pairs, start, runs, rows, same, wd, data) -> str:
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    dirty = ["git", "-C", str(REPO), "diff", "--quiet", "HEAD", "--", "Snakefile", "rules"]
    if not commit:
        commit = f"unknown ({REPO} is not a git checkout)"
    elif subprocess.run([*dirty, "scripts", "bench/by_hand.sh"], capture_output=True).returncode:
        commit += " with uncommitted changes to the workflow"
    med = {k: {m: float(np.median([r[m] for r in v])) for m in ("wall", "cpu")}
           for k, v in runs.items()}  # fmt: skip
    wall_ratio = med["workflow"]["wall"] / med["by hand"]["wall"]
    cpu_ratio = med["workflow"]["cpu"] / med["by hand"]["cpu"]
    acc = accuracy(wd / "results/calls/cohort.vcf.gz", data, args.samples)
    return (
        f"# E. coli K-12 read half: workflow vs by hand ({start:%Y-%m-%d %H:%M} UTC)\n\n"
        f"Commit {commit}; `bench/ecoli.py --samples {args.samples} --coverage {args.coverage:g} "
        f"--repeats {args.repeats}{' --parallel' * args.parallel}`; {os.cpu_count()} CPUs "
        "shared with other users (see the load column). Reads: wgsim, "
        f"{pairs:,} pairs of 2 × 100 bp per sample ({pairs * 200 / 4641652:.1f}×, haploid, "
        "4,641,652 bp genome), each sample its own mutations. Both arms: FastQC, Cutadapt, "
        "BWA-MEM, "
        f"markdup, samtools stats, joint calling (ploidy 1) + stats on {CORES} cores, each "
        "from nothing (reference index included); "
        + ("the two arms of a round at the same time.\n\n" if args.parallel else "alternated.\n\n")
        + table(rows, ["run", "wall s", "CPU s", "CPU/wall", "peak RSS MB", "load at start"])
        + f"\nMedians: workflow / by hand **wall {wall_ratio:.3f}**, **CPU {cpu_ratio:.3f}** "
        "(aims ≤ 1.15 and ≤ 1.1). VCF records identical in every round: "
        f"**{all(same)}** ({same}).\n\n"
        "## SNP calls against wgsim's mutations (workflow VCF)\n\n"
        + table(acc, ["sample", "truth SNPs", "called SNPs", "recall", "precision"])
        + "\n## Where the workflow's time goes (last run, results/benchmarks)\n\n"
        + table(step_times(wd), ["step", "jobs", "Σ wall s", "Σ CPU s"])
        + "\nΣ wall counts jobs that ran at the same time once each; the CPU column is "
        "psutil's sampling of each job's process tree (short-lived children missed: a "
        "lower bound).\n"
    )


if __name__ == "__main__":
    main()
