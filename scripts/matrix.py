"""Genotype matrix (samples x sites, int8 ALT dosage) of a VCF, plus site and sample tables.

Dosage = ALT alleles on the cohort's scale (`ploidy`, the largest of the config's ploidy:
scripts/ploidy.py max_ploidy): 0/1/2 for diploid genotypes; in a diploid cohort a haploid
call (males' X outside the PARs and Y, mitochondria) is 0/2, as PLINK's `--xchr-model 2`
(a male's one active X stands for a female's two, and 1 keeps meaning heterozygous); with
`ploidy: 1` every call is 0/1. -1 = missing (`./.`, an uncovered sample, a half call `./1`
off the contigs that hold haploid genotypes), never 0. A half call (`0/.`, `1/.`) on X, Y,
mitochondria or a ploidy-1 contig is the haploid call of its allele (filter.genotype_stats),
never missing. Site AF and call rate count the alleles and genotypes that exist (a male
has one X allele), not the dosage scale. Only biallelic
sequence records are used (one ALT that is not `*`, `.` or symbolic; SNPs and indels);
others, and repeats of a site ID already seen, are skipped and counted. Genotype parsing
(what is called, dosage, ploidy check) is shared with scripts/filter.py.

Outputs (write_matrix):
  genotypes parquet   one row per sample (VCF order), column `sample` then one int8
                      column per site ID `chrom:pos:ref:alt` (VCF order)
  sites TSV           site_id chrom pos ref alt af call_rate region gene consequence
                      protein_change
                      (af = ALT allele frequency over called genotypes, NA if none called;
                      region = names from the regions TSV, comma-joined, empty if none;
                      gene, consequence, protein_change = bcftools csq's, from the table of
                      scripts/annotation.py joined on chrom/pos/ref/alt: empty outside genes
                      and, always present, empty when no annotation.gff is configured)
  samples TSV         sample call_rate heterozygosity label, then every sheet column but
                      `sample` (the target too, under its own name; a name clashing with
                      these four gets a `sheet_` prefix). label = the sheet's target
                      column; empty = unlabelled, also for samples absent from the sheet
                      (their other sheet columns are empty too); sheet samples absent from
                      the VCF are left out. heterozygosity = het calls / called genotypes,
                      NA for ploidy 1. NA is written as `NA`.
"""

import json
import time
from pathlib import Path

import cyvcf2
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from annotation import join_sites, read_table
from filter import check_ploidy, classify, genotype_stats, matrix_dosage
from ploidy import half_call_haploid
from sample_columns import sheet_column

BLOCK_BYTES = 1 << 22  # genotype arrays buffered per block of sites (4 MiB)
BLOCK_ROWS = 1024  # sites per block when counting calls in the gathered matrix


def is_biallelic(ref: str, alts: list[str]) -> bool:
    """One ALT that is a sequence allele (SNP, indel, MNP), not a placeholder or symbolic."""
    return classify(ref, alts, snps_only=False) is None


def count_records(vcf) -> int:
    """Records in the VCF: from its .tbi/.csi index when there is one, else by a first pass.

    The index count includes records that build_matrix skips: an upper bound."""
    if any(Path(f"{vcf}.{ext}").exists() for ext in ("tbi", "csi")):
        reader = cyvcf2.VCF(str(vcf))
        try:
            return reader.num_records
        finally:
            reader.close()
    return sum(1 for _ in cyvcf2.VCF(str(vcf)))


def read_regions(path) -> dict:
    """{site_id: region} from the TSV written by scripts/regions.py."""
    t = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    return dict(zip(t["site_id"], t["region"], strict=True))


