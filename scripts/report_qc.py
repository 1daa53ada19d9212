"""Rule report_qc (rules/report.smk): reads before and after trimming, mapping rate, pairs,
duplicates and depth, per sample.

The figures are drawn by the plot_* functions (tables in, one PNG out), styled by
scripts/plot_style.py."""

import numpy as np
import pandas as pd
from plot_style import MAX_NAMED, colour, fig_width, legend_above, message, plt, sample_axis, save
from qc import read_sample_qc, trimming_table


def plot_reads(trim: pd.DataFrame, path):
    """Reads before/after trimming per sample, and the shares trimmed."""
    trim = trim.sort_values("sample")
    n = len(trim)
    fig, axes = plt.subplots(1, 2, figsize=(fig_width(n, lo=10), 3.8))
    ax = axes[0]
    if n <= MAX_NAMED:
        x = np.arange(n)
        ax.bar(x - 0.2, trim["reads_in"], 0.4, label="before trimming", color=colour(0))
        ax.bar(x + 0.2, trim["reads_out"], 0.4, label="after trimming", color=colour(1))
        sample_axis(ax, trim["sample"].tolist())
    else:
        v = np.concatenate([trim["reads_in"], trim["reads_out"]])
        bins = np.linspace(v.min(), v.max() + 1, 41)
        for i, (col, label) in enumerate((("reads_in", "before"), ("reads_out", "after"))):
            ax.hist(
                trim[col],
                bins=bins,
                histtype="step",
                lw=1.5,
                color=colour(i),
                label=label + " trimming",
            )
        ax.set_xlabel("reads (pairs) per sample")
    ax.set_ylabel("read pairs (or reads, single-end)" if n <= MAX_NAMED else "samples")
    ax.set_title("Reads before and after trimming")
    legend_above(ax, ncol=2)
    ax = axes[1]
    shares = [
        ("adapter_share", "reads with adapter"),
        ("bases_trimmed_share", "bases trimmed or removed"),
        ("reads_removed_share", "reads (pairs) removed"),
    ]
    if n <= MAX_NAMED:
        x = np.arange(n)
        for i, (col, label) in enumerate(shares):
            ax.bar(x + (i - 1) * 0.27, 100 * trim[col], 0.27, label=label, color=colour(i + 2))
        sample_axis(ax, trim["sample"].tolist())
        ax.set_ylabel("% of sample")
    else:
        bins = np.linspace(0, max(100 * trim[[c for c, _ in shares]].max().max(), 1e-6), 41)
        for i, (col, label) in enumerate(shares):
            ax.hist(
                100 * trim[col],
                bins=bins,
                histtype="step",
                lw=1.5,
                label=label,
                color=colour(i + 2),
            )
        ax.set_xlabel("% of sample")
        ax.set_ylabel("samples")
    ax.set_title("Share trimmed")
    legend_above(ax, ncol=2)
    fig.tight_layout()
    save(fig, path)


def plot_mapping(mapping: pd.DataFrame, path):
    """Mapping rate, properly paired, duplicate rate (%) and mean depth (×) per sample."""
    mapping = mapping.sort_values("sample")
    n = len(mapping)
    panels = [
        ("mapping_rate", "Mapping rate", "% of reads mapped", 100),
        ("properly_paired_rate", "Properly paired", "% of paired reads", 100),
        ("duplicate_rate", "Duplicate rate", "% of mapped reads", 100),
        ("mean_depth", "Mean depth", "mean depth (×)", 1),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(fig_width(n, per=0.22, lo=9), 6.5))
    for ax, (col, title, ylabel, scale), i in zip(axes.flat, panels, range(4), strict=True):
        values = scale * mapping[col].to_numpy(dtype=float)
        if np.isnan(values).all():
            message(ax, "not available (single-end reads)")
        elif n <= MAX_NAMED:
            ax.bar(np.arange(n), values, color=colour(i))
            sample_axis(ax, mapping["sample"].tolist())
            if scale == 100:
                lo = np.nanmin(values)
                ax.set_ylim(max(0, lo - 5) if lo > 50 else 0, min(100, np.nanmax(values) * 1.02))
        else:
            ax.plot(np.arange(n), np.sort(values), color=colour(i), lw=1.5)
            sample_axis(ax, mapping["sample"].tolist())
        ax.set_ylabel(ylabel)
        if not np.isnan(values).all():
            unit = " %" if scale == 100 else "×"
            title += f" (median {np.nanmedian(values):.{1 if scale == 1 else 2}f}{unit})"
        ax.set_title(title)
    fig.tight_layout()
    save(fig, path)


