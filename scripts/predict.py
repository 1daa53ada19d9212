"""Predict phenotypes with a saved model (scripts/model.py, skops).

New genotypes are aligned to the model's site list by site ID (`chrom:pos:ref:alt`),
never by column order: sites the model does not know are ignored, and each model site
the new matrix lacks is resolved explicitly per sample:

* the sample's reads cover it (`covered`, e.g. from genotyping the BAMs): hom-ref, 0;
* otherwise missing, -1, which the pipeline's imputer turns into the training value.

Per sample the output counts where each of the model's sites came from:
n_from_vcf (called in the new matrix) + n_hom_ref_covered + n_imputed (missing, so
imputed) = n_model_sites.

Rules: `predict` (predictions; with `unlabelled_only` the unlabelled samples of the
training matrix) and `model_sites` (the model's sites as a bcftools -T/-C alleles file
CHROM POS REF,ALT in reference order).
"""

from pathlib import Path

import numpy as np
import pandas as pd
from features import MISSING, read_genotypes, read_samples, split_site_id
from model import load_model

COUNTS = ["n_model_sites", "n_from_vcf", "n_hom_ref_covered", "n_imputed"]


def covered_matrix(covered, samples, sites) -> np.ndarray:
    """Boolean (samples, sites): do the sample's reads cover the site?

    `covered` is None (nothing known), a DataFrame sample × site of booleans, or a
    mapping {sample: iterable of covered site IDs | {site: bool}}. Unknown -> False.
    """
    out = np.zeros((len(samples), len(sites)), dtype=bool)
    if covered is None or not len(sites):
        return out
    if isinstance(covered, pd.DataFrame):
        frame = covered.reindex(index=pd.Index(samples), columns=pd.Index(sites))
        return frame.fillna(False).to_numpy(dtype=bool)
    col = {s: j for j, s in enumerate(sites)}
    for i, sample in enumerate(samples):
        value = covered.get(sample)
        if value is None:
            continue
        items = value.items() if hasattr(value, "items") else ((s, True) for s in value)
        for site, flag in items:
            if flag and site in col:
                out[i, col[site]] = True
    return out


def read_covered(path) -> pd.DataFrame:
    """Coverage table: parquet or TSV, wide (sample × site booleans, `sample` column or
    index) or long (columns sample, site_id[, covered])."""
    path = str(path)
    df = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path, sep="\t")
    if {"sample", "site_id"} <= set(df.columns):
        flag = df["covered"].astype(bool) if "covered" in df else True
        df = df.assign(covered=flag).pivot_table(
            index="sample", columns="site_id", values="covered", aggfunc="max", fill_value=False
        )
    elif "sample" in df.columns:
        df = df.set_index("sample")
    df.index = df.index.astype(str)
    return df.astype(bool)


def align(genotypes: pd.DataFrame, sites, covered=None):
    """(X: samples × `sites` int8 with -1 where still missing, counts DataFrame)."""
    if genotypes.columns.duplicated().any():
        dup = genotypes.columns[genotypes.columns.duplicated()].unique().tolist()
        raise ValueError(f"predict: duplicated site IDs in the genotype matrix: {dup[:5]}")
    sites = list(sites)
    present = np.asarray(pd.Index(sites).isin(genotypes.columns))
    X = genotypes.reindex(columns=sites, fill_value=MISSING).to_numpy(dtype=np.int8).copy()
    n_from_vcf = (X[:, present] != MISSING).sum(axis=1)
    absent = np.flatnonzero(~present)
    cov = covered_matrix(covered, list(genotypes.index), [sites[j] for j in absent])
    block = X[:, absent]
    block[cov] = 0  # read coverage without an ALT call: hom-ref, not missing
    X[:, absent] = block
    counts = pd.DataFrame(
        {
            "n_model_sites": len(sites),
            "n_from_vcf": n_from_vcf,
            "n_hom_ref_covered": cov.sum(axis=1),
            "n_imputed": (X == MISSING).sum(axis=1),
        },
        index=genotypes.index,
    )
    return pd.DataFrame(X, index=genotypes.index, columns=sites), counts


