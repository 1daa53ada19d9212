"""Per-SNP association tests (scripts/association.py)."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
import association  # noqa: E402


def cohort(n=600, m=800, seed=0, n_classes=2):
    """Null SNPs plus one planted SNP (column 0) that shifts P(second class)."""
    rng = np.random.default_rng(seed)
    af = rng.uniform(0.1, 0.9, m)
    g = rng.binomial(2, af, (n, m)).astype(np.int8)
    g[rng.random(g.shape) < 0.02] = -1
    dose = np.where(g[:, 0] >= 0, g[:, 0], 1)
    if n_classes == 2:
        p = 1 / (1 + np.exp(-(dose - 1) * 1.2))
        labels = np.where(rng.random(n) < p, "case", "control")
    else:
        labels = np.array(["a", "b", "c"])[np.clip(dose + rng.integers(-1, 2, n), 0, 2)]
    names = [f"S{i:04d}" for i in range(n)]
    ids = [f"chr1:{100 + j}:A:G" for j in range(m)]
    genotypes = pd.DataFrame(g, index=pd.Index(names, name="sample"), columns=ids)
    samples = pd.DataFrame({"sample": names, "label": labels})
    return genotypes, samples


def test_planted_snp_found_and_null_calibrated():
    genotypes, samples = cohort()
    table, summary = association.associate(genotypes, samples)
    top = table.set_index("site_id").loc[genotypes.columns[0]]
    assert top["p"] < 1e-5
    null = table[table["site_id"] != genotypes.columns[0]]["p"]
    assert 0.85 < summary["lambda_gc"] < 1.15
    assert 0.35 < null.median() < 0.65
    assert (null < 0.05).mean() < 0.09  # uniform-ish: ~5 % below 0.05
    assert summary["positive_class"] == "control"  # the second of the sorted names
    assert summary["n_samples"] == 600 and summary["n_tested"] == 800
    assert list(table.columns) == association.COLUMNS


def test_allelic_chi2_matches_scipy_and_excludes_missing():
    g = np.array([[0, 1, 2, -1, 2, 2, 0, 1, 1, 2] * 3]).T.astype(np.int8)
    positive = np.array([True, False] * 15)
    t = association.allelic_tests(g, positive)
    called = g[:, 0] >= 0
    assert t.loc[0, "n"] == called.sum()
    a = g[called & positive, 0].sum()
    b = 2 * (called & positive).sum() - a
    c = g[called & ~positive, 0].sum()
    d = 2 * (called & ~positive).sum() - c
    chi2, p, _, _ = stats.chi2_contingency([[a, b], [c, d]], correction=False)
    assert t.loc[0, "test"] == "chi2"
    assert t.loc[0, "stat"] == pytest.approx(chi2)
    assert t.loc[0, "p"] == pytest.approx(p)
    assert t.loc[0, "or"] == pytest.approx(a * d / (b * c))


def test_fisher_for_small_expected_counts():
    g = np.zeros((40, 1), np.int8)
    g[:3, 0] = 1  # 3 ALT alleles, all in the positive class
    positive = np.arange(40) < 20
    t = association.allelic_tests(g, positive)
    assert t.loc[0, "test"] == "fisher"
    expected = stats.fisher_exact([[3, 37], [0, 40]]).pvalue
    assert t.loc[0, "p"] == pytest.approx(expected)
    assert np.isfinite(t.loc[0, "or"]) and t.loc[0, "or"] > 1  # Haldane-Anscombe


def test_monomorphic_is_untestable_not_significant():
    g = np.full((30, 1), 2, np.int8)
    t = association.allelic_tests(g, np.arange(30) < 15)
    assert t.loc[0, "test"] == "untestable" and np.isnan(t.loc[0, "p"])


def test_logistic_with_pcs_matches_sklearn_lrt():
    genotypes, samples = cohort(n=300, m=40, seed=3)
    rng = np.random.default_rng(4)
    pcs = pd.DataFrame(
        rng.normal(size=(300, 3)), index=genotypes.index, columns=["PC1", "PC2", "PC3"]
    )
    table, summary = association.associate(genotypes, samples, None, pcs, {"covariates_pcs": 2})
    assert summary["test"].startswith("logistic")
    assert set(table["test"]) == {"logistic_lrt"}
    site = genotypes.columns[0]
    row = table.set_index("site_id").loc[site]
    assert row["p"] < 1e-5
    # Reference: the same LR test from two unpenalized scikit-learn fits.
    dose = genotypes[site].to_numpy()
    ok = dose >= 0
    y = (samples["label"].to_numpy() == "control")[ok]
    cov = pcs.iloc[:, :2].to_numpy()[ok]
    x1 = np.column_stack([dose[ok], cov])

    def loglik(x):
        fit = LogisticRegression(C=np.inf, max_iter=1000, tol=1e-10).fit(x, y)
        prob = fit.predict_proba(x)[:, 1]
        return np.sum(y * np.log(prob) + (1 - y) * np.log(1 - prob)), fit.coef_[0, 0]

    ll1, beta = loglik(x1)
    ll0, _ = loglik(cov)
    assert row["stat"] == pytest.approx(2 * (ll1 - ll0), rel=1e-4)
    assert row["beta"] == pytest.approx(beta, rel=1e-4)
    assert row["n"] == ok.sum()
    with pytest.raises(ValueError, match="covariates_pcs=5"):
        association.associate(genotypes, samples, None, pcs, {"covariates_pcs": 5})


def test_logistic_null_calibrated():
    genotypes, samples = cohort(n=400, m=300, seed=5)
    pcs = pd.DataFrame(
        np.random.default_rng(6).normal(size=(400, 2)),
        index=genotypes.index,
        columns=["PC1", "PC2"],
    )
    table, summary = association.associate(genotypes, samples, None, pcs, {"covariates_pcs": 2})
    assert table.set_index("site_id").loc[genotypes.columns[0], "p"] < 1e-5
    assert 0.8 < summary["lambda_gc"] < 1.2


def test_multiclass_contingency():
    genotypes, samples = cohort(n=300, m=50, seed=7, n_classes=3)
    table, summary = association.associate(genotypes, samples)
    assert summary["classes"] == ["a", "b", "c"] and summary["positive_class"] is None
    assert set(table["test"]) == {"genotype_chi2"}
    assert table.set_index("site_id").loc[genotypes.columns[0], "p"] < 1e-10
    assert table["or"].isna().all()


def test_sorted_by_position_unlabelled_excluded_and_errors():
    genotypes, samples = cohort(n=100, m=20, seed=8)
    shuffled = genotypes[genotypes.columns[::-1]]
    samples.loc[:9, "label"] = ""
    table, summary = association.associate(shuffled, samples)
    assert table["site_id"].tolist() == list(genotypes.columns)
    assert summary["n_samples"] == 90
    samples["label"] = ""
    with pytest.raises(ValueError, match="no labelled samples"):
        association.associate(genotypes, samples)
    samples["label"] = "case"
    with pytest.raises(ValueError, match="only one class"):
        association.associate(genotypes, samples)


def test_lambda_gc():
    p = np.random.default_rng(9).uniform(size=20000)
    assert association.lambda_gc(p) == pytest.approx(1.0, abs=0.05)
    assert association.lambda_gc(p / 3) > 1.5


@pytest.mark.parametrize("kind", ["allelic", "logistic", "classes"])
def test_blocks_equal_whole_matrix(kind, monkeypatch):
    """Issue 22: the tests run on blocks of columns of the labelled rows; the table is the
    one of the whole matrix at once."""
    genotypes, samples = cohort(n=200, m=90, n_classes=3 if kind == "classes" else 2)
    samples.loc[::7, "label"] = ""  # unlabelled rows are skipped in every block
    params = {"covariates_pcs": 2} if kind == "logistic" else {}
    rng = np.random.default_rng(1)
    pcs = pd.DataFrame(rng.normal(size=(200, 2)), index=genotypes.index, columns=["PC1", "PC2"])
    monkeypatch.setattr(association, "BLOCK_GENOTYPES", 10**9)
    whole, s_whole = association.associate(genotypes, samples, pcs=pcs, params=params)
    monkeypatch.setattr(association, "BLOCK_GENOTYPES", 170 * 7)  # 7 columns per block
    blocks, s_blocks = association.associate(genotypes, samples, pcs=pcs, params=params)
    pd.testing.assert_frame_equal(blocks, whole)
    assert s_blocks == s_whole and s_whole["n_samples"] == 200 - 29
