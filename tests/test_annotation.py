"""Variant consequences (scripts/annotation.py, rules/annotation.smk): GFF3 checks and the
NCBI -> Ensembl conversion, bcftools csq with the organism's genetic code, the join into
sites.tsv, the consequence filter of the features, and the demo's consequences against the
simulator's truth (computed from its genes with Biopython, without bcftools)."""

import json
import random
import sys

import numpy as np
import pandas as pd
import pysam
import pytest
import yaml
from conftest import copy_run
from helpers import REPO, SHARED, snakemake

sys.path.insert(0, str(REPO / "scripts"))
import annotation  # noqa: E402
import demo  # noqa: E402
from annotation import GffError  # noqa: E402
from Bio.Seq import Seq  # noqa: E402
from features import select_features  # noqa: E402
from report_consequences import consequence_counts  # noqa: E402

ECOLI = SHARED / "ecoli_k12_refseq"
KEYS = ["chrom", "pos", "ref", "alt"]


# ----------------------------------------------------------------------------- helpers


def _orf(rng, codons, start="ATG", code=1):
    """A coding sequence: `start`, `codons` random sense codons of `code`, TAA."""
    stops = {"TAA", "TAG", "TGA", "AGA", "AGG"}  # never inside, whatever the code
    body = []
    while len(body) < codons:
        c = "".join(rng.choice("ACGT") for _ in range(3))
        if c not in stops and c not in {"ATG", "GTG", "TTG", "CTG", "ATT", "ATC", "ATA"}:
            body.append(c)
    return start + "".join(body) + "TAA"


