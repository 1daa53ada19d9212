"""Restriction of a VCF to BED regions and BED checks (scripts/regions.py)."""

import sys
import tempfile
from pathlib import Path

import cyvcf2
import pandas as pd
import pybedtools
import pysam
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
import regions  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "vcf"
FAI = FIXTURES / "genome.fa.fai"  # chr1 1000 bp, chr2 500 bp


def vcf_gz(tmp_path, name):
    out = tmp_path / f"{name}.gz"
    pysam.tabix_compress(str(FIXTURES / name), str(out), force=True)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def bed(tmp_path, text):
    path = tmp_path / "regions.bed"
    path.write_text(text)
    return path


def restrict(tmp_path, bed_path=FIXTURES / "regions.bed"):
    out_vcf, out_tsv = tmp_path / "out.vcf.gz", tmp_path / "out.tsv"
    counts = regions.restrict_to_regions(
        vcf_gz(tmp_path, "regions.vcf"), bed_path, FAI, out_vcf, out_tsv
    )
    table = pd.read_csv(out_tsv, sep="\t", dtype=str, keep_default_na=False)
    return counts, out_vcf, table


def test_sites_inside_kept_with_region_names(tmp_path):
    counts, out_vcf, table = restrict(tmp_path)
    assert counts == {"intervals": 4, "records_in": 7, "records_out": 4}
    # chr1:100, chr1:500 and chr2:100 lie outside every region; 400 is the 1-bp region 399-400.
    assert table.to_dict("list") == {
        "site_id": ["chr1:200:C:T", "chr1:300:G:A", "chr1:400:T:C", "chr1:455:T:C"],
        "region": ["geneA,geneB", "geneB", "exact", "chr1:450-460"],
    }
    kept = [(v.CHROM, v.POS) for v in cyvcf2.VCF(str(out_vcf))]
    assert kept == [("chr1", 200), ("chr1", 300), ("chr1", 400), ("chr1", 455)]
    assert Path(f"{out_vcf}.tbi").exists()
    assert cyvcf2.VCF(str(out_vcf)).samples == ["S1", "S2"]  # original header and samples


def test_region_boundaries_are_bed_half_open(tmp_path):
    # 0-based [199, 200) is POS 200 only; [200, 299) is POS 201..299: neither 200 nor 300.
    _, _, table = restrict(tmp_path, bed(tmp_path, "chr1\t199\t200\tp200\nchr1\t200\t299\tnone\n"))
    assert table["site_id"].tolist() == ["chr1:200:C:T"]
    assert table["region"].tolist() == ["p200"]


def test_temp_files_cleaned_up(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = pybedtools.helpers.get_tempdir()
    restrict(tmp_path)
    assert pybedtools.helpers.get_tempdir() == before
    assert not list(scratch.iterdir())


@pytest.mark.parametrize(
    "text, line, fragments",
    [
        ("chr1\t10\t20\n1\t10\t20\n", 2, ["contig '1'", "1:10-20", "'chr1'", "'chr' prefix"]),
        ("# header\nchr1\t50\t40\tx\n", 2, ["chr1:50-40", "start > end"]),
        ("chr1\t-5\t10\n", 1, ["chr1:-5-10", "negative start"]),
        ("chr2\t10\t501\n", 1, ["chr2:10-501", "beyond the length of chr2 (500)"]),
        ("chr1\t10\n", 1, ["fewer than 3 columns"]),
        ("chrZ\t1\t5\n", 1, ["contig 'chrZ' is not in the reference", "chr1, chr2"]),
    ],
)
def test_bad_bed_raises_naming_file_line_and_interval(tmp_path, text, line, fragments):
    path = bed(tmp_path, text)
    with pytest.raises(ValueError) as err:
        regions.check_bed(path, FAI)
    message = str(err.value)
    assert str(path) in message and f"line {line}:" in message
    for fragment in fragments:
        assert fragment in message


def test_check_bed_runs_before_any_output(tmp_path):
    with pytest.raises(ValueError, match="negative start"):
        restrict(tmp_path, bed(tmp_path, "chr1\t-1\t10\n"))
    assert not (tmp_path / "out.vcf.gz").exists()
