"""Rule report_model (rules/report.smk): ROC curves per CV fold, the confusion matrix,
real vs shuffled labels (every learner side by side on the same folds with
model.compare) and the top feature importances.

The figures are drawn by the plot_* functions (tables in, one PNG out), styled by
scripts/plot_style.py."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from plot_style import GREY, MARKERS, colour, message, plt, save
from table_io import read_tsv


def roc_curve_points(y_true, score):
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y_true, score)
    return fpr, tpr


def plot_roc(oof: pd.DataFrame, metrics: dict, path):
    """ROC per CV fold (thin) and their mean (bold): the positive class for two classes,
    one panel per class (one-vs-rest) for more."""
    from sklearn.metrics import auc

    classes = list(metrics["classes"])
    targets = [classes[1]] if len(classes) == 2 else classes
    ncol = min(len(targets), 3)
    nrow = int(np.ceil(len(targets) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 4.4 * nrow), squeeze=False)
    grid = np.linspace(0, 1, 101)
    folds = oof.groupby(["repeat", "fold"], sort=True)
    for k, (ax, target) in enumerate(zip(axes.flat, targets, strict=False)):
        tprs, aucs = [], []
        for _, fold in folds:
            y = fold["true"].astype(str).to_numpy() == target
            if y.all() or not y.any():
                continue
            fpr, tpr = roc_curve_points(y, fold[f"prob_{target}"].to_numpy(dtype=float))
            ax.plot(fpr, tpr, color=GREY, lw=0.7, alpha=0.6)
            tprs.append(np.interp(grid, fpr, tpr))
            tprs[-1][0] = 0.0
            aucs.append(auc(fpr, tpr))
        ax.plot([], [], color=GREY, lw=0.7, label=f"{len(aucs)} CV folds")
        if tprs:
            sd_auc = np.std(aucs, ddof=1) if len(aucs) > 1 else 0.0
            mean = np.mean(tprs, axis=0)
            mean[-1] = 1.0
            sd = np.std(tprs, axis=0)
            ax.fill_between(
                grid,
                np.clip(mean - sd, 0, 1),
                np.clip(mean + sd, 0, 1),
                color=colour(k),
                alpha=0.2,
                label="± 1 sd",
            )
            ax.plot(
                grid,
                mean,
                color=colour(k),
                lw=2,
                label=f"mean, AUC {np.mean(aucs):.3f} ± {sd_auc:.3f}",
            )
        ax.plot([0, 1], [0, 1], color="black", ls=":", lw=0.8, label="chance")
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title(f"ROC, {target!s}" + (" vs rest" if len(classes) > 2 else " (positive)"))
        ax.set_aspect("equal")
        ax.legend(loc="lower right", frameon=True, fontsize=7)
    for ax in list(axes.flat)[len(targets) :]:
        ax.set_visible(False)
    fig.tight_layout()
    save(fig, path)


def plot_confusion(metrics: dict, path):
    """Out-of-fold confusion matrix (counts, and % of each true class)."""
    cm = metrics["confusion_matrix"]
    classes = [str(c) for c in cm["classes"]]
    m = np.asarray(cm["matrix"], dtype=float)
    k = len(classes)
    size = max(3.5, 0.8 * k + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(100 * share, cmap="viridis", vmin=0, vmax=100)
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                f"{int(m[i, j]):,}\n{100 * share[i, j]:.0f} %",
                ha="center",
                va="center",
                fontsize=8,
                color="black" if share[i, j] > 0.55 else "white",
            )
    ax.set_xticks(np.arange(k), classes, rotation=30 if k > 3 else 0)
    ax.set_yticks(np.arange(k), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.spines[:].set_visible(False)
    fig.colorbar(im, ax=ax, fraction=0.046, label="% of true class")
    repeats = metrics.get("cv", {}).get("repeats")
    ax.set_title(
        "Confusion matrix (out-of-fold"
        + (f", summed over {repeats} repeats)" if repeats and repeats > 1 else ")")
    )
    fig.tight_layout()
    save(fig, path)


def plot_importances(imp: pd.DataFrame, path, top_n=20, kind=None):
    """Top-N feature importances with their site IDs (and regions); `kind`: what the
    learner's importance is (metrics.json `importance`)."""
    top = imp.sort_values("importance", ascending=False, kind="stable").head(top_n)
    top = top.iloc[::-1]
    names = top["site_id"].astype(str)
    if "region" in top:
        region = top["region"].fillna("").astype(str)
        names = [f"{s} ({r})" if r else s for s, r in zip(names, region, strict=True)]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.28 * len(top) + 1.2)))
    if len(top):
        ax.barh(np.arange(len(top)), top["importance"], color=colour(0))
        ax.set_yticks(np.arange(len(top)), names, fontsize=8)
    else:
        message(ax, "no features")
    ax.set_xlabel(f"{kind or 'impurity importance (mean decrease)'}, sums to 1")
    ax.set_title(f"Top {len(top)} of {len(imp):,} features of the final model")
    fig.tight_layout()
    save(fig, path)


