"""Memory and time of the cohort steps as the cohort grows (issue 21, point 3).

    .venv/bin/python bench/cohort_steps.py [--samples 100 1000 5000] [--part calling ml]

calling: tiny per-sample BAMs written directly with pysam (no reads, no BWA: 4x coverage
of one 20 kb contig, 40 SNPs), one gVCF per sample (`bcftools mpileup -g`, as rule
gvcf_sample), then the cohort jobs run here exactly as their rules run them, each timed
alone with its peak RSS (the sum over its process tree, bench/run.py measure):
  - joint: one chunk's `bcftools mpileup` of all BAMs | `bcftools call` (rule call_chunk);
  - gvcf: one chunk's merge | call (rule merge_gvcf_chunk, scripts/calls.py merge_chunk),
    in one merge and as a tree under a hard open-file limit of 256 (5 groups at 1,000);
  - gather: concat | norm | sort of the chunk (rule gather_calls).
ml: the steps after calling, run by the workflow itself from a simulated VCF (bench/simvcf.py,
`input_vcf`, N samples x 20,000 SNPs, 4 chunks, a small model); the figures are the jobs'
own benchmark files (max_rss, s).

Writes bench/results/cohort_steps.md. Never a CI test.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO / "scripts"), str(BENCH)]

from run import PY, WORK, ensure_sim_vcf, loadavg, mb, measure, table  # noqa: E402

CONTIG, LENGTH, N_SNPS, READ, STEP = "chr1", 20_000, 40, 100, 25  # depth READ / STEP = 4
MPILEUP = "--min-MQ 20 --min-BQ 20 --max-depth 10000"  # config/config.yaml defaults
CALL = "--multiallelic-caller --variants-only"
TREE_LIMIT = 256  # the gvcf tree is also run as if the hard open-file limit were this


# ----------------------------------------------------------------------------- calling data
def reference(d: Path, rng) -> Path:
    ref = d / "ref.fa"
    if not Path(f"{ref}.fai").exists():
        seq = "".join(rng.choice(list("ACGT"), LENGTH))
        ref.write_text(
            f">{CONTIG}\n" + "\n".join(seq[i : i + 60] for i in range(0, LENGTH, 60)) + "\n"
        )
        subprocess.run(["samtools", "faidx", str(ref)], check=True)
    return ref


def write_bams(d: Path, n: int, seed=1) -> list[Path]:
    """n sorted, indexed single-end BAMs: a read every STEP bp on both haplotypes' mix."""
    import pysam

    rng = np.random.default_rng(seed)
    ref = reference(d.parent, np.random.default_rng(0))
    seq = "".join(line.strip() for line in ref.read_text().splitlines()[1:])
    sites = np.sort(
        np.random.default_rng(2).choice(np.arange(200, LENGTH - 200), N_SNPS, replace=False)
    )
    alt = {int(p): "ACGT"[("ACGT".index(seq[p]) + 1) % 4] for p in sites}
    af = np.random.default_rng(3).beta(0.5, 2.0, N_SNPS)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": CONTIG, "LN": LENGTH}]}
    bams = []
    qual = pysam.qualitystring_to_array("I" * READ)
    for i in range(n):
        name = f"S{i:05d}"
        bam = d / f"{name}.bam"
        bams.append(bam)
        if Path(f"{bam}.bai").exists():
            continue
        hap = rng.random((2, N_SNPS)) < af  # ALT on haplotype 0/1
        header["RG"] = [{"ID": name, "SM": name}]
        with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
            for k, start in enumerate(range(0, LENGTH - READ, STEP)):
                h = rng.integers(2)
                read = list(seq[start : start + READ])
                for j in np.flatnonzero((sites >= start) & (sites < start + READ)):
                    if hap[h, j]:
                        read[sites[j] - start] = alt[int(sites[j])]
                a = pysam.AlignedSegment()
                a.query_name, a.flag, a.reference_id = f"r{k}", 16 * (k % 2), 0
                a.reference_start, a.mapping_quality, a.cigarstring = start, 60, f"{READ}M"
                a.query_sequence, a.query_qualities = "".join(read), qual
                a.set_tag("RG", name)
                out.write(a)
        pysam.index(str(bam))
    return bams