def predict(model, genotypes: pd.DataFrame, covered=None, labels=None) -> pd.DataFrame:
    """Predictions for every row of `genotypes` with a model (path or load_model dict).

    Columns: sample, predicted, prob_<class>..., n_model_sites, n_from_vcf,
    n_hom_ref_covered, n_imputed, and true_label ("" = unknown) when `labels`
    ({sample: label} or Series) is given.
    """
    if not isinstance(model, dict):
        model = load_model(model)
    classes = list(model["classes"])
    pipe = model["pipeline"]
    if list(pipe.classes_) != classes:
        raise ValueError(f"predict: model classes {classes} != pipeline's {list(pipe.classes_)}")
    X, counts = align(genotypes, model["sites"], covered)
    out = pd.DataFrame({"sample": list(genotypes.index)})
    if len(X):
        proba = pipe.predict_proba(X.to_numpy())
    else:
        proba = np.zeros((0, len(classes)))
    out["predicted"] = np.asarray(classes, dtype=object)[proba.argmax(axis=1)] if len(X) else []
    for j, c in enumerate(classes):
        out[f"prob_{c}"] = proba[:, j]
    for col in COUNTS:
        out[col] = counts[col].to_numpy()
    if labels is not None:
        labels = pd.Series(labels, dtype=object) if not isinstance(labels, pd.Series) else labels
        out["true_label"] = out["sample"].map(labels).fillna("").astype(str).to_numpy()
    return out


def sample_labels(samples: pd.DataFrame, label="label") -> pd.Series:
    """{sample: label} ("" = unlabelled) from a samples table."""
    return samples.set_index("sample")[label].astype(str).str.strip()


def predict_unlabelled(model, genotypes: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """Training run: predict the samples of the same matrix that have no label."""
    labels = sample_labels(samples).reindex(genotypes.index).fillna("")
    return predict(model, genotypes.loc[labels.to_numpy() == ""], None)


def model_sites_table(model, fai=None) -> pd.DataFrame:
    """The model's sites as CHROM, POS, REF,ALT rows, in reference (.fai) order when given.

    Sites on contigs missing from the .fai are dropped (they stay missing -> imputed)."""
    rows = [split_site_id(s) for s in model["sites"]]
    table = pd.DataFrame(rows, columns=["chrom", "pos", "ref", "alt"])
    table["alleles"] = table["ref"] + "," + table["alt"]
    if fai is not None:
        contigs = [line.split("\t")[0] for line in Path(fai).read_text().splitlines() if line]
        rank = {c: i for i, c in enumerate(contigs)}
        table = table[table["chrom"].isin(rank)]
        table = table.assign(_rank=table["chrom"].map(rank)).sort_values(["_rank", "pos"])
    else:
        table = table.sort_values(["chrom", "pos"])
    return table[["chrom", "pos", "alleles"]].drop_duplicates().reset_index(drop=True)


def _samples_for(smk):
    """The samples table of the predicted matrix: input `samples`, else the matrix
    step's samples.tsv beside genotypes.parquet (written by the same rule)."""
    path = getattr(smk.input, "samples", None)
    if path is None:
        sibling = Path(smk.input.genotypes).with_name("samples.tsv")
        path = sibling if sibling.exists() else None
    return read_samples(path) if path is not None else None


def _main(smk):
    model = load_model(smk.input.model)
    with open(smk.log[0], "w") as log:
        if smk.rule == "model_sites":
            table = model_sites_table(model, smk.input.fai)
            Path(smk.output[0]).parent.mkdir(parents=True, exist_ok=True)
            table.to_csv(smk.output[0], sep="\t", index=False, header=False)
            dropped = len(model["sites"]) - len(table)
            log.write(f"model sites: {len(model['sites'])}\nwritten: {len(table)}\n")
            log.write(f"dropped (contig not in the reference): {dropped}\n")
            return
        genotypes = read_genotypes(smk.input.genotypes)
        samples = _samples_for(smk)
        covered_path = getattr(smk.input, "covered", None)
        covered = read_covered(covered_path) if covered_path else None
        if bool(getattr(smk.params, "unlabelled_only", False)):
            if samples is None:
                raise ValueError("predict: unlabelled_only needs the samples table")
            out = predict_unlabelled(model, genotypes, samples)
            log.write("mode: unlabelled samples of the training matrix\n")
        else:
            labels = sample_labels(samples) if samples is not None else None
            out = predict(model, genotypes, covered, labels)
            log.write(f"mode: every sample of the matrix, with {smk.input.model}\n")
        Path(smk.output[0]).parent.mkdir(parents=True, exist_ok=True)
        out.to_csv(smk.output[0], sep="\t", index=False, float_format="%.6g")
        log.write(
            f"samples predicted: {len(out)}\nmodel sites: {len(model['sites'])}\n"
            f"predicted classes: {out['predicted'].value_counts().to_dict()}\n"
        )
        if len(out):
            log.write(
                "per sample mean: "
                + ", ".join(f"{c} {out[c].mean():.1f}" for c in COUNTS[1:])
                + "\n"
            )


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
