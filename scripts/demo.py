"""Seeded simulator of the demo cohort: reference, truth genotypes, phenotypes and reads.

Model
-----
* Reference: `contigs` random contigs chr1..chrN of `contig_length` bp, GC ~0.41.
* Genotypes: one msprime coalescent simulation per contig (independent contigs) of
  `n_samples` diploids spread round-robin over `populations` demes (pop1..popK) that
  split from one ancestor SPLIT_TIME generations ago (Ne NE each, symmetric migration
  MIGRATION), recombination 1e-8, mutation MUTATION_RATE on a discrete genome. Only
  sites with exactly one mutation are kept (biallelic SNPs, phased truth); REF is the
  reference base, ALT another base with transition:transversion ~2:1. Indels and
  multi-allelic sites are not simulated.
* Phenotype: `n_causal` SNPs with MAF >= MIN_CAUSAL_MAF (spread over contigs) get
  effects +-U(0.5, 1); the standardized genetic score G gives the liability
  sqrt(h2)*G + sqrt(1-h2)*N(0,1); the upper half of liabilities are cases. The oracle
  AUC is the ROC AUC of G against the case/control labels (the best a model can do).
* Reads: paired-end fragments drawn uniformly over the sample's two haplotypes, insert
  ~ N(insert_mean, insert_sd) truncated to [40, 800], plus SHORT_FRACTION of short
  fragments (< read_length) whose reads run into the TruSeq adapter; Illumina-like
  declining qualities with substitution errors drawn at 10^(-Q/10).

Every random stream is derived from `seed` (plus fixed stream ids, sample index and
crc32 of the unit name), and every output is byte-identical for the same parameters.

Use: importable functions (tests, and the scripts of rules demo_population and
demo_reads: scripts/demo_population.py, scripts/demo_reads.py) and a CLI: `python
scripts/demo.py sheets --config .test/demo/config.yaml --samples .test/demo/samples.tsv
--units .test/demo/units.tsv`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pysam
from defaults import schema_defaults, with_defaults

if TYPE_CHECKING:  # annotations only: pandas is imported where it is used
    import pandas as pd

BASES = np.frombuffer(b"ACGT", dtype=np.uint8)  # code 0..3 -> ASCII; complement = 3 - code
GC = 0.41
NE, SPLIT_TIME, MIGRATION = 10_000, 4_000, 5e-5
# Recombination 10x the human rate: LD decays within the short demo contigs, as it
# would between distant loci, so a causal SNP is not hidden among perfect proxies.
RECOMBINATION_RATE, MUTATION_RATE = 1e-7, 1.2e-8
MIN_CAUSAL_MAF = 0.2
EFFECT_MIN, EFFECT_MAX = 0.8, 1.0  # |effect| of each causal SNP on the genetic score
INSERT_MIN, INSERT_MAX = 40, 800
SHORT_FRACTION = 0.07  # short-fragment library share: gives cutadapt real adapter work
SECOND_UNIT_EVERY = 12  # every 12th sample is sequenced on a second lane (unit L2)
# Independent random streams: rng([seed, STREAM_x, ...]).
STREAM_REF, STREAM_MSP, STREAM_ALT, STREAM_PHENO, STREAM_READS = range(5)


def _params(params):
    return with_defaults("demo", params)


def _rng(*key):
    return np.random.default_rng([int(k) for k in key])


@dataclass
class Population:
    params: dict
    contigs: list  # [(name, length)]
    reference: dict  # name -> uint8 base codes
    samples: list  # S001..
    populations: list  # deme of each sample
    sites: pd.DataFrame  # chrom, pos (1-based), ref, alt, af
    haplotypes: np.ndarray  # (n_sites, n_samples, 2) 0/1 alleles
    phenotypes: pd.DataFrame  # sample, population, genetic_score, liability, phenotype
    causal: pd.DataFrame  # site_id, chrom, pos, ref, alt, effect, af
    summary: dict


def sample_names(n):
    return [f"S{i:03d}" for i in range(1, n + 1)]


def _msprime():
    """msprime, imported by the population simulation only: the read and annotation jobs
    (one per unit) do without it and its tskit -> jsonschema imports, seconds each."""
    import quick_jsonschema  # noqa: F401  (first: jsonschema without rfc3987_syntax)

    # isort: split
    import msprime

    return msprime


def _demography(k):
    dem = _msprime().Demography()
    pops = [f"pop{i}" for i in range(1, k + 1)]
    for name in pops:
        dem.add_population(name=name, initial_size=NE)
    if k > 1:
        dem.add_population(name="ancestral", initial_size=NE)
        dem.add_population_split(time=SPLIT_TIME, derived=pops, ancestral="ancestral")
        dem.set_symmetric_migration_rate(pops, MIGRATION)
    return dem, pops


def _alt_codes(ref, rng):
    """ALT base per REF code: transition (A<->G, C<->T) 2/3 of the time, else a transversion."""
    transition = ref ^ 2  # A0<->G2, C1<->T3
    # The two transversions of each base (purine <-> pyrimidine).
    transversions = np.stack([(ref + 1) % 4, (ref + 3) % 4], axis=1)
    tv = transversions[np.arange(len(ref)), rng.integers(0, 2, len(ref))]
    return np.where(rng.random(len(ref)) < 2 / 3, transition, tv).astype(np.uint8)


def _auc(score, labels):
    """ROC AUC by the rank-sum (Mann-Whitney) formula; ties get average ranks."""
    import pandas as pd  # here: the reads jobs (demo_reads.py) never load pandas

    ranks = pd.Series(score).rank().to_numpy()
    pos = labels.astype(bool)
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _hudson_fst(dosage, pop_idx, k):
    """Mean pairwise Hudson Fst (ratio of averages) between demes, from dosages."""
    if k < 2:
        return 0.0
    freqs = [dosage[:, pop_idx == j].mean(axis=1) / 2 for j in range(k)]
    values = []
    for a in range(k):
        for b in range(a + 1, k):
            pa, pb = freqs[a], freqs[b]
            num = (pa - pb) ** 2
            den = pa * (1 - pb) + pb * (1 - pa)
            values.append(num.sum() / den.sum())
    return float(np.mean(values))


def simulate_population(params: dict) -> Population:
    """Reference, phased truth SNPs, causal SNPs and phenotypes of the demo cohort."""
    import pandas as pd  # here: the reads jobs (demo_reads.py) never load pandas

    p = _params(params)
    seed, n, k = p["seed"], p["n_samples"], p["populations"]
    samples = sample_names(n)
    # Round-robin deme assignment, so every deme also has unlabelled (last) samples.
    pop_idx = np.arange(n) % k
    dem, pops = _demography(k)
    counts = np.bincount(pop_idx, minlength=k)
    # msprime orders individuals by deme; column order[i] is sample i.
    order = np.concatenate([np.flatnonzero(pop_idx == j) for j in range(k)]).argsort()

    contigs = [(f"chr{i}", p["contig_length"]) for i in range(1, p["contigs"] + 1)]
    probs = [(1 - GC) / 2, GC / 2, GC / 2, (1 - GC) / 2]
    reference, site_frames, haps = {}, [], []
    for c, (name, length) in enumerate(contigs):
        ref = _rng(seed, STREAM_REF, c).choice(4, size=length, p=probs).astype(np.uint8)
        reference[name] = ref
        msp_seed = int(_rng(seed, STREAM_MSP, c).integers(1, 2**31 - 1, size=2)[0])
        ts = _msprime().sim_ancestry(
            samples={pops[j]: int(counts[j]) for j in range(k) if counts[j]},
            demography=dem,
            ploidy=2,
            sequence_length=length,
            recombination_rate=RECOMBINATION_RATE,
            random_seed=msp_seed,
        )
        ts = _msprime().sim_mutations(
            ts, rate=MUTATION_RATE, random_seed=msp_seed + 1, discrete_genome=True
        )
        # Biallelic only: drop sites hit twice (possible back/recurrent mutations).
        keep = np.array([len(s.mutations) == 1 for s in ts.sites()], dtype=bool)
        gm = ts.genotype_matrix()[keep] if keep.any() else np.zeros((0, 2 * n), np.int8)
        pos0 = ts.tables.sites.position[keep].astype(np.int64)
        gm = gm.reshape(len(gm), n, 2)[:, order, :]  # sample-major (individual = 2 nodes)
        ac = gm.sum(axis=(1, 2))
        poly = (ac > 0) & (ac < 2 * n)
        gm, pos0, ac = gm[poly], pos0[poly], ac[poly]
        ref_codes = ref[pos0]
        alt_codes = _alt_codes(ref_codes, _rng(seed, STREAM_ALT, c))
        site_frames.append(
            pd.DataFrame(
                {
                    "chrom": name,
                    "pos": pos0 + 1,
                    "ref": list(BASES[ref_codes].tobytes().decode()),
                    "alt": list(BASES[alt_codes].tobytes().decode()),
                    "af": ac / (2 * n),
                }
            )
        )
        haps.append(gm.astype(np.uint8))
    sites = pd.concat(site_frames, ignore_index=True)
    haplotypes = np.concatenate(haps) if haps else np.zeros((0, n, 2), np.uint8)
    dosage = haplotypes.sum(axis=2).astype(float)  # (sites, samples)

    # Causal SNPs: common ones only, so the signal is learnable from a small cohort.
    rng = _rng(seed, STREAM_PHENO)
    maf = np.minimum(sites["af"], 1 - sites["af"]).to_numpy()
    eligible = maf >= MIN_CAUSAL_MAF
    if eligible.sum() < p["n_causal"]:
        raise ValueError(f"only {eligible.sum()} SNPs with MAF >= {MIN_CAUSAL_MAF}")
    chosen = []
    contig_of = sites["chrom"].to_numpy()
    for j in range(p["n_causal"]):  # round-robin over contigs, any contig when one runs out
        want = contigs[j % len(contigs)][0]
        pool = np.flatnonzero(eligible & (contig_of == want))
        pool = np.setdiff1d(pool, chosen)
        if not len(pool):
            pool = np.setdiff1d(np.flatnonzero(eligible), chosen)
        chosen.append(int(rng.choice(pool)))
    chosen = np.sort(chosen)
    effects = rng.uniform(EFFECT_MIN, EFFECT_MAX, len(chosen)) * rng.choice(
        [-1.0, 1.0], len(chosen)
    )
    g = effects @ dosage[chosen]
    g = (g - g.mean()) / (g.std() or 1.0)
    h2 = p["heritability"]
    liability = np.sqrt(h2) * g + np.sqrt(1 - h2) * rng.standard_normal(n)
    case = liability.argsort().argsort() >= n // 2  # upper half: balanced classes
    phenotypes = pd.DataFrame(
        {
            "sample": samples,
            "population": [pops[j] for j in pop_idx],
            "genetic_score": g,
            "liability": liability,
            "phenotype": np.where(case, "case", "control"),
        }
    )
    cs = sites.iloc[chosen]
    causal = pd.DataFrame(
        {
            "site_id": [":".join(map(str, r)) for r in cs[["chrom", "pos", "ref", "alt"]].values],
            "chrom": cs["chrom"].to_numpy(),
            "pos": cs["pos"].to_numpy(),
            "ref": cs["ref"].to_numpy(),
            "alt": cs["alt"].to_numpy(),
            "effect": effects,
            "af": cs["af"].to_numpy(),
        }
    )
    summary = {
        "seed": seed,
        "n_samples": n,
        "n_cases": int(case.sum()),
        "n_controls": int((~case).sum()),
        "populations": pops,
        "contigs": dict(contigs),
        "n_snps": len(sites),
        "n_snps_per_contig": {c: int((contig_of == c).sum()) for c, _ in contigs},
        "n_causal": len(chosen),
        "heritability": h2,
        "oracle_auc": round(_auc(g, case), 6),
        "fst_hudson": round(_hudson_fst(dosage, pop_idx, k), 6),
        "model": {
            "ne": NE,
            "split_time": SPLIT_TIME,
            "migration": MIGRATION,
            "recombination_rate": RECOMBINATION_RATE,
            "mutation_rate": MUTATION_RATE,
            "min_causal_maf": MIN_CAUSAL_MAF,
        },
    }
    return Population(
        p, contigs, reference, samples, phenotypes["population"].tolist(), sites, haplotypes,
        phenotypes, causal, summary,
    )  # fmt: skip


def _write_vcf(pop, path):
    """Phased, sorted truth VCF, bgzipped and tabix-indexed (both deterministic)."""
    lines = [
        "##fileformat=VCFv4.2",
        "##source=scripts/demo.py",
        *(f"##contig=<ID={c},length={n}>" for c, n in pop.contigs),
        '##INFO=<ID=AF,Number=A,Type=Float,Description="ALT allele frequency in the cohort">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(pop.samples),
    ]
    gt = np.array(["0|0", "0|1", "1|0", "1|1"])[
        pop.haplotypes[:, :, 0] * 2 + pop.haplotypes[:, :, 1]
    ]
    s = pop.sites
    for i, (chrom, pos, ref, alt, af) in enumerate(
        zip(s["chrom"], s["pos"], s["ref"], s["alt"], s["af"], strict=True)
    ):
        fixed = f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\tAF={af:.6g}\tGT\t"
        lines.append(fixed + "\t".join(gt[i]))
    plain = Path(str(path).removesuffix(".gz"))
    plain.write_text("\n".join(lines) + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    pysam.tabix_index(str(path), preset="vcf", force=True)


def write_fasta(reference, path, width=60):
    with open(path, "w") as fh:
        for name, codes in reference.items():
            seq = BASES[codes].tobytes().decode()
            fh.write(f">{name}\n")
            fh.writelines(seq[i : i + width] + "\n" for i in range(0, len(seq), width))


def write_population(pop: Population, outdir) -> dict:
    """Write reference.fa and truth/{truth.vcf.gz(.tbi),phenotypes,causal.tsv,summary.json}."""
    out = Path(outdir)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    paths = {
        "ref": out / "reference.fa",
        "vcf": out / "truth" / "truth.vcf.gz",
        "tbi": out / "truth" / "truth.vcf.gz.tbi",
        "phenotypes": out / "truth" / "phenotypes.tsv",
        "causal": out / "truth" / "causal.tsv",
        "summary": out / "truth" / "summary.json",
    }
    write_fasta(pop.reference, paths["ref"])
    _write_vcf(pop, paths["vcf"])
    pop.phenotypes.to_csv(paths["phenotypes"], sep="\t", index=False, float_format="%.6f")
    pop.causal.to_csv(paths["causal"], sep="\t", index=False, float_format="%.6f")
    paths["summary"].write_text(json.dumps(pop.summary, indent=2) + "\n")
    return paths


# ----------------------------------------------------------------------------- reads


def read_fasta(path) -> dict:
    """{name: uint8 base codes} of a plain FASTA of ACGT (no .fai written)."""
    lut = np.zeros(256, np.uint8)
    lut[np.frombuffer(b"ACGTacgt", np.uint8)] = [0, 1, 2, 3, 0, 1, 2, 3]
    seqs, name, chunks = {}, None, []
    for line in Path(path).read_text().splitlines():
        if line.startswith(">"):
            if name is not None:
                seqs[name] = lut[np.frombuffer("".join(chunks).encode(), np.uint8)]
            name, chunks = line[1:].split()[0], []
        else:
            chunks.append(line.strip())
    if name is not None:
        seqs[name] = lut[np.frombuffer("".join(chunks).encode(), np.uint8)]
    return seqs


def sample_haplotypes(reference_fa, truth_vcf, sample):
    """(contigs [(name, length)], haps (2, genome) uint8): the reference with the
    sample's phased ALT alleles applied, contigs concatenated in reference order."""
    ref = read_fasta(reference_fa)
    contigs = [(c, len(s)) for c, s in ref.items()]
    offset = dict(zip(ref, np.cumsum([0] + [n for _, n in contigs])[:-1], strict=True))
    haps = np.tile(np.concatenate(list(ref.values())), (2, 1))
    code = {b: i for i, b in enumerate("ACGT")}
    with pysam.VariantFile(str(truth_vcf)) as vcf:
        vcf.subset_samples([sample])
        for rec in vcf:
            gt = rec.samples[sample]["GT"]
            for h in (0, 1):
                if gt[h]:
                    haps[h, offset[rec.chrom] + rec.pos - 1] = code[rec.alts[gt[h] - 1]]
    return contigs, haps


