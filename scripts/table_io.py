"""Readers of the workflow's tables, shared by the steps that read them: the genotype
matrix and its sites and samples tables (scripts/matrix.py writes them), and any TSV
with `NA` for missing values. pandas and numpy only, so a reader never pulls in the
modelling or plotting stack. (Not named `tables`: Snakemake appends scripts/ to sys.path,
so an installed PyTables would shadow it.)"""

import numpy as np
import pandas as pd

MISSING = -1


def read_genotypes(path) -> pd.DataFrame:
    """Genotype matrix (index `sample`, columns site IDs, int8, -1 = missing)."""
    df = pd.read_parquet(path)
    if "sample" in df.columns:
        df = df.set_index("sample")
    df.index = df.index.astype(str)
    df.index.name = "sample"
    df.columns = df.columns.astype(str)
    if df.isna().any().any():  # a nullable writer: NA is missing too
        df = df.fillna(MISSING)
    return df.astype(np.int8)


def read_sites(path) -> pd.DataFrame:
    """sites.tsv as strings (empty region stays ""), `pos` as int."""
    sites = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if "pos" in sites:
        sites["pos"] = sites["pos"].astype(np.int64)
    return sites


def read_samples(path) -> pd.DataFrame:
    """samples.tsv as strings; an empty label ("") means unlabelled, never NaN."""
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def split_site_id(site_id: str):
    """(chrom, pos, ref, alt) of `chrom:pos:ref:alt`; the contig name may contain ':'."""
    chrom, pos, ref, alt = site_id.rsplit(":", 3)
    return chrom, int(pos), ref, alt


def site_table(site_ids, sites=None) -> pd.DataFrame:
    """site_id, chrom, pos (+ sites.tsv columns) for `site_ids`, in that order."""
    ids = pd.Index(site_ids, dtype=str)
    if sites is not None and len(sites) and "site_id" in sites:
        table = sites.drop_duplicates("site_id").set_index("site_id").reindex(ids)
        if not table["chrom"].isna().any():
            return table.rename_axis("site_id").reset_index()
    parsed = [split_site_id(s) for s in ids]  # sites.tsv missing or incomplete
    return pd.DataFrame(
        {
            "site_id": ids,
            "chrom": [p[0] for p in parsed],
            "pos": [p[1] for p in parsed],
            "ref": [p[2] for p in parsed],
            "alt": [p[3] for p in parsed],
        }
    )


def read_tsv(path, **kw) -> pd.DataFrame:
    """A TSV written by the workflow: `NA` and empty cells are missing, nothing else."""
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["NA", ""], **kw)


def read_genotype_array(path, columns=None, block: int = 1024):
    """(g, samples, site IDs) of a genotype parquet without a pandas frame of it: `g` is a
    samples x sites int8 view (-1 = missing) of a sites-major array, so a site's column is
    contiguous and a block of sites is one slab. Read `block` columns at a time: the peak
    is the matrix plus one block, never the 2-3 copies `read_genotypes` makes. `columns`
    (site IDs) reads those only, in that order."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    sample_col = "sample" if "sample" in names else "__index_level_0__"
    samples = pd.Index(
        pf.read(columns=[sample_col]).column(0).to_pylist(), dtype=str, name="sample"
    ).astype(str)
    if columns is None:
        columns = [c for c in names if c not in ("sample", "__index_level_0__")]
    columns = [str(c) for c in columns]
    out = np.empty((len(columns), len(samples)), dtype=np.int8)
    for a in range(0, len(columns), block):
        batch = pf.read(columns=columns[a : a + block])
        for i, col in enumerate(batch.columns):
            values = col.to_numpy(zero_copy_only=False)
            if col.null_count:  # a nullable writer: NA is missing too
                values = np.where(col.is_null().to_numpy(zero_copy_only=False), MISSING, values)
            out[a + i] = values
        del batch
    del pf
    _release_memory()  # the file's metadata (~5 kB per column) and batches, back to the OS
    return out.T, samples, pd.Index(columns, dtype=str)


def _release_memory():
    """Return freed heap to the OS (pyarrow's pool, glibc's arenas), so that a step's later
    blocks reuse it instead of stacking on it. Best effort: a no-op where unsupported."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # noqa: BLE001
        pass
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def read_genotype_frame(path, columns=None) -> pd.DataFrame:
    """`read_genotypes` (the same frame) over `read_genotype_array`'s array, not copied:
    about one int8 matrix of memory instead of two or three."""
    g, samples, site_ids = read_genotype_array(path, columns)
    return pd.DataFrame(g, index=samples, columns=site_ids, copy=False)
