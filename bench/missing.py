"""Predictions robust to missing data: accuracy of held-out samples with masked model sites.

    .venv/bin/python bench/missing.py [--quick] [--draws N] [--n-eval N] [--trees N]

On the 1000 Genomes panel (../shared/data, target super_population, 5 classes) the matrix
is built with the workflow's own functions (scripts/filter.py with min_qual/min_dp/min_gq
0, min_call_rate 0.9, min_maf 0.01; scripts/matrix.py; scripts/features.py with
min_maf 0.05, min_call_rate 0.8, no LD pruning) and cached in bench/work/missing/.

Per hold-out draw (stratified, 25 %, seeded) the forest is fitted on the rest with the
workflow's pipeline (scripts/model.py build_pipeline, model defaults but --trees); a
stratified subsample of --n-eval held-out samples then gets 0/50/80/90/95 % of its model
sites masked at random (-1) and is predicted by

* mode_imputation: today's pipeline (SimpleImputer most_frequent, then the forest);
* nan_augmented: a forest with the same settings trained on the training samples plus
  3 copies with a random share (0-95 %) of sites set NaN (scikit-learn trees route NaN);
* naive_bayes: categorical naive Bayes (Laplace 1) on the observed sites only;
* marginalised: the same forest, each tree sending the sample down both children of a
  split on a missing site, weighted by the training fractions (scripts/predict.py
  marginal_proba);
* refit_observed: a forest refit on the training genotypes at the sample's observed sites
  (scripts/predict.py predict_proba, the method built into the workflow).

Writes bench/results/missing.md (missing-quick.md with --quick) and prints it.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work" / "missing"
RESULTS = BENCH / "results"
G1K = REPO.parent / "shared" / "data" / "1000g_phase3_chr1_140kb_2504samples"
G1K_VCF = G1K / "1000G_phase3.chr1_11697036-11836540.vcf.gz"
sys.path.insert(0, str(REPO / "scripts"))

from features import MISSING, select_features  # noqa: E402
from filter import filter_vcf  # noqa: E402
from matrix import build_matrix  # noqa: E402
from model import build_pipeline  # noqa: E402
from predict import forest_inputs, marginal_proba, predict_proba  # noqa: E402
from sklearn.model_selection import StratifiedShuffleSplit, train_test_split  # noqa: E402

FILTER = {"min_qual": 0, "min_dp": 0, "min_gq": 0, "min_call_rate": 0.9, "min_maf": 0.01}
FEATURES = {"min_maf": 0.05, "min_call_rate": 0.8, "ld_prune": {"enabled": False}}
TARGET = "super_population"
RATES = [0.0, 0.5, 0.8, 0.9, 0.95]
METHODS = ["mode_imputation", "nan_augmented", "naive_bayes", "marginalised", "refit_observed"]


def panel():
    """(X int8 samples × model sites, y labels) of the 1000 Genomes panel."""
    WORK.mkdir(parents=True, exist_ok=True)
    filtered = WORK / "filtered.vcf.gz"
    if not filtered.exists():
        filter_vcf(G1K_VCF, filtered, FILTER, 2)
    labels = pd.read_csv(G1K / "labels.tsv", sep="\t", dtype=str)
    g, sites, samples = build_matrix(filtered, labels, TARGET, 2)
    kept, _ = select_features(g, sites, FEATURES)
    y = samples.set_index("sample").loc[g.index, TARGET].to_numpy(dtype=str)
    return g[kept].to_numpy(dtype=np.int8), y, g.shape[1]


def naive_bayes_proba(Xtr, ytr, classes, X):
    """Categorical naive Bayes over genotype 0/1/2, observed sites only (Laplace 1)."""
    n_sites = Xtr.shape[1]
    log_lik = np.zeros((len(classes), n_sites, 3))
    prior = np.zeros(len(classes))
    for c, cls in enumerate(classes):
        rows = Xtr[ytr == cls]
        prior[c] = np.log(len(rows) / len(ytr))
        counts = np.stack([(rows == v).sum(axis=0) for v in range(3)], axis=1) + 1.0
        log_lik[c] = np.log(counts / counts.sum(axis=1, keepdims=True))
    observed = X != MISSING
    Xc = np.where(observed, X, 0).astype(int)
    score = np.zeros((len(X), len(classes)))
    for c in range(len(classes)):
        per_site = log_lik[c][np.arange(n_sites), Xc]  # (n, sites)
        score[:, c] = prior[c] + (per_site * observed).sum(axis=1)
    score -= score.max(axis=1, keepdims=True)
    p = np.exp(score)
    return p / p.sum(axis=1, keepdims=True)


def nan_augmented_forest(Xtr, ytr, params, seed, copies=3):
    rng = np.random.default_rng(seed)
    X = Xtr.astype(np.float32)
    X[Xtr == MISSING] = np.nan
    blocks, labels = [X], [ytr]
    for _ in range(copies):
        rate = rng.uniform(0, 0.95, size=(len(X), 1))
        masked = X.copy()
        masked[rng.random(X.shape) < rate] = np.nan
        blocks.append(masked)
        labels.append(ytr)
    forest = build_pipeline(params, X.shape[1], len(ytr)).named_steps["forest"]
    return forest.fit(np.vstack(blocks), np.concatenate(labels))


def run(args):
    t0 = time.perf_counter()
    X, y, n_matrix_sites = panel()
    classes = np.unique(y)
    params = {"n_estimators": args.trees, "n_jobs": 2, "seed": args.seed}
    splitter = StratifiedShuffleSplit(n_splits=args.draws, test_size=0.25, random_state=args.seed)
    acc = {(m, r): [] for m in METHODS for r in RATES}
    secs = {(m, r): 0.0 for m in METHODS for r in RATES}
    refits, n_pred = 0, 0
    for draw, (train, test) in enumerate(splitter.split(X, y)):
        Xtr, ytr = X[train], y[train]
        pipe = build_pipeline(params, X.shape[1], len(train)).fit(Xtr, ytr)
        model = {
            "pipeline": pipe,
            "classes": list(classes),
            "metadata": {"params": params},
            "training": {"genotypes": Xtr, "labels": np.searchsorted(classes, ytr)},
        }
        nan_forest = nan_augmented_forest(Xtr, ytr, params, args.seed + draw)
        ev = test
        if args.n_eval < len(test):
            ev, _ = train_test_split(
                test, train_size=args.n_eval, stratify=y[test], random_state=args.seed + draw
            )
        for r, rate in enumerate(RATES):
            rng = np.random.default_rng([args.seed, draw, r])
            Xm = X[ev].copy()
            Xm[rng.random(Xm.shape) < rate] = MISSING
            observed = Xm != MISSING
            for method in METHODS:
                start = time.perf_counter()
                if method == "mode_imputation":
                    proba = pipe.predict_proba(Xm)
                elif method == "nan_augmented":
                    proba = nan_forest.predict_proba(np.where(observed, Xm, np.nan))
                elif method == "naive_bayes":
                    proba = naive_bayes_proba(Xtr, ytr, classes, Xm)
                elif method == "marginalised":
                    Xf, known = forest_inputs(pipe, Xm, observed)
                    proba = marginal_proba(pipe.named_steps["forest"], Xf, known)
                else:
                    proba, _, fits = predict_proba(model, Xm, n_jobs=2)
                    refits += fits
                secs[method, rate] += time.perf_counter() - start
                acc[method, rate].append(float((classes[proba.argmax(axis=1)] == y[ev]).mean()))
            n_pred += len(ev)
            print(
                f"draw {draw + 1} rate {rate:.2f}: "
                + ", ".join(f"{m} {acc[m, rate][-1]:.3f}" for m in METHODS),
                file=sys.stderr,
                flush=True,
            )
    return {
        "acc": acc,
        "secs": secs,
        "n_eval": len(ev),
        "n_samples": len(y),
        "n_sites": X.shape[1],
        "n_matrix_sites": n_matrix_sites,
        "classes": {str(c): int((y == c).sum()) for c in classes},
        "refits": refits,
        "minutes": (time.perf_counter() - t0) / 60,
        "load": "{:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg()),
    }


def markdown(res, args) -> str:
    acc, secs = res["acc"], res["secs"]
    lines = [
        "# Predictions with missing model sites (bench/missing.py)",
        "",
        f"1000 Genomes chr1 140 kb panel: {res['n_samples']} samples, target {TARGET} "
        f"{res['classes']}; {res['n_matrix_sites']} matrix sites, {res['n_sites']} model sites "
        f"(features min_maf 0.05, call rate 0.8, no LD pruning). Random forest: "
        f"{args.trees} trees, other settings the model defaults (max_features sqrt, "
        f"class_weight balanced, seed {args.seed}). {args.draws} stratified 25 % hold-out "
        f"draw(s); per draw {res['n_eval']} held-out samples (stratified subsample) with the "
        "given share of their model sites masked at random. Accuracy: mean ± sd over draws.",
        "",
        "| method | " + " | ".join(f"{int(r * 100)} % masked" for r in RATES) + " | "
        "80 % − unmasked |",
        "|---" * (len(RATES) + 2) + "|",
    ]
    for m in METHODS:
        cells = []
        for r in RATES:
            v = np.asarray(acc[m, r])
            cells.append(f"{v.mean():.3f} ± {v.std(ddof=1):.3f}" if len(v) > 1 else f"{v[0]:.3f}")
        gap = np.mean(acc[m, 0.8]) - np.mean(acc["mode_imputation", 0.0])
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {gap:+.3f} |")
    lines += [
        "",
        "Unmasked reference: mode_imputation at 0 % (marginalised and refit_observed equal it "
        "there: fully observed samples take the saved pipeline).",
        "",
        "Prediction time, ms per sample (2 cores, n_jobs 2; refit_observed includes one "
        "forest fit per sample, as every masked sample has its own observed-site pattern):",
        "",
        "| method | " + " | ".join(f"{int(r * 100)} %" for r in RATES) + " |",
        "|---" * (len(RATES) + 1) + "|",
    ]
    n_per_rate = res["n_eval"] * args.draws
    for m in METHODS:
        lines.append(
            f"| {m} | " + " | ".join(f"{1000 * secs[m, r] / n_per_rate:.1f}" for r in RATES) + " |"
        )
    lines += [
        "",
        f"Refits: {res['refits']}. Total {res['minutes']:.1f} min, load average at the end "
        f"{res['load']} (shared machine). Command: `.venv/bin/python bench/missing.py"
        + (" --quick" if args.quick else "")
        + "`.",
        "",
    ]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 draw, 30 samples, 30 trees")
    ap.add_argument("--draws", type=int, help="hold-out draws (default 3; --quick 1)")
    ap.add_argument("--n-eval", type=int, help="held-out samples per draw (100; --quick 30)")
    ap.add_argument("--trees", type=int, help="trees per forest (100; --quick 30)")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    quick = {"draws": 1, "n_eval": 30, "trees": 30}
    full = {"draws": 3, "n_eval": 100, "trees": 100}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    text = markdown(run(args), args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("missing-quick.md" if args.quick else "missing.md")
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
