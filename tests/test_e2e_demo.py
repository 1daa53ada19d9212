"""End to end on a small demo cohort, checked against the simulator's truth."""

import json
import re

import pysam
import pytest
from conftest import small_demo_sheets
from helpers import assert_demo_calls_good, demo_calls_vs_truth, planned_jobs

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(small_demo):
    return small_demo


def test_every_bam_maps_95_percent(run):
    workdir, samples, _ = run
    for s in samples:
        text = (workdir / f"results/bamstats/{s}.flagstat.txt").read_text()
        pct = float(re.search(r"primary mapped \((\d+\.\d+)%", text).group(1))
        assert pct >= 95, f"{s}: {pct}% mapped"


def test_read_groups_are_deterministic_and_lanes_merged(run):
    workdir, _, units = run
    two_lanes = units.groupby("sample").size().loc[lambda n: n == 2].index[0]
    with pysam.AlignmentFile(str(workdir / f"results/map/{two_lanes}.bam")) as bam:
        rgs = {rg["ID"]: rg for rg in bam.header.to_dict()["RG"]}
    assert set(rgs) == {f"{two_lanes}.L1", f"{two_lanes}.L2"}
    assert {rg["SM"] for rg in rgs.values()} == {two_lanes}


def test_cutadapt_removed_adapters(run):
    workdir, samples, _ = run
    report = json.loads((workdir / f"results/trim/{samples[0]}/L1.json").read_text())
    with_adapter = report["read_counts"]["read1_with_adapter"] / report["read_counts"]["input"]
    # The simulator puts adapter read-through into ~7 % of pairs.
    assert 0.03 < with_adapter < 0.5
    fastqc = sorted(p.name for p in (workdir / f"results/fastqc/{samples[0]}/L1").glob("*.zip"))
    assert len(fastqc) == 4 and any("trimmed" in n for n in fastqc)


def test_snp_recall_precision_against_truth(run):
    workdir, samples, _ = run
    metrics = demo_calls_vs_truth(workdir, workdir / "results/calls/cohort.vcf.gz", samples)
    print("small demo:", metrics)
    assert_demo_calls_good(metrics)


def test_growing_the_sheet_reruns_only_the_new_sample(run):
    workdir, samples, _ = run
    small_demo_sheets(workdir, leave_out=())
    try:
        jobs = planned_jobs(workdir)
    finally:  # the shared run keeps its original sheets
        small_demo_sheets(workdir)
    per_sample = {"demo_reads", "trim_map", "markdup"}
    assert {r: jobs.get(r, 0) for r in per_sample} == dict.fromkeys(per_sample, 1)
    # 2 jobs per sample of one unit (issue 13: at most 3): trim + FastQC + map, markdup + stats.
    assert sum(jobs[r] for r in per_sample - {"demo_reads"}) == 2
    # The cohort steps rerun; nothing else (no reference, no index, no simulation).
    cohort = {"call_chunk", "gather_calls", "vcf_stats", "filter_chunk", "filter"}
    cohort |= {"matrix", "features"}
    cohort |= {"association", "model", "predict", "all"}
    # The report's figures, summary and MultiQC: one job per figure group, not per sample.
    cohort |= {"report_qc", "multiqc", "report_variants", "report_population"}
    cohort |= {"report_association", "report_model", "report_predictions", "summary"}
    cohort |= {"notebook_explore", "notebook_model", "notebook_html"}  # rules/notebooks.smk
    cohort |= {"sex_calling", "sex_check", "report_sex"}  # rules/sex_check.smk
    assert set(jobs) == per_sample | cohort
