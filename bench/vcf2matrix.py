"""VCF -> filtered int8 dosage matrix, four ways; one method per process (bench/run.py
measures each in a fresh child for its peak RSS), the operation timed in-process.

    python bench/vcf2matrix.py METHOD IN_VCF OUT_PREFIX

METHOD:
  ours_filter     scripts/filter.py filter_vcf -> OUT_PREFIX.filtered.vcf.gz (+ .tbi)
  ours_matrix     scripts/matrix.py build_matrix (+ write_matrix) on IN_VCF
  bcftools_query  bcftools query -f '[%GT\\t]\\n' IN_VCF parsed into numpy
  bcftools_pipe   bcftools view (the same site filters) | bcftools query, parsed into numpy
  allel           scikit-allel read_vcf(calldata/GT) -> GenotypeArray.to_n_alt(fill=-1)
  baseline        imports only (the interpreter's own RSS)

Prints one JSON line: seconds, sites_in, sites_out, samples.
Filters are fixed here (the demo's settings, so that results stay comparable across
runs): biallelic SNPs, QUAL >= 30 (missing passes), call rate >= 0.8, MAF >= 0.01;
per-genotype DP/GQ masking needs FORMAT DP/GQ, which neither benchmark VCF has (skipped
by filter.py, left out of bcftools').
"""

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

PARAMS = {
    "snps_only": True,
    "min_qual": 30,
    "min_dp": 3,
    "min_gq": 10,
    "min_call_rate": 0.8,
    "min_maf": 0.01,
}
BCFTOOLS_FILTER = ["-m2", "-M2", "-v", "snps", "-e", "QUAL<30 || F_MISSING>0.2 || MAF<0.01"]
BLOCK_SITES = 4096


def n_samples(vcf) -> int:
    out = subprocess.run(["bcftools", "query", "-l", str(vcf)], capture_output=True, check=True)
    return len(out.stdout.split())


def n_records(vcf) -> int:
    out = subprocess.run(["bcftools", "index", "-n", str(vcf)], capture_output=True, text=True)
    return int(out.stdout) if out.returncode == 0 else -1


def parse_gt_stream(stream, n: int) -> np.ndarray:
    """sites x samples int8 dosage from `[%GT\\t]\\n` lines of diploid (3-character) GTs:
    read in blocks of sites, fixed width 4 bytes per genotype; -1 = any allele missing."""
    width = 4 * n + 1
    blocks = []
    one, dot = ord("1"), ord(".")
    while True:
        buf = stream.read(width * BLOCK_SITES)
        if not buf:
            break
        if len(buf) % width:
            raise ValueError("not fixed-width diploid GTs (haploid or multi-digit alleles)")
        a = np.frombuffer(buf, dtype=np.uint8).reshape(-1, width)[:, :-1].reshape(-1, n, 4)
        a0, a2 = a[:, :, 0], a[:, :, 2]
        d = (a0 == one).view(np.int8) + (a2 == one).view(np.int8)
        d[(a0 == dot) | (a2 == dot)] = -1
        blocks.append(d)
    return np.concatenate(blocks) if blocks else np.empty((0, n), np.int8)


def bcftools_matrix(cmd: str, n: int) -> np.ndarray:
    proc = subprocess.Popen(["bash", "-c", "set -o pipefail; " + cmd], stdout=subprocess.PIPE)
    mat = parse_gt_stream(proc.stdout, n)
    if proc.wait():
        raise RuntimeError(f"failed: {cmd}")
    return mat


def cpu() -> float:
    """User + system CPU seconds of this process and its waited-for children."""
    a, b = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def main(method, vcf, prefix):
    import shlex

    res = {"sites_in": n_records(vcf)}
    q = shlex.quote(str(vcf))
    if method == "baseline":
        import cyvcf2  # noqa: F401
        import filter as _f  # noqa: F401
        import matrix as _m  # noqa: F401

        start, cpu0 = time.perf_counter(), cpu()
        res.update(sites_out=0, samples=0)
    elif method == "ours_filter":
        import filter as vcffilter

        start, cpu0 = time.perf_counter(), cpu()
        counts = vcffilter.filter_vcf(vcf, f"{prefix}.filtered.vcf.gz", PARAMS, 2)
        res["sites_out"] = int(counts.set_index("filter").loc["output", "remaining"])
        res["samples"] = counts.attrs["samples"]
    elif method == "ours_matrix":
        import matrix

        start, cpu0 = time.perf_counter(), cpu()
        g, sites, samples = matrix.build_matrix(vcf, None, "phenotype", 2)
        res["build_seconds"] = time.perf_counter() - start
        res["build_cpu"] = cpu() - cpu0
        res["build_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out = [f"{prefix}.genotypes.parquet", f"{prefix}.sites.tsv", f"{prefix}.samples.tsv"]
        matrix.write_matrix(g, sites, samples, *out)
        res.update(sites_out=g.shape[1], samples=g.shape[0])
    elif method == "bcftools_query":
        n = n_samples(vcf)
        start, cpu0 = time.perf_counter(), cpu()
        mat = bcftools_matrix(f"bcftools query -f '[%GT\\t]\\n' {q}", n)
        res.update(sites_out=mat.shape[0], samples=n)
    elif method == "bcftools_pipe":
        n = n_samples(vcf)
        start, cpu0 = time.perf_counter(), cpu()
        filt = shlex.join(BCFTOOLS_FILTER)
        cmd = f"bcftools view -Ou {filt} {q} | bcftools query -f '[%GT\\t]\\n'"
        mat = bcftools_matrix(cmd, n)
        res.update(sites_out=mat.shape[0], samples=n)
    elif method == "allel":
        import allel

        start, cpu0 = time.perf_counter(), cpu()
        data = allel.read_vcf(str(vcf), fields=["calldata/GT"], alt_number=1)
        mat = allel.GenotypeArray(data["calldata/GT"]).to_n_alt(fill=-1, dtype="i1")
        res.update(sites_out=mat.shape[0], samples=mat.shape[1])
    else:
        raise SystemExit(f"unknown method {method}")
    res["seconds"] = time.perf_counter() - start
    res["cpu"] = cpu() - cpu0
    print(json.dumps(res))


if __name__ == "__main__":
    main(*sys.argv[1:4])