def _write_vcf(path, contigs, sites):
    lines = ["##fileformat=VCFv4.2"]
    lines += [f"##contig=<ID={c},length={n}>" for c, n in contigs.items()]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    lines += [f"{c}\t{p}\t.\t{r}\t{a}\t.\tPASS\t." for c, p, r, a in sorted(sites)]
    plain = path.with_suffix("")
    plain.write_text("\n".join(lines) + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path


def _all_snvs(chrom, seq, start, end):
    return [
        (chrom, p, seq[p - 1], a) for p in range(start, end + 1) for a in "ACGT" if a != seq[p - 1]
    ]


def _expected(cds_seq, strand, cds_start, cds_end, pos, alt, code):
    """(consequence, protein change) from Biopython: the truth function of the demo."""
    if strand == "+":
        return demo.codon_consequence(cds_seq, pos - cds_start, alt, code)
    return demo.codon_consequence(cds_seq, cds_end - pos, demo._revcomp(alt), code)


def _annotate(tmp_path, fasta, gff, vcf, default_code=None):
    pysam.faidx(str(fasta))
    out_gff = tmp_path / "csq.gff3"
    summary = annotation.prepare_gff(gff, f"{fasta}.fai", out_gff, default_code)
    out = tmp_path / "annotated.vcf.gz"
    annotation.run_csq(vcf, fasta, out_gff, out, summary["codes"], summary["default_code"])
    table, _ = annotation.fix_start_codons(
        annotation.read_csq(out),
        annotation.first_codons(out_gff, fasta),
        summary["codes"],
        summary["default_code"],
    )
    return summary, table


# ----------------------------------------------------------------------------- unit tests


@pytest.fixture
def bacterium(tmp_path):
    """A small NCBI-style bacterial genome: a GTG-start gene on +, an ATG gene on -, a tRNA."""
    rng = random.Random(7)
    g1 = _orf(rng, 40, start="GTG")
    g2 = _orf(rng, 30)
    spacer = "".join(rng.choice("ACGT") for _ in range(60))
    seq = spacer + g1 + spacer + demo._revcomp(g2) + spacer + "GCGGATTTAGCTCAGTTGGGAGAGC" + spacer
    fasta = tmp_path / "genome.fa"
    fasta.write_text(f">NC_1\n{seq}\n")
    s1, e1 = 61, 60 + len(g1)
    s2, e2 = e1 + 61, e1 + 60 + len(g2)
    s3, e3 = e2 + 61, e2 + 85
    col = "NC_1\tRefSeq\t{}\t{}\t{}\t.\t{}\t{}\t{}"
    gff = tmp_path / "ncbi.gff"
    gff.write_text(
        "##gff-version 3\n"
        + "\n".join(
            [
                col.format("region", 1, len(seq), "+", ".", "ID=NC_1:1..;Is_circular=true"),
                col.format(
                    "gene", s1, e1, "+", ".", "ID=gene-b1;Name=abcA;gene_biotype=protein_coding"
                ),
                col.format("CDS", s1, e1, "+", "0", "ID=cds-1;Parent=gene-b1;transl_table=11"),
                col.format(
                    "gene", s2, e2, "-", ".", "ID=gene-b2;Name=abcB;gene_biotype=protein_coding"
                ),
                col.format("CDS", s2, e2, "-", "0", "ID=cds-2;Parent=gene-b2;transl_table=11"),
                col.format("gene", s3, e3, "+", ".", "ID=gene-b3;Name=thrW;gene_biotype=tRNA"),
                col.format("tRNA", s3, e3, "+", ".", "ID=rna-b3;Parent=gene-b3;product=tRNA-Thr"),
                col.format("exon", s3, e3, "+", ".", "ID=exon-b3-1;Parent=rna-b3"),
            ]
        )
        + "\n"
    )
    genes = [("abcA", "+", s1, e1, g1), ("abcB", "-", s2, e2, g2)]
    return fasta, gff, seq, genes, (s3, e3)


def test_ncbi_bacterial_gff_is_converted_for_csq(bacterium, tmp_path):
    fasta, gff, *_ = bacterium
    pysam.faidx(str(fasta))
    summary = annotation.prepare_gff(gff, f"{fasta}.fai", tmp_path / "out.gff3")
    assert summary["style"] == "ncbi" and summary["codes"] == {"NC_1": 11}
    lines = [line.split("\t") for line in (tmp_path / "out.gff3").read_text().splitlines()[1:]]
    assert [c[2] for c in lines] == ["gene", "transcript", "CDS"] * 2 + [
        "gene",
        "transcript",
        "exon",
    ]
    assert lines[0][8] == "ID=gene:b1;Name=abcA;biotype=protein_coding"
    assert lines[1][8] == "ID=transcript:b1;Parent=gene:b1;biotype=protein_coding"
    assert lines[2][8] == "Parent=transcript:b1" and lines[2][7] == "0"
    assert lines[7][8] == "ID=transcript:b3;Parent=gene:b3;biotype=misc_RNA"


def test_bacterial_consequences_equal_biopython_table_11(bacterium, tmp_path):
    """Every SNV of both genes (GTG start on +, ATG on -) and the tRNA, against Biopython."""
    fasta, gff, seq, genes, (s3, e3) = bacterium
    sites = [s for _, _, a, b, _ in genes for s in _all_snvs("NC_1", seq, a, b)]
    sites += _all_snvs("NC_1", seq, s3, s3 + 5) + _all_snvs("NC_1", seq, 10, 12)
    vcf = _write_vcf(tmp_path / "snvs.vcf.gz", {"NC_1": len(seq)}, sites)
    _, table = _annotate(tmp_path, fasta, gff, vcf)
    got = {
        tuple(r[:4]): (r[4], r[5], r[6])
        for r in table[KEYS + ["gene", "consequence", "protein_change"]].itertuples(index=False)
    }
    seen = set()
    for name, strand, a, b, cds in genes:
        for c, p, r, alt in _all_snvs("NC_1", seq, a, b):
            exp = _expected(cds, strand, a, b, p, alt, 11)
            assert got[(c, p, r, alt)] == (name, *exp), (p, r, alt)
            seen.add(exp[0])
    # A GTG start changed to ATG/TTG/CTG stays a start in code 11; to GCG etc. it is lost.
    assert {"start_retained", "start_lost", "synonymous&start_lost", "missense",
            "synonymous", "stop_gained", "stop_lost", "stop_retained"} <= seen  # fmt: skip
    assert got[("NC_1", 61, "G", "A")] == ("abcA", "start_retained", "1M")
    assert all(got[k][1] == "non_coding" for k in got if s3 <= k[1] <= e3)
    assert not any(10 <= k[1] <= 12 for k in got)  # intergenic: no consequence


def test_vertebrate_mito_code_2_next_to_a_nuclear_contig(tmp_path):
    """Code 2 (AGA/AGG stop, ATA Met, TGA Trp) on chrM, code 1 on chr1, one GFF: csq runs
    once per code; the consequences follow each contig's code."""
    rng = random.Random(3)
    cds = "ATG" + "TGA" + "ATA" + "AGC" + "CGA" + _orf(rng, 20)[3:]
    nuc = _orf(rng, 20)
    pad = "".join(rng.choice("ACGT") for _ in range(30))
    seqs = {"chr1": pad + nuc + pad, "chrM": pad + cds + pad}
    fasta = tmp_path / "ref.fa"
    fasta.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    rows = []
    for c, code_attr, body in (("chr1", "", nuc), ("chrM", ";transl_table=2", cds)):
        end = 30 + len(body)
        rows += [
            f"{c}\tRefSeq\tgene\t31\t{end}\t.\t+\t.\tID=gene-{c}g;Name={c}g;gene_biotype=protein_coding",
            f"{c}\tRefSeq\tCDS\t31\t{end}\t.\t+\t0\tID=cds-{c};Parent=gene-{c}g{code_attr}",
        ]
    gff = tmp_path / "mixed.gff"
    gff.write_text("\n".join(rows) + "\n")
    sites = [
        s
        for c, body in (("chr1", nuc), ("chrM", cds))
        for s in _all_snvs(c, seqs[c], 31, 30 + len(body))
    ]
    vcf = _write_vcf(tmp_path / "v.vcf.gz", {c: len(s) for c, s in seqs.items()}, sites)
    summary, table = _annotate(tmp_path, fasta, gff, vcf)
    assert summary["codes"] == {"chr1": 1, "chrM": 2}
    got = {
        tuple(r[:4]): (r[4], r[5])
        for r in table[KEYS + ["consequence", "protein_change"]].itertuples(index=False)
    }
    for c, p, r, a in sites:
        body, code = (nuc, 1) if c == "chr1" else (cds, 2)
        assert got[(c, p, r, a)] == _expected(body, "+", 31, 30 + len(body), p, a, code), (c, p, a)
    # TGA is Trp in code 2 (TGA->TGG synonymous), AGC->AGA a stop, CGA->AGA too.
    assert got[("chrM", 36, "A", "G")] == ("synonymous", "2W")
    assert got[("chrM", 42, "C", "A")] == ("stop_gained", "4S>4*")
    assert got[("chrM", 43, "C", "A")] == ("stop_gained", "5R>5*")


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda t: t.replace("\t+\t0\tID=cds-1", " +\t0\tID=cds-1"),
            r"line 3: 8 tab-separated columns",
        ),
        (
            lambda t: t.replace("NC_1\tRefSeq\tgene\t61", "chrX\tRefSeq\tgene\t61"),
            r"line 2: contig 'chrX' is not in the reference",
        ),
        (lambda t: t.replace("\tCDS\t", "\tmisc_feature\t"), r"no CDS feature"),
        (lambda t: t.replace("\t61\t", "\tsixty\t", 1), r"line 2: start/end 'sixty'"),
        (lambda t: t.replace("ID=cds-1;", "ID=cds-1;broken;"), r"line 3: attribute 'broken'"),
        (lambda t: t.replace("Parent=gene-b1", "Parent=gene-zz"), r"line 3: CDS Parent 'gene-zz'"),
    ],
)
def test_bad_gff_names_file_and_line(tmp_path, edit, message):
    seq = "A" * 60 + "ATGAAATAA" + "A" * 60
    (tmp_path / "g.fa").write_text(f">NC_1\n{seq}\n")
    pysam.faidx(str(tmp_path / "g.fa"))
    text = (
        "##gff-version 3\n"
        "NC_1\tRefSeq\tgene\t61\t69\t.\t+\t.\tID=gene-b1;gene_biotype=protein_coding\n"
        "NC_1\tRefSeq\tCDS\t61\t69\t.\t+\t0\tID=cds-1;Parent=gene-b1\n"
    )
    gff = tmp_path / "bad.gff"
    gff.write_text(edit(text))
    with pytest.raises(GffError, match=message) as err:
        annotation.prepare_gff(gff, tmp_path / "g.fa.fai", tmp_path / "out.gff3")
    assert str(gff) in str(err.value) and "Fix:" in str(err.value)


