"""Rule report_association (rules/report.smk): Manhattan and QQ plots of the per-SNP
association tests.

The figures are drawn by the plot_* functions (tables in, one PNG out), styled by
scripts/plot_style.py."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
from plot_style import GREY, colour, message, plt, save
from table_io import read_tsv


def _contig_order(chroms):
    def key(c):
        s = re.sub(r"^chr", "", str(c), flags=re.I)
        return (0, int(s), "") if s.isdigit() else (1, 0, s)

    return sorted(pd.unique(chroms), key=key)


def plot_manhattan(assoc: pd.DataFrame, summary: dict, path):
    """−log10 p along the genome, contigs alternating colours, Bonferroni line."""
    data = assoc.dropna(subset=["p"]).copy()
    fig, ax = plt.subplots(figsize=(10, 4))
    if not len(data):
        message(ax, "no testable SNPs")
        save(fig, path)
        return
    data["logp"] = -np.log10(np.clip(data["p"].astype(float), 1e-300, 1))
    contigs = _contig_order(data["chrom"])
    offset, ticks = 0.0, []
    for i, c in enumerate(contigs):
        sub = data[data["chrom"] == c]
        x = offset + sub["pos"].to_numpy(dtype=float)
        ax.scatter(x / 1e6, sub["logp"], s=8, color=colour(0) if i % 2 == 0 else colour(5))
        lo, hi = offset + sub["pos"].min(), offset + sub["pos"].max()
        ticks.append(((lo + hi) / 2 / 1e6, c))
        offset = hi + max((hi - lo) * 0.02, 1)
    bonf = -np.log10(0.05 / len(data))
    ax.axhline(bonf, color=colour(3), ls="--", lw=1, label=f"Bonferroni 5 % ({len(data):,} tests)")
    if len(contigs) > 1:
        ax.set_xticks([t[0] for t in ticks], [t[1] for t in ticks])
        ax.set_xlabel("contig")
    else:
        ax.set_xlabel(f"position on contig {contigs[0]} (Mb)")
    if (data["p"].astype(float) < 1e-300).any():
        ax.plot([], [], " ", label="p < 1e-300 drawn at 300")
    ax.set_ylabel("−log10 p")
    lam = summary.get("lambda_gc")
    test = summary.get("test") or ", ".join(sorted(data["test"].unique()))
    ax.set_title(
        f"Association with the label: {test}; λGC = {lam:.3f}"
        if isinstance(lam, int | float)
        else "Association with the label"
    )
    ax.set_ylim(0, max(data["logp"].max(), bonf) * 1.1)
    ax.legend(loc="upper right", frameon=True)
    fig.tight_layout()
    save(fig, path)


def plot_qq(assoc: pd.DataFrame, summary: dict, path):
    """Observed vs expected −log10 p with a 95 % band, λGC in the title."""
    from scipy import stats

    p = np.sort(assoc["p"].dropna().astype(float).to_numpy())
    fig, ax = plt.subplots(figsize=(4.8, 4.8))
    if not len(p):
        message(ax, "no testable SNPs")
        save(fig, path)
        return
    n = len(p)
    i = np.arange(1, n + 1)
    expected = -np.log10(i / (n + 1))
    lo = -np.log10(stats.beta.ppf(0.975, i, n - i + 1))
    hi = -np.log10(stats.beta.ppf(0.025, i, n - i + 1))
    ax.fill_between(expected, lo, hi, color=GREY, alpha=0.3, label="95 % under the null")
    ax.plot([0, expected.max()], [0, expected.max()], color="black", lw=0.8)
    ax.scatter(expected, -np.log10(np.clip(p, 1e-300, 1)), s=8, color=colour(0), label="SNPs")
    ax.set_xlabel("expected −log10 p")
    ax.set_ylabel("observed −log10 p")
    lam = summary.get("lambda_gc")
    ax.set_title(f"QQ plot, λGC = {lam:.3f}" if isinstance(lam, int | float) else "QQ plot")
    ax.legend(loc="upper left", frameon=True)
    fig.tight_layout()
    save(fig, path)


def main(smk):
    out, inp = smk.output, smk.input
    with open(smk.log[0], "w") as log:
        assoc = read_tsv(inp.table)
        summary = json.loads(Path(inp.summary).read_text())
        plot_manhattan(assoc, summary, out.manhattan)
        plot_qq(assoc, summary, out.qq)
        log.write(f"SNPs: {len(assoc)}, lambda_gc: {summary.get('lambda_gc')}\n")


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
