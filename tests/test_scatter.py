"""The ML half scattered over chunks (rules/filter.smk, regions.smk, matrix.smk) gives
exactly what the whole-VCF functions give: filter counts, filtered records, regions and
the matrix with its site and sample tables."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
import calls  # noqa: E402
import filter as vcffilter  # noqa: E402
import matrix  # noqa: E402
import regions  # noqa: E402

CONTIGS = [("chr1", 1000), ("chr2", 600)]
SAMPLES = [f"S{i}" for i in range(12)]
PARAMS = {"min_qual": 20, "min_dp": 4, "min_gq": 15, "min_call_rate": 0.5, "min_maf": 0.05}
BED = "chr1\t100\t400\tfirst\nchr1\t300\t700\tsecond\nchr2\t0\t250\t.\n"


def _genotype(rng, haploid_share=0.05):
    r = rng.random()
    if r < 0.08:
        gt = "./."
    elif r < 0.08 + haploid_share:
        gt = str(rng.integers(0, 2))  # a haploid call in a diploid record
    elif r < 0.15:
        gt = "./1"
    else:
        gt = "/".join(str(a) for a in rng.integers(0, 2, 2))
    return f"{gt}:{rng.integers(2, 30)}:{rng.integers(5, 99)}"


def cohort_vcf(tmp_path) -> Path:
    """A seeded VCF with every kind of record the filter and the matrix treat apart:
    multiallelic, `*`, symbolic, indels (one across a chunk boundary), low QUAL, missing
    QUAL, a repeated site, haploid and half-missing calls, low DP/GQ."""
    rng = np.random.default_rng(7)
    lines = ["##fileformat=VCFv4.2"]
    lines += [f"##contig=<ID={c},length={n}>" for c, n in CONTIGS]
    lines += [
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(SAMPLES),
    ]
    records = []
    for contig, length in CONTIGS:
        for pos in sorted(
            rng.choice(np.setdiff1d(np.arange(1, length - 5), [300]), 70, replace=False)
        ):
            ref, alt = "A", str(rng.choice(["C", "G", "T", "C,G", "*", "<DEL>", "AT"]))
            if alt == "AT":
                ref, alt = "AT", "A"
            qual = str(rng.choice(["50", "60", "10", "."]))
            records.append((contig, int(pos), ref, alt, qual))
    records.append(("chr1", 399, "ACGTA", "A", "50"))  # spans the chunk boundary at 400
    records += [("chr2", 300, "A", "G", "60")] * 2  # a repeated site
    records.sort(key=lambda r: (r[0], r[1]))
    for contig, pos, ref, alt, qual in records:
        gts = "\t".join(_genotype(rng) for _ in SAMPLES)
        lines.append(f"{contig}\t{pos}\t.\t{ref}\t{alt}\t{qual}\tPASS\t.\tGT:DP:GQ\t{gts}")
    plain = tmp_path / "cohort.vcf"
    plain.write_text("\n".join(lines) + "\n")
    out = tmp_path / "cohort.vcf.gz"
    pysam.tabix_compress(str(plain), str(out), force=True)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def query(path) -> str:
    fmt = "%CHROM\t%POS\t%REF\t%ALT\t%QUAL[\t%GT]\n"
    cmd = ["bcftools", "query", "-f", fmt, str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def scatter(vcf, tmp_path, n, params, bed=None, fai=None):
    """The workflow's jobs, one call each: filter chunks, their gather, [regions chunks and
    gather], the matrix gather."""
    beds = [tmp_path / f"{i}.bed" for i in range(n)]
    calls.write_chunks(vcf, beds)
    bcfs, counts, npzs, sites = [], [], [], []
    for i, chunk in enumerate(beds):
        genotypes = vcffilter.ChunkGenotypes()
        bcfs.append(tmp_path / f"f{i}.bcf")
        counts.append(tmp_path / f"f{i}.counts.tsv")
        c = vcffilter.filter_vcf(vcf, bcfs[-1], params, 2, chunk, genotypes)
        vcffilter.write_counts(c, counts[-1], meta=True)
        npzs.append(tmp_path / f"f{i}.npz")
        sites.append(tmp_path / f"f{i}.sites.tsv")
        genotypes.write(npzs[-1], sites[-1])
    filtered = tmp_path / "filtered.bcf"
    total = vcffilter.gather(bcfs, counts, filtered, vcf, vcffilter.indexed_records(vcf))
    site_regions = None
    if bed is not None:
        rb, rt = [], []
        for i, chunk in enumerate(beds):
            rb.append(tmp_path / f"r{i}.bcf")
            rt.append(tmp_path / f"r{i}.tsv")
            regions.restrict_to_regions(filtered, bed, fai, rb[-1], rt[-1], chunk)
        site_regions = tmp_path / "site_regions.tsv"
        regions.gather(rb, rt, tmp_path / "regions.bcf", site_regions)
    tables = matrix.gather_chunks(npzs, sites, None, "phenotype", 2, site_regions)
    return total, filtered, tables


def assert_same_matrix(got, want):
    for g, w in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(g, w)
    assert got[1].attrs["skipped"]["duplicate"] == want[1].attrs["skipped"]["duplicate"]


@pytest.mark.parametrize("n", [1, 3, 7])
def test_scattered_filter_and_matrix_equal_the_whole_vcf(tmp_path, n):
    vcf = cohort_vcf(tmp_path)
    whole = tmp_path / "whole.vcf.gz"
    want_counts = vcffilter.filter_vcf(vcf, whole, PARAMS, 2)
    want = matrix.build_matrix(whole, None, "phenotype", 2)
    # The fixture exercises what it claims to.
    c = want_counts.set_index("filter")["removed"]
    assert min(c["not_biallelic"], c["not_snp"], c["low_qual"], c["genotypes_masked_dp"]) > 0
    assert c["genotypes_masked_gq"] > 0 and c["low_call_rate"] > 0
    assert want[1].attrs["skipped"]["duplicate"] == 1 and 30 < want[0].shape[1] < 120
    assert (want[2]["heterozygosity"] > 0).all()

    got_counts, filtered, got = scatter(vcf, tmp_path, n, PARAMS)
    pd.testing.assert_frame_equal(got_counts, want_counts)
    assert got_counts.attrs["notes"] == want_counts.attrs["notes"]
    assert query(filtered) == query(whole)
    assert_same_matrix(got, want)


def test_haploid_alt_calls_are_not_heterozygous(tmp_path):
    """A haploid ALT call in a diploid record is dosage 2 (scripts/filter.py
    matrix_dosage, PLINK's --xchr-model 2), never heterozygous: heterozygosity counts the
    dosage-1 calls exactly, scattered as whole. (With ploidy 1 every ALT call is 1 and not
    het: the chunks carry those apart, as the dosage alone cannot tell.)"""
    vcf = cohort_vcf(tmp_path)
    whole = tmp_path / "whole.vcf.gz"
    vcffilter.filter_vcf(vcf, whole, PARAMS, 2)
    want = matrix.build_matrix(whole, None, "phenotype", 2)
    _, _, got = scatter(vcf, tmp_path, 3, PARAMS)
    ones = (got[0] == 1).sum(axis=1).to_numpy()
    het_calls = (got[2]["heterozygosity"] * (got[0] >= 0).sum(axis=1).to_numpy()).round()
    np.testing.assert_array_equal(het_calls.to_numpy(), ones)
    haploid_alt = 0
    with pysam.VariantFile(str(whole)) as v:
        for rec in v:
            haploid_alt += sum(s["GT"] == (1,) for s in rec.samples.values())
    assert haploid_alt > 0 and (got[0] == 2).to_numpy().sum() >= haploid_alt
    pd.testing.assert_frame_equal(got[2], want[2])


def test_scattered_regions_equal_the_whole_vcf(tmp_path):
    vcf = cohort_vcf(tmp_path)
    fai = tmp_path / "genome.fa.fai"
    fai.write_text("".join(f"{c}\t{n}\t0\t60\t61\n" for c, n in CONTIGS))
    bed = tmp_path / "roi.bed"
    bed.write_text(BED)
    whole = tmp_path / "whole.vcf.gz"
    vcffilter.filter_vcf(vcf, whole, PARAMS, 2)
    in_roi, roi_tsv = tmp_path / "roi.vcf.gz", tmp_path / "roi.tsv"
    regions.restrict_to_regions(whole, bed, fai, in_roi, roi_tsv)
    want = matrix.build_matrix(in_roi, None, "phenotype", 2, roi_tsv)
    assert (want[1]["region"] == "first,second").any()  # a site in two regions

    _, _, got = scatter(vcf, tmp_path, 4, PARAMS, bed, fai)
    assert query(tmp_path / "regions.bcf") == query(in_roi)
    assert (tmp_path / "site_regions.tsv").read_text() == roi_tsv.read_text()
    assert_same_matrix(got, want)


def test_empty_chunks(tmp_path):
    """A chunk past the genome's end (more chunks than bases: an empty BED) writes a header
    and zero counts; chunks without records change nothing in the gather."""
    vcf = cohort_vcf(tmp_path)
    empty = tmp_path / "empty.bed"
    empty.write_text("")
    genotypes = vcffilter.ChunkGenotypes()
    counts = vcffilter.filter_vcf(vcf, tmp_path / "e.bcf", PARAMS, 2, empty, genotypes)
    assert counts["remaining"].iloc[0] == 0 and counts["removed"].sum() == 0
    assert query(tmp_path / "e.bcf") == ""
    genotypes.write(tmp_path / "e.npz", tmp_path / "e.tsv")
    with np.load(tmp_path / "e.npz") as z:
        assert z["mat"].shape == (0, len(SAMPLES))
    # 100 chunks of 16 bp (`bcftools.chunk_size: 16`): many hold no record; the same result.
    whole = tmp_path / "whole.vcf.gz"
    want_counts = vcffilter.filter_vcf(vcf, whole, PARAMS, 2)
    want = matrix.build_matrix(whole, None, "phenotype", 2)
    got_counts, filtered, got = scatter(vcf, tmp_path, 100, PARAMS)
    empty = [i for i in range(100) if pd.read_csv(tmp_path / f"f{i}.sites.tsv", sep="\t").empty]
    assert len(empty) > 20
    pd.testing.assert_frame_equal(got_counts, want_counts)
    assert query(filtered) == query(whole)
    assert_same_matrix(got, want)


def test_gather_refuses_chunks_that_missed_records(tmp_path):
    vcf = cohort_vcf(tmp_path)
    bed = tmp_path / "half.bed"
    bed.write_text("chr1\t0\t1000\n")  # chr2 is in no chunk
    genotypes = vcffilter.ChunkGenotypes()
    vcffilter.filter_vcf(vcf, tmp_path / "h.bcf", PARAMS, 2, bed, genotypes)
    counts = vcffilter.filter_vcf(vcf, tmp_path / "h.bcf", PARAMS, 2, bed)
    vcffilter.write_counts(counts, tmp_path / "h.tsv", meta=True)
    with pytest.raises(ValueError, match="the chunks saw .* records, its index counts"):
        vcffilter.gather([tmp_path / "h.bcf"], [tmp_path / "h.tsv"], tmp_path / "o.bcf", vcf,
                         vcffilter.indexed_records(vcf))  # fmt: skip


def test_input_vcf_chunks_need_an_index_and_contig_lengths(tmp_path):
    vcf = cohort_vcf(tmp_path)
    config = {"bcftools": {"chunks": 5, "chunk_size": 0}}
    assert calls.vcf_n_chunks(config, vcf, indexed=False) == 5
    assert calls.vcf_n_chunks({"bcftools": {"chunks": 5, "chunk_size": 500}}, vcf, False) == 4
    plain = tmp_path / "cohort.vcf"  # not indexed: streamed whole
    assert calls.vcf_n_chunks(config, plain, indexed=False) == 1
    assert calls.vcf_n_chunks(config, plain, indexed=True) == 5  # the pseudonymised copy
    no_length = tmp_path / "nolen.vcf"
    no_length.write_text(plain.read_text().replace(",length=600", ""))
    assert calls.vcf_n_chunks(config, no_length, indexed=True) == 1
