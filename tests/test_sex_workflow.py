"""The workflow on a human-like VCF (`input_vcf`): males' X as half calls, a `sex` column
with one swapped sample. Every X site reaches the matrix (males 0/2, never missing), the
sex check infers every sample's sex, the swap is a mismatch in the sex check, its log and
summary.tsv, the PLINK 2 .psam carries the sexes, and `sex_check.mismatch_error` makes the
swap an error."""

import pandas as pd
import pytest
from helpers import setup_workdir, snakemake, write_sheet
from test_ploidy import N_SITES, PAR, cohort, write_vcf

TARGETS = [
    "results/sex_check/sex_check.tsv",
    "results/report/sex_check/sex.png",
    "results/matrix/genotypes.pgen",
    "results/summary.tsv",
]


def setup(workdir, mismatch_error=False):
    sex, x, a = cohort(n=40)
    vcf = write_vcf(workdir / "in.vcf", sex, x, a, "half_ref_first")
    names = [f"s{i}" for i in range(len(sex))]
    sheet = [{"sample": n, "phenotype": "ab"[i % 4 < 2], "sex": s}
             for i, (n, s) in enumerate(zip(names, sex, strict=True))]  # fmt: skip
    sheet[0]["sex"] = "female"  # s0 is male: a swap
    sheet[1]["sex"] = "unknown"
    sheet[2]["phenotype"] = ""  # one sample to predict
    write_sheet(workdir / "config" / "samples.tsv", sheet, ["sample", "phenotype", "sex"])
    filters = {"min_qual": 0, "min_dp": 0, "min_gq": 0, "min_call_rate": 0.9, "min_maf": 0.01}
    setup_workdir(
        workdir,
        {
            "samples": "config/samples.tsv",
            "input_vcf": str(vcf),
            "ploidy": "GRCh38",
            "filter": filters,
            "matrix": {"plink": True},
            "report": {"multiqc": False},
            "sex_check": {"mismatch_error": mismatch_error},
            "model": {"cv_folds": 2, "cv_repeats": 1, "n_estimators": 20, "n_shuffles": 1},
        },
    )
    return sex


@pytest.fixture(scope="module")
def human_vcf_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("human_vcf")
    sex = setup(workdir)
    snakemake(workdir, *TARGETS)
    return workdir, sex


def test_x_sites_and_coding(human_vcf_run):
    workdir, sex = human_vcf_run
    g = pd.read_parquet(workdir / "results/matrix/genotypes.parquet")
    x = g[[c for c in g.columns if c.startswith("chrX:")]]
    assert x.shape[1] >= N_SITES - 2  # none lost to the call rate (a rare one may be monomorphic)
    nonpar = [c for c in x.columns if int(c.split(":")[1]) >= 1000 + 100 * PAR]
    males = x.loc[sex == "male", nonpar].to_numpy()
    assert (males >= 0).all() and set(pd.unique(males.ravel())) <= {0, 2}
    log = (workdir / "results/logs/filter/filter.log").read_text()
    assert "half calls (0/., ./1)" in log


def test_sex_check_and_summary(human_vcf_run):
    workdir, sex = human_vcf_run
    table = pd.read_csv(workdir / "results/sex_check/sex_check.tsv", sep="\t")
    assert (table["inferred_sex"].to_numpy() == sex).all()
    assert table.loc[table["mismatch"], "sample"].tolist() == ["s0"]
    log = (workdir / "results/logs/sex_check/sex_check.log").read_text()
    assert "sex mismatch: s0: sheet female, data male" in log
    summary = pd.read_csv(workdir / "results/summary.tsv", sep="\t").set_index("sample")
    assert summary.loc["s0", "sex_mismatch"] and not summary.loc["s3", "sex_mismatch"]
    assert (
        summary.loc["s1", "inferred_sex"] == "female"
        and summary.loc["s1", "sheet_sex"] == "unknown"
    )
    psam = pd.read_csv(workdir / "results/matrix/genotypes.psam", sep="\t").set_index("#IID")
    # The sheet's sex where it has one (s0 as written), else the inferred one.
    assert psam.loc["s0", "SEX"] == 2 and psam.loc["s1", "SEX"] == 2 and psam.loc["s2", "SEX"] == 1


def test_mismatch_error(tmp_path):
    setup(tmp_path, mismatch_error=True)
    proc = snakemake(tmp_path, "results/sex_check/sex_check.tsv", check=False)
    assert proc.returncode != 0
    log = (tmp_path / "results/logs/sex_check/sex_check.log").read_text()
    assert "sex_check.mismatch_error is true" in log and "s0" in log
    assert not (tmp_path / "results/sex_check/sex_check.tsv").exists()


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["joint", "gvcf"])
def test_males_called_haploid_from_reads(small_demo, tmp_path, mode):
    """From reads, in both calling modes: with a ploidy file that makes the small demo's
    chr2 male-haploid past a PAR of 5 kb and a `sex` column, every male genotype there is
    haploid (no heterozygous male call), PAR and chr1 calls diploid; a sample of unknown
    sex whose depth cannot tell is called female, and the log says so."""
    import pysam
    import yaml
    from conftest import copy_run

    src, samples, _ = small_demo
    workdir = copy_run(src, tmp_path / "run")
    (workdir / "config/ploidy.txt").write_text("chr2 5001 40000 M 1\n* * * M 2\n* * * F 2\n")
    path = workdir / "config/samples.tsv"
    sheet = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    sheet["sex"] = ["male" if i % 2 == 0 else "female" for i in range(len(sheet))]
    sheet.loc[1, "sex"] = "unknown"
    sheet.to_csv(path, sep="\t", index=False)
    cfg_path = workdir / "config/config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["ploidy"] = "config/ploidy.txt"
    cfg["bcftools"]["mode"] = mode
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    snakemake(workdir, "results/calls/cohort.vcf.gz")
    males = set(sheet.loc[sheet["sex"] == "male", "sample"])
    ploidies = {}
    with pysam.VariantFile(str(workdir / "results/calls/cohort.vcf.gz")) as vcf:
        assert list(vcf.header.samples) == sorted(sheet["sample"])
        for rec in vcf:
            region = "x" if rec.chrom == "chr2" and rec.pos > 5000 else "other"
            for s in vcf.header.samples:
                gt = rec.samples[s]["GT"]
                key = (region, s in males)
                ploidies.setdefault(key, set()).add(len(gt))
    assert ploidies[("x", True)] == {1}  # males haploid outside the PAR: no het call
    assert ploidies[("x", False)] == {2} and ploidies[("other", True)] == {2}
    log = (workdir / "results/logs/sex_check/sex_calling.log").read_text()
    unknown = sheet.loc[1, "sample"]
    assert f"{unknown}: no male/female in the sheet: called as female (depth inconclusive" in log
