"""Genotypes of mixed ploidy (scripts/filter.py, matrix.py, ploidy.py): males' X written
haploid (`0`/`1`), as half calls (`0/.`, `1/.` or `./0`, `./1`) or as diploid homozygotes
(`0/0`, `1/1`) all give one matrix (haploid calls 0/2, never missing), keep every X site
through the call-rate filter, count one allele per male in AF, and let a classifier learn
sex from X sites but not from the autosomes."""

import sys

import numpy as np
import pandas as pd
import pysam
import pytest
from helpers import REPO, SHARED

sys.path.insert(0, str(REPO / "scripts"))
import filter as vcffilter  # noqa: E402
import matrix  # noqa: E402
import ploidy  # noqa: E402

N_SITES = 60  # per contig
PAR = 5  # the first PAR sites of chrX are diploid in males too
FILTERS = {"min_qual": 0, "min_dp": 0, "min_gq": 0, "min_call_rate": 0.95, "min_maf": 0.01}
MALE = {
    "haploid": {0: "0", 1: "1"},
    "half_ref_first": {0: "0/.", 1: "1/."},
    "half_missing_first": {0: "./0", 1: "./1"},
    "diploid_homozygous": {0: "0/0", 1: "1/1"},
}


def cohort(n=200, seed=7):
    """(sex, chrX alleles, chr1 alleles): half the samples male; per site an AF in
    0.1..0.5; alleles samples x sites x 2 (a male's second X allele unused)."""
    rng = np.random.default_rng(seed)
    sex = np.array(["male", "female"] * (n // 2))
    af = rng.uniform(0.1, 0.5, size=(2, N_SITES))
    x = (rng.random((n, N_SITES, 2)) < af[0][None, :, None]).astype(int)
    a = (rng.random((n, N_SITES, 2)) < af[1][None, :, None]).astype(int)
    return sex, x, a


def write_vcf(path, sex, x, a, encoding):
    names = [f"s{i}" for i in range(len(sex))]
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr1,length=100000>",
        "##contig=<ID=chrX,length=100000>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *names]
        ),
    ]
    for chrom, alleles in (("chr1", a), ("chrX", x)):
        for j in range(N_SITES):
            gts = []
            for i, s in enumerate(sex):
                g = alleles[i, j]
                if chrom == "chrX" and s == "male" and j >= PAR:
                    gts.append(MALE[encoding][g[0]])
                else:
                    gts.append(f"{g[0]}/{g[1]}")
            lines.append("\t".join([chrom, str(1000 + 100 * j), ".", "A", "G", "50", "PASS", ".",
                                    "GT", *gts]))  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    gz = path.with_suffix(".vcf.gz")
    pysam.tabix_compress(str(path), str(gz), force=True)
    pysam.tabix_index(str(gz), preset="vcf", force=True)
    return gz


def through_filter(tmp_path, vcf, ploidy_=2):
    """filter + the matrix gathered from its chunk genotypes, as the workflow runs them."""
    genotypes = vcffilter.ChunkGenotypes(ploidy_)
    counts = vcffilter.filter_vcf(vcf, tmp_path / "f.bcf", FILTERS, ploidy_, None, genotypes)
    genotypes.write(tmp_path / "c.npz", tmp_path / "c.tsv")
    g, sites, samples = matrix.gather_chunks(
        [tmp_path / "c.npz"], [tmp_path / "c.tsv"], None, "phenotype", ploidy_
    )
    return counts.set_index("filter"), g, sites, samples


@pytest.fixture(scope="module")
def data():
    return cohort()