def test_bad_gff_stops_the_dry_run_with_file_and_line(tmp_path):
    """A small GFF3 is read at parse time: `snakemake -n` fails before any job."""
    from conftest import small_demo_sheets

    bad = tmp_path / "bad.gff3"
    bad.write_text("##gff-version 3\nchr1\tx\tgene\t5\t90\t.\t+\t.\tID=gene:a\nchr1 x CDS 5 90\n")
    small_demo_sheets(tmp_path, overrides={"annotation": {"gff": str(bad)}})
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr  # Snakemake prints the WorkflowError on stdout
    assert f"{bad}, line 3: 1 tab-separated columns" in out and "Fix:" in out, out[-2000:]
    assert not (tmp_path / "results").exists()


def test_join_sites_and_consequence_filter():
    sites = pd.DataFrame(
        {"site_id": ["c:1:A:G", "c:5:C:T", "c:9:G:A"], "chrom": "c", "pos": [1, 5, 9],
         "ref": ["A", "C", "G"], "alt": ["G", "T", "A"]}
    )  # fmt: skip
    empty = annotation.join_sites(sites, None)
    assert (empty[annotation.SITE_COLUMNS] == "").all().all()
    table = pd.DataFrame(
        {"chrom": ["c", "c"], "pos": [5, 9], "ref": ["C", "G"], "alt": ["T", "A"],
         "gene": ["g1", "g1,g2"], "consequence": ["missense", "synonymous,stop_gained"],
         "protein_change": ["3R>3H", "4L,7W>7*"], "biotype": "", "transcript": ""}
    )  # fmt: skip
    joined = annotation.join_sites(sites, table)
    assert joined["consequence"].tolist() == ["", "missense", "synonymous,stop_gained"]
    assert joined["protein_change"].tolist() == ["", "3R>3H", "4L,7W>7*"]
    rng = np.random.default_rng(0)
    g = pd.DataFrame(rng.integers(0, 3, (40, 3)), columns=sites["site_id"], dtype=np.int8)
    params = {"min_maf": 0, "ld_prune": {"enabled": False}, "consequences": ["stop_gained"]}
    kept, sel = select_features(g, joined, params)
    assert kept == ["c:9:G:A"] and sel["reason"].tolist() == ["consequence"] * 2 + ["pass"]
    counts = consequence_counts(joined, sel).set_index("consequence")
    assert (
        counts.loc["stop_gained"].tolist() == [1, 1] and counts.loc["outside genes", "sites"] == 1
    )
    with pytest.raises(ValueError, match="annotation.gff"):
        select_features(g, sites, params)


