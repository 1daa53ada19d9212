"""The report figures' shared look (scripts/report_*.py): matplotlib's Agg backend and
rcParams, set once on import; the Okabe-Ito palette (colour-blind safe) with marker
shapes as a second cue; helpers for sample axes, legends and figure widths.

Readability at any cohort size: per-sample bars with names up to MAX_NAMED samples;
above that the same numbers are drawn as distributions (histograms, sorted profiles)
without names, so a 2,504-sample panel stays legible.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

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


def message(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#444444")
    ax.set_xticks([])
    ax.set_yticks([])


def fig_width(n, per=0.25, base=4.0, lo=8.0, hi=16.0):
    """Figure width (inches): grows with named samples, fixed for distributions."""
    if n > MAX_NAMED:
        return lo
    per = min(per, 0.15) if n > 40 else per  # smaller names from 40 samples on
    return max(lo, min(per * n + base, max(hi, 18.0)))


def legend_above(ax, ncol=3, **kw):
    """Legend in a row above the axes (never over the data); the title moves up."""
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncol=ncol, frameon=False, **kw)
    ax.set_title(ax.get_title(), pad=8 + 14 * int(np.ceil(len(ax.get_legend().texts) / ncol)))


def sample_axis(ax, names, horizontal=False):
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


def label_groups(labels: pd.Series):
    """Sorted label groups, unlabelled ("") last."""
    values = sorted(v for v in labels.unique() if v != "")
    return values + ([""] if (labels == "").any() else [])
