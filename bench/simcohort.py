"""A structured diploid cohort from msprime, as a VCF with its samples sheet (issue 22).

    python bench/simcohort.py N_PER_DEME LENGTH_BP OUT_PREFIX [--demes 5] [--unlabelled-every 100]

The island model of /work/shared/notes/measured-2026-12-07.md: `island_model([5000] * 5,
migration_rate=2e-4)`, N_PER_DEME diploids per deme, recombination 1e-8, mutations at
1.25e-8 (msprime's default nucleotide model: a few sites get 3 alleles), contig chr1 at
positions + 1, GT only (phased, as tskit writes it). Writes OUT_PREFIX.vcf.gz (+ .tbi)
and OUT_PREFIX.samples.tsv (sample, population = the deme; every `--unlabelled-every`-th
sample has an empty label, so that the workflow has samples to predict).

The VCF text is written by numpy from the variants in blocks (as bench/simvcf.py), not by
tskit's write_vcf: 10,000 samples x 100,000 records in minutes, not an hour. Seeded.
"""

import argparse
import subprocess
import time

import msprime
import numpy as np

BLOCK = 1000


def simulate(n_per_deme: int, length: float, demes: int = 5, seed: int = 22):
    demography = msprime.Demography.island_model([5000] * demes, migration_rate=2e-4)
    ts = msprime.sim_ancestry(
        samples={f"pop_{i}": n_per_deme for i in range(demes)},
        demography=demography,
        sequence_length=length,
        recombination_rate=1e-8,
        random_seed=seed,
    )
    return msprime.sim_mutations(ts, rate=1.25e-8, random_seed=seed)


def write_vcf(ts, out: str):
    """GT-only VCF of the tree sequence's diploid individuals (tsk_0, tsk_1, ...)."""
    n = ts.num_individuals
    names = [f"tsk_{i}" for i in range(n)]
    header = [
        "##fileformat=VCFv4.2",
        "##source=bench/simcohort.py (msprime island model)",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        f"##contig=<ID=chr1,length={int(ts.sequence_length) + 1}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(names),
    ]
    # Haplotype order: individual i has nodes 2i, 2i + 1 (sim_ancestry's order).
    nodes = np.array([ts.individual(i).nodes for i in range(n)])
    order = nodes.ravel()
    with open(out, "wb") as fh:
        bgzip = subprocess.Popen(["bgzip", "-@", "2", "-c"], stdin=subprocess.PIPE, stdout=fh)
        bgzip.stdin.write(("\n".join(header) + "\n").encode())
        lines = []
        last_pos = -1
        for var in ts.variants(samples=order):
            pos = int(var.site.position) + 1
            if pos == last_pos:  # never with a discrete genome and one site per position
                continue
            last_pos = pos
            g = var.genotypes.astype(np.uint8).reshape(n, 2)
            body = np.empty((n, 4), dtype=np.uint8)
            body[:, 0] = g[:, 0] + 48
            body[:, 1] = ord("|")
            body[:, 2] = g[:, 1] + 48
            body[:, 3] = ord("\t")
            body[-1, 3] = ord("\n")
            alleles = [a for a in var.alleles if a is not None]
            lines.append(
                f"chr1\t{pos}\t.\t{alleles[0]}\t{','.join(alleles[1:])}\t.\tPASS\t.\tGT\t".encode()
                + body.tobytes()
            )
            if len(lines) >= BLOCK:
                bgzip.stdin.write(b"".join(lines))
                lines = []
        bgzip.stdin.write(b"".join(lines))
        bgzip.stdin.close()
        if bgzip.wait():
            raise RuntimeError("bgzip failed")
    subprocess.run(["tabix", "-f", "-p", "vcf", out], check=True)
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n_per_deme", type=int)
    ap.add_argument("length", type=float)
    ap.add_argument("prefix")
    ap.add_argument("--demes", type=int, default=5)
    ap.add_argument("--unlabelled-every", type=int, default=100)
    args = ap.parse_args()
    t0 = time.perf_counter()
    ts = simulate(args.n_per_deme, args.length, args.demes)
    t1 = time.perf_counter()
    names = write_vcf(ts, f"{args.prefix}.vcf.gz")
    t2 = time.perf_counter()
    pops = [ts.population(ts.node(ts.individual(i).nodes[0]).population).metadata["name"]
            for i in range(ts.num_individuals)]  # fmt: skip
    with open(f"{args.prefix}.samples.tsv", "w") as fh:
        fh.write("sample\tpopulation\n")
        for i, (s, p) in enumerate(zip(names, pops, strict=True)):
            unlabelled = (
                args.unlabelled_every and i % args.unlabelled_every == args.unlabelled_every - 1
            )
            fh.write(f"{s}\t{'' if unlabelled else p}\n")
    print(
        f"samples {ts.num_individuals} sites {ts.num_sites} "
        f"simulate {t1 - t0:.1f} s write {t2 - t1:.1f} s"
    )


if __name__ == "__main__":
    main()
