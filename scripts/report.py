"""Figures of the report (matplotlib, PNG): read QC, mapping, variants, population
structure, association and the model. Each `plot_*` function takes tables (pandas) or
parsed JSON and writes one PNG; the `read_*`/`*_table` functions parse the workflow's
own outputs. Nothing here touches the `snakemake` object except `_main` at the end.

Readability at any cohort size: per-sample bars with names up to MAX_NAMED samples;
above that the same numbers are drawn as distributions (histograms, sorted profiles)
without names, so a 2,504-sample panel stays legible.

Colours: the Okabe-Ito palette (colour-blind safe), with marker shapes as a second cue.
"""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from tables import read_tsv  # noqa: E402

OKABE_ITO = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
GREY = "#999999"
MAX_NAMED = 100  # above this many samples, per-sample plots become distributions
DPI = 150
UNLABELLED = "unlabelled"

plt.rcParams.update(
    {
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "legend.fontsize": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
        "savefig.dpi": DPI,
        "figure.dpi": DPI,
    }
)


def colour(i: int) -> str:
    return OKABE_ITO[i % len(OKABE_ITO)]


def marker(i: int) -> str:
    return MARKERS[(i // len(OKABE_ITO) + i) % len(MARKERS)]


def save(fig, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def _message(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#444444")
    ax.set_xticks([])
    ax.set_yticks([])


def _width(n, per=0.25, base=4.0, lo=8.0, hi=16.0):
    """Figure width (inches): grows with named samples, fixed for distributions."""
    if n > MAX_NAMED:
        return lo
    per = min(per, 0.15) if n > 40 else per  # smaller names from 40 samples on
    return max(lo, min(per * n + base, max(hi, 18.0)))


def _legend_above(ax, ncol=3, **kw):
    """Legend in a row above the axes (never over the data); the title moves up."""
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncol=ncol, frameon=False, **kw)
    ax.set_title(ax.get_title(), pad=8 + 14 * int(np.ceil(len(ax.get_legend().texts) / ncol)))


def _sample_axis(ax, names, horizontal=False):
    """Sample names on the axis when few, else a plain count of samples."""
    n = len(names)
    if n <= MAX_NAMED:
        size = 6 if n > 40 else None
        if horizontal:
            ax.set_yticks(np.arange(n), names, fontsize=size)
        else:
            ax.set_xticks(np.arange(n), names, rotation=90, fontsize=size)
    elif horizontal:
        ax.set_yticks([])
        ax.set_ylabel(f"{n} samples")
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{n} samples (sorted by value)")


# ----------------------------------------------------------------------------- parsers


def read_cutadapt(paths) -> pd.DataFrame:
    """One row per unit from Cutadapt JSON reports `results/trim/<sample>/<unit>.<pe|se>.json`.

    reads_in/reads_out are read pairs for paired-end units (reads for single-end);
    with_adapter counts reads (R1 + R2) with an adapter; bp_in/bp_out base pairs."""
    rows = []
    for path in paths:
        path = Path(path)
        data = json.loads(path.read_text())
        rc, bp = data["read_counts"], data["basepair_counts"]
        rows.append(
            {
                "sample": path.parent.name,
                "unit": path.name.rsplit(".", 2)[0],
                "reads_in": int(rc["input"]),
                "reads_out": int(rc["output"]),
                "with_adapter": int(rc.get("read1_with_adapter") or 0)
                + int(rc.get("read2_with_adapter") or 0),
                "bp_in": int(bp["input"]),
                "bp_out": int(bp["output"]),
                "paired": path.name.endswith(".pe.json"),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "sample",
            "unit",
            "reads_in",
            "reads_out",
            "with_adapter",
            "bp_in",
            "bp_out",
            "paired",
        ],
    )


def trimming_table(units: pd.DataFrame) -> pd.DataFrame:
    """Per sample (units summed): reads in/out, share of reads removed, share of reads with
    an adapter (of R1 + R2 reads), share of bases trimmed or removed."""
    cols = ["reads_in", "reads_out", "with_adapter", "bp_in", "bp_out"]
    units = units.assign(reads_seen=units["reads_in"] * np.where(units["paired"], 2, 1))
    per = units.groupby("sample", sort=True)[[*cols, "reads_seen"]].sum()
    out = per[cols].copy()
    out["reads_removed_share"] = 1 - per["reads_out"] / per["reads_in"]
    out["adapter_share"] = per["with_adapter"] / per["reads_seen"]
    out["bases_trimmed_share"] = 1 - per["bp_out"] / per["bp_in"]
    return out.reset_index()


FLAGSTAT_KEYS = {
    "in total": "total",
    "primary": "primary",
    "secondary": "secondary",
    "supplementary": "supplementary",
    "duplicates": "duplicates",
    "primary duplicates": "primary_duplicates",
    "mapped": "mapped",
    "primary mapped": "primary_mapped",
    "paired in sequencing": "paired",
    "properly paired": "properly_paired",
}


def read_flagstat(path) -> dict:
    """QC-passed counts of `samtools flagstat` (default text format), by FLAGSTAT_KEYS."""
    out = {}
    for line in Path(path).read_text().splitlines():
        m = re.match(r"(\d+) \+ (\d+) (.+?)(?: \(.*)?$", line.strip())
        if not m:
            continue
        desc = m.group(3).strip()
        if desc.startswith("in total"):
            desc = "in total"
        if desc in FLAGSTAT_KEYS:
            out[FLAGSTAT_KEYS[desc]] = int(m.group(1))
    return out


def read_samtools_stats(path):
    """(SN dict name -> number, COV DataFrame depth/bases) of `samtools stats`."""
    sn, cov = {}, []
    for line in Path(path).read_text().splitlines():
        if line.startswith("SN\t"):
            _, key, value, *_ = line.split("\t")
            try:
                sn[key.rstrip(":")] = float(value)
            except ValueError:
                pass
        elif line.startswith("COV\t"):
            _, _, depth, count = line.split("\t")[:4]
            cov.append((int(depth), int(count)))
    return sn, pd.DataFrame(cov, columns=["depth", "bases"])


def read_genome_length(idxstats) -> int:
    """Reference length: sum of the sequence lengths of `samtools idxstats`."""
    table = pd.read_csv(idxstats, sep="\t", header=None, usecols=[0, 1])
    return int(table.loc[table[0] != "*", 1].sum())


def depth_histogram(cov: pd.DataFrame, genome_length: int) -> pd.DataFrame:
    """Bases per depth, with the uncovered bases (depth 0) that `samtools stats` omits."""
    zero = max(genome_length - int(cov["bases"].sum()), 0)
    hist = pd.concat([pd.DataFrame({"depth": [0], "bases": [zero]}), cov], ignore_index=True)
    return hist.groupby("depth", as_index=False)["bases"].sum()


def mapping_table(samples, flagstats, stats, idxstats) -> tuple:
    """(per-sample mapping table, {sample: depth histogram}).

    mapping_rate = mapped / total, properly_paired_rate = properly paired / paired in
    sequencing, duplicate_rate = primary duplicates / primary mapped (all from flagstat,
    QC-passed reads); mean_depth = sum(depth × bases) / reference length from the
    `samtools stats` coverage histogram (capped at its top bin)."""
    rows, hists = [], {}
    for sample, fs_path, st_path, idx_path in zip(samples, flagstats, stats, idxstats, strict=True):
        fs = read_flagstat(fs_path)
        _, cov = read_samtools_stats(st_path)
        hist = depth_histogram(cov, read_genome_length(idx_path))
        hists[sample] = hist
        dup = fs.get("primary_duplicates", fs.get("duplicates", 0))
        prim_mapped = fs.get("primary_mapped", fs.get("mapped", 0))
        rows.append(
            {
                "sample": sample,
                "total_reads": fs["total"],
                "mapped_reads": fs["mapped"],
                "mapping_rate": fs["mapped"] / fs["total"] if fs["total"] else np.nan,
                "properly_paired_rate": fs["properly_paired"] / fs["paired"]
                if fs.get("paired")
                else np.nan,
                "duplicate_rate": dup / prim_mapped if prim_mapped else np.nan,
                "mean_depth": float((hist["depth"] * hist["bases"]).sum() / hist["bases"].sum())
                if hist["bases"].sum()
                else np.nan,
            }
        )
    return pd.DataFrame(rows), hists


def read_vcf_sites(path) -> pd.DataFrame:
    """Site table of a VCF (no genotypes): chrom, pos, ref, alt, qual, dp (INFO/DP),
    snp (biallelic SNP), transition (of SNPs)."""
    import cyvcf2

    rows = []
    reader = cyvcf2.VCF(str(path), lazy=True, samples=[])
    has_dp = any(h.info().get("ID") == "DP" and h.type == "INFO" for h in reader.header_iter())
    for v in reader:
        alt = v.ALT[0] if len(v.ALT) == 1 else ""
        snp = len(v.REF) == 1 and len(alt) == 1 and alt != "*"
        dp = v.INFO.get("DP") if has_dp else None
        rows.append(
            (
                v.CHROM,
                v.POS,
                v.REF,
                ",".join(v.ALT),
                np.nan if v.QUAL is None else float(v.QUAL),
                np.nan if dp is None else float(dp),
                snp,
                snp and {v.REF.upper(), alt.upper()} in ({"A", "G"}, {"C", "T"}),
            )
        )
    reader.close()
    return pd.DataFrame(
        rows, columns=["chrom", "pos", "ref", "alt", "qual", "dp", "snp", "transition"]
    )


def ts_tv(sites: pd.DataFrame) -> float:
    """Transitions / transversions of the biallelic SNPs (NaN without transversions)."""
    snps = sites[sites["snp"]]
    tv = int((~snps["transition"]).sum())
    return float(snps["transition"].sum() / tv) if tv else float("nan")


# ----------------------------------------------------------------------------- QC figures


def plot_reads(trim: pd.DataFrame, path):
    """Reads before/after trimming per sample, and the shares trimmed."""
    trim = trim.sort_values("sample")
    n = len(trim)
    fig, axes = plt.subplots(1, 2, figsize=(_width(n, lo=10), 3.8))
    ax = axes[0]
    if n <= MAX_NAMED:
        x = np.arange(n)
        ax.bar(x - 0.2, trim["reads_in"], 0.4, label="before trimming", color=colour(0))
        ax.bar(x + 0.2, trim["reads_out"], 0.4, label="after trimming", color=colour(1))
        _sample_axis(ax, trim["sample"].tolist())
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
    _legend_above(ax, ncol=2)
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
        _sample_axis(ax, trim["sample"].tolist())
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
    _legend_above(ax, ncol=2)
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
    fig, axes = plt.subplots(2, 2, figsize=(_width(n, per=0.22, lo=9), 6.5))
    for ax, (col, title, ylabel, scale), i in zip(axes.flat, panels, range(4), strict=True):
        values = scale * mapping[col].to_numpy(dtype=float)
        if np.isnan(values).all():
            _message(ax, "not available (single-end reads)")
        elif n <= MAX_NAMED:
            ax.bar(np.arange(n), values, color=colour(i))
            _sample_axis(ax, mapping["sample"].tolist())
            if scale == 100:
                lo = np.nanmin(values)
                ax.set_ylim(max(0, lo - 5) if lo > 50 else 0, min(100, np.nanmax(values) * 1.02))
        else:
            ax.plot(np.arange(n), np.sort(values), color=colour(i), lw=1.5)
            _sample_axis(ax, mapping["sample"].tolist())
        ax.set_ylabel(ylabel)
        if not np.isnan(values).all():
            unit = " %" if scale == 100 else "×"
            title += f" (median {np.nanmedian(values):.{1 if scale == 1 else 2}f}{unit})"
        ax.set_title(title)
    fig.tight_layout()
    save(fig, path)


def plot_depth(hists: dict, path, max_depth=None):
    """Share of the reference covered at each depth, one line per sample (≤ MAX_NAMED
    samples get a legend), or the median and 5-95 % band of samples above that."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    names = sorted(hists)
    if not names:
        for ax in axes:
            _message(ax, "no samples")
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
    frac = np.vstack(
        [
            hists[s].set_index("depth")["bases"].reindex(depth, fill_value=0).to_numpy()
            / max(hists[s]["bases"].sum(), 1)
            for s in names
        ]
    )
    at_least = np.vstack(
        [
            1
            - np.concatenate(
                [[0], np.cumsum(hists[s].set_index("depth")["bases"].sort_index().to_numpy())]
            )[: max_depth + 1]
            / max(hists[s]["bases"].sum(), 1)
            for s in names
        ]
    )
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


# ----------------------------------------------------------------------------- variants


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
            _message(ax, f"no {col.upper()} in the input VCF")
            continue
        if np.ptp(v[ok]) == 0:
            _message(ax, f"every site has {col.upper()} = {v[ok][0]:g}: nothing to filter on")
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
        _message(ax, "no sites after filtering")
    ax.set_title(f"Allele-frequency spectrum (folded, {len(af):,} sites)")
    fig.tight_layout()
    save(fig, path)


def _groups(labels: pd.Series):
    """Sorted label groups, unlabelled ("") last."""
    values = sorted(v for v in labels.unique() if v != "")
    return values + ([""] if (labels == "").any() else [])


def plot_sample_stats(samples: pd.DataFrame, path):
    """Per-sample missingness (1 - call rate over the matrix sites) and heterozygosity."""
    samples = samples.copy()
    samples["label"] = samples["label"].fillna("").astype(str)
    samples["missingness"] = 1 - pd.to_numeric(samples["call_rate"], errors="coerce")
    samples["heterozygosity"] = pd.to_numeric(samples["heterozygosity"], errors="coerce")
    n = len(samples)
    groups = _groups(samples["label"])
    if 40 < n <= MAX_NAMED:  # named bars need the full width: one panel per row
        fig, grid = plt.subplot_mosaic(
            [["miss", "miss"], ["het", "het"], ["scatter", "."]], figsize=(_width(n), 12)
        )
        axes = [grid["miss"], grid["het"], grid["scatter"]]
    else:
        fig, axes = plt.subplots(1, 3, figsize=(_width(n, per=0.3, base=6, lo=13, hi=18), 4))
    for ax, col, ylabel in (
        (axes[0], "missingness", "% genotypes missing"),
        (axes[1], "heterozygosity", "% of called genotypes heterozygous"),
    ):
        v = 100 * samples[col]
        if v.isna().all():
            _message(ax, f"{col} not available (haploid)")
        elif n <= MAX_NAMED:
            order = samples.sort_values("sample")
            cols = [colour(groups.index(g)) if g else GREY for g in order["label"]]
            ax.bar(np.arange(n), 100 * order[col], color=cols)
            _sample_axis(ax, order["sample"].tolist())
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
        _legend_above(ax, ncol=min(len(groups), 5), markerscale=1.2)
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


# ----------------------------------------------------------------------------- population


def plot_pca(pca: pd.DataFrame, variance: pd.DataFrame, samples: pd.DataFrame, column, path):
    """PC1/PC2 and PC3/PC4 scatter coloured by a samples-table column, plus a scree plot."""
    if column not in samples:
        raise ValueError(f"report: samples table has no column {column!r} to colour by")
    data = pca.merge(samples[["sample", column]], on="sample", how="left")
    data[column] = data[column].fillna("").astype(str)
    groups = _groups(data[column])
    n = len(data)
    ratio = dict(zip(variance["pc"], variance["variance_ratio"], strict=True))
    pairs = [("PC1", "PC2"), ("PC3", "PC4")]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6), gridspec_kw={"width_ratios": [1, 1, 0.8]})
    name = "label" if column == "label" else column
    for ax, (a, b) in zip(axes[:2], pairs, strict=True):
        if a not in data or b not in data:
            _message(ax, f"fewer than {b[2:]} PCs")
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
        _message(ax, "no PCs")
    fig.tight_layout()
    save(fig, path)


# ----------------------------------------------------------------------------- association


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
        _message(ax, "no testable SNPs")
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
        _message(ax, "no testable SNPs")
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


# ----------------------------------------------------------------------------- model


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


def plot_importances(imp: pd.DataFrame, path, top_n=20):
    """Top-N feature importances with their site IDs (and regions)."""
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
        _message(ax, "no features")
    ax.set_xlabel("impurity importance (mean decrease, sums to 1)")
    ax.set_title(f"Top {len(top)} of {len(imp):,} features of the final model")
    fig.tight_layout()
    save(fig, path)


def plot_null(metrics: dict, path):
    """Per-fold metrics on the real labels vs on shuffled labels."""
    names = [
        ("accuracy", "Accuracy"),
        ("balanced_accuracy", "Balanced accuracy"),
        ("roc_auc", "ROC AUC"),
    ]
    real = pd.DataFrame(metrics.get("folds", []))
    null = pd.DataFrame(metrics.get("shuffled", {}).get("folds", []))
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.8))
    rng = np.random.default_rng(0)
    for ax, (col, label) in zip(axes, names, strict=True):
        data = [
            pd.to_numeric(t[col], errors="coerce").dropna().to_numpy() if col in t else np.array([])
            for t in (real, null)
        ]
        for i, (d, name) in enumerate(zip(data, ("real labels", "shuffled"), strict=True)):
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
                marker=MARKERS[i],
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
            ax.axhline(chance, color="black", ls=":", lw=0.8, label="chance")
            ax.text(0.5, chance, f"chance {chance:.2f}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks([0, 1], ["real labels", "shuffled"])
        ax.set_xlim(-0.6, 1.6)
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel(label)
        ax.set_title(label + " per CV fold")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3)
    fig.tight_layout()
    save(fig, path)


def plot_predictions(pred: pd.DataFrame, path):
    """Class probabilities of the predicted samples (stacked bars), predicted class marked;
    below, each sample's share of observed model sites, low-coverage (flagged) samples in
    red and hatched above (when predictions.tsv has observed_share / low_coverage)."""
    prob_cols = [c for c in pred.columns if c.startswith("prob_")]
    classes = [c[len("prob_") :] for c in prob_cols]
    n = len(pred)
    coverage = n > 0 and "observed_share" in pred
    width_in = _width(n, per=0.35, base=3, lo=7)
    if coverage:
        fig, (ax, ax_cov) = plt.subplots(
            2, 1, figsize=(width_in, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
        )
    else:
        fig, ax = plt.subplots(figsize=(width_in, 4.2))
    if not n:
        _message(ax, "no samples to predict (every sample is labelled)")
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


# ----------------------------------------------------------------------------- entry point


def _samples_table(path):
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def _main(smk):
    out, inp, rule = smk.output, smk.input, smk.rule
    with open(smk.log[0], "w") as log:
        if rule == "report_qc":
            trim = trimming_table(read_cutadapt(inp.trim))
            plot_reads(trim, out.reads)
            mapping, hists = mapping_table(
                smk.params.samples, inp.flagstat, inp.stats, inp.idxstats
            )
            plot_mapping(mapping, out.mapping)
            plot_depth(hists, out.depth)
            log.write(f"samples: {len(mapping)}, units: {len(trim)}\n")
        elif rule == "report_variants":
            counts = read_tsv(inp.counts)
            plot_filters(counts, out.filters)
            raw, kept = read_vcf_sites(inp.vcf), read_vcf_sites(inp.filtered)
            sites = read_tsv(inp.sites)
            plot_site_stats(raw, kept, sites, out.sites, dict(smk.params.filter))
            plot_sample_stats(_samples_table(inp.samples), out.samples)
            log.write(
                f"raw sites: {len(raw)}, kept: {len(kept)}, Ts/Tv raw {ts_tv(raw):.3f},"
                f" kept {ts_tv(kept):.3f}\n"
            )
        elif rule == "report_population":
            pca = pd.read_csv(inp.pca, sep="\t", dtype={"sample": str})
            variance = pd.read_csv(inp.variance, sep="\t")
            samples = _samples_table(inp.samples)
            for column, path in zip(smk.params.columns, out, strict=True):
                plot_pca(pca, variance, samples, column, path)
            log.write(f"samples: {len(pca)}, coloured by {list(smk.params.columns)}\n")
        elif rule == "report_association":
            assoc = read_tsv(inp.table)
            summary = json.loads(Path(inp.summary).read_text())
            plot_manhattan(assoc, summary, out.manhattan)
            plot_qq(assoc, summary, out.qq)
            log.write(f"SNPs: {len(assoc)}, lambda_gc: {summary.get('lambda_gc')}\n")
        elif rule == "report_model":
            metrics = json.loads(Path(inp.metrics).read_text())
            plot_roc(read_tsv(inp.oof, dtype={"sample": str, "true": str}), metrics, out.roc)
            plot_confusion(metrics, out.confusion)
            imp = read_tsv(inp.importances, dtype={"site_id": str, "region": str})
            plot_importances(imp, out.importances, int(smk.params.top_n))
            plot_null(metrics, out.null)
            log.write(f"classes: {metrics['classes']}\n")
        elif rule == "report_predictions":
            pred = read_tsv(
                inp.predictions, dtype={"sample": str, "predicted": str, "true_label": str}
            )
            plot_predictions(pred, out[0])
            log.write(f"predicted samples: {len(pred)}\n")
        else:
            raise ValueError(f"report.py: unknown rule {rule}")


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
