"""PLINK 2 export (`matrix.plink: true`), checked with plink2 itself.

Read back with `plink2 --export A` (ALT allele counted), the export holds the same
samples, site IDs and genotypes as `genotypes.parquet`, missing as missing. `plink2 --glm`
(logistic, the same PCs as covariates) on the export fits the association step's logistic
mode (`association.covariates_pcs > 0`): the same log-odds, and on the 1000 Genomes panel
the same ranking of the SNPs.

Like with like, and what differs by design (config/README.md, "PLINK 2 export"): both fit
label ~ dosage + PCs on the samples called at the SNP, but plink2 reports a Wald test
where the association step reports a likelihood-ratio test, and plink2 standardises the
covariates here as the step does (`--covar-variance-standardize`). plink2 has no allelic
chi²/Fisher test (the default mode) and no multi-class test.
"""

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import copy_run
from helpers import SHARED, job_counts, setup_workdir, snakemake
from scipy import stats

PLINK2 = shutil.which("plink2")
DATA = SHARED / "1000g_phase3_chr1_140kb_2504samples"
EXPORT = ("results/matrix/genotypes.pgen", "results/association/association.tsv")
DEMO_ASSOC = {"covariates_pcs": 1}  # ten labelled samples: one PC
G1K_ASSOC = {"covariates_pcs": 2}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(PLINK2 is None, reason="plink2 not on PATH (./run installs it)"),
]


