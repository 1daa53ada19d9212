"""Label-free feature engineering on the genotype matrix: MAF and call-rate thresholds,
PLINK-style pairwise LD pruning and a genotype PCA.

Nothing here looks at labels, so every step may use all samples (labelled or not)
without leaking into the model's cross-validation.

Matrix convention (scripts/matrix.py): rows = samples, columns = site IDs
`chrom:pos:ref:alt`, int8 ALT dosage 0..ploidy, -1 = missing. Missing is never 0:
frequencies and r² use called genotypes only, the PCA imputes the SNP mean.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from annotation import consequence_terms
from defaults import with_defaults
from sklearn.decomposition import PCA

# The matrix readers (scripts/table_io.py), also importable from here.
from table_io import (  # noqa: F401
    MISSING,
    read_genotypes,
    read_samples,
    read_sites,
    site_table,
    split_site_id,
)

# ----------------------------------------------------------------------------- statistics


def site_stats(g: np.ndarray, ploidy: int = 2):
    """(alt allele frequency, MAF, call rate) per column of a (samples, sites) int8 matrix,
    frequencies over called genotypes only."""
    called = g != MISSING
    n_called = called.sum(axis=0)
    alt = np.where(called, g, 0).sum(axis=0, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        af = np.where(n_called > 0, alt / (ploidy * np.maximum(n_called, 1)), np.nan)
    maf = np.minimum(af, 1 - af)
    call_rate = n_called / g.shape[0] if g.shape[0] else np.zeros(g.shape[1])
    return af, maf, call_rate


def r2_band(g: np.ndarray, window: int) -> np.ndarray:
    """r² of every SNP pair less than `window` columns apart, from pairwise-complete dosages.

    Returns R (n_sites, window) with R[i, d] = r²(i, i + d) (0 where undefined or beyond
    the end). Blocked matrix products: O(samples × sites × window) work, no Python loop
    over pairs.
    """
    n, m = g.shape
    band = np.zeros((m, window), dtype=np.float32)
    if m < 2 or window < 2:
        return band
    # Sites x samples, so that each block is a contiguous slab of [called; x; x²].
    valid = (g != MISSING).T
    x = np.where(valid, g.T, 0).astype(np.float32)
    stack = np.stack([valid.astype(np.float32), x, x * x])  # (3, sites, samples)
    # Sums of small integers: exact in float32 (< 2**24), so float32 BLAS loses nothing.
    # Blocks of `window` rows against the next 2 * window - 1 columns: each needed pair is
    # computed about twice, against ~block / window times for larger blocks.
    for a in range(0, m, window):
        b = min(a + window, m)
        c_end = min(b + window - 1, m)
        w = c_end - a
        # Sums over the samples where both SNPs are called: n, a, a², then b, ab, then b².
        by_called = (stack[:, a:b].reshape(-1, n) @ stack[0, a:c_end].T).reshape(3, -1, w)
        by_x = (stack[:2, a:b].reshape(-1, n) @ stack[1, a:c_end].T).reshape(2, -1, w)
        s_bb = stack[0, a:b] @ stack[2, a:c_end].T
        n_ab, s_a, s_aa = (by_called[i].astype(np.float64) for i in range(3))
        s_b, s_ab = (by_x[i].astype(np.float64) for i in range(2))
        s_bb = s_bb.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = s_ab - s_a * s_b / n_ab
            var_a = s_aa - s_a**2 / n_ab
            var_b = s_bb - s_b**2 / n_ab
            r2 = cov**2 / (var_a * var_b)
        # Monomorphic within the pair's samples, or too few shared calls: no LD evidence.
        r2 = np.where((n_ab > 1) & (var_a > 1e-9) & (var_b > 1e-9), r2, 0.0)
        rows = np.arange(b - a)[:, None]
        cols = rows + np.arange(window)[None, :]
        ok = cols < (c_end - a)
        band[a:b][ok] = np.minimum(r2[np.broadcast_to(rows, cols.shape)[ok], cols[ok]], 1.0)
    band[:, 0] = 0.0  # a SNP with itself is not a pair
    return band


def ld_prune(g: np.ndarray, maf: np.ndarray, r2: float, window: int, step: int) -> np.ndarray:
    """Keep mask of PLINK-style `--indep-pairwise window step r2` over the columns of `g`
    (one contig, in position order).

    Windows of `window` SNPs slide by `step`; within a window every pair of still-kept SNPs
    with r² > `r2` loses one SNP: the lower-MAF one, the later one on a tie (so of a
    duplicated SNP the first copy stays). Pruned SNPs stay pruned in later windows.
    """
    m = g.shape[1]
    keep = np.ones(m, dtype=bool)
    if m < 2:
        return keep
    window = max(int(window), 2)
    band = r2_band(g, window)
    maf = np.nan_to_num(np.asarray(maf, dtype=float), nan=0.0)
    for start in range(0, m, max(int(step), 1)):
        end = min(start + window, m)
        idx = np.flatnonzero(keep[start:end]) + start
        if len(idx) > 1:
            offset = np.clip(idx[None, :] - idx[:, None], 0, window - 1)
            high = np.triu(band[idx[:, None], offset] > r2, k=1)
            if high.any():
                _prune_window(idx, high, maf, keep)
        if end == m:
            break
    return keep


def _prune_window(idx, high, maf, keep):
    """Greedy pass over one window: SNP i against each later partner j in order; the first
    partner with a higher MAF removes i, partners before it are removed."""
    alive = keep[idx].copy()
    for i in range(len(idx)):
        if not alive[i]:
            continue
        partners = np.flatnonzero(high[i] & alive)
        if not len(partners):
            continue
        better = maf[idx[partners]] > maf[idx[i]]
        if better.any():
            first = int(np.argmax(better))
            alive[partners[:first]] = False
            alive[i] = False
        else:
            alive[partners] = False
    keep[idx] = alive


def select_features(genotypes: pd.DataFrame, sites=None, params=None, ploidy: int = 2):
    """(kept site IDs, table) after call-rate, MAF and LD filters.

    Thresholds apply to all samples (label-free). The table has one row per matrix
    column: site_id, kept, reason (low_call_rate, low_maf, ld or "pass"; the first filter
    that fails), maf, call_rate. LD pruning runs per contig in position order.
    """
    params = with_defaults("features", params)
    ld = params["ld_prune"]
    g = genotypes.to_numpy(dtype=np.int8, copy=False)
    _, maf, call_rate = site_stats(g, ploidy)
    reason = np.full(g.shape[1], "pass", dtype=object)
    low_cr = call_rate < float(params["min_call_rate"])
    low_maf = ~(np.nan_to_num(maf, nan=0.0) >= float(params["min_maf"]))
    reason[low_maf] = "low_maf"
    reason[low_cr] = "low_call_rate"  # unreliable frequencies: report call rate first
    passed = ~(low_cr | low_maf)
    if ld["enabled"] and passed.sum() > 1:
        info = site_table(genotypes.columns, sites)
        chrom = info["chrom"].to_numpy()
        pos = info["pos"].to_numpy()
        for contig in pd.unique(chrom[passed]):
            cols = np.flatnonzero(passed & (chrom == contig))
            cols = cols[np.argsort(pos[cols], kind="stable")]
            keep = ld_prune(g[:, cols], maf[cols], float(ld["r2"]), ld["window"], ld["step"])
            reason[cols[~keep]] = "ld"
    wanted = set(params.get("consequences") or [])
    if wanted:  # after LD pruning: the consequence decides the model's features only
        info = site_table(genotypes.columns, sites)
        if "consequence" not in info:
            raise ValueError(
                "features.consequences is set but sites.tsv has no consequence column "
                "(set annotation.gff, or features.consequences: [])"
            )
        terms = consequence_terms(info["consequence"].fillna(""))
        other = np.array([not (t & wanted) for t in terms], dtype=bool)
        reason[(reason == "pass") & other] = "consequence"
    kept = reason == "pass"
    table = pd.DataFrame(
        {
            "site_id": genotypes.columns,
            "kept": kept,
            "reason": reason,
            "maf": np.round(maf, 6),
            "call_rate": np.round(call_rate, 6),
        }
    )
    return list(genotypes.columns[kept]), table


def pca(genotypes: pd.DataFrame, n: int, seed: int = 0):
    """(scores DataFrame sample × PC1..PCk, explained variance ratios) of the
    mean-imputed, standardized dosages; k = min(n, samples, variable SNPs)."""
    g = np.array(genotypes.to_numpy(), dtype=np.float64)  # own, writable copy
    g[g == MISSING] = np.nan
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(g, axis=0) if g.size else np.zeros(g.shape[1])
        sd = np.nanstd(g, axis=0) if g.size else np.zeros(g.shape[1])
    variable = np.isfinite(sd) & (sd > 0)
    z = (g[:, variable] - mean[variable]) / sd[variable]
    z = np.nan_to_num(z, nan=0.0)  # missing -> the SNP mean, i.e. 0 after centering
    k = int(min(n, z.shape[0], z.shape[1]))
    index = pd.Index(genotypes.index, name="sample")
    if k < 1:
        return pd.DataFrame(index=index), np.zeros(0)
    # Full SVD is exact and deterministic; randomized only where full would be slow.
    solver = "full" if min(z.shape) <= 1000 else "randomized"
    model = PCA(n_components=k, svd_solver=solver, random_state=seed)
    scores = model.fit_transform(z)
    cols = [f"PC{i}" for i in range(1, k + 1)]
    return pd.DataFrame(scores, index=index, columns=cols), model.explained_variance_ratio_


def write_pca(scores, ratios, pca_path, variance_path):
    scores.reset_index().to_csv(pca_path, sep="\t", index=False, float_format="%.6g")
    pd.DataFrame(
        {
            "pc": scores.columns,
            "variance_ratio": ratios,
            "cumulative": np.cumsum(ratios),
        }
    ).to_csv(variance_path, sep="\t", index=False, float_format="%.6g")


# ----------------------------------------------------------------------------- entry point


def _main(smk):
    params = dict(smk.params.features)
    ploidy = int(smk.params.ploidy)
    genotypes = read_genotypes(smk.input.genotypes)
    sites = read_sites(smk.input.sites)
    kept, table = select_features(genotypes, sites, params, ploidy)
    for path in smk.output:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(smk.output.selected, sep="\t", index=False)
    # The PCs describe population structure: from every site that passes the frequency and
    # LD filters, also when features.consequences narrows the model's features.
    structure = table.loc[table["reason"].isin(["pass", "consequence"]), "site_id"].tolist()
    scores, ratios = pca(genotypes[structure], int(params.get("pca_components", 10)))
    write_pca(scores, ratios, smk.output.pca, smk.output.pca_variance)
    counts = table["reason"].value_counts()
    with open(smk.log[0], "w") as log:
        log.write(
            f"samples: {genotypes.shape[0]}\nsites: {genotypes.shape[1]}\nkept: {len(kept)}\n"
            + "".join(
                f"reason {r}: {counts.get(r, 0)}\n"
                for r in ("low_call_rate", "low_maf", "ld", "consequence")
            )
            + f"PCs: {scores.shape[1]}, variance explained: {np.round(ratios, 4).tolist()}\n"
        )


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