def _codes(seq, rng):
    """Base codes of an adapter; IUPAC ambiguity codes become random bases."""
    seq = seq.upper().replace("U", "T")
    return np.array(["ACGT".index(b) if b in "ACGT" else rng.integers(4) for b in seq], np.uint8)


def _qualities(rng, n, length, shift):
    """Illumina-like Phred scores: ~36 falling to ~25 along the read, per-read offset,
    per-base noise and, in 5% of reads, a low-quality tail."""
    x = np.arange(length) / max(length - 1, 1)
    mean = 36 - 11 * x**1.5 - shift
    q = mean + rng.normal(0, 1.5, (n, 1)) + rng.normal(0, 2.5, (n, length))
    tail_start = rng.integers(int(0.7 * length), length, n)
    bad = (rng.random(n) < 0.05)[:, None] & (np.arange(length) >= tail_start[:, None])
    q = np.where(bad, rng.uniform(2, 15, (n, length)), q)
    return np.clip(np.rint(q), 2, 41).astype(np.uint8)


def simulate_pairs(haps, contigs, n_pairs, params, rng, adapters=None) -> dict:
    """Vectorized paired-end reads from a (2, genome) haplotype array.

    Returns base codes r1/r2 and Phred q1/q2 (n_pairs, read_length), and per pair the
    insert size, the 0-based genome start and the haplotype of its fragment.
    """
    p = _params(params)
    rl = p["read_length"]
    cut = schema_defaults()["cutadapt"]  # the TruSeq adapters cutadapt trims by default
    adapters = {"r1": cut["adapter_r1"], "r2": cut["adapter_r2"], **(adapters or {})}
    lengths = np.array([n for _, n in contigs])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    contig = rng.choice(len(lengths), n_pairs, p=lengths / lengths.sum())
    hap = rng.integers(0, 2, n_pairs)
    # Normal inserts, redrawn until inside [40, 800]; SHORT_FRACTION are short fragments.
    insert = rng.normal(p["insert_mean"], p["insert_sd"], n_pairs)
    for _ in range(100):
        bad = (insert < INSERT_MIN) | (insert > INSERT_MAX)
        if not bad.any():
            break
        insert[bad] = rng.normal(p["insert_mean"], p["insert_sd"], bad.sum())
    insert = np.clip(insert, INSERT_MIN, INSERT_MAX)
    short = rng.random(n_pairs) < SHORT_FRACTION
    insert[short] = rng.uniform(INSERT_MIN, max(rl, INSERT_MIN + 1), short.sum())
    insert = np.minimum(np.rint(insert).astype(np.int64), lengths[contig])
    start = offsets[contig] + rng.integers(0, lengths[contig] - insert + 1)

    j = np.arange(rl)
    inside = j[None, :] < insert[:, None]
    reads = {}
    for mate, shift in (("1", 0.0), ("2", 1.5)):  # R2 slightly worse, as on real runs
        if mate == "1":
            idx = start[:, None] + j[None, :]
            bases = haps[hap[:, None], np.minimum(idx, haps.shape[1] - 1)]
        else:  # reverse complement, read from the fragment end
            idx = (start + insert - 1)[:, None] - j[None, :]
            bases = 3 - haps[hap[:, None], np.maximum(idx, 0)]
        # Past the insert the read runs through the adapter into random sequence.
        tail = rng.integers(0, 4, (n_pairs, rl), dtype=np.uint8)
        ad = _codes(adapters[f"r{mate}"], rng)[:rl]
        tail[:, : len(ad)] = ad
        tail = np.take_along_axis(tail, np.clip(j[None, :] - insert[:, None], 0, rl - 1), axis=1)
        bases = np.where(inside, bases, tail).astype(np.uint8)
        q = _qualities(rng, n_pairs, rl, shift)
        err = rng.random((n_pairs, rl)) < 10.0 ** (-q.astype(float) / 10)
        bases = np.where(err, (bases + rng.integers(1, 4, (n_pairs, rl))) % 4, bases)
        reads[f"r{mate}"], reads[f"q{mate}"] = bases.astype(np.uint8), q
    return {**reads, "insert": insert, "start": start, "hap": hap}


