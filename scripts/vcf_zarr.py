"""VCF Zarr copy of the matrix's VCF (`matrix.zarr: true`), written by bio2zarr (vcf2zarr).

The store follows the VCF Zarr specification (bio2zarr writes version 0.5, Zarr format 2):
one array per VCF column and field (`sample_id`, `contig_id`, `variant_contig`,
`variant_position`, `variant_allele`, `call_genotype`, `call_DP`, ...), chunked by
variants and samples, readable with vcztools, xarray + Dask and sgkit (config/README.md,
"VCF Zarr export").

It is converted from the VCF the matrix is built from (the filter's output, or the regions
step's when `regions` is set: rules/common.smk get_matrix_inputs), so that its samples and
variants are the rows and columns of `genotypes.parquet`, in the same order. The matrix
skips records that are not biallelic sequence variants and repeats of a site ID
(scripts/matrix.py); after the filter there are usually none. The store is checked for
them after the conversion and, only if there are any, converted again from a copy of the
VCF without them. `call_genotype` keeps the VCF's alleles (-1 missing, -2 padding); the
matrix's ALT dosage is `dosage()`, coded as the matrix codes it (scripts/matrix.py): a
haploid call among diploid ones 0/2, a half call (`0/.`, `./1`) the haploid call of its
allele on X, Y and mitochondria, missing elsewhere.
"""

import shutil
import tempfile
import time
from pathlib import Path

import cyvcf2
import numpy as np
import pandas as pd
import pysam
import zarr
from filter import genotype_stats, matrix_dosage
from matrix import is_biallelic
from ploidy import half_call_haploid

BLOCK_VARIANTS = 10_000  # variants read per block by dosage()


def worker_processes(threads: int) -> int:
    """bio2zarr worker processes for a job with `threads` cores: 0 (bio2zarr's own
    default: all work in the main process) for one core, else one per core."""
    return 0 if threads <= 1 else int(threads)


def convert(vcf, out, threads: int = 1, tmpdir=None) -> dict:
    """Convert `vcf` (bgzipped and indexed) into the VCF Zarr store `out` (a directory,
    replaced if present), holding the matrix's variants only; returns figures for the log.

    The intermediate columnar format (ICF) of bio2zarr's explode step goes to a temporary
    folder in `tmpdir` and is removed after the encode step."""
    from bio2zarr import vcf as b2z

    start = time.time()
    out = Path(out)
    workers = worker_processes(threads)
    with tempfile.TemporaryDirectory(prefix="vcf_zarr.", dir=tmpdir) as tmp:

        def run(source):
            if out.exists():
                shutil.rmtree(out)
            b2z.convert([str(source)], str(out), worker_processes=workers,
                        icf_path=Path(tmp) / "icf")  # fmt: skip
            shutil.rmtree(Path(tmp) / "icf", ignore_errors=True)

        run(vcf)
        keep = matrix_variants(out)
        dropped = int((~keep).sum())
        if dropped:
            subset = Path(tmp) / "matrix_sites.vcf.gz"
            write_subset(vcf, subset, keep)
            run(subset)
    # One metadata file for the whole store: xarray (and sgkit) open it without a listing.
    zarr.consolidate_metadata(str(out))
    root = open_store(out)
    return {
        "samples": int(root["sample_id"].shape[0]),
        "variants": int(root["variant_position"].shape[0]),
        "dropped_records": dropped,
        "worker_processes": workers,
        "arrays": sorted(root.array_keys()),
        "bytes": store_bytes(out),
        "seconds": round(time.time() - start, 1),
    }


def open_store(path):
    return zarr.open_group(str(path), mode="r")


def variant_alleles(root) -> list[tuple[str, int, str, list[str]]]:
    """(chrom, pos, ref, alts) of every variant of the store, in order."""
    contigs = strings(root["contig_id"])
    chrom = [contigs[i] for i in np.asarray(root["variant_contig"][:]).tolist()]
    pos = np.asarray(root["variant_position"][:]).tolist()
    alleles = strings(root["variant_allele"])
    return [
        (c, p, a[0], [x for x in a[1:] if x != ""])
        for c, p, a in zip(chrom, pos, alleles, strict=True)
    ]


