"""Genotype matrix, site and sample tables (scripts/matrix.py)."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pysam
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
import matrix  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "vcf"
REAL = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "1000g_phase3_chr1_140kb_2504samples"
)
REAL_VCF = REAL / "1000G_phase3.chr1_11697036-11836540.vcf.gz"
SITES = ["chr1:100:A:G", "chr1:200:C:T", "chr1:400:T:C", "chr2:50:AT:A"]  # chr1:300 G>A,C skipped


def vcf_gz(tmp_path, name, index=True):
    out = tmp_path / f"{name}.gz"
    pysam.tabix_compress(str(FIXTURES / name), str(out), force=True)
    if index:
        pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def sheet():
    """Samples sheet in another order than the VCF (S3 S1 S2), with S5 not in the VCF and
    S4 absent; S2 unlabelled."""
    return pd.DataFrame(
        {
            "sample": ["S3", "S1", "S5", "S2"],
            "phenotype": ["case", "control", "case", ""],
            "population": ["popA", "popB", "popC", "popA"],
        }
    )


@pytest.fixture
def built(tmp_path):
    return matrix.build_matrix(vcf_gz(tmp_path, "matrix.vcf"), sheet(), "phenotype", 2)


def test_dosages(built):
    genotypes, sites, _ = built
    assert genotypes.index.name == "sample"
    assert genotypes.index.tolist() == ["S1", "S2", "S3", "S4"]  # VCF order
    assert genotypes.columns.tolist() == SITES
    assert (genotypes.dtypes == np.int8).all()
    expected = np.array(
        [
            [0, 1, -1, 1],  # S1: 0/0, 0|1, ./. (uncovered, DP 0), 0/1
            [1, 1, 0, 0],  # S2: 0/1, 1|0, 0/0, 0/0
            [2, 0, -1, 0],  # S3: 1/1, 0/0, ./1 (partly missing), 0/0
            [-1, 0, 2, 0],  # S4: ./. (uncovered), 0/0, 1/1, 0/0
        ],
        dtype=np.int8,
    )
    np.testing.assert_array_equal(genotypes.to_numpy(), expected)
    assert sites.attrs["skipped"] == {"not_biallelic": 1, "duplicate": 0}


def test_uncovered_site_is_missing_not_hom_ref(built):
    genotypes, _, _ = built
    assert genotypes.loc["S4", "chr1:100:A:G"] == -1
    assert genotypes.loc["S1", "chr1:400:T:C"] == -1


def test_site_table(built):
    _, sites, _ = built
    assert sites.columns.tolist() == [
        "site_id", "chrom", "pos", "ref", "alt", "af", "call_rate", "region",
    ]  # fmt: skip
    assert sites["site_id"].tolist() == SITES
    assert sites["pos"].tolist() == [100, 200, 400, 50]
    assert sites["ref"].tolist() == ["A", "C", "T", "AT"]
    assert sites["alt"].tolist() == ["G", "T", "C", "A"]
    # af over called genotypes only: chr1:100 -> 3 ALT / 6 alleles, not 3 / 8.
    np.testing.assert_allclose(sites["af"], [0.5, 0.25, 0.5, 0.125])
    np.testing.assert_allclose(sites["call_rate"], [0.75, 1.0, 0.5, 1.0])
    assert (sites["region"] == "").all()


def test_sample_table_labels_aligned_by_name(built):
    _, _, samples = built
    assert samples.columns.tolist() == [
        "sample", "call_rate", "heterozygosity", "label", "phenotype", "population",
    ]  # fmt: skip
    assert samples["sample"].tolist() == ["S1", "S2", "S3", "S4"]
    assert samples["label"].tolist() == ["control", "", "case", ""]  # S4 not in the sheet
    assert samples["population"].tolist() == ["popB", "popA", "popA", ""]
    np.testing.assert_allclose(samples["call_rate"], [0.75, 1.0, 0.75, 0.75])
    # Het calls / called genotypes: S1 2/3, S2 2/4, S3 0/3, S4 0/3.
    np.testing.assert_allclose(samples["heterozygosity"], [2 / 3, 0.5, 0.0, 0.0])


def test_no_labels(tmp_path):
    _, _, samples = matrix.build_matrix(vcf_gz(tmp_path, "matrix.vcf"), None, "phenotype", 2)
    assert samples.columns.tolist() == ["sample", "call_rate", "heterozygosity", "label"]
    assert (samples["label"] == "").all()


def test_missing_target_column_means_unlabelled(tmp_path):
    # Samples to predict need no label column (training checks it at validation).
    _, _, samples = matrix.build_matrix(vcf_gz(tmp_path, "matrix.vcf"), sheet(), "sex", 2)
    assert (samples["label"] == "").all()


def test_haploid(tmp_path):
    genotypes, sites, samples = matrix.build_matrix(
        vcf_gz(tmp_path, "matrix_haploid.vcf"), None, "phenotype", 1
    )
    np.testing.assert_array_equal(genotypes.to_numpy(), [[0, 1], [1, 1], [-1, 0]])
    np.testing.assert_allclose(sites["af"], [0.5, 2 / 3])
    assert samples["heterozygosity"].isna().all()


def test_ploidy_mismatch_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="ploidy=1"):
        matrix.build_matrix(vcf_gz(tmp_path, "matrix.vcf"), None, "phenotype", 1)


def test_unindexed_vcf_and_regions(tmp_path):
    regions = tmp_path / "regions.tsv"
    regions.write_text("site_id\tregion\nchr1:200:C:T\tgeneA,geneB\nchr9:1:A:C\tother\n")
    genotypes, sites, _ = matrix.build_matrix(
        vcf_gz(tmp_path, "matrix.vcf", index=False), None, "phenotype", 2, str(regions)
    )
    assert genotypes.shape == (4, 4)
    assert sites["region"].tolist() == ["", "geneA,geneB", "", ""]


def test_record_count_too_low_grows_the_array(tmp_path, monkeypatch):
    path = vcf_gz(tmp_path, "matrix.vcf")
    expected, _, _ = matrix.build_matrix(path, None, "phenotype", 2)
    monkeypatch.setattr(matrix, "count_records", lambda vcf: 1)  # a stale index
    genotypes, _, _ = matrix.build_matrix(path, None, "phenotype", 2)
    pd.testing.assert_frame_equal(genotypes, expected)


def test_sheet_samples_not_in_vcf_reported(built):
    genotypes, sites, samples = built
    assert samples.attrs["not_in_vcf"] == ["S5"]
    assert "sheet samples not in the VCF: 1 ['S5']" in matrix.summary(genotypes, sites, samples)


def test_matrix_wraps_the_filled_array_without_a_copy(built):
    genotypes, _, _ = built
    blocks = genotypes._mgr.blocks
    assert len(blocks) == 1 and blocks[0].values.dtype == np.int8
    # The block is a view of the array preallocated for all 5 records (x 4 samples); a
    # copy would own a (4 sites x 4 samples) buffer instead.
    root = blocks[0].values
    while root.base is not None:
        root = root.base
    assert root.shape == (5, 4)


def test_write_matrix_round_trip(built, tmp_path):
    genotypes, sites, samples = built
    paths = [tmp_path / "out" / n for n in ("genotypes.parquet", "sites.tsv", "samples.tsv")]
    matrix.write_matrix(genotypes, sites, samples, *paths)
    schema = pq.read_schema(paths[0])
    assert schema.names == ["sample", *SITES]  # index kept as the first column
    back = pd.read_parquet(paths[0])
    assert back.index.name == "sample" and back.columns.tolist() == SITES
    assert (back.dtypes == np.int8).all()
    pd.testing.assert_frame_equal(back, genotypes)
    s = pd.read_csv(paths[1], sep="\t", keep_default_na=False, dtype=str)
    assert s.columns.tolist()[:3] == ["site_id", "chrom", "pos"] and s["af"][0] == "0.5"
    t = pd.read_csv(paths[2], sep="\t", keep_default_na=False, dtype=str)
    assert t["label"].tolist() == ["control", "", "case", ""]


def _dosage(gt: str) -> int:
    alleles = re.split(r"[/|]", gt)
    return -1 if "." in alleles else sum(a != "0" for a in alleles)


@pytest.mark.realdata
@pytest.mark.skipif(not REAL_VCF.exists(), reason=f"{REAL} not present")
def test_1000g_matrix_matches_bcftools():
    genotypes, sites, samples = matrix.build_matrix(REAL_VCF, None, "super_population", 2)
    assert genotypes.shape == (2504, 4294)  # 4,296 records, 2 symbolic (<CN0>, <INS:ME:SVA>)
    assert sites.attrs["skipped"]["not_biallelic"] == 2
    fmt = "%CHROM:%POS:%REF:%ALT[\t%GT]\n"
    proc = subprocess.Popen(
        ["bcftools", "query", "-f", fmt, str(REAL_VCF)], stdout=subprocess.PIPE, text=True
    )
    checked = 0
    for line in proc.stdout:
        site, *gts = line.rstrip("\n").split("\t")
        if site not in genotypes.columns:
            continue
        np.testing.assert_array_equal(genotypes[site].to_numpy(), [_dosage(g) for g in gts])
        checked += 1
        if checked == 50:
            break
    proc.kill()
    proc.wait()
    assert checked == 50
    assert genotypes.columns[:50].tolist() == sites["site_id"][:50].tolist()
    assert (samples["sample"] == genotypes.index).all()
    # af of every site against the release's INFO/AF (no missing genotypes: same alleles).
    text = subprocess.run(
        ["bcftools", "query", "-f", "%CHROM:%POS:%REF:%ALT\t%AF\n", str(REAL_VCF)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    info_af = dict(line.split("\t") for line in text.splitlines())
    expected = [float(info_af[s]) for s in sites["site_id"]]
    np.testing.assert_allclose(sites["af"], expected, atol=1e-5)
    assert (sites["call_rate"] == 1).all()


def test_sheet_column_names():
    """A sheet column keeps its name in samples.tsv unless it clashes with a computed one
    (`label` too, when the target is another column); rules/report_inputs.smk maps
    report.color_by through the same function."""
    from sample_columns import sheet_column

    assert sheet_column("population", "phenotype") == "population"
    assert sheet_column("call_rate", "phenotype") == "sheet_call_rate"
    assert sheet_column("label", "phenotype") == "sheet_label"
    assert sheet_column("label", "label") == "label"