def _write_fastq(path, prefix, mate, bases, quals):
    n, rl = bases.shape
    seq = BASES[bases].tobytes()
    qual = (quals + 33).astype(np.uint8).tobytes()
    body = b"".join(
        b"@%s_%d/%s\n%s\n+\n%s\n" % (prefix, i + 1, mate, seq[a : a + rl], qual[a : a + rl])
        for i, a in enumerate(range(0, n * rl, rl))
    )
    # mtime=0 and no file name in the header: identical bytes on every run; level 3 is
    # ~5x faster than the default 9 on these near-random reads for 4% more bytes.
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=3, mtime=0) as gz,
    ):
        gz.write(body)


def n_unit_pairs(params, n_units) -> int:
    """Read pairs of one unit: the sample's coverage split evenly over its units."""
    p = _params(params)
    genome = p["contigs"] * p["contig_length"]
    return max(1, round(p["coverage"] * genome / (2 * p["read_length"]) / n_units))


def simulate_unit_reads(
    reference_fa, truth_vcf, sample, unit, n_units, params, out_r1, out_r2, adapters=None
) -> dict:
    """Write one unit's gzip FASTQ pair; returns counts for the log."""
    p = _params(params)
    with pysam.VariantFile(str(truth_vcf)) as vcf:
        index = list(vcf.header.samples).index(sample)
    contigs, haps = sample_haplotypes(reference_fa, truth_vcf, sample)
    rng = _rng(p["seed"], STREAM_READS, index, zlib.crc32(unit.encode()))
    n = n_unit_pairs(p, n_units)
    reads = simulate_pairs(haps, contigs, n, p, rng, adapters)
    prefix = f"{sample}_{unit}".encode()
    _write_fastq(out_r1, prefix, b"1", reads["r1"], reads["q1"])
    _write_fastq(out_r2, prefix, b"2", reads["r2"], reads["q2"])
    return {
        "sample": sample,
        "unit": unit,
        "pairs": n,
        "adapter_readthrough": float((reads["insert"] < p["read_length"]).mean()),
        "mean_insert": float(reads["insert"].mean()),
    }