def strings(array) -> list:
    """A string array of the store as (nested) lists of str; zarr 3 reads them as
    numpy StringDType, which does not cast to fixed-width str."""
    return np.asarray(array[:]).tolist()


def matrix_variants(path) -> np.ndarray:
    """Mask of the store's variants that the matrix keeps as columns: biallelic sequence
    variants (matrix.is_biallelic), the first record of each site ID."""
    seen, keep = set(), []
    for chrom, pos, ref, alts in variant_alleles(open_store(path)):
        ok = is_biallelic(ref, alts)
        if ok:
            site = f"{chrom}:{pos}:{ref}:{alts[0]}"
            ok = site not in seen
            seen.add(site)
        keep.append(ok)
    return np.array(keep, dtype=bool)


def write_subset(vcf, out, keep: np.ndarray):
    """Write the records of `vcf` where `keep` (one flag per record, in order) to the
    bgzipped, tabix-indexed `out`."""
    reader = cyvcf2.VCF(str(vcf))
    writer = cyvcf2.Writer(str(out), reader, mode="wz")
    n = 0
    for n, record in enumerate(reader, start=1):
        if n > len(keep):
            break
        if keep[n - 1]:
            writer.write_record(record)
    writer.close()
    reader.close()
    if n != len(keep):
        raise ValueError(f"{vcf}: {n} records where the store has {len(keep)}")
    pysam.tabix_index(str(out), preset="vcf", force=True)


def store_bytes(path) -> int:
    """Bytes of every file under `path` (the store's size on disk, before block rounding)."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def site_ids(root) -> list[str]:
    """`chrom:pos:ref:alt` of every variant (the matrix's column names)."""
    return [f"{c}:{p}:{r}:{','.join(a)}" for c, p, r, a in variant_alleles(root)]


def dosage(path, haploid_contigs=()) -> pd.DataFrame:
    """The store's genotypes as `genotypes.parquet` holds them: samples x site IDs, int8
    ALT dosage on the scale of the store's ploidy, -1 where not called (filter.genotype_stats
    and matrix_dosage, as the matrix); read `BLOCK_VARIANTS` variants at a time."""
    root = open_store(path)
    gt = root["call_genotype"]  # variants x samples x ploidy, int8
    n_variants, n_samples, ploidy = gt.shape
    contigs = [half_call_haploid(c, set(haploid_contigs)) for c in strings(root["contig_id"])]
    half = np.asarray(contigs, dtype=bool)[np.asarray(root["variant_contig"][:])]
    out = np.empty((n_variants, n_samples), dtype=np.int8)
    for start in range(0, n_variants, BLOCK_VARIANTS):
        block = np.asarray(gt[start : start + BLOCK_VARIANTS])
        b = len(block)
        flat = np.empty((b * n_samples, ploidy + 1), dtype=np.int16)  # + the phase column
        flat[:, :ploidy] = block.reshape(b * n_samples, ploidy)
        flat[:, ploidy] = 0
        h = half[start : start + b]
        called, dose, n_alleles, _ = genotype_stats(
            flat, np.repeat(h, n_samples) if h.any() else False
        )
        dose = matrix_dosage(dose, n_alleles, ploidy)
        out[start : start + b] = np.where(called, dose, -1).reshape(b, n_samples)
    samples = pd.Index(strings(root["sample_id"]), name="sample")
    return pd.DataFrame(out.T, index=samples, columns=site_ids(root), copy=False)


def summary(figures: dict) -> str:
    return "".join(f"{k}: {v}\n" for k, v in figures.items())


def _main(smk):
    figures = convert(smk.input.vcf, smk.output[0], smk.threads, smk.resources.tmpdir)
    with open(smk.log[0], "w") as log:
        log.write(f"input: {smk.input.vcf}\n" + summary(figures))


# bio2zarr's worker processes are spawned: each imports this script again as
# `__mp_main__` (Snakemake's preamble included), which must not start the job again.
if __name__ == "__main__" and "snakemake" in globals():
    _main(snakemake)  # noqa: F821
