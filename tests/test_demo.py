"""The demo cohort simulator (scripts/demo.py): determinism, truth, reads and sheets."""

import gzip
import hashlib
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pysam
import pytest
from helpers import DEMO_CONFIG, REPO, demo_config

sys.path.insert(0, str(REPO / "scripts"))
import demo  # noqa: E402
from defaults import schema_defaults  # noqa: E402

_CUT = schema_defaults()["cutadapt"]
ADAPTERS = {"r1": _CUT["adapter_r1"], "r2": _CUT["adapter_r2"]}

# Small cohort so every test runs in well under a second or two.
SMALL = {
    "seed": 7,
    "n_samples": 24,
    "n_unlabelled": 4,
    "populations": 2,
    "contigs": 2,
    "contig_length": 30000,
    "coverage": 4,
    "read_length": 100,
    "insert_mean": 260,
    "insert_sd": 70,
    "n_causal": 3,
    "heritability": 0.8,
}
OUTPUTS = [
    "reference.fa",
    "truth/truth.vcf.gz",
    "truth/truth.vcf.gz.tbi",
    "truth/phenotypes.tsv",
    "truth/causal.tsv",
    "truth/summary.json",
]


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def population_hashes(params, outdir):
    demo.write_population(demo.simulate_population(params), outdir)
    return {name: sha(outdir / name) for name in OUTPUTS}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """The SMALL cohort written once: (outdir, Population)."""
    outdir = tmp_path_factory.mktemp("demo")
    pop = demo.simulate_population(SMALL)
    demo.write_population(pop, outdir)
    return outdir, pop


def read_fastq(path):
    lines = gzip.open(path, "rt").read().splitlines()
    return lines[0::4], lines[1::4], lines[3::4]


def unit_reads(cohort, tmp_path, sample="S002", unit="L1", n_units=1, name="u"):
    outdir, _ = cohort
    r1, r2 = tmp_path / f"{name}_R1.fastq.gz", tmp_path / f"{name}_R2.fastq.gz"
    stats = demo.simulate_unit_reads(
        outdir / "reference.fa", outdir / "truth/truth.vcf.gz", sample, unit, n_units, SMALL, r1, r2
    )
    return r1, r2, stats


def test_population_outputs_are_byte_identical_per_seed(tmp_path):
    first = population_hashes(SMALL, tmp_path / "a")
    assert population_hashes(SMALL, tmp_path / "b") == first
    other = population_hashes({**SMALL, "seed": 8}, tmp_path / "c")
    assert all(other[name] != first[name] for name in OUTPUTS)


def test_reference_and_truth_vcf(cohort):
    outdir, pop = cohort
    ref = demo.read_fasta(outdir / "reference.fa")
    assert list(ref) == ["chr1", "chr2"] and all(len(s) == 30000 for s in ref.values())
    gc = np.mean([np.isin(s, [1, 2]).mean() for s in ref.values()])
    assert 0.38 < gc < 0.44
    with pysam.VariantFile(str(outdir / "truth/truth.vcf.gz")) as vcf:
        assert list(vcf.header.samples) == demo.sample_names(24)
        assert dict(vcf.header.contigs.items()).keys() == {"chr1", "chr2"}
        last = ("", 0)
        for rec in vcf:
            assert (rec.chrom, rec.pos) > last  # sorted, one record per position
            last = (rec.chrom, rec.pos)
            assert rec.ref == "ACGT"[ref[rec.chrom][rec.pos - 1]] and rec.alts[0] != rec.ref
            assert len(rec.alts) == 1 and len(rec.alts[0]) == 1
            gts = [rec.samples[s]["GT"] for s in rec.samples]
            assert all(rec.samples[s].phased for s in rec.samples)
            assert 0 < sum(a for gt in gts for a in gt) < 48  # polymorphic in the cohort
        assert vcf.fetch("chr2", 0, 30000)  # the tabix index works
    assert pop.summary["n_snps"] == len(pop.sites) > 50


def test_transition_transversion_ratio():
    ref = np.random.default_rng(1).integers(0, 4, 30000).astype(np.uint8)
    alt = demo._alt_codes(ref, np.random.default_rng(2))
    assert (alt != ref).all()
    ts = ((ref ^ alt) == 2).mean()  # A<->G, C<->T
    assert 1.8 < ts / (1 - ts) < 2.2


def test_phenotype_and_causal_sites(cohort):
    outdir, pop = cohort
    pheno = pd.read_csv(outdir / "truth/phenotypes.tsv", sep="\t")
    assert list(pheno.columns) == [
        "sample",
        "population",
        "genetic_score",
        "liability",
        "phenotype",
    ]
    assert (pheno["phenotype"] == "case").sum() == (pheno["phenotype"] == "control").sum() == 12
    assert set(pheno["population"]) == {"pop1", "pop2"}
    causal = pd.read_csv(outdir / "truth/causal.tsv", sep="\t")
    assert len(causal) == 3 and set(causal["chrom"]) == {"chr1", "chr2"}
    truth = {}
    with pysam.VariantFile(str(outdir / "truth/truth.vcf.gz")) as vcf:
        for rec in vcf:
            alt = sum(a for s in rec.samples for a in rec.samples[s]["GT"]) / 48
            truth[f"{rec.chrom}:{rec.pos}:{rec.ref}:{rec.alts[0]}"] = alt
    for site, af in zip(causal["site_id"], causal["af"], strict=True):
        assert site in truth and truth[site] == pytest.approx(af, abs=1e-6)
        assert min(af, 1 - af) >= demo.MIN_CAUSAL_MAF
    auc = demo._auc(pheno["genetic_score"].to_numpy(), (pheno["phenotype"] == "case").to_numpy())
    assert pop.summary["oracle_auc"] == pytest.approx(auc, abs=1e-5) and auc > 0.7