def plink2(*args, cwd):
    proc = subprocess.run(
        [PLINK2, "--allow-extra-chr", "--threads", "1", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, f"plink2 {args} failed:\n{proc.stdout[-3000:]}"
    return proc


def read_pvar(path):
    with open(path) as fh:
        header = next(line for line in fh if not line.startswith("##"))
        names = header.lstrip("#").rstrip("\n").split("\t")
        return pd.read_csv(fh, sep="\t", names=names, dtype=str, keep_default_na=False)


def read_back(workdir):
    """(samples, variant IDs, int8 ALT dosage with -1 for missing) of the export."""
    prefix = workdir / "results/matrix/genotypes"
    psam = pd.read_csv(f"{prefix}.psam", sep="\t", dtype=str)
    pvar = read_pvar(f"{prefix}.pvar")
    out = workdir / "readback"
    out.mkdir(exist_ok=True)
    pvar[["ID", "ALT"]].to_csv(out / "alt.txt", sep="\t", index=False, header=False)
    plink2("--pfile", prefix, "--export", "A", "--export-allele", out / "alt.txt", "--out",
           out / "g", cwd=workdir)  # fmt: skip
    raw = pd.read_csv(out / "g.raw", sep="\t", dtype={"IID": str})
    columns = list(raw.columns[6:])
    ids, counted = zip(*(c.rsplit("_", 1) for c in columns), strict=True)
    assert list(counted) == list(pvar["ALT"]), "--export A did not count the ALT allele"
    dosage = raw[columns].to_numpy(dtype=np.float64)
    missing = np.isnan(dosage)
    matrix = np.where(missing, -1, dosage).astype(np.int8)
    return list(psam["#IID"]), list(pvar["ID"]), list(ids), list(raw["IID"]), matrix


def check_round_trip(workdir):
    """Assert the export equals genotypes.parquet; returns the figures."""
    expected = pd.read_parquet(workdir / "results/matrix/genotypes.parquet")
    psam_ids, pvar_ids, raw_ids, raw_samples, got = read_back(workdir)
    assert psam_ids == raw_samples == list(expected.index)
    assert pvar_ids == list(raw_ids) == list(expected.columns)
    want = expected.to_numpy()
    assert got.shape == want.shape
    same = got == want
    figures = {
        "samples": len(psam_ids),
        "variants": len(pvar_ids),
        "genotypes_equal": f"{int(same.sum())}/{same.size}",
        "missing_matrix": int((want == -1).sum()),
        "missing_plink": int((got == -1).sum()),
        "missing_read_as_0": int(((want == -1) & (got == 0)).sum()),
    }
    print("PLINK 2 round trip:", figures)
    assert same.all(), f"{int((~same).sum())} genotypes differ"
    return figures


def run_glm(workdir, k):
    """plink2 --glm (logistic, k PCs of results/features/pca.tsv, standardised) on the
    export with the label of results/matrix/samples.tsv: {site_id: p} of the ADD test."""
    samples = pd.read_csv(workdir / "results/matrix/samples.tsv", sep="\t", dtype=str,
                          keep_default_na=False)  # fmt: skip
    labels = samples.set_index("sample")["label"].str.strip()
    classes = sorted(set(labels) - {""})
    assert len(classes) == 2, classes
    # The association step's positive class is the second sorted class name: case = 2.
    pheno = labels.map({classes[0]: "1", classes[1]: "2", "": "NA"})
    out = workdir / "glm"
    out.mkdir(exist_ok=True)
    pheno.rename("y").rename_axis("#IID").to_csv(out / "pheno.tsv", sep="\t")
    pcs = pd.read_csv(workdir / "results/features/pca.tsv", sep="\t", dtype={"sample": str})
    pcs = pcs.set_index("sample").iloc[:, :k].rename_axis("#IID")
    pcs.to_csv(out / "covar.tsv", sep="\t")
    plink2("--pfile", workdir / "results/matrix/genotypes", "--pheno", out / "pheno.tsv",
           "--covar", out / "covar.tsv", "--covar-variance-standardize",
           "--glm", "hide-covar", "--out", out / "g", cwd=workdir)  # fmt: skip
    (result,) = out.glob("g.y.glm.logistic*")
    glm = pd.read_csv(result, sep="\t", dtype={"ID": str}, na_values=["NA"])
    glm = glm[glm["TEST"] == "ADD"].set_index("ID")
    return glm


def top_overlap(p_a, p_b, top=5):
    return len(set(p_a.nsmallest(top).index) & set(p_b.nsmallest(top).index))


def compare_glm(workdir, k):
    """Figures of plink2 --glm against the association step (printed): over every SNP
    both test, Spearman rho of the p-values, top-5 overlap and the smallest p-values;
    plink2's fallbacks (Firth, non-converged fits); over the SNPs plink2 fits plainly
    (converged, no Firth, no error), the same figures and the largest difference in
    log-odds per ALT allele (plink2's A1, the allele its OR is for, is ALT or REF)."""
    ours = pd.read_csv(workdir / "results/association/association.tsv", sep="\t")
    assert ours["test"].isin(["logistic_lrt", "untestable"]).all()
    tested = int(ours["p"].notna().sum())
    ours = ours.set_index("site_id")
    glm = run_glm(workdir, k)
    both = ours.index[ours["p"].notna()].intersection(glm.index[glm["P"].notna()])
    ours, glm = ours.loc[both], glm.loc[both]
    plain = ((glm["FIRTH?"] == "N") & (glm["ERRCODE"] == ".")).to_numpy()
    beta = np.log(glm["OR"]) * np.where(glm["A1"] == glm["ALT"], 1, -1)
    p, q = ours["p"], glm["P"]
    unfinished = (glm["ERRCODE"] == "UNFINISHED").to_numpy()
    figures = {
        "tested": len(both),
        "tested_ours": tested,
        "rho": round(float(stats.spearmanr(p, q).statistic), 4),
        "top5": top_overlap(p, q),
        "min_p_ours": float(p.min()),
        "min_p_plink2": float(q.min()),
        "firth": int((glm["FIRTH?"] == "Y").sum()),
        "unfinished": int(unfinished.sum()),
        "unfinished_p_ours_le_plink2": int((p <= q)[unfinished].sum()),
        "plain": int(plain.sum()),
        "plain_rho": round(float(stats.spearmanr(p[plain], q[plain]).statistic), 4),
        "plain_top5": top_overlap(p[plain], q[plain]),
        "plain_max_beta_diff": float(f"{np.abs(beta - ours['beta'])[plain].max():.3g}"),
    }
    print(f"plink2 --glm vs association (logistic + {k} PCs):", figures)
    return figures


@pytest.fixture(scope="module")
def demo_plink(small_demo, tmp_path_factory):
    """A copy of the small demo run with matrix.plink and the logistic association: only
    the export and the association job run."""
    workdir = copy_run(small_demo[0], tmp_path_factory.mktemp("plink_demo") / "run")
    extra = workdir / "plink.yaml"
    extra.write_text(yaml.safe_dump({"matrix": {"plink": True}, "association": DEMO_ASSOC}))
    proc = snakemake(workdir, *EXPORT, "--configfile", extra)
    return workdir, proc.stdout + proc.stderr


def test_demo_export_equals_matrix(demo_plink):
    workdir, log = demo_plink
    assert job_counts(log) == {"plink": 1, "association": 1}, log[-3000:]
    figures = check_round_trip(workdir)
    assert figures["missing_matrix"] > 0  # the filter masked some genotypes


def test_demo_glm_agrees(demo_plink):
    """Ten labelled samples and a PC that nearly splits them: the same fit where plink2
    converges, but Wald and likelihood-ratio p-values part at this size."""
    f = compare_glm(demo_plink[0], DEMO_ASSOC["covariates_pcs"])
    assert f["plain"] >= 20 and f["plain_max_beta_diff"] < 1e-3, f
    assert f["plain_rho"] >= 0.7, f
    # Separation: plink2 stops unconverged with a Wald p near 1; the LRT keeps the signal.
    assert f["unfinished_p_ours_le_plink2"] == f["unfinished"], f


@pytest.fixture(scope="module")
def g1k_plink(tmp_path_factory):
    """The 1000 Genomes panel from its VCF, VCF -> matrix -> export and association
    only, with a binary target (EUR against the other super-populations)."""
    if not DATA.is_dir():
        pytest.skip(f"{DATA} not present")
    workdir = tmp_path_factory.mktemp("plink_g1k")
    sheet = pd.read_csv(DATA / "labels.tsv", sep="\t", dtype=str)
    sheet["eur"] = np.where(sheet["super_population"] == "EUR", "EUR", "other")
    (workdir / "config").mkdir()
    sheet.to_csv(workdir / "config/samples.tsv", sep="\t", index=False)
    overrides = {
        "samples": "config/samples.tsv",
        "input_vcf": str(DATA / "1000G_phase3.chr1_11697036-11836540.vcf.gz"),
        "model": {"target": "eur"},
        "matrix": {"plink": True},
        "association": G1K_ASSOC,
    }
    setup_workdir(workdir, overrides)
    snakemake(workdir, *EXPORT)
    return workdir


@pytest.mark.realdata
def test_1000g_export_equals_matrix(g1k_plink):
    check_round_trip(g1k_plink)


@pytest.mark.realdata
def test_1000g_glm_agrees(g1k_plink):
    f = compare_glm(g1k_plink, G1K_ASSOC["covariates_pcs"])
    assert f["rho"] >= 0.9 and f["top5"] >= 4, f
    assert f["tested"] == f["tested_ours"], f
    assert f["plain"] >= 0.5 * f["tested"] and f["plain_max_beta_diff"] < 1e-3, f
    assert f["plain_rho"] >= 0.99, f


TINY_VCF = """\
##fileformat=VCFv4.2
##contig=<ID=chr1,length=1000>
##contig=<ID=scaffold_7,length=1000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\td
chr1\t10\trs1\tA\tG\t50\tPASS\t.\tGT\t0/1\t./.\t1/1\t0/0
chr1\t20\t.\tC\tT\t50\tPASS\t.\tGT\t./1\t0|1\t1|1\t0/.
chr1\t20\t.\tC\tT\t50\tPASS\t.\tGT\t1/1\t1/1\t1/1\t1/1
scaffold_7\t5\t.\tG\tA\t50\tPASS\t.\tGT\t0/0\t1/1\t0/1\t.
"""


def test_half_calls_repeats_and_contig_names(tmp_path):
    """What a real VCF may hold beyond the demo and 1000G: half calls (./1, 0/.) stay
    missing, a repeated site keeps its first record, a `chr1` ID keeps its prefix and a
    contig plink2 does not know is exported; all as in the matrix."""
    (tmp_path / "in.vcf").write_text(TINY_VCF)
    sheet = [{"sample": s, "phenotype": p} for s, p in zip("abcd", "xyxy", strict=True)]
    filters = {"min_qual": 0, "min_dp": 0, "min_gq": 0, "min_call_rate": 0, "min_maf": 0}
    overrides = {
        "input_vcf": str(tmp_path / "in.vcf"),
        "matrix": {"plink": True},
        "filter": filters,
    }
    setup_workdir(tmp_path, overrides, samples=sheet)
    snakemake(tmp_path, "results/matrix/genotypes.pgen", "results/matrix/genotypes.parquet")
    figures = check_round_trip(tmp_path)
    assert figures["variants"] == 3 and figures["missing_matrix"] == 4, figures
