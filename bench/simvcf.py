"""A large simulated multi-sample VCF, fast: numpy writes the text, bgzip compresses.

    python bench/simvcf.py N_SAMPLES N_SNPS OUT.vcf.gz

Biallelic SNPs on one contig, unphased diploid GT only; ALT frequency ~ Beta(0.4, 2)
(many rare sites, so MAF filters act), 2 % of genotypes missing, 5 % of sites QUAL 20
(below the default 30), the rest QUAL 60. Seeded: the same arguments give the same file.
"""

import subprocess
import sys

import numpy as np

GT = np.frombuffer(b"0/0\t0/1\t1/1\t./.\t", dtype=np.uint8).reshape(4, 4)
BLOCK = 2000


def write(n_samples: int, n_snps: int, out: str, seed: int = 1):
    rng = np.random.default_rng(seed)
    header = [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        f"##contig=<ID=sim,length={n_snps * 10 + 100}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#"
        + "\t".join(["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "".join(f"\tS{i:05d}" for i in range(n_samples)),
    ]
    bases = np.array(list("ACGT"))
    with open(out, "wb") as fh:
        bgzip = subprocess.Popen(["bgzip", "-@", "2", "-c"], stdin=subprocess.PIPE, stdout=fh)
        bgzip.stdin.write(("\n".join(header) + "\n").encode())
        for start in range(0, n_snps, BLOCK):
            k = min(BLOCK, n_snps - start)
            af = rng.beta(0.4, 2.0, size=(k, 1))
            codes = (rng.random((k, n_samples)) < af).astype(np.uint8)
            codes += rng.random((k, n_samples)) < af
            codes[rng.random((k, n_samples)) < 0.02] = 3
            body = GT[codes]  # k x n x 4 bytes
            body[:, -1, 3] = ord("\n")
            ref = rng.integers(0, 4, k)
            alt = (ref + rng.integers(1, 4, k)) % 4
            qual = np.where(rng.random(k) < 0.05, 20, 60)
            lines = [
                f"sim\t{(start + i) * 10 + 1}\t.\t{bases[ref[i]]}\t{bases[alt[i]]}\t{qual[i]}"
                "\tPASS\t.\tGT\t".encode()
                + body[i].tobytes()
                for i in range(k)
            ]
            bgzip.stdin.write(b"".join(lines))
        bgzip.stdin.close()
        if bgzip.wait():
            raise RuntimeError("bgzip failed")
    subprocess.run(["tabix", "-f", "-p", "vcf", out], check=True)


if __name__ == "__main__":
    write(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
