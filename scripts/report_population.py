"""Rule report_population (rules/report.smk): the genotype PCA, one figure per colouring
column (the label, then report.color_by).

The figures are drawn by the plot_* functions (tables in, one PNG out), styled by
scripts/plot_style.py."""

import numpy as np
import pandas as pd
from plot_style import GREY, UNLABELLED, colour, label_groups, marker, message, plt, save
from table_io import read_samples


def plot_pca(pca: pd.DataFrame, variance: pd.DataFrame, samples: pd.DataFrame, column, path):
    """PC1/PC2 and PC3/PC4 scatter coloured by a samples-table column, plus a scree plot."""
    if column not in samples:
        raise ValueError(f"report: samples table has no column {column!r} to colour by")
    data = pca.merge(samples[["sample", column]], on="sample", how="left")
    data[column] = data[column].fillna("").astype(str)
    groups = label_groups(data[column])
    n = len(data)
    ratio = dict(zip(variance["pc"], variance["variance_ratio"], strict=True))
    pairs = [("PC1", "PC2"), ("PC3", "PC4")]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6), gridspec_kw={"width_ratios": [1, 1, 0.8]})
    name = "label" if column == "label" else column
    for ax, (a, b) in zip(axes[:2], pairs, strict=True):
        if a not in data or b not in data:
            message(ax, f"fewer than {b[2:]} PCs")
            continue
        # Large cohorts: groups are drawn in interleaved slices, so that no group is
        # hidden under the groups drawn after it.
        slices = 10 if n > 500 else 1
        for k in range(slices):
            for i, g in enumerate(groups):
                sub = data[data[column] == g]
                part = sub.iloc[k::slices]
                ax.scatter(
                    part[a],
                    part[b],
                    s=8 if n > 500 else 30,
                    alpha=0.6 if n > 500 else 0.9,
                    color=colour(i) if g else GREY,
                    marker=marker(i) if g else "x",
                    linewidths=0.3 if g else 1,
                    label=f"{g or UNLABELLED} ({len(sub)})" if k == 0 else None,
                )
        ax.set_xlabel(f"{a} ({100 * ratio.get(a, np.nan):.1f} % of variance)")
        ax.set_ylabel(f"{b} ({100 * ratio.get(b, np.nan):.1f} % of variance)")
        ax.set_title(f"{a} vs {b}, coloured by {name}")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(
            handles,
            labels,
            title=name,
            loc="upper center",
            bbox_to_anchor=(0.4, 0.0),
            ncol=min(len(labels), 8),
            frameon=False,
            markerscale=1.5,
        )
    ax = axes[2]
    if len(variance):
        x = np.arange(1, len(variance) + 1)
        ax.bar(x, 100 * variance["variance_ratio"], color=colour(0))
        ax.set_xticks(x, variance["pc"], rotation=90 if len(x) > 10 else 0)
        ax.set_ylabel("% of variance explained")
        ax.set_title("Scree plot")
    else:
        message(ax, "no PCs")
    fig.tight_layout()
    save(fig, path)


def main(smk):
    out, inp = smk.output, smk.input
    with open(smk.log[0], "w") as log:
        pca = pd.read_csv(inp.pca, sep="\t", dtype={"sample": str})
        variance = pd.read_csv(inp.variance, sep="\t")
        samples = read_samples(inp.samples)
        for column, path in zip(smk.params.columns, out, strict=True):
            plot_pca(pca, variance, samples, column, path)
        log.write(f"samples: {len(pca)}, coloured by {list(smk.params.columns)}\n")


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
