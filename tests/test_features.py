"""Label-free features (scripts/features.py): thresholds, LD pruning, PCA."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
import features  # noqa: E402

LD = {"ld_prune": {"enabled": True}}  # off by default (schema); these tests are about it


def matrix(g, chrom="chr1"):
    n, m = g.shape
    return pd.DataFrame(
        np.asarray(g, dtype=np.int8),
        index=pd.Index([f"S{i:04d}" for i in range(n)], name="sample"),
        columns=[f"{chrom}:{1000 + 10 * j}:A:G" for j in range(m)],
    )


def brute_r2(a, b):
    ok = (a >= 0) & (b >= 0)
    return np.corrcoef(a[ok].astype(float), b[ok].astype(float))[0, 1] ** 2


def test_maf_and_call_rate_thresholds_missing_is_not_zero():
    rng = np.random.default_rng(1)
    n = 200
    common = rng.integers(0, 3, n)
    rare = np.zeros(n, int)
    rare[:3] = 1  # MAF 3/400 < 0.05
    gappy = rng.integers(0, 3, n)
    gappy[:20] = -1  # call rate 0.90 < 0.95
    # All called genotypes are hom-ALT: MAF 0. Counting -1 as dosage 0 would make it
    # look common (half the samples "REF") and keep it.
    fixed = np.full(n, 2)
    fixed[rng.random(n) < 0.04] = -1
    g = matrix(np.column_stack([common, rare, gappy, fixed]))
    kept, table = features.select_features(
        g, None, {"min_maf": 0.05, "min_call_rate": 0.95, "ld_prune": {"enabled": False}}
    )
    assert kept == [g.columns[0]]
    assert table["reason"].tolist() == ["pass", "low_maf", "low_call_rate", "low_maf"]
    assert table["kept"].tolist() == [True, False, False, False]
    assert table.loc[3, "maf"] == 0.0
    assert table.loc[2, "call_rate"] == pytest.approx(0.9)


def test_haploid_maf_uses_ploidy():
    g = matrix(np.column_stack([[0] * 90 + [1] * 10]))  # haploid AF 0.10
    _, maf, _ = features.site_stats(g.to_numpy(), ploidy=1)
    assert maf[0] == pytest.approx(0.10)
    _, maf2, _ = features.site_stats(g.to_numpy(), ploidy=2)
    assert maf2[0] == pytest.approx(0.05)


def test_r2_band_matches_pairwise_complete_correlation():
    rng = np.random.default_rng(2)
    g = rng.integers(0, 3, (150, 60))
    g[:, 7] = np.where(rng.random(150) < 0.8, g[:, 5], rng.integers(0, 3, 150))
    g[rng.random(g.shape) < 0.1] = -1
    band = features.r2_band(g.astype(np.int8), 20)
    for i, d in [(5, 2), (0, 19), (30, 1), (40, 10), (58, 1)]:
        assert band[i, d] == pytest.approx(brute_r2(g[:, i], g[:, i + d]), abs=1e-5)
    assert band[59, 1:].max() == 0  # beyond the last SNP
    assert band[:, 0].max() == 0


def test_ld_prune_removes_duplicate_and_keeps_first_copy():
    rng = np.random.default_rng(3)
    g = rng.integers(0, 3, (300, 30))
    g[rng.random(g.shape) < 0.02] = -1
    g[:, 12] = g[:, 4]  # exact duplicate (missing calls too), 8 SNPs later: same MAF
    kept, table = features.select_features(
        matrix(g), None, LD | {"min_maf": 0.0, "min_call_rate": 0.0}
    )
    cols = matrix(g).columns
    assert cols[4] in kept and cols[12] not in kept
    assert table.set_index("site_id").loc[cols[12], "reason"] == "ld"
    assert (table["reason"] == "ld").sum() == 1  # independent SNPs survive


def test_ld_prune_keeps_higher_maf_snp():
    rng = np.random.default_rng(4)
    n = 400
    later = (rng.random(n) < 0.4).astype(int) + (rng.random(n) < 0.4).astype(int)
    earlier = later.copy()
    # A slightly rarer copy: a few ALT alleles dropped keeps r2 > 0.8.
    idx = np.flatnonzero(earlier > 0)[:8]
    earlier[idx] -= 1
    g = np.column_stack([earlier, rng.integers(0, 3, n), later])
    assert brute_r2(earlier, later) > 0.8
    kept, _ = features.select_features(matrix(g), None, LD | {"min_maf": 0.0, "min_call_rate": 0.0})
    cols = matrix(g).columns
    assert kept == [cols[1], cols[2]]


def test_ld_window_and_contigs():
    rng = np.random.default_rng(5)
    base = rng.integers(0, 3, (200, 1))
    noise = rng.integers(0, 3, (200, 10))
    # Copy 10 SNPs downstream: outside a window of 5, inside a window of 20.
    g = np.column_stack([base, noise, base])
    params = {"min_maf": 0.0, "min_call_rate": 0.0}
    kept, _ = features.select_features(
        matrix(g), None, params | {"ld_prune": {"enabled": True, "window": 5}}
    )
    assert len(kept) == 12
    kept, _ = features.select_features(
        matrix(g), None, params | {"ld_prune": {"enabled": True, "window": 20}}
    )
    assert len(kept) == 11
    # The same two SNPs on different contigs are never compared.
    two = pd.concat([matrix(base, "chr1"), matrix(base, "chr2")], axis=1)
    kept, _ = features.select_features(two, None, params | LD)
    assert len(kept) == 2
    kept, _ = features.select_features(two, None, params | {"ld_prune": {"enabled": False}})
    assert len(kept) == 2


def test_sites_table_gives_contig_and_order():
    rng = np.random.default_rng(6)
    base = rng.integers(0, 3, 100)
    g = matrix(np.column_stack([base, rng.integers(0, 3, 100), base]))
    # sites.tsv puts the copies on different contigs: no pruning.
    sites = pd.DataFrame(
        {"site_id": g.columns, "chrom": ["c1", "c1", "c2"], "pos": [1, 2, 1], "region": ""}
    )
    kept, _ = features.select_features(g, sites, LD)
    assert len(kept) == 3
    sites["chrom"] = "c1"
    kept, _ = features.select_features(g, sites, LD)
    assert len(kept) == 2


def test_ld_prune_at_cohort_scale():
    """2,000 samples x 3,000 SNPs: every duplicated SNP found. Its speed is measured in
    bench/ (a wall-time bound here failed under load: CI never gates on time)."""
    rng = np.random.default_rng(7)
    g = rng.integers(0, 3, (2000, 3000), dtype=np.int8)
    g[:, 1::10] = g[:, 0::10]  # 300 duplicates
    kept, table = features.select_features(matrix(g), None, LD | {"min_maf": 0.05})
    assert (table["reason"] == "ld").sum() == 300


def test_pca_separates_populations_and_handles_missing():
    rng = np.random.default_rng(8)
    freqs = rng.uniform(0.05, 0.95, (2, 400))
    pop = np.repeat([0, 1], 60)
    g = rng.binomial(2, freqs[pop]).astype(np.int8)
    g[rng.random(g.shape) < 0.05] = -1
    g[:, 0] = 1  # monomorphic: dropped, not a division by zero
    scores, ratios = features.pca(matrix(g), 5)
    assert list(scores.columns) == ["PC1", "PC2", "PC3", "PC4", "PC5"]
    assert scores.index.name == "sample" and len(scores) == 120
    assert np.all(np.diff(ratios) <= 1e-12) and ratios.sum() < 1
    pc1 = scores["PC1"].to_numpy()
    assert abs(np.corrcoef(pc1, pop)[0, 1]) > 0.95
    # More components than samples/SNPs are capped.
    scores, ratios = features.pca(matrix(g[:, :4]), 10)
    assert scores.shape == (120, 3)


def test_site_id_parsing_allows_colons_in_contig():
    assert features.split_site_id("HLA-A*01:01:100:A:G") == ("HLA-A*01:01", 100, "A", "G")


def test_blockwise_equals_whole_matrix(monkeypatch):
    """Issue 22: the blockwise statistics, LD pruning (slabs of each window, no copy of a
    contig's columns) and PCA (Gram matrix; randomized above the exact limit) against the
    old whole-matrix computations: the same sites kept, PCs equal up to float error."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(11)
    pop = np.repeat([0, 1, 2], 50)
    g = rng.binomial(2, rng.uniform(0.05, 0.95, (3, 700))[pop]).astype(np.int8)
    g[:, 1::9] = g[:, 0::9][:, : g[:, 1::9].shape[1]]  # LD to prune
    g[rng.random(g.shape) < 0.03] = -1
    g[:, 3] = 2  # monomorphic
    df = matrix(g)
    whole = features.site_stats(g, block=g.shape[1])
    for got, want in zip(features.site_stats(g, block=13), whole, strict=True):
        np.testing.assert_array_equal(got, want)
    cols = np.arange(5, 600, 2)  # a subset, in order: read in place, not copied
    np.testing.assert_array_equal(
        features.ld_prune(g, whole[1][cols], 0.5, 20, 3, cols),
        features.ld_prune(g[:, cols].copy(), whole[1][cols], 0.5, 20, 3),
    )
    kept, table = features.select_features(df, None, LD)
    assert (table["reason"] == "ld").sum() >= 50  # 78 copies, some below the call rate
    # The old PCA: sklearn's exact solver on the whole standardized float64 matrix.
    kept_idx = df.columns.get_indexer(kept)
    x = np.where(g[:, kept_idx] < 0, np.nan, g[:, kept_idx])
    mean, sd = np.nanmean(x, axis=0), np.nanstd(x, axis=0)
    z = np.nan_to_num((x - mean) / sd, nan=0.0)
    old = PCA(n_components=6, svd_solver="full").fit(z)
    want = old.transform(z)
    scores, ratios = features.pca_array(g, df.index, 6, cols=kept_idx)
    np.testing.assert_allclose(scores.to_numpy(), want, atol=1e-8)
    np.testing.assert_allclose(ratios, old.explained_variance_ratio_, rtol=1e-10)
    # Randomized (float32 blocks): the structure PCs to float precision, up to sign.
    monkeypatch.setattr(features, "BLOCK", 64)
    monkeypatch.setattr(features, "FLOAT_BLOCK_GENOTYPES", 150 * 50)  # blocks of 50 sites
    scores, ratios = features.pca_array(g, df.index, 6, cols=kept_idx, exact=False)
    for i in range(2):
        np.testing.assert_allclose(np.abs(scores.iloc[:, i]), np.abs(want[:, i]), atol=1e-3)
    np.testing.assert_allclose(ratios[:2], old.explained_variance_ratio_[:2], rtol=1e-4)