def stream_matrix(vcf, ploidy: int, haploid_contigs=()) -> dict:
    """Stream `vcf` into the parts of a matrix (see `build_matrix`).

    The dosages go into one int8 (sites x samples) array preallocated to the index's
    record count (pages never written cost no memory), so peak memory is about one int8
    matrix. Returns a dict: mat (sites x samples), names, site columns (ids, chrom, pos, ref,
    alt), per-site counts (called, ac, an), per-sample counts (called, het), skipped.
    """
    n_max = count_records(vcf)
    reader = cyvcf2.VCF(str(vcf))
    names = list(reader.samples)
    n_samples = len(names)
    mat = np.empty((n_max, n_samples), dtype=np.int8)
    chrom, pos, ref, alt, ids = [], [], [], [], []
    seen = set()
    skipped = {"not_biallelic": 0, "duplicate": 0}
    # Per-sample and per-site counts gathered while streaming: no extra pass over `mat`.
    called = np.zeros(n_samples, dtype=np.int64)
    het = np.zeros(n_samples, dtype=np.int64)
    site_called, site_ac, site_an = [], [], []
    counts = (called, het, site_called, site_ac, site_an)
    # Genotype arrays are buffered and parsed a block of sites at a time: per-site numpy
    # calls cost more than the parsing itself (profiled: bench/README.md).
    block, n_block = None, 0
    half, half_of, contigs = [], {}, set(haploid_contigs)
    i = 0
    for v in reader:
        if not is_biallelic(v.REF, v.ALT):
            skipped["not_biallelic"] += 1
            continue
        site_id = f"{v.CHROM}:{v.POS}:{v.REF}:{v.ALT[0]}"
        if site_id in seen:  # a repeated column name would break the parquet table
            skipped["duplicate"] += 1
            continue
        seen.add(site_id)
        gt = v.genotype.array()
        if gt.shape[1] - 1 > ploidy:
            check_ploidy(gt, ploidy, f"{vcf}: {v.CHROM}:{v.POS}")
        if block is None or block.shape[2] != gt.shape[1]:  # first site, or a new width
            if n_block:
                mat = _add_block(block[:n_block], mat, i, *counts, half, ploidy)
                i += n_block
            size = max(1, BLOCK_BYTES // max(gt.nbytes, 1))
            block, n_block, half = np.empty((size, *gt.shape), dtype=gt.dtype), 0, []
        block[n_block] = gt
        half.append(half_of.setdefault(v.CHROM, half_call_haploid(v.CHROM, contigs)))
        n_block += 1
        if n_block == len(block):
            mat = _add_block(block, mat, i, *counts, half, ploidy)
            i += n_block
            n_block, half = 0, []
        chrom.append(v.CHROM)
        pos.append(v.POS)
        ref.append(v.REF)
        alt.append(v.ALT[0])
        ids.append(site_id)
    if n_block:
        mat = _add_block(block[:n_block], mat, i, *counts, half, ploidy)
        i += n_block
    reader.close()
    return {
        "mat": mat[:i],  # a view: no copy
        "names": names,
        "sites": {"site_id": ids, "chrom": chrom, "pos": pos, "ref": ref, "alt": alt},
        "site_called": site_called,
        "site_ac": site_ac,
        "site_an": site_an,
        "called": called,
        "het": het,
        "skipped": skipped,
    }


def build_matrix(
    vcf,
    labels: pd.DataFrame | None,
    target: str,
    ploidy: int,
    site_regions: str | None = None,
    haploid_contigs=(),
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(genotypes, sites, samples) of `vcf`; see the module docstring for the columns.

    The genotypes DataFrame wraps the streamed int8 array without a copy (transposed
    view). `labels` is the samples sheet (a `sample` column, `target` column). Skipped
    record counts are in `sites.attrs["skipped"]`.
    """
    part = stream_matrix(vcf, ploidy, haploid_contigs)
    return _tables(part, labels, target, ploidy, site_regions)


def _tables(part: dict, labels, target, ploidy, site_regions):
    mat, names, ids = part["mat"], part["names"], part["sites"]["site_id"]
    n_samples = len(names)
    genotypes = pd.DataFrame(mat.T, index=pd.Index(names, name="sample"), columns=ids, copy=False)
    sites = pd.DataFrame(part["sites"]).astype({"pos": np.int64})
    an = np.asarray(part["site_an"], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        sites["af"] = np.asarray(part["site_ac"]) / an  # NaN when no genotype is called
    sites["call_rate"] = np.asarray(part["site_called"], np.float64) / max(n_samples, 1)
    regions = read_regions(site_regions) if site_regions else {}
    sites["region"] = [regions.get(s, "") for s in ids]
    sites.attrs["skipped"] = part["skipped"]
    samples = _sample_table(names, part["called"], part["het"], len(ids), ploidy, labels, target)
    return genotypes, sites, samples


CHUNK_SITE_TYPES = {"site_id": str, "chrom": str, "pos": np.int64, "ref": str, "alt": str}
CHUNK_SITE_TYPES |= dict.fromkeys(["called", "ac", "an"], np.int64)


def gather_chunks(npzs, site_tables, labels, target, ploidy, site_regions=None):
    """`build_matrix`'s (genotypes, sites, samples) of the filtered VCF, from the filter
    jobs' per-chunk genotypes (scripts/filter.py ChunkGenotypes), in chunk order; with
    `site_regions`, only the sites listed there (the records the regions step kept).

    The matrix is preallocated and filled one chunk at a time: peak memory is the matrix
    plus one chunk's. A site ID already seen in an earlier chunk is skipped (cannot happen
    with chunks split by POS; checked, as the parquet needs unique column names).
    """
    tables = [
        pd.read_csv(t, sep="\t", dtype=CHUNK_SITE_TYPES, keep_default_na=False) for t in site_tables
    ]  # fmt: skip (typed: a chunk without sites has no values)
    wanted = set(read_regions(site_regions)) if site_regions else None
    seen, keeps, duplicates = set(), [], 0
    for t in tables:
        keep = np.ones(len(t), dtype=bool)
        if wanted is not None:
            keep &= t["site_id"].isin(wanted).to_numpy()
        repeated = keep & t["site_id"].isin(seen).to_numpy()
        duplicates += int(repeated.sum())
        keeps.append(keep & ~repeated)
        seen.update(t["site_id"])
    mat, names, i = None, None, 0
    for path, keep in zip(npzs, keeps, strict=True):
        with np.load(path) as z:
            if mat is None:
                names = [str(n) for n in z["names"]]
                mat = np.empty((sum(int(k.sum()) for k in keeps), len(names)), dtype=np.int8)
                called, het = np.zeros(len(names), np.int64), np.zeros(len(names), np.int64)
            elif [str(n) for n in z["names"]] != names:
                raise ValueError(f"{path}: samples differ from the first chunk's")
            part = z["mat"]
            k = int(keep.sum())
            mat[i : i + k] = part if k == len(part) else part[keep]
            del part  # peak memory: the matrix and one chunk
            for start in range(i, i + k, BLOCK_ROWS):  # bounded temporaries
                rows = mat[start : min(start + BLOCK_ROWS, i + k)]
                called += np.count_nonzero(rows >= 0, axis=0)
                het += np.count_nonzero(rows == 1, axis=0)
            rows, cols = z["not_het"]
            het -= np.bincount(cols[keep[rows]], minlength=len(names))
            repeats = z["duplicates"]  # repeated records inside the chunk
            duplicates += int(
                len(repeats) if wanted is None else np.isin(repeats, list(wanted)).sum()
            )
            i += k
    sites = pd.concat([t[k] for t, k in zip(tables, keeps, strict=True)], ignore_index=True)
    part = {
        "mat": mat,
        "names": names,
        "sites": {c: sites[c].tolist() for c in ("site_id", "chrom", "pos", "ref", "alt")},
        "site_called": sites["called"].to_numpy(),
        "site_ac": sites["ac"].to_numpy(),
        "site_an": sites["an"].to_numpy(),
        "called": called,
        "het": het,
        "skipped": {"not_biallelic": 0, "duplicate": duplicates},
    }
    return _tables(part, labels, target, ploidy, site_regions)


def _add_block(gts, mat, i, called, het, site_called, site_ac, site_an, half=(), ploidy=2):
    """Write the dosages of a block of sites into rows i.. of `mat` (grown when the index
    count was stale) and add their counts; returns `mat`.

    gts: (sites, samples, k + 1) stacked `Variant.genotype.array()`s of one width; half:
    per site, whether half calls are haploid calls there."""
    b, n = gts.shape[:2]
    half = np.asarray(half, dtype=bool)
    flags = np.repeat(half, n) if half.any() else False
    stats = genotype_stats(gts.reshape(b * n, gts.shape[2]), flags)  # per genotype: flat
    ok, dosage, n_alleles, has_ref = (x.reshape(b, n) for x in stats)
    if i + b > len(mat):  # stale index: grow rather than fail
        mat = np.concatenate([mat, np.empty((max(len(mat), 1024, b), n), np.int8)])
    rows = mat[i : i + b]
    rows[:] = matrix_dosage(dosage, n_alleles, ploidy)
    rows[~ok] = -1
    called += ok.sum(axis=0)
    het += (ok & has_ref & (dosage > 0) & (n_alleles > 1)).sum(axis=0)  # REF and ALT
    site_called.extend(np.count_nonzero(ok, axis=1).tolist())
    site_ac.extend(dosage.sum(axis=1, where=ok, dtype=np.int64).tolist())
    site_an.extend(n_alleles.sum(axis=1, where=ok, dtype=np.int64).tolist())
    return mat


def add_annotation(sites: pd.DataFrame, table: pd.DataFrame | None) -> pd.DataFrame:
    """sites with gene, consequence, protein_change (empty strings without a table)."""
    out = join_sites(sites, table)
    out.attrs = sites.attrs
    return out


def _sample_table(names, called, het, n_sites, ploidy, labels, target):
    with np.errstate(invalid="ignore", divide="ignore"):
        samples = pd.DataFrame(
            {
                "sample": names,
                "call_rate": called / n_sites if n_sites else np.zeros(len(names)),
                "heterozygosity": het / called if ploidy > 1 else np.nan,
            }
        )
    if labels is None:
        samples["label"] = ""
        return samples
    if "sample" not in labels.columns:
        raise ValueError(f"samples sheet needs a 'sample' column; it has {list(labels.columns)}")
    if target not in labels.columns:  # samples to predict need no label column
        labels = labels.assign(**{target: ""})
    sheet = labels.fillna("").astype(str).drop_duplicates("sample").set_index("sample")
    samples.attrs["not_in_vcf"] = sorted(set(sheet.index) - set(names))
    samples["label"] = sheet[target].reindex(names).fillna("").to_numpy()
    # The sheet's other columns; a name clashing with a computed one gets a `sheet_` prefix.
    for col in sheet.columns:
        if (out := sheet_column(col, target)) != "label":
            samples[out] = sheet[col].reindex(names).fillna("").to_numpy()
    return samples


def _pandas_schema(genotypes: pd.DataFrame) -> pa.Schema:
    """`pa.Schema.from_pandas(genotypes, preserve_index=True)` of an all-int8 frame, built
    from the schema of its first column: pyarrow's per-column metadata pass costs ~10 s
    and ~200 MB at 74,000 columns (profiled, bench/)."""
    columns = list(genotypes.columns)
    if not columns or not all(isinstance(c, str) for c in columns):
        return pa.Schema.from_pandas(genotypes.iloc[:0], preserve_index=True)
    template = pa.Schema.from_pandas(genotypes.iloc[:0, :1], preserve_index=True)
    meta = json.loads(template.metadata[b"pandas"])
    first, *index = meta["columns"]  # the first site column, then the index
    meta["columns"] = [{**first, "name": c, "field_name": c} for c in columns] + index
    fields = [template.field(0).with_name(c) for c in columns]
    fields += [template.field(i) for i in range(1, len(template))]
    return pa.schema(fields, metadata={**template.metadata, b"pandas": json.dumps(meta).encode()})


def arrow_table(genotypes: pd.DataFrame) -> pa.Table:
    """`pa.Table.from_pandas(genotypes, preserve_index=True)`, the same schema and pandas
    metadata, but with int8 columns that wrap the matrix' own memory: from_pandas copies
    every column and costs ~13 s and ~250 MB for 2,000 x 74,000 (profiled, bench/)."""
    values = genotypes.to_numpy()  # one int8 block: a view of the (sites x samples) array
    by_site = values.T
    named = genotypes.index.nlevels == 1 and genotypes.index.name is not None
    if values.dtype != np.int8 or not by_site.flags.c_contiguous or not named:
        return pa.Table.from_pandas(genotypes, preserve_index=True)
    schema = _pandas_schema(genotypes)
    n = len(genotypes)
    arrays = [pa.Array.from_buffers(pa.int8(), n, [None, pa.py_buffer(row)]) for row in by_site]
    index = schema.field(schema.get_field_index(genotypes.index.name))
    arrays.append(pa.array(list(genotypes.index), type=index.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_matrix(genotypes, sites, samples, out_parquet, out_sites, out_samples):
    """Parquet (index kept as column `sample`) and two TSVs (NA written as `NA`)."""
    for path in (out_parquet, out_sites, out_samples):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    table = arrow_table(genotypes)
    # `sample` first (pandas puts the index last): zero-copy reorder; pandas metadata still
    # marks it as the index, so pd.read_parquet gives back the same frame.
    table = table.select(["sample", *(n for n in table.column_names if n != "sample")])
    pq.write_table(table, out_parquet)
    sites.to_csv(out_sites, sep="\t", index=False, na_rep="NA", float_format="%.6g")
    samples.to_csv(out_samples, sep="\t", index=False, na_rep="NA", float_format="%.6g")


def summary(genotypes, sites, samples) -> str:
    missing = 1 - float(sites["call_rate"].mean()) if len(sites) else 0.0
    skipped = sites.attrs.get("skipped", {})
    labelled = int((samples["label"] != "").sum())
    absent = samples.attrs.get("not_in_vcf", [])
    return (
        f"samples: {len(samples)} ({labelled} labelled)\nsites: {len(sites)}\n"
        f"skipped records: {skipped}\nmissing genotypes: {missing:.4f}\n"
        f"sheet samples not in the VCF: {len(absent)} {absent[:10]}\n"
    )


def _main(smk):
    """`matrix`: gathered from the filter's chunks; `predict_matrix` (rules/predict.smk):
    streamed from a VCF of new samples."""
    start = time.time()
    sheet = pd.read_csv(smk.input.samples, sep="\t", dtype=str, keep_default_na=False)
    target, ploidy = smk.params.target, int(smk.params.ploidy)
    if "vcf" in smk.input.keys():
        contigs = smk.params.get("haploid_contigs", ())
        genotypes, sites, samples = build_matrix(
            smk.input.vcf, sheet, target, ploidy, haploid_contigs=contigs
        )
        source = f"vcf: {smk.input.vcf}\n"
    else:
        regions = smk.input.get("regions") or None
        genotypes, sites, samples = gather_chunks(
            smk.input.npzs, smk.input.sites, sheet, target, ploidy, regions
        )
        source = f"chunks: {len(smk.input.npzs)}\n"
    annotation = smk.input.get("annotation")
    sites = add_annotation(sites, read_table(annotation) if annotation else None)
    write_matrix(
        genotypes, sites, samples, smk.output.genotypes, smk.output.sites, smk.output.samples
    )
    with open(smk.log[0], "w") as log:
        log.write(summary(genotypes, sites, samples) + source)
        log.write(f"seconds: {time.time() - start:.1f}\n")


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