# ----------------------------------------------------------------------------- genes

# Genes of the demo (demo_genes): the random reference is kept as it is (so reads, calls
# and every other truth stay byte-identical) and its genes are its own open reading
# frames: ATG, no in-frame stop, then a stop codon. In random sequence of GC 0.41 about
# 1 codon in 16 is a stop, so ORFs are short (the longest of a 40 kb contig ~ 500 bp);
# the GENES_PER_CONTIG longest, non-overlapping ones, on both strands, are the genes,
# each with UTRs of UTR_BP in its exon, plus one non-coding RNA gene per contig.
GENES_PER_CONTIG, MIN_CODONS, UTR_BP, GENE_GAP, NCRNA_BP = 40, 40, 20, 20, 200
STOPS = frozenset({"TAA", "TAG", "TGA"})


def _revcomp(seq: str) -> str:
    return seq.translate(str.maketrans("ACGT", "TGCA"))[::-1]


def find_orfs(seq: str, min_codons=MIN_CODONS) -> list[tuple[int, int, str]]:
    """ORFs of both strands, [(start, end, strand)] 1-based inclusive on `seq`, from an
    ATG to its first in-frame stop codon (included), at least `min_codons` codons."""
    orfs, n = [], len(seq)
    for strand, s in (("+", seq), ("-", _revcomp(seq))):
        for frame in range(3):
            start = None
            for i in range(frame, n - 2, 3):
                codon = s[i : i + 3]
                if start is None and codon == "ATG":
                    start = i
                elif start is not None and codon in STOPS:
                    if (i + 3 - start) // 3 >= min_codons:
                        a, b = start + 1, i + 3  # on s, 1-based
                        orfs.append((a, b, "+") if strand == "+" else (n - b + 1, n - a + 1, "-"))
                    start = None
    return orfs