def null_groups(metrics: dict) -> list:
    """[(name, per-fold DataFrame)]: the real labels, or with model.compare every learner
    (the same folds), then the shuffled labels."""
    learner = metrics.get("learner", "random_forest")
    compare = metrics.get("compare", {}).get("learners")
    if compare:
        groups = [
            (f"{name}{' *' if name == learner else ''}", pd.DataFrame(v.get("folds", [])))
            for name, v in compare.items()
        ]
    else:
        groups = [("real labels", pd.DataFrame(metrics.get("folds", [])))]
    null = f"shuffled ({learner})" if compare else "shuffled"
    return groups + [(null, pd.DataFrame(metrics.get("shuffled", {}).get("folds", [])))]


def plot_null(metrics: dict, path):
    """Per-fold metrics on the real labels vs on shuffled labels; with model.compare,
    every learner on the same folds side by side (* = the configured one)."""
    names = [
        ("accuracy", "Accuracy"),
        ("balanced_accuracy", "Balanced accuracy"),
        ("roc_auc", "ROC AUC"),
    ]
    groups = null_groups(metrics)
    wide = len(groups) > 2
    fig, axes = plt.subplots(1, 3, figsize=(14 if wide else 10, 4.4 if wide else 3.8))
    rng = np.random.default_rng(0)
    for ax, (col, label) in zip(axes, names, strict=True):
        data = [
            pd.to_numeric(t[col], errors="coerce").dropna().to_numpy() if col in t else np.array([])
            for _, t in groups
        ]
        for i, (d, (name, _)) in enumerate(zip(data, groups, strict=True)):
            if not len(d):
                continue
            ax.boxplot(
                [d], positions=[i], widths=0.5, showfliers=False, medianprops={"color": "black"}
            )
            ax.scatter(
                i + rng.uniform(-0.15, 0.15, len(d)),
                d,
                s=12,
                color=colour(i),
                marker=MARKERS[i % len(MARKERS)],
                alpha=0.8,
                zorder=3,
                label=f"{name} ({len(d)} folds)",
            )
        chance = 0.5 if col == "roc_auc" else None
        if col == "accuracy":
            chance = metrics.get("majority_baseline_accuracy")
        elif col == "balanced_accuracy" and metrics.get("classes"):
            chance = 1 / len(metrics["classes"])
        if chance is not None:
            what = "majority baseline" if col == "accuracy" else "chance"
            ax.axhline(chance, color="black", ls=":", lw=0.8, label="chance")
            ax.text(
                (len(groups) - 1) / 2,
                chance,
                f"{what} {chance:.2f}",
                ha="center",
                va="bottom",
                fontsize=7,
            )
        ax.set_xticks(
            np.arange(len(groups)),
            [g for g, _ in groups],
            rotation=30 if wide else 0,
            ha="right" if wide else "center",
            fontsize=8 if wide else None,
        )
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel(label)
        ax.set_title(label + " per CV fold")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3)
    fig.tight_layout()
    save(fig, path)


def main(smk):
    out, inp = smk.output, smk.input
    with open(smk.log[0], "w") as log:
        metrics = json.loads(Path(inp.metrics).read_text())
        plot_roc(read_tsv(inp.oof, dtype={"sample": str, "true": str}), metrics, out.roc)
        plot_confusion(metrics, out.confusion)
        imp = read_tsv(inp.importances, dtype={"site_id": str, "region": str})
        plot_importances(imp, out.importances, int(smk.params.top_n), metrics.get("importance"))
        plot_null(metrics, out.null)
        log.write(f"classes: {metrics['classes']}\n")


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
