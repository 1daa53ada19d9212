"""Rule report_variants (rules/report.smk): sites left after each filter; Ts/Tv, QUAL, DP
and allele frequencies; missingness and heterozygosity per sample.

The figures are drawn by the plot_* functions (tables in, one PNG out), styled by
scripts/plot_style.py."""

import matplotlib
import numpy as np
import pandas as pd
from plot_style import (
    GREY,
    MAX_NAMED,
    UNLABELLED,
    colour,
    fig_width,
    label_groups,
    legend_above,
    marker,
    message,
    plt,
    sample_axis,
    save,
)
from qc import read_vcf_sites, ts_tv
from table_io import read_samples, read_tsv


def plot_filters(counts: pd.DataFrame, path):
    """Sites remaining after each filter step (masked genotypes noted, not steps)."""
    steps = counts[counts["remaining"].notna() & (counts["remaining"].astype(str) != "NA")]
    masks = counts[~counts.index.isin(steps.index)]
    remaining = steps["remaining"].astype(int).to_numpy()
    labels = steps["filter"].str.replace("_", " ").tolist()
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(steps) + 2), 3.8))
    bars = ax.bar(np.arange(len(steps)), remaining, color=colour(0))
    for b, value, removed, i in zip(
        bars, remaining, steps["removed"].astype(int), range(len(steps)), strict=True
    ):
        text = f"{value:,}" if i == 0 else f"{value:,}\n(−{removed:,})"
        if i == len(steps) - 1 and labels[i] == "output":
            text = f"{value:,}\n({removed:,} removed in all)"
        ax.text(b.get_x() + b.get_width() / 2, value, text, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(np.arange(len(steps)), labels, rotation=30, ha="right")
    ax.set_ylabel("sites remaining")
    ax.set_ylim(0, max(remaining.max(), 1) * 1.25)
    title = "Sites remaining after each filter"
    if len(masks):
        title += "\ngenotypes set missing: " + ", ".join(
            f"{int(r['removed']):,} for low {r['filter'].removeprefix('genotypes_masked_').upper()}"
            for _, r in masks.iterrows()
        )
    ax.set_title(title)
    fig.tight_layout()
    save(fig, path)


def plot_site_stats(raw: pd.DataFrame, kept: pd.DataFrame, sites: pd.DataFrame, path, filt=None):
    """Ts/Tv before and after filtering, QUAL and INFO/DP distributions (raw calls, the
    thresholds marked) and the folded allele-frequency spectrum of the matrix sites."""
    filt = filt or {}
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    ax = axes[0, 0]
    values = [ts_tv(raw), ts_tv(kept)]
    counts = [int(raw["snp"].sum()), int(kept["snp"].sum())]
    bars = ax.bar([0, 1], np.nan_to_num(values), color=[colour(0), colour(1)])
    for b, v, c in zip(bars, values, counts, strict=True):
        ax.text(
            b.get_x() + b.get_width() / 2,
            np.nan_to_num(v),
            f"{v:.2f}\n({c:,} SNPs)" if np.isfinite(v) else f"n/a\n({c:,} SNPs)",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks([0, 1], ["all calls", "after filters"])
    ax.set_ylabel("transitions / transversions")
    ax.set_ylim(0, max(np.nan_to_num(values).max(), 1) * 1.3)
    ax.set_title("Ts/Tv of biallelic SNPs")
    key_cols = ["chrom", "pos", "ref", "alt"]
    is_kept = pd.MultiIndex.from_frame(raw[key_cols].astype(str)).isin(
        pd.MultiIndex.from_frame(kept[key_cols].astype(str))
    )
    for ax, col, title, xlabel, key in (
        (axes[0, 1], "qual", "Site QUAL", "QUAL (phred)", "min_qual"),
        (axes[1, 0], "dp", "Site depth", "INFO/DP (reads over all samples)", None),
    ):
        v = raw[col].to_numpy(dtype=float)
        ok = np.isfinite(v)
        ax.set_title(title + " distribution")
        if not ok.any():
            message(ax, f"no {col.upper()} in the input VCF")
            continue
        if np.ptp(v[ok]) == 0:
            message(ax, f"every site has {col.upper()} = {v[ok][0]:g}: nothing to filter on")
            continue
        hi = np.percentile(v[ok], 99.5)
        bins = np.linspace(np.nanmin(v), hi, 41) if hi > np.nanmin(v) else 10
        ax.hist(
            [np.clip(v[ok & is_kept], None, hi), np.clip(v[ok & ~is_kept], None, hi)],
            bins=bins,
            stacked=True,
            color=[colour(0), colour(1)],
            label=["kept", "removed by the filters"],
        )
        if key and filt.get(key):
            ax.axvline(filt[key], color="black", ls="--", label=f"{key} = {filt[key]}")
        pooled = np.nanmax(v) > hi
        ax.set_xlabel(xlabel + ("; last bin: top 0.5 %" if pooled else ""))
        ax.set_ylabel("sites")
        ax.legend(frameon=True)
    ax = axes[1, 1]
    af = pd.to_numeric(sites.get("af", pd.Series(dtype=float)), errors="coerce").dropna()
    if len(af):
        maf = np.minimum(af, 1 - af)
        ax.hist(maf, bins=np.linspace(0, 0.5, 26), color=colour(2))
        ax.set_xlabel("minor allele frequency")
        ax.set_ylabel("sites")
    else:
        message(ax, "no sites after filtering")
    ax.set_title(f"Allele-frequency spectrum (folded, {len(af):,} sites)")
    fig.tight_layout()
    save(fig, path)


def plot_sample_stats(samples: pd.DataFrame, path):
    """Per-sample missingness (1 - call rate over the matrix sites) and heterozygosity."""
    samples = samples.copy()
    samples["label"] = samples["label"].fillna("").astype(str)
    samples["missingness"] = 1 - pd.to_numeric(samples["call_rate"], errors="coerce")
    samples["heterozygosity"] = pd.to_numeric(samples["heterozygosity"], errors="coerce")
    n = len(samples)
    groups = label_groups(samples["label"])
    if 40 < n <= MAX_NAMED:  # named bars need the full width: one panel per row
        fig, grid = plt.subplot_mosaic(
            [["miss", "miss"], ["het", "het"], ["scatter", "."]], figsize=(fig_width(n), 12)
        )
        axes = [grid["miss"], grid["het"], grid["scatter"]]
    else:
        fig, axes = plt.subplots(1, 3, figsize=(fig_width(n, per=0.3, base=6, lo=13, hi=18), 4))
    for ax, col, ylabel in (
        (axes[0], "missingness", "% genotypes missing"),
        (axes[1], "heterozygosity", "% of called genotypes heterozygous"),
    ):
        v = 100 * samples[col]
        if v.isna().all():
            message(ax, f"{col} not available (haploid)")
        elif n <= MAX_NAMED:
            order = samples.sort_values("sample")
            cols = [colour(groups.index(g)) if g else GREY for g in order["label"]]
            ax.bar(np.arange(n), 100 * order[col], color=cols)
            sample_axis(ax, order["sample"].tolist())
        else:
            data = [v[samples["label"] == g].dropna() for g in groups]
            ax.boxplot(
                data,
                showfliers=True,
                flierprops={"markersize": 2},
                medianprops={"color": "black"},
            )
            ax.set_xticks(
                np.arange(1, len(groups) + 1),
                [f"{g or UNLABELLED}\n(n={len(d)})" for g, d in zip(groups, data, strict=True)],
                rotation=30 if len(groups) > 4 else 0,
            )
        ax.set_ylabel(ylabel)
        if v.notna().any():
            ax.set_ylim(bottom=0, top=max(float(v.max()) * 1.05, 1.0))
            if float(v.max()) == 0:
                ax.text(0.5, 0.5, "0 in every sample", ha="center", transform=ax.transAxes)
        ax.set_title(col.capitalize() + " per sample")
    ax = axes[2]
    for i, g in enumerate(groups):
        sub = samples[samples["label"] == g]
        ax.scatter(
            100 * sub["missingness"],
            100 * sub["heterozygosity"],
            s=12 if n > MAX_NAMED else 25,
            alpha=0.6 if n > MAX_NAMED else 0.9,
            color=colour(i) if g else GREY,
            marker=marker(i) if g else "x",
            label=g or UNLABELLED,
        )
    ax.set_xlim(left=-0.02 * max(100 * samples["missingness"].max(), 1))
    ax.set_xlabel("% genotypes missing")
    ax.set_ylabel("% heterozygous")
    ax.set_title("Missingness vs heterozygosity")
    if groups:
        legend_above(ax, ncol=min(len(groups), 5), markerscale=1.2)
    if n <= MAX_NAMED and len(groups):
        handles = [
            matplotlib.patches.Patch(color=colour(i) if g else GREY, label=g or UNLABELLED)
            for i, g in enumerate(groups)
        ]
        axes[0].legend(
            handles=handles,
            title="label",
            loc="lower left",
            bbox_to_anchor=(0, 1.08),
            ncol=min(len(handles), 4),
            frameon=False,
        )
    fig.tight_layout()
    save(fig, path)


def main(smk):
    out, inp = smk.output, smk.input
    with open(smk.log[0], "w") as log:
        counts = read_tsv(inp.counts)
        plot_filters(counts, out.filters)
        raw, kept = read_vcf_sites(inp.vcf), read_vcf_sites(inp.filtered)
        sites = read_tsv(inp.sites)
        plot_site_stats(raw, kept, sites, out.sites, dict(smk.params.filter))
        plot_sample_stats(read_samples(inp.samples), out.samples)
        log.write(
            f"raw sites: {len(raw)}, kept: {len(kept)}, Ts/Tv raw {ts_tv(raw):.3f},"
            f" kept {ts_tv(kept):.3f}\n"
        )


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
