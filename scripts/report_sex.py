"""Rule report_sex (rules/sex_check.smk): the sex check as a figure.

From reads: X depth ratio against Y depth ratio (both relative to the autosomes), one
point per sample coloured by the sheet's sex, mismatches with the sheet ringed in red,
the thresholds of scripts/sex_check.py as dashed lines. From a VCF alone: the share of
haploid X calls against the X heterozygosity relative to the autosomes'."""

import numpy as np
import pandas as pd
from plot_style import GREY, colour, legend_above, message, plt, save
from sex_check import HET_RATIO_MALE, X_RATIO_MALE, Y_RATIO_MALE

SHEET_COLOURS = {"male": colour(4), "female": colour(5), "unknown": GREY}


def plot_sex(table: pd.DataFrame, path):
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    depth = table["x_ratio"].notna().any() if "x_ratio" in table else False
    xcol, ycol = ("x_ratio", "y_ratio") if depth else ("x_het_ratio", "x_haploid_share")
    t = table.copy()
    if depth and t["y_ratio"].isna().all():
        t["y_ratio"] = 0.0  # no Y contig: the X ratio alone
    t = t[t[xcol].notna() & t[ycol].notna()]
    if t.empty:
        message(ax, "no X (or Y) data to infer sex from")
        save(fig, path)
        return
    for sex, group in t.groupby(t["sheet_sex"].fillna("unknown")):
        ax.scatter(group[xcol], group[ycol], s=22, color=SHEET_COLOURS.get(sex, GREY),
                   label=f"sheet: {sex} ({len(group)})", alpha=0.8)  # fmt: skip
    bad = t[t["mismatch"].astype(str) == "True"]
    if len(bad):
        ax.scatter(bad[xcol], bad[ycol], s=90, facecolors="none", edgecolors="red", lw=1.5,
                   label=f"mismatch ({len(bad)})")  # fmt: skip
        for r in bad.itertuples():
            ax.annotate(r.sample, (getattr(r, xcol), getattr(r, ycol)), fontsize=7,
                        xytext=(4, 4), textcoords="offset points")  # fmt: skip
    if depth:
        ax.axvline(X_RATIO_MALE, ls="--", color=GREY, lw=0.8)
        ax.axhline(Y_RATIO_MALE, ls="--", color=GREY, lw=0.8)
        ax.set_xlabel("X depth / autosomal depth (female ~1, male ~0.5)")
        ax.set_ylabel("Y depth / autosomal depth (male > 0)")
    else:
        ax.axvline(HET_RATIO_MALE, ls="--", color=GREY, lw=0.8)
        ax.axhline(0.5, ls="--", color=GREY, lw=0.8)
        ax.set_xlabel("X heterozygosity / autosomal heterozygosity")
        ax.set_ylabel("share of haploid X calls")
    lo = min(0.0, float(np.nanmin(t[xcol])))
    ax.set_xlim(lo - 0.05, max(1.3, float(np.nanmax(t[xcol])) + 0.1))
    ax.set_title("Sex check: the data against the samples sheet")
    legend_above(ax, ncol=2)
    save(fig, path)


def _main(smk):
    table = pd.read_csv(smk.input.tsv, sep="\t", dtype={"sample": str}, na_values=["NA"],
                        keep_default_na=False)  # fmt: skip
    plot_sex(table, smk.output.png)
    with open(smk.log[0], "w") as log:
        log.write(f"samples: {len(table)}\n")


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