def test_demo_genes_have_real_codon_structure_and_csq_equals_truth(tmp_path):
    """The full demo's genes: ATG ... stop, no inner stop (Biopython cds=True), on both
    strands; bcftools csq on every truth SNP equals the simulator's truth."""
    pop = demo.simulate_population({})
    paths = demo.write_population(pop, tmp_path / "demo")
    gff, truth_path = tmp_path / "genes.gff3", tmp_path / "consequences.tsv"
    counts = demo.write_annotation(paths["ref"], paths["vcf"], gff, truth_path)
    genes = demo.demo_genes(pop.reference)
    coding = genes[genes["biotype"] == "protein_coding"]
    assert set(coding["strand"]) == {"+", "-"} and len(coding) >= 60
    for g in coding.itertuples():
        seq = demo.BASES[pop.reference[g.chrom][g.cds_start - 1 : g.cds_end]].tobytes().decode()
        seq = seq if g.strand == "+" else demo._revcomp(seq)
        Seq(seq).translate(cds=True)  # raises unless start, whole codons, one final stop
    _, table = _annotate(tmp_path, paths["ref"], gff, paths["vcf"])
    truth = annotation.read_table(truth_path)
    got = annotation.join_sites(truth[KEYS], table)
    cols = ["gene", "consequence", "protein_change"]
    diff = truth[cols].ne(got[cols]).any(axis=1)
    print("demo truth SNPs:", len(truth), counts["consequences"])
    assert not diff.any(), truth[diff].join(got[cols], rsuffix="_csq").to_string()
    assert (truth["consequence"] != "").sum() >= 50


