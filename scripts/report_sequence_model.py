"""Rule report_sequence_model (rules/sequence_model.smk): training curves, the test
confusion matrix with the accuracy of the CNN against its baselines; plot_predictions for
rule report_sequence_predictions (scripts/report_sequence_predictions.py). Styled by
scripts/plot_style.py."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from plot_style import GREY, colour, message, plt, save
from table_io import read_tsv


def plot_training(history: pd.DataFrame, path):
    """Loss and accuracy per epoch, training and validation; the kept epoch marked."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    best = history.loc[history["best"].astype(str).str.lower() == "true", "epoch"]
    for ax, key, name in ((axes[0], "loss", "loss"), (axes[1], "accuracy", "accuracy")):
        ax.plot(history["epoch"], history[key], "o-", color=colour(0), label="training")
        ax.plot(history["epoch"], history[f"val_{key}"], "s-", color=colour(1), label="validation")
        if len(best):
            ax.axvline(best.iloc[0], color=GREY, ls=":", label="kept epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
    axes[0].legend(frameon=False)
    axes[0].set_title("Training curves")
    save(fig, path)


def plot_confusion(metrics: dict, path):
    """Test confusion matrix (counts, row shares as colour) and the accuracies."""
    cm = np.array(metrics["confusion_matrix"]["rows_true_columns_predicted"])
    labels = metrics["confusion_matrix"]["labels"]
    fig, (ax, bx) = plt.subplots(
        1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1, 1.1], "wspace": 0.45}
    )
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, cm[i, j], ha="center", va="center",
                    color="white" if share[i, j] > 0.6 else "black")  # fmt: skip
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"Test split ({cm.sum()} sequences)")
    bars = {
        "CNN": metrics["accuracy"],
        **metrics["baselines"],
        "majority": metrics["majority_accuracy"],
    }
    names = list(bars)
    colours = [colour(0)] + [colour(i + 1) for i in range(len(names) - 2)] + [GREY]
    bx.barh(names, [bars[n] for n in names], color=colours)
    for y, name in enumerate(names):
        bx.text(bars[name] + 0.01, y, f"{bars[name]:.3f}", va="center")
    bx.set_xlim(0, 1.1)
    bx.invert_yaxis()
    bx.set_xlabel("test accuracy")
    bx.set_title(f"CNN against baselines (ROC AUC {metrics['roc_auc']:.3f})")
    save(fig, path)


def plot_predictions(predictions: pd.DataFrame, classes, path):
    """Predicted classes (counts) and the probability of the predicted class."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 3.6))
    if predictions.empty:
        message(ax, "no sequence to predict")
        save(fig, path)
        return
    counts = predictions["predicted"].value_counts().reindex(classes, fill_value=0)
    ax.bar(
        counts.index.astype(str), counts.to_numpy(), color=[colour(i) for i in range(len(classes))]
    )
    ax.set_ylabel("sequences")
    ax.set_title(f"Predicted class ({len(predictions)} sequences)")
    proba = predictions[[f"p_{c}" for c in classes]].to_numpy().max(axis=1)
    for i, c in enumerate(classes):
        sel = predictions["predicted"].astype(str).to_numpy() == str(c)
        if sel.any():
            bx.hist(
                proba[sel], bins=np.linspace(0, 1, 21), alpha=0.6, color=colour(i), label=str(c)
            )
    bx.set_xlabel("probability of the predicted class")
    bx.set_ylabel("sequences")
    bx.legend(frameon=False)
    save(fig, path)


def _main(smk):
    plot_training(read_tsv(smk.input.history), smk.output.training)
    plot_confusion(json.loads(Path(smk.input.metrics).read_text()), smk.output.confusion)
    Path(smk.log[0]).write_text("done\n")


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