def test_unit_reads_are_deterministic_and_well_formed(cohort, tmp_path):
    r1, r2, stats = unit_reads(cohort, tmp_path, name="a")
    again1, again2, _ = unit_reads(cohort, tmp_path, name="b")
    assert sha(r1) == sha(again1) and sha(r2) == sha(again2)
    other1, _, _ = unit_reads(cohort, tmp_path, unit="L2", name="c")  # own stream per unit
    assert sha(other1) != sha(r1)

    n = demo.n_unit_pairs(SMALL, 1)
    assert n == stats["pairs"] == round(4 * 60000 / 200)
    (n1, s1, q1), (n2, s2, q2) = read_fastq(r1), read_fastq(r2)
    assert len(n1) == len(n2) == n
    assert [x.removesuffix("/1") for x in n1] == [x.removesuffix("/2") for x in n2]
    assert n1[0] == "@S002_L1_1/1"
    assert all(len(s) == len(q) == 100 for s, q in zip(s1 + s2, q1 + q2, strict=True))
    assert all(2 <= ord(c) - 33 <= 41 for q in q1[:200] for c in q)
    # Short inserts read into the adapter: cutadapt must have work to do.
    share = np.mean([ADAPTERS["r1"][:12] in s for s in s1])
    assert 0.02 < share < 0.20
    assert 0.02 < np.mean([ADAPTERS["r2"][:12] in s for s in s2]) < 0.20


def test_units_split_the_sample_coverage():
    assert demo.n_unit_pairs(SMALL, 2) * 2 == demo.n_unit_pairs(SMALL, 1)


def test_base_errors_follow_qualities():
    # All-A genome: any base inside the insert that is not A (R1) / T (R2) is an error.
    haps = np.zeros((2, 20000), np.uint8)
    reads = demo.simulate_pairs(haps, [("c", 20000)], 20000, SMALL, np.random.default_rng(3))
    inside = np.arange(100)[None, :] < reads["insert"][:, None]
    for mate, base in (("1", 0), ("2", 3)):
        q, wrong = reads[f"q{mate}"][inside], reads[f"r{mate}"][inside] != base
        expected = (10.0 ** (-q.astype(float) / 10)).mean()
        assert wrong.mean() == pytest.approx(expected, rel=0.1)
    assert reads["q1"].mean() > reads["q2"].mean()  # R2 is a little worse
    assert reads["q1"][:, :10].mean() > reads["q1"][:, -10:].mean() + 5  # declining


def test_sheets():
    samples, units = demo.demo_sheets(SMALL, "resources/demo")
    assert list(samples.columns) == ["sample", "phenotype", "population"]
    assert list(samples["sample"]) == demo.sample_names(24)
    assert (samples["phenotype"] == "").sum() == 4
    assert (samples["phenotype"].iloc[-4:] == "").all()
    assert sorted(units.loc[units["sample"] == "S012", "unit"]) == ["L1", "L2"]
    assert sorted(units.loc[units["sample"] == "S024", "unit"]) == ["L1", "L2"]
    assert len(units) == 26
    row = units.iloc[0]
    assert row["fq1"] == "resources/demo/reads/S001_L1_R1.fastq.gz"
    assert row["fq2"] == "resources/demo/reads/S001_L1_R2.fastq.gz"


def test_committed_sheets_match_the_simulator():
    """The demo's samples.tsv and units.tsv are exactly what the simulator writes."""
    samples, units = demo.demo_sheets(demo_config()["demo"])
    read = {"sep": "\t", "dtype": str, "keep_default_na": False}
    committed_samples = pd.read_csv(DEMO_CONFIG.parent / "samples.tsv", **read)
    committed_units = pd.read_csv(DEMO_CONFIG.parent / "units.tsv", **read)
    pd.testing.assert_frame_equal(committed_samples, samples.astype(str))
    pd.testing.assert_frame_equal(committed_units, units.astype(str))


def test_snakemake_entry_point(tmp_path):
    """The rules' scripts (demo_population.py, demo_reads.py) write outputs plus a log."""
    import demo_population
    import demo_reads

    out = tmp_path / "demo"
    files = dict(
        zip(["ref", "vcf", "tbi", "phenotypes", "causal", "summary"], OUTPUTS, strict=True)
    )
    smk = SimpleNamespace(
        params=SimpleNamespace(demo=SMALL),
        output=SimpleNamespace(**{k: str(out / v) for k, v in files.items()}),
        log=[str(tmp_path / "population.log")],
    )
    demo_population.main(smk)
    assert all((out / name).exists() for name in OUTPUTS)
    assert "SNPs:" in (tmp_path / "population.log").read_text()
    smk = SimpleNamespace(
        input=SimpleNamespace(ref=str(out / "reference.fa"), vcf=str(out / "truth/truth.vcf.gz")),
        output=SimpleNamespace(r1=str(tmp_path / "R1.fq.gz"), r2=str(tmp_path / "R2.fq.gz")),
        params=SimpleNamespace(demo=SMALL, n_units=2, adapters=ADAPTERS),
        wildcards=SimpleNamespace(sample="S012", unit="L2"),
        log=[str(tmp_path / "reads.log")],
    )
    demo_reads.main(smk)
    assert len(read_fastq(tmp_path / "R1.fq.gz")[0]) == demo.n_unit_pairs(SMALL, 2)
    assert "adapter_readthrough" in (tmp_path / "reads.log").read_text()