def demo_genes(reference: dict) -> pd.DataFrame:
    """Genes of the demo reference: chrom, gene, biotype, strand, start, end (exon, 1-based),
    cds_start, cds_end (empty for the non-coding gene). Deterministic: longest ORFs first,
    ties by position."""
    import pandas as pd  # here: the reads jobs (demo_reads.py) never load pandas

    rows = []
    for chrom, codes in reference.items():
        seq = BASES[codes].tobytes().decode()
        taken = []

        def free(a, b, taken=taken):
            return all(b + GENE_GAP < x or a > y + GENE_GAP for x, y in taken)

        orfs = sorted(find_orfs(seq), key=lambda o: (-(o[1] - o[0]), o[0], o[2]))
        chosen = []
        for a, b, strand in orfs:
            ea, eb = a - UTR_BP, b + UTR_BP
            if ea < 1 or eb > len(seq) or not free(ea, eb):
                continue
            taken.append((ea, eb))
            chosen.append((ea, eb, a, b, strand))
            if len(chosen) == GENES_PER_CONTIG:
                break
        # One non-coding RNA gene in the first free stretch past the contig's middle.
        for a in range(len(seq) // 2, len(seq) - NCRNA_BP):
            if free(a, a + NCRNA_BP - 1):
                taken.append((a, a + NCRNA_BP - 1))
                chosen.append((a, a + NCRNA_BP - 1, None, None, "+"))
                break
        for k, (ea, eb, a, b, strand) in enumerate(sorted(chosen), start=1):
            rows.append(
                {"chrom": chrom, "gene": f"{chrom}g{k:02d}",
                 "biotype": "protein_coding" if a else "lncRNA", "strand": strand,
                 "start": ea, "end": eb, "cds_start": a, "cds_end": b}
            )  # fmt: skip
    return pd.DataFrame(rows).astype({"cds_start": "Int64", "cds_end": "Int64"})


def genes_gff3(genes: pd.DataFrame) -> str:
    """Ensembl-style GFF3 of demo_genes (what bcftools csq reads)."""
    lines = ["##gff-version 3"]
    for g in genes.itertuples(index=False):
        tr = f"{g.gene}.t1"
        col = f"{g.chrom}\tdemo\t{{}}\t{{}}\t{{}}\t.\t{g.strand}\t{{}}\t{{}}"
        lines.append(
            col.format(
                "gene", g.start, g.end, ".", f"ID=gene:{g.gene};Name={g.gene};biotype={g.biotype}"
            )
        )
        lines.append(
            col.format(
                "transcript",
                g.start,
                g.end,
                ".",
                f"ID=transcript:{tr};Parent=gene:{g.gene};biotype={g.biotype}",
            )
        )
        lines.append(col.format("exon", g.start, g.end, ".", f"Parent=transcript:{tr}"))
        if g.biotype == "protein_coding":
            five, three = (g.start, g.cds_start - 1), (g.cds_end + 1, g.end)
            if g.strand == "-":
                five, three = three, five
            lines.append(col.format("five_prime_UTR", *five, ".", f"Parent=transcript:{tr}"))
            lines.append(col.format("CDS", g.cds_start, g.cds_end, "0", f"Parent=transcript:{tr}"))
            lines.append(col.format("three_prime_UTR", *three, ".", f"Parent=transcript:{tr}"))
    return "\n".join(lines) + "\n"


def codon_consequence(cds: str, offset: int, alt: str, code: int = 1) -> tuple[str, str]:
    """(consequence, protein change) of the SNV `alt` at 0-based `offset` of the coding
    sequence `cds` (coding strand, start to stop codon), by translating the reference and the
    changed codon with Biopython's table `code`; names and notation as bcftools csq writes
    them. The first codon: start_lost unless the new codon is also a start codon of the code
    (ATG alone for the standard code): start_retained, `1M`; with csq's compound names
    `synonymous&start_lost` (same amino acid) and `stop_gained&start_lost`."""
    from Bio.Data import CodonTable
    from Bio.Seq import Seq

    i = offset // 3
    ref_codon = cds[3 * i : 3 * i + 3]
    alt_codon = ref_codon[: offset % 3] + alt + ref_codon[offset % 3 + 1 :]
    a = str(Seq(ref_codon).translate(table=code))
    b = str(Seq(alt_codon).translate(table=code))
    n = i + 1
    if i == 0:
        starts = {"ATG"} if code == 1 else set(CodonTable.unambiguous_dna_by_id[code].start_codons)
        if ref_codon in starts:
            if alt_codon in starts:
                return "start_retained", "1M"
            if a == b:  # csq names the codon change too: GTG->GTA in code 11
                return "synonymous&start_lost", f"1{a}"
            return ("stop_gained&start_lost" if b == "*" else "start_lost"), f"1{a}>1{b}"
    if a == b:
        return ("stop_retained" if a == "*" else "synonymous"), f"{n}{a}"
    if a == "*":
        return "stop_lost", f"{n}*>{n}{b}"
    if b == "*":
        return "stop_gained", f"{n}{a}>{n}*"
    return "missense", f"{n}{a}>{n}{b}"


def truth_consequences(reference: dict, genes: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """chrom pos ref alt gene consequence protein_change of every truth SNP: the codon
    change inside a CDS, 5_prime_utr / 3_prime_utr in a UTR, non_coding in the non-coding
    gene; gene and consequence empty outside genes."""

    out = sites[["chrom", "pos", "ref", "alt"]].copy()
    gene, csq, change = [""] * len(out), [""] * len(out), [""] * len(out)
    seqs = {c: BASES[codes].tobytes().decode() for c, codes in reference.items()}
    for g in genes.itertuples(index=False):
        inside = np.flatnonzero(
            ((out["chrom"] == g.chrom) & out["pos"].between(g.start, g.end)).to_numpy()
        )
        cds = None
        if g.biotype == "protein_coding":
            cds = seqs[g.chrom][g.cds_start - 1 : g.cds_end]
            cds = cds if g.strand == "+" else _revcomp(cds)
        for j in inside:
            pos, alt = int(out["pos"].iat[j]), out["alt"].iat[j]
            gene[j] = g.gene
            if cds is None:
                csq[j] = "non_coding"
            elif pos < g.cds_start:
                csq[j] = "5_prime_utr" if g.strand == "+" else "3_prime_utr"
            elif pos > g.cds_end:
                csq[j] = "3_prime_utr" if g.strand == "+" else "5_prime_utr"
            else:
                if g.strand == "+":
                    offset, base = pos - g.cds_start, alt
                else:
                    offset, base = g.cds_end - pos, _revcomp(alt)
                csq[j], change[j] = codon_consequence(cds, offset, base)
    out["gene"], out["consequence"], out["protein_change"] = gene, csq, change
    return out


def write_annotation(reference_fa, truth_vcf, out_gff, out_truth) -> dict:
    """The demo's genes.gff3 and truth/consequences.tsv, from its reference and truth VCF."""
    import pandas as pd  # here: the reads jobs (demo_reads.py) never load pandas

    reference = read_fasta(reference_fa)
    genes = demo_genes(reference)
    Path(out_gff).write_text(genes_gff3(genes))
    with pysam.VariantFile(str(truth_vcf)) as vcf:
        sites = pd.DataFrame(
            [(r.chrom, r.pos, r.ref, r.alts[0]) for r in vcf],
            columns=["chrom", "pos", "ref", "alt"],
        )
    truth = truth_consequences(reference, genes, sites)
    truth.to_csv(out_truth, sep="\t", index=False)
    coding = genes[genes["biotype"] == "protein_coding"]
    return {
        "genes": len(genes),
        "coding_bp": int((coding["cds_end"] - coding["cds_start"] + 1).sum()),
        "snps": len(truth),
        "consequences": truth["consequence"].replace("", "intergenic").value_counts().to_dict(),
    }


# ----------------------------------------------------------------------------- sheets


def demo_sheets(params: dict, outdir=None):
    """(samples_df, units_df) of the demo cohort; the last n_unlabelled samples get no label."""
    import pandas as pd  # here: the reads jobs (demo_reads.py) never load pandas

    p = _params(params)
    outdir = p["outdir"] if outdir is None else str(outdir)
    pheno = simulate_population(p).phenotypes
    labels = pheno["phenotype"].copy()
    labels.iloc[len(labels) - p["n_unlabelled"] :] = ""
    samples = pd.DataFrame(
        {"sample": pheno["sample"], "phenotype": labels, "population": pheno["population"]}
    )
    rows = []
    for i, s in enumerate(samples["sample"], start=1):
        for unit in ["L1", "L2"] if i % SECOND_UNIT_EVERY == 0 else ["L1"]:
            stem = f"{outdir}/reads/{s}_{unit}"
            rows.append((s, unit, f"{stem}_R1.fastq.gz", f"{stem}_R2.fastq.gz"))
    units = pd.DataFrame(rows, columns=["sample", "unit", "fq1", "fq2"])
    return samples, units


# ----------------------------------------------------------------------------- entry points


def _cli(argv=None):
    import yaml

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sh = sub.add_parser("sheets", help="write samples.tsv and units.tsv of the demo cohort")
    sh.add_argument("--config", default=".test/demo/config.yaml")
    sh.add_argument("--samples", required=True)
    sh.add_argument("--units", required=True)
    sh.add_argument("--outdir", help="read directory prefix (default: demo.outdir)")
    args = ap.parse_args(argv)
    with open(args.config) as fh:
        params = yaml.safe_load(fh)["demo"]
    samples, units = demo_sheets(params, args.outdir)
    samples.to_csv(args.samples, sep="\t", index=False)
    units.to_csv(args.units, sep="\t", index=False)


if __name__ == "__main__":
    _cli()
