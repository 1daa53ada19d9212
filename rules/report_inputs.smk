# Input functions and settings of rules/report.smk (kept apart: --lint wants rules and
# functions in different files).
import re

import sample_columns  # scripts/sample_columns.py (scripts/ is on sys.path: common.smk)
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
        else:  # its name in results/matrix/samples.tsv
            cols.append(sample_columns.sheet_column(c, config["model"]["target"]))
    return list(dict.fromkeys(cols))


PCA_COLOURS = pca_colours()


def report_file_name(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


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
        if ANNOTATION:  # rules/annotation.smk
            out.append("results/report/annotation/consequences.png")
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
            "sex": "results/sex_check/sex_check.tsv",  # rules/sex_check.smk
        }
    if FROM_READS:
        inputs["qc"] = qc_records()  # rules/map.smk markdup: trimming and mapping QC
    return inputs
