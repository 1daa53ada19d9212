"""results/summary.tsv: one row per sample with the headline numbers of every step.

Columns (those of steps that ran in this mode; missing value = NA):

* sample, label ("" = unlabelled);
* from reads: reads_in, reads_out (read pairs for paired-end; units summed),
  reads_removed_share, adapter_share (of R1 + R2 reads), bases_trimmed_share (Cutadapt
  JSON); total_reads, mapped_reads, mapping_rate, properly_paired_rate, duplicate_rate
  (samtools flagstat), mean_depth (samtools stats coverage / reference length); the
  definitions are those of scripts/qc.py mapping_table();
* call_rate, heterozygosity (results/matrix/samples.tsv);
* PC1, PC2 (results/features/pca.tsv);
* cv_correct_share: share of the sample's out-of-fold CV predictions that were right;
* predicted, probability (of the predicted class), for the predicted samples.

* n_called_sites: matrix sites with a called genotype (not -1) in the sample.
* sheet_sex, inferred_sex, sex_mismatch, x_ratio, y_ratio (results/sex_check/
  sex_check.tsv: the sex check, scripts/sex_check.py).

results/summary.json: the cohort's headline numbers, each copied from the file that
owns it (filter_counts.tsv, the matrix, association_summary.json, model/metrics.json):
samples, labelled / predicted samples, sites in and out of the filters, matrix sites,
model features, λGC, CV ROC AUC / accuracy / balanced accuracy (mean, sd) on real and
shuffled labels.
"""

import json
from pathlib import Path

import pandas as pd
from qc import read_sample_qc, trimming_table
from table_io import read_genotype_frame, read_tsv
from workflow_version import workflow_version

TRIM = ["reads_in", "reads_out", "reads_removed_share", "adapter_share", "bases_trimmed_share"]
MAPPING = [
    "total_reads",
    "mapped_reads",
    "mapping_rate",
    "properly_paired_rate",
    "duplicate_rate",
    "mean_depth",
]


def build_summary(
    samples: pd.DataFrame,
    trim=None,
    mapping=None,
    pca=None,
    oof=None,
    predictions=None,
    sheet_samples=None,
    genotypes=None,
    sex=None,
) -> pd.DataFrame:
    """Join the per-sample tables on `sample`; rows: the matrix samples, then any sheet
    sample that is not in the matrix (e.g. dropped from the VCF)."""
    names = list(samples["sample"].astype(str))
    names += [s for s in (sheet_samples or []) if s not in set(names)]
    out = pd.DataFrame({"sample": names})
    base = samples.set_index("sample")
    out["label"] = out["sample"].map(base["label"]).fillna("") if "label" in base else ""
    if trim is not None:
        out = out.merge(trim[["sample", *TRIM]], on="sample", how="left")
    if mapping is not None:
        out = out.merge(mapping[["sample", *MAPPING]], on="sample", how="left")
    for col in ("call_rate", "heterozygosity"):
        if col in base:
            out[col] = out["sample"].map(pd.to_numeric(base[col], errors="coerce"))
    if genotypes is not None:
        called = (genotypes.to_numpy() != -1).sum(axis=1)
        out["n_called_sites"] = out["sample"].map(
            pd.Series(called, index=genotypes.index.astype(str))
        )
    if sex is not None:
        cols = ["sheet_sex", "inferred_sex", "mismatch", "x_ratio", "y_ratio"]
        s = sex[["sample", *cols]].rename(columns={"mismatch": "sex_mismatch"})
        out = out.merge(s.astype({"sample": str}), on="sample", how="left")
    if pca is not None:
        cols = [c for c in ("PC1", "PC2") if c in pca]
        out = out.merge(pca[["sample", *cols]], on="sample", how="left")
    if oof is not None and len(oof):
        right = oof["true"].astype(str) == oof["predicted"].astype(str)
        share = right.groupby(oof["sample"].astype(str)).mean().rename("cv_correct_share")
        out = out.merge(share, left_on="sample", right_index=True, how="left")
    if predictions is not None:
        prob_cols = [c for c in predictions.columns if c.startswith("prob_")]
        pred = predictions[["sample", "predicted"]].copy()
        pred["sample"] = pred["sample"].astype(str)
        pred["probability"] = predictions[prob_cols].max(axis=1) if prob_cols else float("nan")
        out = out.merge(pred, on="sample", how="left")
    return out


