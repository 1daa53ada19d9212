"""Rule report_predictions (rules/report.smk): the predicted class and its probability
per new sample, with the observed share of model sites and low-coverage flags.

The figures are drawn by the plot_* functions (tables in, one PNG out), styled by
scripts/plot_style.py."""

import numpy as np
import pandas as pd
from plot_style import MAX_NAMED, colour, fig_width, message, plt, save
from table_io import read_tsv


def plot_predictions(pred: pd.DataFrame, path):
    """Class probabilities of the predicted samples (stacked bars), predicted class marked;
    below, each sample's share of observed model sites, low-coverage (flagged) samples in
    red and hatched above (when predictions.tsv has observed_share / low_coverage)."""
    prob_cols = [c for c in pred.columns if c.startswith("prob_")]
    classes = [c[len("prob_") :] for c in prob_cols]
    n = len(pred)
    coverage = n > 0 and "observed_share" in pred
    width_in = fig_width(n, per=0.35, base=3, lo=7)
    if coverage:
        fig, (ax, ax_cov) = plt.subplots(
            2, 1, figsize=(width_in, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
        )
    else:
        fig, ax = plt.subplots(figsize=(width_in, 4.2))
    if not n:
        message(ax, "no samples to predict (every sample is labelled)")
        ax.set_title("Predictions for new samples")
        save(fig, path)
        return
    order = pred.assign(_p=pred[prob_cols].max(axis=1)).sort_values(
        ["predicted", "_p", "sample"], ascending=[True, False, True]
    )
    if n > MAX_NAMED:
        order = order.reset_index(drop=True)
    x = np.arange(n)
    bottom = np.zeros(n)
    width = 0.8 if n <= MAX_NAMED else 1.0
    for i, (col, cls) in enumerate(zip(prob_cols, classes, strict=True)):
        v = order[col].to_numpy(dtype=float)
        ax.bar(x, v, width, bottom=bottom, color=colour(i), label=f"P({cls})", linewidth=0)
        bottom += v
    ax.axhline(0.5, color="black", ls=":", lw=0.8)
    if coverage:
        flagged = _flags(order)
        share = order["observed_share"].to_numpy(dtype=float)
        if flagged.any():
            ax.bar(x[flagged], bottom[flagged], width, fill=False, hatch="///", lw=0,
                   edgecolor="black", label="low coverage")  # fmt: skip
        ax_cov.bar(x, share, width, color=np.where(flagged, "tab:red", "0.55"), linewidth=0)
        ax_cov.set_ylim(0, 1.05)
        ax_cov.set_yticks([0, 0.5, 1])
        ax_cov.set_ylabel("observed\nshare")
        ax_cov.set_title(
            f"share of observed model sites; red: low coverage, {int(flagged.sum())} flagged",
            fontsize=9,
        )
    if n <= MAX_NAMED:
        names = order["sample"].astype(str)
        if "true_label" in order:
            names = [
                f"{s} [{t}]" if t else s
                for s, t in zip(names, order["true_label"].fillna("").astype(str), strict=True)
            ]
        (ax_cov if coverage else ax).set_xticks(
            x, names, rotation=90, fontsize=6 if n > 40 else None
        )
        for xi, cls in zip(x, order["predicted"].astype(str), strict=True):
            ax.text(xi, 1.01, cls, ha="center", va="bottom", fontsize=7, rotation=90)
        ax.set_ylim(0, 1.18 if max(len(c) for c in classes) < 8 else 1.3)
        ax.set_xlim(-0.6, max(n, 8) - 0.4)  # a lone sample keeps a slim bar
        ax.set_yticks(np.linspace(0, 1, 6))
    else:
        ax.set_xticks([])
        (ax_cov if coverage else ax).set_xlabel(f"{n} samples, grouped by predicted class")
        ax.set_ylim(0, 1.08)
        ax.set_yticks(np.linspace(0, 1, 6))
        pos = 0
        for cls, size in order["predicted"].astype(str).value_counts(sort=False).items():
            ax.text(pos + size / 2, 1.01, f"{cls} ({size})", ha="center", va="bottom", fontsize=7)
            if pos:
                ax.axvline(pos - 0.5, color="white", lw=1.5)
            pos += size
    ax.set_ylabel("predicted probability")
    known = "true_label" in order and (order["true_label"].fillna("") != "").any()
    ax.set_title(
        f"Predicted class probabilities, {n} sample{'s' if n > 1 else ''}"
        + (" (name [true label]; predicted class above)" if n <= MAX_NAMED and known else "")
        + (" (predicted class above each bar)" if n <= MAX_NAMED and not known else "")
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.tight_layout()
    save(fig, path)


def _flags(pred: pd.DataFrame) -> np.ndarray:
    """low_coverage as booleans (TSV text True/False or bools; absent = none flagged)."""
    if "low_coverage" not in pred:
        return np.zeros(len(pred), dtype=bool)
    return pred["low_coverage"].astype(str).str.lower().isin(["true", "1"]).to_numpy()


def main(smk):
    with open(smk.log[0], "w") as log:
        pred = read_tsv(
            smk.input.predictions, dtype={"sample": str, "predicted": str, "true_label": str}
        )
        plot_predictions(pred, smk.output[0])
        log.write(f"predicted samples: {len(pred)}\n")


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
