"""Shared test helpers: run the workflow in a scratch directory, compare VCFs with truth."""

import copy
import json
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pysam
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


DEMO_CONFIG = REPO / ".test" / "demo" / "config.yaml"


def _yaml(path):
    with open(path) as fh:
        return yaml.safe_load(fh)


def user_config():
    """config/config.yaml: the template a user copies (real-data defaults, no demo)."""
    return _yaml(REPO / "config" / "config.yaml")


def demo_config():
    """What `./run demo` runs on: the demo's file over the user template, as Snakemake
    merges `--configfile .test/demo/config.yaml` over the Snakefile's config/config.yaml.
    Its sheet paths are made absolute (repo files), its demo outdir stays relative."""
    cfg = deep_update(user_config(), _yaml(DEMO_CONFIG))
    for key in ("samples", "units"):
        cfg[key] = str(REPO / cfg[key])
    return cfg


def deep_update(base, override):
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = value
    return out


def write_sheet(path, rows, columns):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(columns)] + ["\t".join(str(r.get(c, "")) for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n")


def snakemake(workdir, *args, check=True, timeout=1800, nofile=None):
    """Run the workflow with `workdir` as working directory (its config/config.yaml);
    `nofile`: (soft, hard) open-file limit of Snakemake and its jobs (`ulimit -Sn/-Hn`)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir)]
    cmd += ["--cores", "2", *args]
    limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, nofile)) if nofile else None
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=limit)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
    return proc


def setup_workdir(workdir, overrides, samples=None, units=None, base=None):
    """Write config/config.yaml (`base`, default the user template, + overrides) into
    workdir, and the sheets given as lists of row dicts (None: the config's own paths
    are kept)."""
    cfg = deep_update(user_config() if base is None else base, overrides)
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    if samples is not None:
        cfg["samples"] = "config/samples.tsv"
        write_sheet(workdir / cfg["samples"], samples, ["sample", "phenotype"])
    if units is not None:
        cfg["units"] = "config/units.tsv"
        write_sheet(workdir / cfg["units"], units, ["sample", "unit", "fq1", "fq2"])
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return cfg


def _gt(alleles):
    """Unphased genotype as a sorted tuple; None when any allele is missing."""
    return None if None in alleles else tuple(sorted(alleles))


def genotypes(path, samples=None, snps_only=True):
    """{(chrom, pos, ref, alt): {sample: sorted allele tuple}} of a VCF (biallelic records)."""
    out = {}
    with pysam.VariantFile(str(path)) as vcf:
        names = list(samples or vcf.header.samples)
        for rec in vcf:
            if rec.alts is None or len(rec.alts) != 1:
                continue
            if snps_only and (len(rec.ref) != 1 or len(rec.alts[0]) != 1):
                continue
            out[(rec.chrom, rec.pos, rec.ref, rec.alts[0])] = {
                s: _gt(rec.samples[s]["GT"]) for s in names
            }
    return out


def records(vcf):
    """[(CHROM, POS, REF, ALT, (GT of every sample))] of a VCF, in order."""
    with pysam.VariantFile(str(vcf)) as fh:
        samples = list(fh.header.samples)
        return [
            (r.chrom, r.pos, r.ref, r.alts, tuple(r.samples[s]["GT"] for s in samples)) for r in fh
        ]


def compare(truth, called):
    """Site recall/precision and genotype concordance of matched sites.

    Sites match on (chrom, pos, ref, alt); only truth sites with an ALT allele
    in at least one of the called samples count. Genotypes match when the
    unphased allele sets are equal (a missing call is a mismatch).
    """
    samples = sorted({s for gts in called.values() for s in gts})
    truth = {k: v for k, v in truth.items() if any(v[s] and sum(v[s]) > 0 for s in samples)}
    hits = truth.keys() & called.keys()
    gt_total = len(hits) * len(samples)
    gt_same = sum(truth[k][s] == called[k][s] for k in hits for s in samples)
    return {
        "truth_sites": len(truth),
        "called_sites": len(called),
        "recall": len(hits) / max(len(truth), 1),
        "precision": len(hits) / max(len(called), 1),
        "genotype_concordance": gt_same / max(gt_total, 1),
    }


def demo_calls_vs_truth(workdir, vcf, samples):
    """compare() of `vcf` with the demo truth of `samples`, after checking the VCF holds
    exactly those samples in that order."""
    with pysam.VariantFile(str(vcf)) as fh:
        assert list(fh.header.samples) == list(samples)
    truth = genotypes(workdir / "resources/demo/truth/truth.vcf.gz", samples)
    return compare(truth, genotypes(vcf))


def assert_demo_calls_good(metrics, floor=0.95):
    """The small demo's bar: >100 truth SNPs; recall, precision, concordance >= floor."""
    assert metrics["truth_sites"] > 100
    for key in ("recall", "precision", "genotype_concordance"):
        assert metrics[key] >= floor, f"{key} {metrics[key]:.3f} < {floor}"


def job_counts(text):
    """{rule: count} from the job stats table Snakemake prints."""
    jobs, in_table = {}, False
    for line in text.splitlines():
        fields = line.split()
        if fields[:2] == ["job", "count"]:
            in_table, jobs = True, {}
        elif in_table and len(fields) == 2 and fields[1].isdigit():
            if fields[0] == "total":
                in_table = False
            else:
                jobs[fields[0]] = int(fields[1])
    return jobs


def planned_jobs(workdir, *args):
    """{rule: count} of the jobs a dry run of the workflow would run."""
    proc = snakemake(workdir, "-n", *args)
    return job_counts(proc.stdout + proc.stderr)


def copy_workflow(dst, keep_mtimes=False):
    """A copy of the workflow's files (tracked and new files, nothing ignored such as
    .venv, results or the demo's data) at `dst`: with new modification times, as a new
    clone has them, or with the originals' (`keep_mtimes`), as `cp -a` or `mv` keep them."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            (shutil.copy2 if keep_mtimes else shutil.copy)(src, dst / name)
    return dst


def run_from_root(root, *args, python=sys.executable, timeout=3000, check=True):
    """`snakemake --cores 2 ARGS` with `root` (a workflow copy) as working directory, as
    the README tells a user to run it."""
    cmd = [str(python), "-m", "snakemake", "--cores", "2", *args]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
    return proc


def filter_params(vcf):
    """The filter settings a run used, from the `##filter_params` line of its VCF."""
    with pysam.VariantFile(str(vcf)) as fh:
        for rec in fh.header.records:
            if rec.key == "filter_params":
                return json.loads(rec.value)
    raise AssertionError(f"{vcf}: no ##filter_params header line")
