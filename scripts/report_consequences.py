"""Rule report_consequences (rules/report.smk): how many matrix sites carry each bcftools
csq consequence (annotation.gff), and how many of them are model features.

A site counts once per consequence name it carries (a site in two overlapping genes, or
`synonymous&start_lost`, counts under each); sites outside every gene are `outside genes`."""

import pandas as pd
from annotation import consequence_terms
from plot_style import GREY, colour, message, plt, save
from table_io import read_sites, read_tsv

OUTSIDE = "outside genes"


def consequence_counts(sites: pd.DataFrame, selected: pd.DataFrame | None = None) -> pd.DataFrame:
    """consequence, sites, features (sites kept as model features), most sites first."""
    kept = set()
    if selected is not None and len(selected):
        kept = set(selected.loc[selected["kept"].astype(str) == "True", "site_id"])
    rows = {}
    for site_id, terms in zip(
        sites["site_id"], consequence_terms(sites["consequence"]), strict=True
    ):
        for t in terms or {OUTSIDE}:
            n = rows.setdefault(t, [0, 0])
            n[0] += 1
            n[1] += site_id in kept
    table = pd.DataFrame(
        [(k, v[0], v[1]) for k, v in rows.items()], columns=["consequence", "sites", "features"]
    )
    return table.sort_values(["sites", "consequence"], ascending=[False, True], ignore_index=True)


def plot_consequences(counts: pd.DataFrame, n_sites: int, path):
    fig, ax = plt.subplots(figsize=(8, 0.4 * max(len(counts), 3) + 1.5))
    if not len(counts):
        message(ax, "no sites")
        save(fig, path)
        return
    y = range(len(counts))[::-1]
    colours = [GREY if c == OUTSIDE else colour(0) for c in counts["consequence"]]
    ax.barh(list(y), counts["sites"], color=colours, label="matrix sites")
    ax.barh(list(y), counts["features"], color=colour(5), height=0.4, label="model features")
    for yi, n in zip(y, counts["sites"], strict=True):
        ax.text(n, yi, f" {n:,}", va="center", fontsize=8)
    ax.set_yticks(list(y), counts["consequence"])
    ax.set_xlabel("sites (a site counts under each consequence it has)")
    ax.set_title(f"bcftools csq consequences of the {n_sites:,} matrix sites")
    ax.legend(loc="lower right")
    save(fig, path)


def main(smk):
    sites = read_sites(smk.input.sites)
    counts = consequence_counts(sites, read_tsv(smk.input.selected, dtype=str))
    plot_consequences(counts, len(sites), smk.output.figure)
    with open(smk.log[0], "w") as log:
        log.write(counts.to_string(index=False) + "\n")


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
