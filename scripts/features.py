"""Label-free feature engineering on the genotype matrix: MAF and call-rate thresholds,
PLINK-style pairwise LD pruning and a genotype PCA.

Nothing here looks at labels, so every step may use all samples (labelled or not)
without leaking into the model's cross-validation.

Matrix convention (scripts/matrix.py): rows = samples, columns = site IDs
`chrom:pos:ref:alt`, int8 ALT dosage 0..ploidy, -1 = missing. Missing is never 0:
frequencies and r² use called genotypes only, the PCA imputes the SNP mean.

Memory (issue 22): the step reads the matrix as one int8 array (table_io.read_genotype_array)
and never makes a float copy of it: statistics, LD pruning and the PCA work on blocks of
sites, so its peak is about the int8 matrix plus the interpreter and a few blocks.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from annotation import consequence_terms
from defaults import with_defaults

# The matrix readers (scripts/table_io.py), also importable from here.
from table_io import (  # noqa: F401
    MISSING,
    read_genotype_array,
    read_genotypes,
    read_samples,
    read_sites,
    site_table,
    split_site_id,
)

# ----------------------------------------------------------------------------- statistics

# Sites per block of the int8 statistics (bool and int8 temporaries of samples x 2,048
# bytes); float work has its own blocks (FLOAT_BLOCK_GENOTYPES, r2_band's windows).
BLOCK = 2048


def site_stats(g: np.ndarray, ploidy: int = 2, block: int = BLOCK):
    """(alt allele frequency, MAF, call rate) per column of a (samples, sites) int8 matrix,
    frequencies over called genotypes only. Block by block: no matrix-sized temporary."""
    n, m = g.shape
    n_called = np.zeros(m, dtype=np.int64)
    alt = np.zeros(m, dtype=np.int64)
    for a in range(0, m, block):
        gb = g[:, a : a + block]
        called = gb != MISSING
        n_called[a : a + block] = called.sum(axis=0)
        alt[a : a + block] = np.where(called, gb, 0).sum(axis=0, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        af = np.where(n_called > 0, alt / (ploidy * np.maximum(n_called, 1)), np.nan)
    maf = np.minimum(af, 1 - af)
    call_rate = n_called / n if n else np.zeros(m)
    return af, maf, call_rate


def r2_band(g: np.ndarray, window: int, cols=None) -> np.ndarray:
    """r² of every SNP pair less than `window` columns apart, from pairwise-complete dosages.

    `cols` (indices into the columns of `g`, default all) gives the SNPs in their order.
    Returns R (n_sites, window) with R[i, d] = r²(i, i + d) (0 where undefined or beyond
    the end). Blocked matrix products: O(samples × sites × window) work, no Python loop
    over pairs; only the 2 × window - 1 SNPs of one block are ever in floats.
    """
    n = g.shape[0]
    cols = np.arange(g.shape[1]) if cols is None else np.asarray(cols)
    m = len(cols)
    band = np.zeros((m, window), dtype=np.float32)
    if m < 2 or window < 2:
        return band
    # Blocks of `window` rows against the next 2 * window - 1 columns: each needed pair is
    # computed about twice, against ~block / window times for larger blocks.
    for a in range(0, m, window):
        b = min(a + window, m)
        c_end = min(b + window - 1, m)
        w = c_end - a
        # Sites x samples, so that each block is a contiguous slab of [called; x; x²].
        slab = g[:, cols[a:c_end]].T
        valid = slab != MISSING
        x = np.where(valid, slab, 0).astype(np.float32)
        stack = np.stack([valid.astype(np.float32), x, x * x])  # (3, w, samples)
        # Sums of small integers: exact in float32 (< 2**24), so float32 BLAS loses nothing
        # (and the band is the same whatever the blocking).
        # Sums over the samples where both SNPs are called: n, a, a², then b, ab, then b².
        k = b - a
        by_called = (stack[:, :k].reshape(-1, n) @ stack[0].T).reshape(3, -1, w)
        by_x = (stack[:2, :k].reshape(-1, n) @ stack[1].T).reshape(2, -1, w)
        s_bb = stack[0, :k] @ stack[2].T
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
        rows = np.arange(k)[:, None]
        cols_ = rows + np.arange(window)[None, :]
        ok = cols_ < w
        band[a:b][ok] = np.minimum(r2[np.broadcast_to(rows, cols_.shape)[ok], cols_[ok]], 1.0)
    band[:, 0] = 0.0  # a SNP with itself is not a pair
    return band


def ld_prune(
    g: np.ndarray, maf: np.ndarray, r2: float, window: int, step: int, cols=None
) -> np.ndarray:
    """Keep mask of PLINK-style `--indep-pairwise window step r2` over the columns of `g`
    (one contig, in position order), or over the columns `cols` of `g` in that order
    (`maf` then per entry of `cols`): no copy of the contig's columns is made.

    Windows of `window` SNPs slide by `step`; within a window every pair of still-kept SNPs
    with r² > `r2` loses one SNP: the lower-MAF one, the later one on a tie (so of a
    duplicated SNP the first copy stays). Pruned SNPs stay pruned in later windows.
    """
    m = g.shape[1] if cols is None else len(cols)
    keep = np.ones(m, dtype=bool)
    if m < 2:
        return keep
    window = max(int(window), 2)
    band = r2_band(g, window, cols)
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
    g = genotypes.to_numpy(dtype=np.int8, copy=False)
    return select_features_array(g, genotypes.columns, sites, params, ploidy)


def select_features_array(g: np.ndarray, site_ids, sites=None, params=None, ploidy: int = 2):
    """`select_features` on a (samples, sites) int8 array with its column IDs (as
    `table_io.read_genotype_array` gives it): no copy of the matrix is made."""
    params = with_defaults("features", params)
    ld = params["ld_prune"]
    site_ids = pd.Index(site_ids, dtype=str)
    _, maf, call_rate = site_stats(g, ploidy)
    reason = np.full(g.shape[1], "pass", dtype=object)
    low_cr = call_rate < float(params["min_call_rate"])
    low_maf = ~(np.nan_to_num(maf, nan=0.0) >= float(params["min_maf"]))
    reason[low_maf] = "low_maf"
    reason[low_cr] = "low_call_rate"  # unreliable frequencies: report call rate first
    passed = ~(low_cr | low_maf)
    if ld["enabled"] and passed.sum() > 1:
        info = site_table(site_ids, sites)
        chrom = info["chrom"].to_numpy()
        pos = info["pos"].to_numpy()
        for contig in pd.unique(chrom[passed]):
            cols = np.flatnonzero(passed & (chrom == contig))
            cols = cols[np.argsort(pos[cols], kind="stable")]
            keep = ld_prune(g, maf[cols], float(ld["r2"]), ld["window"], ld["step"], cols)
            reason[cols[~keep]] = "ld"
    wanted = set(params.get("consequences") or [])
    if wanted:  # after LD pruning: the consequence decides the model's features only
        info = site_table(site_ids, sites)
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
            "site_id": site_ids,
            "kept": kept,
            "reason": reason,
            "maf": np.round(maf, 6),
            "call_rate": np.round(call_rate, 6),
        }
    )
    return list(site_ids[kept]), table


# Up to this many samples the PCA is exact (eigenvectors of the samples' Gram matrix,
# float64, n² × 8 bytes: 72 MB at 3,000); above it, a randomized SVD (Halko et al. 2011,
# sklearn's `randomized_svd` algorithm) whose products sweep the sites block by block.
EXACT_PCA_MAX_SAMPLES = 3000


# Genotypes per block of standardized floats: 2**23 (64 MB in float64, 32 MB in float32).
FLOAT_BLOCK_GENOTYPES = 2**23


def _standardized_blocks(g, cols, mean, sd, dtype):
    """(slice into cols, block) of standardized dosages, missing = 0 (the SNP mean)."""
    block = max(16, FLOAT_BLOCK_GENOTYPES // max(g.shape[0], 1))
    for a in range(0, len(cols), block):
        sl = slice(a, min(a + block, len(cols)))
        gb = g[:, cols[sl]]
        z = gb.astype(dtype)
        z -= mean[sl].astype(dtype)
        z /= sd[sl].astype(dtype)
        z[gb == MISSING] = 0
        yield sl, z


def pca(genotypes: pd.DataFrame, n: int, seed: int = 0):
    """(scores DataFrame sample × PC1..PCk, explained variance ratios) of the
    mean-imputed, standardized dosages; k = min(n, samples, variable SNPs)."""
    g = genotypes.to_numpy(dtype=np.int8, copy=False)
    return pca_array(g, genotypes.index, n, seed)


def pca_array(g: np.ndarray, samples, n: int, seed: int = 0, cols=None, exact=None):
    """`pca` of the columns `cols` (default all) of a (samples, sites) int8 array, never
    holding more than one block of sites in floats (plus an n × n Gram matrix when exact).

    The same PCA as sklearn's on the whole standardized float64 matrix (scores = U·S,
    ratios = S² / (n - 1) over the total variance, each component's sign such that its
    largest loading is positive, as sklearn's svd_flip): exactly, from the Gram matrix,
    up to `EXACT_PCA_MAX_SAMPLES` samples (or `exact=True`); above, by a randomized SVD
    with 7 power iterations (the top components to float precision, as sklearn's
    randomized solver; `seed` fixes it).
    """
    cols = np.arange(g.shape[1]) if cols is None else np.asarray(cols, dtype=np.int64)
    n_samples = g.shape[0]
    index = pd.Index(samples, name="sample")
    # Mean and sd over the called genotypes (nanmean, nanstd), in exact integer sums.
    nc = np.zeros(len(cols), dtype=np.int64)
    s1 = np.zeros(len(cols), dtype=np.int64)
    s2 = np.zeros(len(cols), dtype=np.int64)
    for a in range(0, len(cols), BLOCK):
        gb = g[:, cols[a : a + BLOCK]]
        called = gb != MISSING
        x = np.where(called, gb, 0)  # int8: dosages <= 2, squares <= 4
        nc[a : a + BLOCK] = called.sum(axis=0)
        s1[a : a + BLOCK] = x.sum(axis=0, dtype=np.int64)
        s2[a : a + BLOCK] = (x * x).sum(axis=0, dtype=np.int64)
    variable = (nc > 0) & (nc * s2 - s1 * s1 > 0)
    cols, nc, s1, s2 = cols[variable], nc[variable], s1[variable], s2[variable]
    mean = s1 / np.maximum(nc, 1)
    sd = np.sqrt(np.maximum(s2 / np.maximum(nc, 1) - mean**2, 0))
    k = int(min(n, n_samples, len(cols)))
    if k < 1:
        return pd.DataFrame(index=index), np.zeros(0)
    if exact is None:
        exact = n_samples <= EXACT_PCA_MAX_SAMPLES
    total = 0.0  # Σ over SNPs of the column variance (ddof 1), as sklearn's total_var
    if exact:
        gram = np.zeros((n_samples, n_samples))
        for _, z in _standardized_blocks(g, cols, mean, sd, np.float64):
            z -= z.mean(axis=0)  # ~0 already: sklearn centers again
            total += float(np.einsum("ij,ij->", z, z))
            gram += z @ z.T
        from scipy.linalg import eigh

        k = min(k, n_samples)
        vals, u = eigh(gram, subset_by_index=[n_samples - k, n_samples - 1])
        vals, u = vals[::-1], u[:, ::-1]
        s = np.sqrt(np.maximum(vals, 0))
    else:
        s, u, total = _randomized_svd(g, cols, mean, sd, k, seed)
    total /= max(n_samples - 1, 1)
    # Sign: the largest-magnitude loading (V = Zᵀ U / S) of each component positive.
    best = np.zeros(k)
    sign = np.ones(k)
    dtype = np.float64 if exact else np.float32
    with np.errstate(invalid="ignore", divide="ignore"):
        for _, z in _standardized_blocks(g, cols, mean, sd, dtype):
            z -= z.mean(axis=0)
            v = (u.T @ z) / np.where(s > 0, s, 1)[:, None]  # (k, block)
            j = np.abs(v).argmax(axis=1)
            vj = v[np.arange(k), j]
            better = np.abs(vj) > best
            best[better] = np.abs(vj[better])
            sign[better] = np.where(vj[better] < 0, -1.0, 1.0)
    scores = u * s * sign
    ratios = s**2 / max(n_samples - 1, 1) / total if total > 0 else np.zeros(k)
    cols_ = [f"PC{i}" for i in range(1, k + 1)]
    return pd.DataFrame(scores, index=index, columns=cols_), ratios


def _randomized_svd(g, cols, mean, sd, k, seed, n_oversamples=10, n_iter=7):
    """(S, U, Σ z²) of the top k of the standardized matrix; products block by block in
    float32 (a block of standardized dosages), accumulated in float64."""
    from scipy.linalg import lu, qr, svd

    n_samples, p = g.shape[0], len(cols)
    size = min(k + n_oversamples, n_samples, p)
    rng = np.random.default_rng(seed)
    omega = rng.standard_normal((p, size))
    blocks = lambda: _standardized_blocks(g, cols, mean, sd, np.float32)  # noqa: E731

    def times(q):  # Z @ q, q (p, size)
        out = np.zeros((n_samples, q.shape[1]))
        for sl, z in blocks():
            out += z @ q[sl].astype(np.float32)
        return out

    def t_times(q):  # Zᵀ @ q, q (n, size)
        out = np.empty((p, q.shape[1]))
        q32 = q.astype(np.float32)
        for sl, z in blocks():
            out[sl] = z.T @ q32
        return out

    y = times(omega)
    for _ in range(n_iter):  # power iterations, LU-normalized as sklearn's "auto"
        y, _ = lu(y, permute_l=True)
        y, _ = lu(t_times(y), permute_l=True)
        y = times(y)
    q, _ = qr(y, mode="economic")
    bt = t_times(q)  # Bᵀ = Zᵀ Q, (p, size)
    total = 0.0
    for _, z in blocks():
        total += float(np.einsum("ij,ij->", z, z, dtype=np.float64))
    ub, s, _ = svd(bt.T, full_matrices=False)
    return s[:k], (q @ ub)[:, :k], total


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
    # The int8 matrix as one array (no frame, no float copy): the steps below work on
    # blocks of its sites.
    g, samples, site_ids = read_genotype_array(smk.input.genotypes)
    sites = read_sites(smk.input.sites)
    kept, table = select_features_array(g, site_ids, sites, params, ploidy)
    for path in smk.output:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(smk.output.selected, sep="\t", index=False)
    # The PCs describe population structure: from every site that passes the frequency and
    # LD filters, also when features.consequences narrows the model's features.
    structure = np.flatnonzero(table["reason"].isin(["pass", "consequence"]).to_numpy())
    scores, ratios = pca_array(g, samples, int(params.get("pca_components", 10)), cols=structure)
    write_pca(scores, ratios, smk.output.pca, smk.output.pca_variance)
    counts = table["reason"].value_counts()
    with open(smk.log[0], "w") as log:
        log.write(
            f"samples: {g.shape[0]}\nsites: {g.shape[1]}\nkept: {len(kept)}\n"
            + "".join(
                f"reason {r}: {counts.get(r, 0)}\n"
                for r in ("low_call_rate", "low_maf", "ld", "consequence")
            )
            + f"PCs: {scores.shape[1]}, variance explained: {np.round(ratios, 4).tolist()}\n"
        )


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
