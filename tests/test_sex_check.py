"""The sex check (scripts/sex_check.py): depth ratios from idxstats, X heterozygosity and
haploid calls from a VCF, the sexes the calling uses, mismatches and the figure."""

import sys

import numpy as np
import pytest
from helpers import REPO
from test_ploidy import cohort, write_vcf

sys.path.insert(0, str(REPO / "scripts"))
import report_sex  # noqa: E402
import sex_check  # noqa: E402


def idxstats(path, x_reads, y_reads, auto_reads=10000):
    """chr1/chr2 100 kb each, chrX 100 kb, chrY 50 kb, an unplaced contig and chrM."""
    rows = [("chr1", 100000, auto_reads), ("chr2", 100000, auto_reads),
            ("chrX", 100000, x_reads), ("chrY", 50000, y_reads),
            ("chrUn_KI270302v1", 2000, 5000), ("chrM", 16569, 90000), ("*", 0, 0)]  # fmt: skip
    path.write_text("".join(f"{c}\t{n}\t{r}\t0\n" for c, n, r in rows))
    return path


def test_depth_ratios(tmp_path):
    male = sex_check.depth_ratios(idxstats(tmp_path / "m", 5200, 2400))
    assert male == {"x_ratio": 0.52, "y_ratio": 0.48, "depth_sex": "male"}
    female = sex_check.depth_ratios(idxstats(tmp_path / "f", 9800, 30))
    assert female["depth_sex"] == "female" and female["x_ratio"] == 0.98
    assert sex_check.depth_ratios(idxstats(tmp_path / "xxy", 9800, 2400))["depth_sex"] == "unknown"
    assert sex_check.depth_ratios(idxstats(tmp_path / "x0", 5000, 10))["depth_sex"] == "unknown"
    # No Y contig: the X ratio alone; no X: unknown.
    assert sex_check.depth_sex(0.55, None) == "male"
    assert sex_check.depth_sex(None, None) == "unknown"


def test_calling_sexes_fall_back_to_depth():
    used, lines = sex_check.calling_sexes(
        {"a": "male", "b": "unknown", "c": "", "d": "female", "e": ""},
        {"a": "female", "b": "male", "c": "female", "e": "unknown"},
    )
    assert used == {"a": "male", "b": "male", "c": "female", "d": "female", "e": "female"}
    assert (
        len(lines) == 3 and "b: no male/female in the sheet: called as male (inferred" in lines[0]
    )
    assert "diploid X assumed" in lines[2]
    from ploidy import sex_file_text

    assert sex_file_text(used).splitlines()[:2] == ["a\tM", "b\tM"]


@pytest.mark.parametrize("encoding", ["haploid", "half_ref_first", "diploid_homozygous"])
def test_sex_from_a_vcf_alone(tmp_path, encoding):
    """X heterozygosity and haploid calls give every sample's sex, whichever way the
    males' X is written; a swapped sheet entry is a mismatch."""
    sex, x, a = cohort(n=40)
    vcf = write_vcf(tmp_path / "in.vcf", sex, x, a, encoding)
    counts = sex_check.x_call_counts(vcf)
    names = [f"s{i}" for i in range(len(sex))]
    sheet = dict(zip(names, sex, strict=True))
    sheet["s0"], sheet["s1"] = "female", "unknown"  # s0 is male: a swap; s1 unknown
    table = sex_check.check(names, sheet, {}, counts)
    assert (table["inferred_sex"].to_numpy() == sex).all()
    assert table["mismatch"].tolist() == [True] + [False] * (len(sex) - 1)
    males = table[sex == "male"]
    if encoding == "diploid_homozygous":
        assert (males["x_het_ratio"] < 0.3).all() and (males["x_haploid_share"] == 0).all()
    else:
        assert (males["x_haploid_share"] > 0.8).all()
    assert (table[sex == "female"]["x_het_ratio"] > 0.5).all()
    lines = sex_check.mismatch_lines(table)
    assert len(lines) == 1 and lines[0].startswith("sex mismatch: s0: sheet female, data male")
    report_sex.plot_sex(table, tmp_path / "sex.png")
    assert (tmp_path / "sex.png").stat().st_size > 10000


def test_depth_wins_over_calls_and_figure(tmp_path):
    depth = {
        "m": {"x_ratio": 0.55, "y_ratio": 0.4, "depth_sex": "male"},
        "f": {"x_ratio": 1.02, "y_ratio": 0.01, "depth_sex": "female"},
    }
    counts = {"m": (100, 0, 100, 500, 100), "f": (100, 30, 0, 500, 100)}
    table = sex_check.check(["m", "f"], {"m": "female", "f": "female"}, depth, counts)
    assert table["inferred_sex"].tolist() == ["male", "female"]
    assert table["mismatch"].tolist() == [True, False]
    assert np.isclose(table.loc[1, "x_het_ratio"], 1.5)
    report_sex.plot_sex(table, tmp_path / "sex.png")
    assert (tmp_path / "sex.png").stat().st_size > 10000


def test_sex_column_validated(tmp_path):
    import sheets

    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample\tphenotype\tsex\nA\tx\tmale\nB\ty\tM\nC\tx\t\nD\tx\tunknown\n")
    with pytest.raises(sheets.SheetError, match=r"row 3, column sex: 'M' is not one of"):
        sheets.load_samples(sheet, REPO / "config/schemas/samples.schema.yaml")
    sheet.write_text("sample\tphenotype\tsex\nA\tx\tmale\nC\tx\t\nD\tx\tunknown\n")
    loaded = sheets.load_samples(sheet, REPO / "config/schemas/samples.schema.yaml")
    assert loaded["sex"].tolist() == ["male", "", "unknown"]