def depth_shares(hists: dict, names, max_depth):
    """(share of the reference at depth d, share at depth >= d), samples x 0..max_depth.

    Each histogram is put on the same depths first: a sample whose reads reach fewer
    depths than the cohort's max_depth, or whose histogram skips a depth, still gives a
    full row (tiny-read cohorts of ~1,000 samples had rows of 21 and 23 depths)."""
    depth = np.arange(max_depth + 1)
    frac, at_least = [], []
    for s in names:
        h = hists[s].groupby("depth")["bases"].sum()
        total = max(h.sum(), 1)
        counts = h.reindex(depth, fill_value=0).to_numpy()
        frac.append(counts / total)
        at_least.append(1 - np.concatenate([[0], np.cumsum(counts)[:-1]]) / total)
    return np.vstack(frac), np.vstack(at_least)


def plot_depth(hists: dict, path, max_depth=None):
    """Share of the reference covered at each depth, one line per sample (≤ MAX_NAMED
    samples get a legend), or the median and 5-95 % band of samples above that."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    names = sorted(hists)
    if not names:
        for ax in axes:
            message(ax, "no samples")
        save(fig, path)
        return
    if max_depth is None:
        # Up to the depth below which 99.5 % of the bases of every sample lie.
        q = []
        for h in hists.values():
            c = h["bases"].cumsum() / max(h["bases"].sum(), 1)
            q.append(int(h["depth"].iloc[min(int(np.searchsorted(c, 0.995)), len(h) - 1)]))
        max_depth = max(max(q), 5)
    depth = np.arange(max_depth + 1)
    frac, at_least = depth_shares(hists, names, max_depth)
    for ax, data, ylabel, title in (
        (axes[0], frac, "% of reference", "Depth distribution"),
        (axes[1], at_least, "% of reference at ≥ depth", "Cumulative depth"),
    ):
        if len(names) <= 8:
            for i, s in enumerate(names):
                ax.plot(depth, 100 * data[i], color=colour(i), lw=1.2, label=s)
        elif len(names) <= MAX_NAMED:
            for row in data:
                ax.plot(depth, 100 * row, color=colour(0), lw=0.6, alpha=0.4)
            ax.plot([], [], color=colour(0), lw=0.6, label=f"{len(names)} samples, one line each")
            ax.plot(depth, 100 * np.median(data, axis=0), color=colour(3), lw=2, label="median")
        else:
            lo, med, hi = np.percentile(100 * data, [5, 50, 95], axis=0)
            ax.fill_between(depth, lo, hi, color=colour(0), alpha=0.3, label="5-95 % of samples")
            ax.plot(depth, med, color=colour(0), lw=2, label=f"median of {len(names)} samples")
        ax.set_xlabel("read depth (×)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.set_xlim(0, max_depth)
        ax.legend(loc="upper right", frameon=True, fontsize=7)
    fig.tight_layout()
    save(fig, path)


def main(smk):
    out, inp = smk.output, smk.input
    with open(smk.log[0], "w") as log:
        units, mapping, hists = read_sample_qc(inp.qc)
        trim = trimming_table(units)
        plot_reads(trim, out.reads)
        plot_mapping(mapping, out.mapping)
        plot_depth(hists, out.depth)
        log.write(f"samples: {len(mapping)}, units: {len(trim)}\n")


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