@pytest.mark.parametrize("encoding", list(MALE))
def test_every_encoding_gives_one_matrix(tmp_path, data, encoding):
    sex, x, a = data
    vcf = write_vcf(tmp_path / "in.vcf", sex, x, a, encoding)
    counts, g, sites, samples = through_filter(tmp_path, vcf)
    # No X site falls to the call rate: males' calls are calls.
    assert counts.loc["low_call_rate", "removed"] == 0
    x_cols = [c for c in g.columns if c.startswith("chrX:")]
    assert len(x_cols) == N_SITES - counts.loc["monomorphic", "removed"]
    males = sex == "male"
    gx = g[x_cols].to_numpy()
    assert (gx >= 0).all()  # never missing
    nonpar = [c for c in x_cols if int(c.split(":")[1]) >= 1000 + 100 * PAR]
    gm = g.loc[males, nonpar].to_numpy()
    assert set(np.unique(gm)) <= {0, 2}  # a male's one X allele on the diploid scale
    want = 2 * x[males][:, [int(c.split(":")[1]) // 100 - 10 for c in nonpar], 0]
    np.testing.assert_array_equal(gm, want)
    # The same matrix from the VCF directly (predictions, the regions path).
    direct, dsites, _ = matrix.build_matrix(vcf, None, "phenotype", 2)
    np.testing.assert_array_equal(direct[g.columns].to_numpy(), g.to_numpy())
    # AF over the alleles that exist: one per male outside the PARs (diploid
    # homozygotes, as written, count two).
    j = int(nonpar[0].split(":")[1]) // 100 - 10
    ac = x[~males, j].sum() + x[males, j, 0].sum() * (2 if encoding == "diploid_homozygous" else 1)
    an = 2 * (~males).sum() + males.sum() * (2 if encoding == "diploid_homozygous" else 1)
    af = sites.set_index("site_id").loc[nonpar[0], "af"]
    assert af == pytest.approx(ac / an)
    assert af == pytest.approx(dsites.set_index("site_id").loc[nonpar[0], "af"])
    # Heterozygosity: males are never heterozygous outside the PARs.
    assert (samples["heterozygosity"] > 0).all()


def test_half_calls_on_autosomes_stay_missing(tmp_path):
    text = (
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000>\n##contig=<ID=MT,length=1000>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\td\n"
        "chr1\t10\t.\tA\tG\t50\tPASS\t.\tGT\t0/.\t./1\t0/1\t1/1\n"
        "MT\t10\t.\tA\tG\t50\tPASS\t.\tGT\t0/.\t./1\t1\t0\n"
    )
    (tmp_path / "t.vcf").write_text(text)
    g, sites, _ = matrix.build_matrix(tmp_path / "t.vcf", None, "phenotype", 2)
    assert g["chr1:10:A:G"].tolist() == [-1, -1, 1, 2]
    assert g["MT:10:A:G"].tolist() == [0, 2, 2, 0]
    assert sites["call_rate"].tolist() == [0.5, 1.0]
    assert sites["af"].tolist() == [0.75, 0.5]
    # With ploidy 1 (a haploid organism) haploid calls are 0/1.
    haploid = [line for line in text.splitlines() if not line.startswith("chr1")]
    (tmp_path / "h.vcf").write_text("\n".join(haploid).replace("0/.\t./1\t", "0\t1\t") + "\n")
    g, _, _ = matrix.build_matrix(tmp_path / "h.vcf", None, "phenotype", 1)
    assert g["MT:10:A:G"].tolist() == [0, 1, 1, 0]


def cv_accuracy(g: pd.DataFrame, y, seed=0) -> float:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    forest = RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    return float(cross_val_score(forest, g.to_numpy(), y, cv=folds).mean())


def test_sex_from_x_not_from_autosomes(tmp_path, data):
    sex, x, a = data
    vcf = write_vcf(tmp_path / "in.vcf", sex, x, a, "half_ref_first")
    _, g, _, _ = through_filter(tmp_path, vcf)
    on_x = cv_accuracy(g[[c for c in g.columns if c.startswith("chrX:")]], sex)
    on_1 = cv_accuracy(g[[c for c in g.columns if c.startswith("chr1:")]], sex)
    assert on_x >= 0.95, on_x
    assert on_1 <= 0.65, on_1


G1K = SHARED / "1000g_phase3_chr1_140kb_2504samples"


@pytest.mark.realdata
@pytest.mark.skipif(not G1K.exists(), reason=f"{G1K} not present")
def test_1000g_sex_from_chr1_is_chance(tmp_path):
    """The real chr1 panel (no X in it): sex is not learnt from autosomal SNPs."""
    vcf = G1K / "1000G_phase3.chr1_11697036-11836540.vcf.gz"
    labels = pd.read_csv(G1K / "labels.tsv", sep="\t")
    g, sites, _ = matrix.build_matrix(vcf, None, "sex", 2)
    g = g.loc[:, (sites["af"].between(0.01, 0.99)).to_numpy()]
    y = labels.set_index("sample").loc[g.index, "sex"].to_numpy()
    acc = cv_accuracy(g, y)
    majority = pd.Series(y).value_counts(normalize=True).max()
    assert acc <= majority + 0.03, (acc, majority)


def test_ploidy_settings(tmp_path):
    assert ploidy.max_ploidy(1) == 1 and ploidy.max_ploidy(2) == 2
    assert ploidy.max_ploidy("GRCh38") == 2 and ploidy.max_ploidy("Y") == 1 + 1
    fai = {"chr1": 1000, "chrX": 500, "chrM": 16569, "M": 100, "MT": 16569}
    text = ploidy.ploidy_file_text(2, fai)
    assert "chrM 1 16569 M 1\nchrM 1 16569 F 1\n" in text and "M 1 100 F 1\n" in text
    assert text.endswith("* * * M 2\n* * * F 2\n")
    grch38 = ploidy.ploidy_file_text("GRCh38", fai)
    assert grch38.count("chrM ") == 2 and "M 1 100 M 1" in grch38  # preset's chrM kept
    (tmp_path / "p.txt").write_text("chrZ 1 1000 F 1\n* * * M 2\n* * * F 2\n")
    assert ploidy.max_ploidy("p.txt", tmp_path) == 2
    assert "chrZ" in ploidy.haploid_contigs("p.txt", tmp_path)
    assert "*" not in ploidy.haploid_contigs("p.txt", tmp_path)
    assert "*" in ploidy.haploid_contigs("Y") and ploidy.half_call_haploid("chr5", {"*"})
    assert not ploidy.half_call_haploid("chr5", ploidy.haploid_contigs("GRCh38"))
    (tmp_path / "bad.txt").write_text("chrZ 1 1000 F\n")
    with pytest.raises(ploidy.PloidyError, match="line 1"):
        ploidy.max_ploidy("bad.txt", tmp_path)
    with pytest.raises(ploidy.PloidyError, match="neither"):
        ploidy.definition("GRCh39", tmp_path)