def write_gvcfs(d: Path, ref: Path, bams: list[Path]) -> list[Path]:
    """One gVCF per BAM, as rule gvcf_sample (two at a time)."""
    gvcfs = [d / f"{b.stem}.g.bcf" for b in bams]
    todo = [(b, g) for b, g in zip(bams, gvcfs, strict=True) if not Path(f"{g}.csi").exists()]
    script = (
        f'bcftools mpileup -f {ref} -g 1,5,10,20 -a FORMAT/AD,FORMAT/DP {MPILEUP} -Ob -o "$2" "$1"'
        ' 2>/dev/null && bcftools index -f "$2"'
    )
    args = "".join(f"{b}\n{g}\n" for b, g in todo)
    if todo:
        subprocess.run(["xargs", "-n", "2", "-P", "2", "bash", "-c", script, "_"], input=args,
                       text=True, check=True)  # fmt: skip
    return gvcfs


def calling(n: int, gvcf=True) -> list[dict]:
    d = WORK / "cohort_steps" / f"calling{n}"
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    bams = write_bams(d, n)
    ref = d.parent / "ref.fa"
    t_bam = time.perf_counter() - t0
    gvcfs = write_gvcfs(d, ref, bams) if gvcf else []
    t_gvcf = time.perf_counter() - t0 - t_bam
    print(f"{n}: BAMs {t_bam:.0f} s, gVCFs {t_gvcf:.0f} s", flush=True)
    bed = d / "chunk.bed"
    bed.write_text(f"{CONTIG}\t0\t{LENGTH}\n")
    (d / "bams.list").write_text("".join(f"{b}\n" for b in bams))
    # The calling jobs' ploidy inputs (rules/sex_check.smk): diploid everywhere, every
    # sample listed (bcftools call -S keeps only the samples it names).
    ploidy, sexes = d / "ploidy.txt", d / "sexes.txt"
    ploidy.write_text("* * * * 2\n")
    sexes.write_text("".join(f"{Path(b).name.removesuffix('.bam')}\tF\n" for b in bams))
    rows = []

    def step(label, cmd, out):
        r = measure(cmd, log=d / f"{label}.log")
        with subprocess.Popen(["bcftools", "view", "-H", str(out)], stdout=subprocess.PIPE) as p:
            records = sum(1 for _ in p.stdout)
        rows.append({"samples": f"{n:,}", "job": label, "wall s": f"{r['wall']:.2f}",
                     "CPU s": f"{r['cpu']:.2f}", "peak RSS MB": mb(r["rss"]),
                     "records": f"{records:,}", "load 1/5/15": r["load"]})  # fmt: skip
        print(rows[-1], flush=True)

    joint = d / "joint.bcf"
    step(
        "call_chunk (joint)",
        f"bcftools mpileup -f {ref} -R {bed} -a FORMAT/AD,FORMAT/DP {MPILEUP} -Ou -b {d}/bams.list"
        f" | bcftools call --ploidy-file {ploidy} -S {sexes} -a FORMAT/GQ {CALL} -Ob -o {joint}"
        f" && bcftools index -f {joint}",
        joint,
    )
    merge = (
        "import sys, calls; a = sys.argv; calls.merge_chunk(open(a[1]).read().split(), a[2], a[3],"
        f" a[4], {str(ploidy)!r}, {str(sexes)!r}, {CALL!r}, sys.stderr, int(a[5]) or None)"
    )
    flat, tree = d / "gvcf.bcf", d / "gvcf_tree.bcf"
    csv = d / "gvcfs.list"
    csv.write_text("".join(f"{g}\n" for g in gvcfs))
    env_py = f"PYTHONPATH={REPO / 'scripts'} {PY}"
    if gvcf:
        step(
            "merge_gvcf_chunk (one merge)",
            f'{env_py} -c "{merge}" {csv} {ref} {bed} {flat} 0',
            flat,
        )
    if gvcf and n > TREE_LIMIT - 16:
        step(f"merge_gvcf_chunk (tree, hard limit {TREE_LIMIT})",
             f"{env_py} -c \"{merge}\" {csv} {ref} {bed} {tree} {TREE_LIMIT}", tree)  # fmt: skip
        same = records(flat) == records(tree)
        rows[-1]["records"] += f" (= one merge: {same})"
    gathered = d / "cohort.vcf.gz"
    step("gather_calls",
         f"bcftools concat -Ou {joint} | bcftools norm -f {ref} -m -any -Ou"
         f" | bcftools sort -Oz -o {gathered} -T {gathered}.tmp && bcftools index -f -t {gathered}",
         gathered)  # fmt: skip
    rows.append({"samples": f"{n:,}", "job": "(making the data: BAMs, gVCFs)",
                 "wall s": f"{t_bam:.0f}, {t_gvcf:.0f}"})  # fmt: skip
    return rows


