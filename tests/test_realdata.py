"""Real public data from ../shared/data (skipped cleanly when absent)."""

import pytest
import yaml
from helpers import (
    SHARED,
    copy_workflow,
    filter_params,
    genotypes,
    run_from_root,
    setup_workdir,
    snakemake,
    write_sheet,
)
from test_e2e_1000g import DOCUMENTED_FILTER

pytestmark = [pytest.mark.e2e, pytest.mark.realdata]


def need(folder):
    path = SHARED / folder
    if not path.is_dir():
        pytest.skip(f"{path} not present")
    return path


def run_real(workdir, ref, reads, extra=None):
    samples = [{"sample": s, "phenotype": ""} for s in reads]
    units = [{"sample": s, "unit": "L1", "fq1": r1, "fq2": r2} for s, (r1, r2) in reads.items()]
    # The calls are checked here; FastQC on the small demo.
    overrides = {"reference": {"fasta": str(ref)}, "fastqc": {"enabled": False}, **(extra or {})}
    setup_workdir(workdir, overrides, samples, units)
    snakemake(workdir, "results/calls/cohort.vcf.gz")
    return workdir / "results" / "calls" / "cohort.vcf.gz"


def test_na12878_giab_snvs(tmp_path):
    """All 14 GIAB SNVs of the NA12878 chr22 fragment, with identical genotypes."""
    data = need("na12878_chr22_tiny_giab")
    reads = {
        "NA12878": (
            data / "reads/NA12878_R1.fastq.gz",
            data / "reads/NA12878_R2.fastq.gz",
        )
    }
    vcf = run_real(tmp_path, data / "ref/q.fa", reads, {"bcftools": {"chunks": 3}})
    truth = genotypes(data / "truth/NA12878.chr22.tiny.giab.vcf.gz")
    called = genotypes(vcf)
    assert len(truth) == 14
    missing = [k for k in truth if k not in called]
    assert not missing, f"GIAB SNVs not called: {missing}"
    wrong = {k: (truth[k], called[k]) for k in truth if truth[k] != called[k]}
    assert not wrong, f"genotype differs from GIAB: {wrong}"


def test_1000g_gbr_joint_calls_match_bcftools(tmp_path):
    """Joint calls of 3 GBR samples vs bcftools' own expected output (11 sites, 33 genotypes).

    This is a regression target, not truth: run with bcftools' default mpileup
    filters (as bcftools' test did) so that like is compared with like.
    """
    data = need("1000g_gbr_chr17_4kb_bcftools_mpileup")
    reads = {
        s: (data / f"reads/{s}_R1.fastq.gz", data / f"reads/{s}_R2.fastq.gz")
        for s in ("HG00100", "HG00101", "HG00102")
    }
    extra = {"bcftools": {"chunks": 2, "mpileup": ""}}
    vcf = run_real(tmp_path, data / "ref/mpileup.ref.fa", reads, extra)
    expected_path = data / "expected_caller_output/bcftools_test_call_mpileup.1.out"
    expected = genotypes(expected_path, snps_only=False)
    called = genotypes(vcf, snps_only=False)
    assert len(expected) == 11
    same_site = [k for k in expected if k in called]
    same_gt = [k for k in same_site if expected[k] == called[k]]
    print(f"1000G GBR: {len(same_site)}/11 sites, {len(same_gt)}/11 with all 3 genotypes equal")
    assert len(same_site) >= 10
    assert len(same_gt) >= 10
    # Nothing confidently called that bcftools did not call.
    extra_sites = [k for k in called if k not in expected]
    assert len(extra_sites) <= 1, extra_sites


def test_gbr_reads_from_the_repo_root_with_defaults(tmp_path):
    """ "Your own data" as the README writes it: sheets and a config with only `samples`,
    `units` and `reference.fasta`, `snakemake --configfile mine.yaml` from the root of a
    fresh copy. The run uses the documented defaults, nothing of the demo, and its joint
    calls of the real GBR trio are bcftools' own."""
    data = need("1000g_gbr_chr17_4kb_bcftools_mpileup")
    root = copy_workflow(tmp_path / "wf")
    trio = ("HG00100", "HG00101", "HG00102")
    write_sheet(root / "mine/samples.tsv", [{"sample": s} for s in trio], ["sample", "phenotype"])
    units = [
        {"sample": s, "unit": "L1", "fq1": data / f"reads/{s}_R1.fastq.gz",
         "fq2": data / f"reads/{s}_R2.fastq.gz"}
        for s in trio
    ]  # fmt: skip
    write_sheet(root / "mine/units.tsv", units, ["sample", "unit", "fq1", "fq2"])
    mine = {
        "samples": "mine/samples.tsv",
        "units": "mine/units.tsv",
        "reference": {"fasta": str(data / "ref/mpileup.ref.fa")},
    }
    (root / "mine.yaml").write_text(yaml.safe_dump(mine))
    # Targets before --configfile, which takes every word after it as a config file.
    run_from_root(root, "results/filter/filtered.bcf", "--configfile", "mine.yaml")
    assert filter_params(root / "results/filter/filtered.bcf") == {
        **DOCUMENTED_FILTER,
        "ploidy": 2,
    }
    assert not (root / "resources/demo").exists()
    expected = genotypes(data / "expected_caller_output/bcftools_test_call_mpileup.1.out")
    called = genotypes(root / "results/calls/cohort.vcf.gz")
    same = [k for k in expected if k in called and called[k] == expected[k]]
    print(f"GBR trio with defaults: {len(same)}/{len(expected)} SNPs as bcftools calls them")
    assert len(same) >= len(expected) - 1
    assert len(called) <= len(expected) + 1