# ----------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_ecoli_refseq_annotation_against_biopython(tmp_path):
    """The real E. coli K-12 RefSeq GFF3 (NCBI style, CDS under the gene, code 11):
    converted, then every SNV of the first, last and 4 inner codons of 150 genes."""
    if not ECOLI.exists():
        pytest.skip("../shared/data/ecoli_k12_refseq absent")
    fasta = tmp_path / "ecoli.fa"
    with pysam.FastxFile(str(ECOLI / "GCF_000005845.2_ASM584v2_genomic.fna.gz")) as fq:
        rec = next(iter(fq))
        seq = rec.sequence.upper()
        fasta.write_text(f">{rec.name}\n{seq}\n")
    gff = ECOLI / "GCF_000005845.2_ASM584v2_genomic.gff.gz"
    features = annotation.read_gff(gff)
    parents = pd.Series([f.attrs.get("Parent") for f in features if f.type == "CDS"]).value_counts()
    single = [
        f for f in features
        if f.type == "CDS" and parents[f.attrs["Parent"]] == 1 and "pseudo" not in f.attrs
    ]  # fmt: skip
    # Genes overlapping another CDS would carry two consequences: keep isolated ones.
    spans = sorted((f.start, f.end) for f in features if f.type == "CDS")

    def alone(f):
        return sum(a <= f.end and b >= f.start for a, b in spans) == 1

    rng = random.Random(11)
    picked = rng.sample([f for f in single if alone(f)], 150)
    sites, expected = [], {}
    for f in picked:
        cds = seq[f.start - 1 : f.end]
        cds = cds if f.strand == "+" else demo._revcomp(cds)
        n = len(cds) // 3
        for k in [0, n - 1, *rng.sample(range(1, n - 1), 4)]:
            if f.strand == "+":
                span = range(f.start + 3 * k, f.start + 3 * k + 3)
            else:
                span = range(f.end - 3 * k - 2, f.end - 3 * k + 1)
            for p in span:
                for alt in "ACGT":
                    if alt != seq[p - 1]:
                        sites.append((rec.name, p, seq[p - 1], alt))
                        expected[sites[-1]] = _expected(cds, f.strand, f.start, f.end, p, alt, 11)
    vcf = _write_vcf(tmp_path / "snvs.vcf.gz", {rec.name: len(seq)}, sites)
    summary, table = _annotate(tmp_path, fasta, gff, vcf)
    assert summary["style"] == "ncbi" and summary["codes"] == {rec.name: 11}
    assert summary["counts"]["CDS"] == 4337 and summary["counts"]["biotype_protein_coding"] == 4288
    got = {
        tuple(r[:4]): (r[4], r[5])
        for r in table[KEYS + ["consequence", "protein_change"]].itertuples(index=False)
    }
    wrong = {k: (v, got.get(k)) for k, v in expected.items() if got.get(k) != v}
    counts = pd.Series([v[0] for v in expected.values()]).value_counts().to_dict()
    print(f"E. coli: {len(expected)} SNVs in {len(picked)} genes, consequences {counts}")
    assert not wrong, list(wrong.items())[:10]
    assert counts["start_retained"] > 0 and counts["stop_lost"] > 0


# ----------------------------------------------------------------------------- end to end


@pytest.mark.e2e
def test_small_demo_called_snps_have_the_truth_consequences(small_demo, tmp_path):
    """A copy of the small demo run with annotation.gff set to the demo's own GFF3: every
    called SNP's gene, consequence and protein change in sites.tsv equal the truth; the
    association table and the report figure carry them."""
    workdir = copy_run(small_demo[0], tmp_path / "run")
    cfg_path = workdir / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["annotation"] = {"gff": "resources/demo/genes.gff3"}
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    targets = [
        "results/matrix/sites.tsv",
        "results/association/association.tsv",
        "results/report/annotation/consequences.png",
    ]
    snakemake(workdir, *targets)
    res = workdir / "results"
    assert (res / "annotation/annotated.vcf.gz.tbi").exists()
    sites = annotation.read_table(res / "matrix/sites.tsv")
    truth = annotation.read_table(workdir / "resources/demo/truth/consequences.tsv")
    both = sites.merge(truth, on=KEYS, suffixes=("", "_truth"))
    cols = ["gene", "consequence", "protein_change"]
    in_genes = both[both["gene_truth"] != ""]
    print(f"small demo: {len(sites)} matrix sites, {len(both)} true, {len(in_genes)} in genes:",
          in_genes["consequence_truth"].value_counts().to_dict())  # fmt: skip
    assert len(in_genes) >= 10
    for c in cols:
        assert both[c].tolist() == both[f"{c}_truth"].tolist(), c
    assoc = pd.read_csv(
        res / "association/association.tsv", sep="\t", dtype=str, keep_default_na=False
    )
    lookup = dict(zip(sites["site_id"], sites["consequence"], strict=True))
    assert assoc["consequence"].tolist() == [lookup[s] for s in assoc["site_id"]]
    assert (res / "report/annotation/consequences.png").read_bytes()[:4] == b"\x89PNG"
    log = json.loads((res / "annotation/gff_summary.json").read_text())
    assert log["style"] == "ensembl" and log["codes"] == {"chr1": 1, "chr2": 1}