def headline(counts=None, genotypes=None, assoc=None, metrics=None, table=None) -> dict:
    """Cohort numbers for results/summary.json (absent where the step did not run)."""
    out = {}
    if table is not None:
        labelled = table["label"].fillna("").astype(str) != ""
        predicted = table["predicted"].notna() if "predicted" in table else labelled & False
        out |= {
            "samples": len(table),
            "labelled_samples": int(labelled.sum()),
            "predicted_samples": int(predicted.sum()),
        }
    if table is not None and "sex_mismatch" in table:
        mismatch = table["sex_mismatch"].astype(str) == "True"
        out["sex_mismatches"] = sorted(table.loc[mismatch, "sample"].astype(str))
    if counts is not None:
        c = counts.set_index("filter")["remaining"]
        out |= {"sites_input": int(c["input"]), "sites_filtered": int(c["output"])}
    if genotypes is not None:
        out["matrix_sites"] = int(genotypes.shape[1])
    if assoc is not None:
        out["lambda_gc"] = assoc.get("lambda_gc")
        out["association_min_p"] = assoc.get("min_p")
    if metrics is not None:
        out["model_features"] = metrics.get("n_features")
        out["classes"] = metrics.get("classes")
        for scope, block in (("cv", metrics), ("shuffled", metrics.get("shuffled", {}))):
            for name, m in block.get("metrics", {}).items():
                out[f"{scope}_{name}_mean"] = m.get("mean")
                out[f"{scope}_{name}_sd"] = m.get("sd")
    return out


def write_summary(table: pd.DataFrame, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, sep="\t", index=False, na_rep="NA", float_format="%.6g")


def _main(smk):
    inp = smk.input
    samples = pd.read_csv(inp.samples, sep="\t", dtype=str, keep_default_na=False)
    trim = mapping = pca = oof = None
    if "qc" in inp.keys():  # from reads: the per-sample QC records (scripts/sample_qc.py)
        units, mapping, _ = read_sample_qc(inp.qc)
        trim = trimming_table(units)
    if "pca" in inp.keys():
        pca = read_tsv(inp.pca, dtype={"sample": str})
    if "oof" in inp.keys():
        oof = read_tsv(inp.oof, dtype={"sample": str, "true": str, "predicted": str})
    predictions = read_tsv(inp.predictions, dtype={"sample": str, "predicted": str})
    genotypes = read_genotype_frame(inp.genotypes)  # one int8 matrix, no pandas copies
    sheet = list(smk.params.samples)
    sex = read_tsv(inp.sex, dtype={"sample": str}) if "sex" in inp.keys() else None
    table = build_summary(samples, trim, mapping, pca, oof, predictions, sheet, genotypes, sex)
    write_summary(table, smk.output.table)
    counts = read_tsv(inp.counts) if "counts" in inp.keys() else None
    assoc = json.loads(Path(inp.assoc).read_text()) if "assoc" in inp.keys() else None
    metrics = json.loads(Path(inp.metrics).read_text()) if "metrics" in inp.keys() else None
    cohort = {"workflow_version": workflow_version()} | headline(
        counts, genotypes, assoc, metrics, table
    )
    Path(smk.output.cohort).write_text(json.dumps(cohort, indent=2) + "\n")
    with open(smk.log[0], "w") as log:
        log.write(f"samples: {len(table)}\ncolumns: {list(table.columns)}\n")
        if "sex_mismatches" in cohort:
            log.write(f"sex mismatches with the sheet: {cohort['sex_mismatches']}\n")


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
