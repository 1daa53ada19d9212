"""Per-SNP association of genotype with the label, for Manhattan and QQ plots.

Labelled samples only; a sample's missing genotype (-1) leaves that SNP's test only.

* Two classes, `covariates_pcs: 0`: allelic 2×2 test (ALT/REF allele counts × class),
  Pearson chi² without continuity correction, Fisher's exact test when any expected
  count is < 5. `stat` is always the allelic chi²; `test` says which p-value is reported.
  `or` is the allelic odds ratio of the positive class (Haldane-Anscombe +0.5 on every
  cell when a cell is 0), `beta` its log.
* Two classes, `covariates_pcs: k > 0`: logistic regression label ~ dosage + PC1..PCk by
  Newton-Raphson, likelihood-ratio test against the PCs-only model fitted on the same
  samples; `stat` is the LR chi² (1 df), `beta` the log-odds per ALT allele, `or` exp(beta).
* More than two classes: genotype (0..ploidy) × class contingency chi²; no effect size.
  PCs are not used there (multinomial regression is out of scope).

The positive class is the second of the sorted class names, as in scripts/model.py.
lambda_GC = median of the p-values as 1-df chi² quantiles / 0.4549.
`gene` and `consequence` are sites.tsv's (bcftools csq, annotation.gff; empty without it).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit
from table_io import MISSING, read_genotype_array, read_samples, read_sites, site_table

COLUMNS = ["site_id", "chrom", "pos", "ref", "alt", "test", "n", "stat", "p", "or", "beta", "gene",
           "consequence"]  # fmt: skip
CHI2_MEDIAN = stats.chi2.ppf(0.5, 1)  # 0.4549...


def allelic_tests(g: np.ndarray, positive: np.ndarray, ploidy: int = 2) -> pd.DataFrame:
    """Allelic 2×2 chi² / Fisher test per column of `g` (samples × SNPs) vs a boolean class."""
    called = g != MISSING
    dose = np.where(called, g, 0).astype(np.int64)
    pos = positive[:, None]
    a = (dose * pos).sum(0)  # ALT alleles, positive class
    b = ploidy * (called & pos).sum(0) - a  # REF alleles, positive class
    c = (dose * ~pos).sum(0)
    d = ploidy * (called & ~pos).sum(0) - c
    table = np.stack([a, b, c, d], axis=1).astype(float)
    r1, r2, c1, c2 = a + b, c + d, a + c, b + d
    total = r1 + r2
    testable = (r1 > 0) & (r2 > 0) & (c1 > 0) & (c2 > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        chi2 = total * (a * d - b * c) ** 2 / (r1 * r2 * c1 * c2)
        expected_min = np.minimum(r1, r2) * np.minimum(c1, c2) / total  # smallest E_ij
        p = stats.chi2.sf(chi2, 1)
        # Haldane-Anscombe: finite odds ratios when a cell is 0.
        t = np.where((table == 0).any(axis=1, keepdims=True), table + 0.5, table)
        odds = t[:, 0] * t[:, 3] / (t[:, 1] * t[:, 2])
    fisher = testable & (expected_min < 5)
    for j in np.flatnonzero(fisher):
        p[j] = stats.fisher_exact([[a[j], b[j]], [c[j], d[j]]]).pvalue
    test = np.where(testable, np.where(fisher, "fisher", "chi2"), "untestable")
    return pd.DataFrame(
        {
            "test": test,
            "n": called.sum(0),
            "stat": np.where(testable, chi2, np.nan),
            "p": np.where(testable, p, np.nan),
            "or": np.where(testable, odds, np.nan),
            "beta": np.where(testable, np.log(odds), np.nan),
        }
    )


def _logistic(x, y, w, max_iter=50, tol=1e-8, ridge=1e-8):
    """Batched Newton-Raphson logistic regression.

    x (snps, samples, p) designs, y (samples,) 0/1, w (snps, samples) 0/1 weights (0 =
    sample left out). Returns (coefficients (snps, p), log-likelihoods (snps,)). A tiny
    ridge keeps the Hessian invertible under separation (the log-likelihood then tends
    to its supremum, which is what the LR test needs).
    """
    n_snps, _, p = x.shape
    beta = np.zeros((n_snps, p))
    eye = ridge * np.eye(p)
    for _ in range(max_iter):
        eta = np.einsum("snp,sp->sn", x, beta)
        mu = expit(eta)
        grad = np.einsum("snp,sn->sp", x, w * (y - mu))
        hess = (x * (w * mu * (1 - mu))[..., None]).transpose(0, 2, 1) @ x + eye
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        # Damped: under (quasi-)separation the Newton step explodes; at most 5 log-odds
        # units per iteration keeps the log-likelihood climbing towards its supremum.
        big = np.abs(step).max(axis=1, keepdims=True)
        step *= np.minimum(1.0, 5.0 / np.maximum(big, 1e-300))
        beta += step
        if np.abs(step).max() < tol:
            break
    eta = np.einsum("snp,sp->sn", x, beta)
    loglik = (w * (y * eta - np.logaddexp(0, eta))).sum(axis=1)
    return beta, loglik


def logistic_tests(g, positive, covariates, chunk=256) -> pd.DataFrame:
    """Logistic regression likelihood-ratio test per SNP with covariates (samples × k)."""
    n, m = g.shape
    y = positive.astype(float)
    cov = np.asarray(covariates, dtype=float)
    sd = cov.std(axis=0)
    cov = (cov - cov.mean(axis=0)) / np.where(sd > 0, sd, 1)  # conditioning only
    base = np.column_stack([np.ones(n), cov])
    out = {k: np.full(m, np.nan) for k in ("stat", "p", "beta")}
    called = g != MISSING
    n_called = called.sum(0)
    # Testable: both classes and some dosage variation among the called samples.
    dose_all = np.where(called, g, 0).astype(float)
    n_pos = (called & positive[:, None]).sum(0)
    spread = (dose_all**2).sum(0) - dose_all.sum(0) ** 2 / np.maximum(n_called, 1)
    testable = (n_pos > 0) & (n_pos < n_called) & (spread > 1e-9)
    todo = np.flatnonzero(testable)
    for start in range(0, len(todo), chunk):
        cols = todo[start : start + chunk]
        gc = g[:, cols].T.astype(float)  # (snps, samples)
        w = (gc != MISSING).astype(float)
        dose = np.where(w > 0, gc, 0.0)
        x0 = np.broadcast_to(base, (len(cols), n, base.shape[1]))
        x1 = np.concatenate([dose[..., None], x0], axis=2)
        b1, ll1 = _logistic(x1, y, w)
        _, ll0 = _logistic(np.ascontiguousarray(x0), y, w)
        stat = np.maximum(2 * (ll1 - ll0), 0.0)
        out["stat"][cols] = stat
        out["p"][cols] = stats.chi2.sf(stat, 1)
        out["beta"][cols] = b1[:, 0]
    return pd.DataFrame(
        {
            "test": np.where(testable, "logistic_lrt", "untestable"),
            "n": n_called,
            "stat": out["stat"],
            "p": out["p"],
            "or": np.exp(out["beta"]),
            "beta": out["beta"],
        }
    )


def genotype_class_tests(g, codes, n_classes, ploidy=2) -> pd.DataFrame:
    """Genotype × class contingency chi² per SNP (empty rows/columns dropped)."""
    called = g != MISSING
    counts = np.stack(
        [
            np.stack([((g == v) & (codes == k)[:, None]).sum(0) for k in range(n_classes)], -1)
            for v in range(ploidy + 1)
        ],
        axis=1,
    ).astype(float)  # (snps, genotype, class)
    rows = counts.sum(2, keepdims=True)
    cols = counts.sum(1, keepdims=True)
    total = counts.sum((1, 2), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = rows * cols / total
        terms = np.where(expected > 0, (counts - expected) ** 2 / expected, 0.0)
    stat = terms.sum((1, 2))
    dof = ((rows[:, :, 0] > 0).sum(1) - 1) * ((cols[:, 0, :] > 0).sum(1) - 1)
    testable = dof > 0
    p = np.where(testable, stats.chi2.sf(stat, np.maximum(dof, 1)), np.nan)
    return pd.DataFrame(
        {
            "test": np.where(testable, "genotype_chi2", "untestable"),
            "n": called.sum(0),
            "stat": np.where(testable, stat, np.nan),
            "p": p,
            "or": np.nan,
            "beta": np.nan,
        }
    )


def lambda_gc(p) -> float:
    """Genomic inflation: median 1-df chi² quantile of the p-values / its null median."""
    p = np.asarray(p, dtype=float)
    p = p[np.isfinite(p)]
    if not len(p):
        return float("nan")
    return float(np.median(stats.chi2.isf(np.clip(p, 1e-300, 1), 1)) / CHI2_MEDIAN)


# Genotypes per block of a test: the tests make a few int64/float64 temporaries per block,
# never of the whole matrix (2**23 genotypes: 64 MB in int64).
BLOCK_GENOTYPES = 2**23


def associate(genotypes, samples, sites=None, pcs=None, params=None, ploidy=2):
    """(table sorted by genomic position, summary dict) of the per-SNP tests."""
    g = genotypes.to_numpy(dtype=np.int8, copy=False)
    return associate_array(g, genotypes.index, genotypes.columns, samples, sites, pcs, params,
                           ploidy)  # fmt: skip


def _blocked(test, g, rows, *args, block=None):
    """`test` over blocks of columns of g's `rows` (a boolean mask), concatenated: each test
    is per SNP, so the table is the whole matrix' own."""
    block = block or max(1, BLOCK_GENOTYPES // max(int(rows.sum()), 1))
    parts = [test(g[rows, a : a + block], *args) for a in range(0, g.shape[1], block)]
    return pd.concat(parts, ignore_index=True)


def associate_array(g, sample_ids, site_ids, samples, sites=None, pcs=None, params=None,
                    ploidy=2):  # fmt: skip
    """`associate` on a (samples, sites) int8 array with its row and column IDs (as
    `table_io.read_genotype_array` gives it): the labelled rows are taken block by block."""
    params = dict(params or {})
    k = int(params.get("covariates_pcs", 0))
    sample_ids = pd.Index(sample_ids, dtype=str, name="sample")
    site_ids = pd.Index(site_ids, dtype=str)
    labels = samples.set_index("sample")["label"].reindex(sample_ids).fillna("")
    labels = labels.astype(str).str.strip()
    rows = labels.to_numpy() != ""
    labels = labels[rows]
    if not len(labels):
        raise ValueError("association: no labelled samples (every label is empty)")
    classes = sorted(labels.unique())
    if len(classes) < 2:
        raise ValueError(f"association: only one class among labelled samples: {classes}")
    notes = []
    if len(classes) == 2:
        positive = (labels == classes[1]).to_numpy()
        if k > 0:
            if pcs is None or pcs.shape[1] < k:
                have = 0 if pcs is None else pcs.shape[1]
                raise ValueError(
                    f"association: covariates_pcs={k} but only {have} PCs are available "
                    "(raise features.pca_components or lower association.covariates_pcs)"
                )
            cov = pcs.reindex(labels.index).iloc[:, :k]
            if cov.isna().any().any():
                raise ValueError("association: PCs missing for some labelled samples")
            table = _blocked(logistic_tests, g, rows, positive, cov.to_numpy())
            test = f"logistic regression + {k} PCs, likelihood-ratio test"
        else:
            table = _blocked(allelic_tests, g, rows, positive, ploidy)
            test = "allelic chi2 (Fisher exact when an expected count < 5)"
    else:
        codes = labels.map({c: i for i, c in enumerate(classes)}).to_numpy()
        table = _blocked(genotype_class_tests, g, rows, codes, len(classes), ploidy)
        test = "genotype x class contingency chi2"
        if k > 0:
            notes.append("covariates_pcs ignored: more than two classes")
    info = site_table(site_ids, sites)
    table.insert(0, "site_id", list(site_ids))
    for col in ("chrom", "pos", "ref", "alt"):
        table[col] = info[col].to_numpy()
    for col in ("gene", "consequence"):  # sites.tsv: empty without annotation.gff
        table[col] = info[col].fillna("").to_numpy() if col in info else ""
    # Genomic order: contigs in order of first appearance (the reference's), then position.
    contig_rank = {c: i for i, c in enumerate(pd.unique(info["chrom"]))}
    order = np.lexsort((table["pos"].to_numpy(), table["chrom"].map(contig_rank).to_numpy()))
    table = table.iloc[order][COLUMNS].reset_index(drop=True)
    tested = table["p"].notna()
    m = int(tested.sum())
    summary = {
        "test": test,
        "classes": classes,
        "positive_class": classes[1] if len(classes) == 2 else None,
        "n_samples": len(labels),
        "class_counts": {c: int((labels == c).sum()) for c in classes},
        "covariates_pcs": k if len(classes) == 2 else 0,
        "n_snps": len(table),
        "n_tested": m,
        "n_fisher": int((table["test"] == "fisher").sum()),
        "lambda_gc": _round(lambda_gc(table["p"])),
        "bonferroni_threshold": _round(0.05 / m) if m else None,
        "n_significant_bonferroni": int((table["p"] < 0.05 / max(m, 1)).sum()),
        "min_p": _round(table["p"].min()) if m else None,
        "top": [
            {"site_id": r.site_id, "p": _round(r.p)}
            for r in table[tested].nsmallest(10, "p").itertuples()
        ],
        "notes": notes,
    }
    return table, summary


def _round(x, digits=6):
    """Significant digits, JSON-safe (NaN -> None)."""
    x = float(x)
    return None if not np.isfinite(x) else float(f"{x:.{digits}g}")


def _main(smk):
    params = dict(smk.params.association)
    ploidy = int(smk.params.ploidy)
    # The int8 matrix as one array, no frame: the tests read blocks of its columns.
    g, sample_ids, site_ids = read_genotype_array(smk.input.genotypes)
    samples = read_samples(smk.input.samples)
    sites = read_sites(smk.input.sites)
    pcs = pd.read_csv(smk.input.pca, sep="\t", dtype={"sample": str}).set_index("sample")
    table, summary = associate_array(g, sample_ids, site_ids, samples, sites, pcs, params, ploidy)
    Path(smk.output.table).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(smk.output.table, sep="\t", index=False, float_format="%.6g")
    Path(smk.output.summary).write_text(json.dumps(summary, indent=2) + "\n")
    with open(smk.log[0], "w") as log:
        log.write(
            f"test: {summary['test']}\nsamples: {summary['n_samples']} "
            f"{summary['class_counts']}\nSNPs tested: {summary['n_tested']} of "
            f"{summary['n_snps']}\nlambda_GC: {summary['lambda_gc']}\nmin p: {summary['min_p']}\n"
            + "".join(f"note: {n}\n" for n in summary["notes"])
        )


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
