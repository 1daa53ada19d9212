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