def records(path):
    out = subprocess.run(["bcftools", "query", "-f", "%CHROM %POS %REF %ALT [%GT ]\\n", str(path)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return out


# ----------------------------------------------------------------------------- ML steps
STEPS = ("filter_chunk", "filter", "matrix", "features", "association", "model", "summary",
         "report_variants", "report_population", "report_model", "report_association")  # fmt: skip


def ml(n: int, n_snps=20_000) -> list[dict]:
    from helpers import deep_update, demo_config

    vcf = ensure_sim_vcf(n, n_snps)
    d = WORK / "cohort_steps" / f"ml{n}"
    (d / "config").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(4)
    names = [f"S{i:05d}" for i in range(n)]
    labels = rng.choice(["case", "control"], n)
    (d / "config/samples.tsv").write_text(
        "sample\tphenotype\n" + "".join(f"{s}\t{p}\n" for s, p in zip(names, labels, strict=True))
    )
    cfg = deep_update(demo_config(), {
        "demo": {"enabled": False}, "input_vcf": str(vcf), "samples": "config/samples.tsv",
        "reference": {"fasta": ""}, "bcftools": {"chunks": 4}, "notebooks": {"enabled": False},
        "model": {"cv_folds": 2, "cv_repeats": 1, "n_estimators": 10, "n_shuffles": 1},
    })  # fmt: skip
    (d / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    load = loadavg()
    t0 = time.perf_counter()
    proc = subprocess.run([PY, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(d),
                           "--cores", "2"], capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(proc.stderr[-4000:])
    rows = []
    for tsv in sorted((d / "results/benchmarks").rglob("*.tsv")):
        rule = tsv.stem
        b = tsv.read_text().splitlines()
        head, vals = b[0].split("\t"), b[1].split("\t")
        rec = dict(zip(head, vals, strict=True))
        rows.append({"samples": f"{n:,}", "job": str(tsv.relative_to(d / "results/benchmarks")),
                     "wall s": f"{float(rec['s']):.2f}", "peak RSS MB": rec["max_rss"],
                     "load 1/5/15": load})  # fmt: skip
    rows.append({"samples": f"{n:,}", "job": "(whole run)", "wall s": f"{wall:.0f}",
                 "load 1/5/15": f"{load} -> {loadavg()}"})  # fmt: skip
    _ = rule
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, nargs="+", default=[100, 1000, 5000])
    ap.add_argument("--part", nargs="+", default=["calling", "ml"])
    ap.add_argument("--joint-only", action="store_true", help="calling: no gVCFs (5,000)")
    ap.add_argument("--rows", default="rows.json", help="figures kept here between runs")
    args = ap.parse_args()
    out = WORK / "cohort_steps" / args.rows
    out.parent.mkdir(parents=True, exist_ok=True)
    done = json.loads(out.read_text()) if out.exists() else {}
    for part in args.part:
        for n in args.samples:
            if part == "calling":
                done[f"{part}{n}"] = calling(n, gvcf=not args.joint_only)
            else:
                done[f"{part}{n}"] = ml(n)
            out.write_text(json.dumps(done, indent=1))
    for key, rows in done.items():
        print(f"\n## {key}\n\n" + table(rows, list(dict.fromkeys(k for r in rows for k in r))))


if __name__ == "__main__":
    main()
