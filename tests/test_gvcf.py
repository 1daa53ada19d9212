"""gVCF calling mode (bcftools.mode: gvcf): per-sample gVCFs, merged and called per chunk.

Cheap: works on a copy of the small demo run (mapping is not redone), switches the mode
and runs calling only.
"""

import resource
import subprocess

import pysam
import pytest
import yaml
from conftest import copy_run, small_demo_sheets
from helpers import (
    assert_demo_calls_good,
    demo_calls_vs_truth,
    planned_jobs,
    records,
    snakemake,
)

pytestmark = pytest.mark.e2e

COHORT = "results/calls/cohort.vcf.gz"
GVCF = {"bcftools": {"mode": "gvcf"}}


def _set_mode(workdir, mode):
    path = workdir / "config" / "config.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg["bcftools"]["mode"] = mode
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


@pytest.fixture(scope="module")
def gvcf_run(small_demo, tmp_path_factory):
    src, samples, _ = small_demo
    workdir = copy_run(src, tmp_path_factory.mktemp("gvcf") / "run")
    _set_mode(workdir, "gvcf")
    jobs = planned_jobs(workdir, COHORT)
    # Only calling runs: one gVCF per sample, one merge + call per chunk, the gather.
    assert jobs == {"gvcf_sample": len(samples), "merge_gvcf_chunk": 3, "gather_calls": 1}
    snakemake(workdir, COHORT)
    return workdir, samples, src


def test_gvcf_calls_against_truth_and_joint(gvcf_run):
    workdir, samples, joint = gvcf_run
    gvcf = demo_calls_vs_truth(workdir, workdir / COHORT, samples)
    joint = demo_calls_vs_truth(workdir, joint / COHORT, samples)
    print("small demo, gvcf mode:", gvcf)
    print("small demo, joint mode:", joint)
    assert_demo_calls_good(gvcf)


def test_gvcf_hom_ref_only_with_reads(gvcf_run):
    """A 0/0 from a hom-ref block always has reads behind it."""
    workdir, samples, _ = gvcf_run
    hom_ref = 0
    with pysam.VariantFile(str(workdir / COHORT)) as vcf:
        for rec in vcf:
            for s in samples:
                call = rec.samples[s]
                if call["GT"] == (0, 0):
                    hom_ref += 1
                    assert call["DP"] and call["DP"] > 0, (rec.chrom, rec.pos, s)
    assert hom_ref > 100


def test_uncovered_sample_stays_missing(gvcf_run, tmp_path):
    """A sample without reads on chr2 is missing there after merge + call, never 0/0."""
    src, samples, _ = gvcf_run
    workdir = copy_run(src, tmp_path / "run")
    gvcf = workdir / "results/calls/gvcf" / f"{samples[0]}.g.bcf"
    chr1 = gvcf.with_suffix(".chr1.bcf")
    subprocess.run(["bcftools", "index", "-f", str(gvcf)], check=True)
    subprocess.run(
        ["bcftools", "view", "-r", "chr1", "-Ob", "-o", str(chr1), str(gvcf)], check=True
    )
    chr1.replace(gvcf)
    subprocess.run(["bcftools", "index", "-f", str(gvcf)], check=True)
    jobs = planned_jobs(workdir, COHORT)
    assert jobs == {"merge_gvcf_chunk": 3, "gather_calls": 1}
    snakemake(workdir, COHORT)
    by_chrom = {"chr1": [], "chr2": []}
    with pysam.VariantFile(str(workdir / COHORT)) as vcf:
        for rec in vcf:
            by_chrom[rec.chrom].append(rec.samples[samples[0]]["GT"])
    assert by_chrom["chr2"] and all(gt == (None, None) for gt in by_chrom["chr2"])
    assert sum(None not in gt for gt in by_chrom["chr1"]) >= 0.9 * len(by_chrom["chr1"])


def test_adding_a_sample_runs_only_its_gvcf(gvcf_run):
    workdir, _, _ = gvcf_run
    small_demo_sheets(workdir, leave_out=(), overrides=GVCF)
    try:
        jobs = planned_jobs(workdir)
    finally:  # the module's run keeps its original sheets
        small_demo_sheets(workdir, overrides=GVCF)
    print("jobs after adding one sample (gvcf mode):", jobs)
    # The new sample's per-sample jobs, calling included, run once: one gVCF, not twelve.
    per_sample = {"demo_reads", "trim_map", "markdup"}
    per_sample.add("gvcf_sample")
    assert {r: jobs.get(r, 0) for r in per_sample} == dict.fromkeys(per_sample, 1)
    # The cohort calling: one cheap merge + call per chunk and the gather.
    assert jobs["merge_gvcf_chunk"] == 3 and jobs["gather_calls"] == 1
    # Nothing upstream of the samples, no joint calling.
    assert not set(jobs) & {"demo_population", "reference", "bwa_index", "call_chunks"}
    assert "call_chunk" not in jobs
    # Everything else is a cohort step that runs once; the notebooks' HTML pages once per
    # notebook (explore, model: rules/notebooks.smk).
    assert jobs["notebook_html"] == 2
    # The ML half is scattered over the same chunks: a filter job per chunk.
    assert jobs["filter_chunk"] == 3
    cohort = set(jobs) - per_sample - {"merge_gvcf_chunk", "notebook_html"}
    cohort -= {"filter_chunk"}
    assert {"gather_calls", "vcf_stats", "filter", "matrix", "model", "all"} <= cohort
    assert all(jobs[r] == 1 for r in cohort), jobs


def test_gvcf_merge_tree_under_open_file_limits(gvcf_run, tmp_path):
    """Soft limit 32: the merge runs at the hard limit, in one merge. Hard limit 20 (20 - 16
    = 4 gVCFs per merge): 11 gVCFs merged in 3 groups, then those 3; the records, every
    genotype included, equal the unlimited run's, and no intermediate file is left."""
    src, _, _ = gvcf_run
    workdir = copy_run(src, tmp_path / "run")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    for nofile, how in [
        ((32, hard), f"11 gVCFs, open-file limit {hard}: one merge"),
        ((20, 20), "11 gVCFs, open-file limit 20: merged in groups of at most 4 into 3 files"),
    ]:
        (workdir / COHORT).unlink()
        snakemake(workdir, COHORT, nofile=nofile)
        for chunk in range(3):
            assert how in (workdir / f"results/logs/calls/merge.{chunk}.log").read_text()
        assert records(workdir / COHORT) == records(src / COHORT)
        assert not list((workdir / "results/calls/chunks").glob("*.tmp.d"))
