"""Site and genotype filters (scripts/filter.py) on tiny hand-written VCFs."""

import subprocess
import sys
from pathlib import Path

import cyvcf2
import pandas as pd
import pysam
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
import filter as vcffilter  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "vcf"
PARAMS = {
    "snps_only": True,
    "min_qual": 30,
    "min_dp": 5,
    "min_gq": 20,
    "min_call_rate": 0.8,
    "min_maf": 0.2,
}


def vcf_gz(tmp_path, name):
    """bgzip + tabix a fixture into tmp_path."""
    out = tmp_path / f"{name}.gz"
    pysam.tabix_compress(str(FIXTURES / name), str(out), force=True)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def run(tmp_path, name="filter_diploid.vcf", ploidy=2, **params):
    out = tmp_path / "out.vcf.gz"
    counts = vcffilter.filter_vcf(vcf_gz(tmp_path, name), out, {**PARAMS, **params}, ploidy)
    return counts.set_index("filter"), out


def records(path):
    """{ID: (QUAL, [GT strings])} of a VCF, as bcftools prints them."""
    fmt = "%ID\t%QUAL[\t%GT]\n"
    text = subprocess.run(
        ["bcftools", "query", "-f", fmt, str(path)], capture_output=True, text=True, check=True
    ).stdout
    return {f[0]: f[2:] for f in (line.split("\t") for line in text.splitlines())}


def test_each_filter_removes_and_counts(tmp_path):
    counts, out = run(tmp_path)
    assert list(counts.index) == [
        "input", "not_biallelic", "not_snp", "low_qual", "genotypes_masked_dp",
        "genotypes_masked_gq", "low_call_rate", "monomorphic", "low_maf", "output",
    ]  # fmt: skip
    removed = counts["removed"].to_dict()
    assert removed == {
        "input": 0,
        "not_biallelic": 2,  # r1 G,T; r2 *
        "not_snp": 2,  # r3 AT>A (snps_only); r15 <DEL>
        "low_qual": 1,  # r4
        "genotypes_masked_dp": 4,  # r6 S1, S2 (fails GQ too: counted once, as DP); r7; r8
        "genotypes_masked_gq": 1,  # r9 S2 (r6 S5 was already ./.: not counted)
        "low_call_rate": 2,  # r6 after masking; r13 (already missing)
        "monomorphic": 2,  # r10 all 0/0; r11 all 1/1
        "low_maf": 1,  # r7
        "output": 10,
    }
    remaining = counts["remaining"]
    assert remaining["input"] == 15 and remaining["not_biallelic"] == 13
    assert remaining["low_qual"] == 10 and remaining["low_maf"] == 5
    assert pd.isna(remaining["genotypes_masked_dp"]) and pd.isna(remaining["genotypes_masked_gq"])
    assert remaining["output"] == 5
    assert list(records(out)) == ["r5", "r8", "r9", "r12", "r14"]


def test_counts_tsv(tmp_path):
    counts, _ = run(tmp_path)
    path = tmp_path / "counts.tsv"
    vcffilter.write_counts(counts.reset_index(), path)
    lines = path.read_text().splitlines()
    assert lines[0] == "filter\tremoved\tremaining"
    assert lines[1] == "input\t0\t15" and lines[-1] == "output\t10\t5"
    assert "genotypes_masked_dp\t4\tNA" in lines
    assert "sites in: 15, out: 5" in vcffilter.summary(counts.reset_index())


def test_low_depth_genotype_becomes_missing_not_hom_ref(tmp_path):
    _, out = run(tmp_path)
    gts = records(out)
    assert gts["r8"] == ["./.", "0/0", "0/1", "1/1", "0/1"]  # S1 0/1 with DP 3
    assert gts["r9"] == ["0/0", "./.", "0/1", "1/1", "0/0"]  # S2 GQ 5
    # Read back with cyvcf2: the masked genotype is missing, not 0/0.
    v = next(iter(cyvcf2.VCF(str(out), samples=["S1"])("chr1:170")))
    assert v.genotypes == [[-1, -1, False]]
    assert v.gt_types.tolist() == [2]  # UNKNOWN (gts012=False): not HOM_REF (0)
    assert v.INFO["AC"] == 4 and v.INFO["AN"] == 8  # recomputed without S1
    # r7: S1 0/0 with DP 2 masked -> MAF 1/8 < 0.2 (as hom-ref it would be 3/10 and kept).
    assert "r7" not in gts


def test_unmasked_genotypes_round_trip(tmp_path):
    _, out = run(tmp_path)
    gts = records(out)
    assert gts["r5"] == ["0|0", "0|1", "1|1", "1|0", "0/0"]  # phase kept
    assert gts["r14"] == ["0/1", "0/0", "0/1", "1/1", "0/0"]  # missing DP value passes
    header = subprocess.run(
        ["bcftools", "view", "-h", str(out)], capture_output=True, text=True, check=True
    ).stdout
    assert '##filter_params={"snps_only":true,"min_qual":30,' in header
    assert '##INFO=<ID=AC,Number=A,Type=Integer,Description="ALT allele count">' in header
    assert (Path(f"{out}.tbi")).exists()


def test_call_rate_after_masking(tmp_path):
    # r6 has 4/5 called genotypes before masking (call rate 0.8 would pass) and 2/5 after.
    counts, out = run(tmp_path, min_dp=0, min_gq=0)
    assert counts.loc["genotypes_masked_dp", "removed"] == 0
    assert "r6" in records(out)
    counts, out = run(tmp_path)
    assert "r6" not in records(out)


def test_missing_qual_passes_and_min_qual_zero_bypasses(tmp_path):
    counts, out = run(tmp_path)
    assert "r12" in records(out)  # QUAL '.'
    assert "1 sites with missing QUAL passed low_qual" in counts.attrs["notes"]
    counts, out = run(tmp_path, min_qual=0)
    assert counts.loc["low_qual", "removed"] == 0


def test_indels_kept_when_not_snps_only(tmp_path):
    counts, out = run(tmp_path, snps_only=False)
    assert counts.loc["not_snp", "removed"] == 1  # <DEL>: not sequence-resolved
    assert "r3" in records(out)  # AT>A


def test_min_maf_zero_still_removes_monomorphic(tmp_path):
    counts, out = run(tmp_path, min_maf=0)
    assert counts.loc["monomorphic", "removed"] == 2
    assert counts.loc["low_maf", "removed"] == 0
    assert "r7" in records(out)


def test_haploid(tmp_path):
    counts, out = run(tmp_path, "filter_haploid.vcf", ploidy=1, min_call_rate=0.7, min_maf=0.1)
    assert counts.loc["genotypes_masked_dp", "removed"] == 2
    assert counts.loc["monomorphic", "removed"] == 1  # h2: its only ALT call had DP 3
    assert counts.loc["output", "remaining"] == 2
    assert "FORMAT/GQ not in the header: min_gq check skipped" in counts.attrs["notes"]
    gts = records(out)
    assert gts == {"h1": ["0", "1", ".", "0"], "h3": ["1", "1", "0", "0"]}
    v = next(iter(cyvcf2.VCF(str(out))))
    assert v.genotypes[2] == [-1, False]  # haploid missing stays haploid


def test_ploidy_mismatch_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="ploidy=1"):
        run(tmp_path, ploidy=1)
