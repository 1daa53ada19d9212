# Input functions and settings of rules/report.smk (kept apart: --lint wants rules and
# functions in different files).
import re

from snakemake.logging import logger

REPORT = config["report"]


def pca_colours():
    """Columns of results/matrix/samples.tsv the PCA is coloured by: the label first,
    then the `report.color_by` columns the samples sheet has (others are skipped with a
    warning, so that one config serves sheets with and without them)."""
    cols = ["label"]
    for c in REPORT["color_by"]:
        if c not in samples.columns:
            logger.warning(f"report.color_by: the samples sheet has no column {c!r}; skipped")
        elif c in ("call_rate", "heterozygosity"):  # renamed by scripts/matrix.py
            cols.append(f"sheet_{c}")
        else:
            cols.append(c)
    return list(dict.fromkeys(cols))


PCA_COLOURS = pca_colours()


def report_file_name(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def report_unit_pairs():
    return [(s, u) for s in SAMPLES for u in sample_units(s)]


def trim_reports():
    return [
        f"results/trim/{s}/{u}.{'pe' if sheets.is_paired(units, s, u) else 'se'}.json"
        for s, u in report_unit_pairs()
    ]


def trim_logs():
    """(log, canonical name) of every unit's Cutadapt log, for MultiQC."""
    out = []
    for s, u in report_unit_pairs():
        paired = sheets.is_paired(units, s, u)
        log = f"results/logs/trim/{s}/{u}.log" if paired else f"results/logs/trim/{s}/{u}.se.log"
        out.append((log, f"{s}.{u}"))
    return out


def report_outputs():
    """Figures, summary and MultiQC report of this run mode (for get_final_outputs)."""
    out = ["results/summary.tsv", "results/report/model/predictions.png"]
    if not PREDICT_WITH:
        out += [
            "results/report/variants/filters.png",
            *[f"results/report/population/pca_{report_file_name(c)}.png" for c in PCA_COLOURS],
            "results/report/association/manhattan.png",
            "results/report/model/roc.png",
        ]
    if FROM_READS:
        out.append("results/report/qc/reads.png")
        if REPORT["multiqc"]:
            out.append("results/multiqc/multiqc_report.html")
    return out


def summary_inputs(wildcards):
    inputs = {"predictions": "results/predict/predictions.tsv"}
    if PREDICT_WITH:
        inputs |= {
            "samples": "results/predict/samples.tsv",
            "genotypes": "results/predict/genotypes.parquet",
        }
    else:
        inputs |= {
            "samples": "results/matrix/samples.tsv",
            "genotypes": "results/matrix/genotypes.parquet",
            "pca": "results/features/pca.tsv",
            "oof": "results/model/oof_predictions.tsv",
            "counts": "results/filter/filter_counts.tsv",
            "assoc": "results/association/association_summary.json",
            "metrics": "results/model/metrics.json",
        }
    if FROM_READS:
        inputs |= {
            "trim": trim_reports(),
            "flagstat": expand("results/bamstats/{sample}.flagstat.txt", sample=SAMPLES),
            "stats": expand("results/bamstats/{sample}.stats.txt", sample=SAMPLES),
            "idxstats": expand("results/bamstats/{sample}.idxstats.txt", sample=SAMPLES),
        }
    return inputs
