"""Predict phenotypes with a saved model (scripts/model.py, skops).

New genotypes are aligned to the model's site list by site ID (`chrom:pos:ref:alt`),
never by column order: sites the model does not know are ignored, and each model site
the new matrix lacks is resolved explicitly per sample:

* the sample's reads cover it (`covered`, e.g. from genotyping the BAMs): hom-ref, 0;
* otherwise missing, -1 (handled as below, never imputed for a prediction).

Per sample the output counts where each of the model's sites came from:
n_from_vcf (called in the new matrix) + n_hom_ref_covered + n_imputed (still missing;
the column keeps its old name) = n_model_sites.

Missing sites (low-coverage samples). The pipeline's imputer fills a missing site with
the training samples' most frequent dosage, which pulls a sample with few observed sites
toward the most common class. So only samples with every model site observed go through
the saved pipeline as they are (`method` full); a sample with missing sites gets:

* `refit_observed`: the model's learner (model.refit_estimators trees for a forest) with
  its parameters and seed refit on the training genotypes at the sites this sample has
  observed (the model file carries them,
  scripts/model.py `training`); samples with the same observed-site pattern share one
  refit, in a fixed order, so the cost is one forest fit per distinct pattern;
* `prior` for a sample with no observed site and a learner other than the forest: the
  training samples' class shares;
* `marginalised` when the model file has no training genotypes (older models) or the
  sample has no observed site: the saved forest, each tree sending the sample down both
  children of a split on a missing site, weighted by the training samples' share at that
  node (`tree_.weighted_n_node_samples`); PCs (`use_pcs`) computed from imputed sites
  count as missing.

`observed_share` = observed model sites / model sites (after the hom-ref-by-coverage
step) and `low_coverage` = observed_share < `min_observed` (config predict.min_observed)
flag predictions made from too few sites; bench/missing.py measured the accuracy
against the share of masked sites.

Rule `predict` (predictions; with `unlabelled_only` the unlabelled samples of the
training matrix). Rule `model_sites` (scripts/model_sites.py) writes the model's sites
as a bcftools -T/-C alleles file, CHROM POS REF,ALT in reference order
(model_sites_table).
"""

from pathlib import Path

import numpy as np
import pandas as pd
from calls import read_fai
from defaults import schema_defaults
from model import fit_pipeline, learner_of, params_with_defaults
from model_io import load_model
from table_io import MISSING, read_genotypes, read_samples, split_site_id

COUNTS = ["n_model_sites", "n_from_vcf", "n_hom_ref_covered", "n_imputed"]
COVERAGE = ["observed_share", "low_coverage", "method"]
# Below this share of observed model sites a prediction is flagged (config
# predict.min_observed; the default is chosen in config/README.md from bench/missing.py).
MIN_OBSERVED = schema_defaults()["predict"]["min_observed"]


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


# ----------------------------------------------------------------------------- missing sites


def forest_inputs(pipeline, X: np.ndarray, observed: np.ndarray):
    """(forest input matrix, known mask of the same shape) of genotypes X (-1 = missing).

    The pipeline's steps before the forest make the inputs (imputed, so every value is
    finite); a selected site is known where the sample observed it, a PC only where the
    sample observed every site (otherwise it is a function of imputed values)."""
    Xf = pipeline[:-1].transform(X)
    known = observed
    if "select" in pipeline.named_steps:
        known = known[:, pipeline.named_steps["select"].get_support()]
    if "pcs" in pipeline.named_steps:
        n_pcs = Xf.shape[1] - known.shape[1]
        full = observed.all(axis=1, keepdims=True)
        known = np.hstack([known, np.repeat(full, n_pcs, axis=1)])
    return np.asarray(Xf, dtype=np.float32), known


def marginal_proba(forest, Xf: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Class probabilities of a fitted forest, marginalising over unknown inputs.

    Per tree, a sample's weight flows from the root down: at a split on a known feature
    all of it follows the split, at a split on an unknown one it divides between the two
    children in proportion to the training weight (`weighted_n_node_samples`) that went
    each way. The tree's probabilities are the weighted sum of its normalised leaf values;
    the forest averages its trees, as `predict_proba` does. Nodes are visited a depth
    level at a time (vectorised over samples and the level's nodes)."""
    Xf = np.asarray(Xf, dtype=np.float32)
    out = np.zeros((len(Xf), forest.n_classes_))
    for tree in forest.estimators_:
        t = tree.tree_
        left, right, weight = t.children_left, t.children_right, t.weighted_n_node_samples
        value = t.value[:, 0, :]
        value = value / value.sum(axis=1, keepdims=True)
        w = np.zeros((len(Xf), t.node_count))
        w[:, 0] = 1.0
        level = np.array([0])
        while len(level := level[left[level] != -1]):
            feat = t.feature[level]
            go_left = np.where(
                known[:, feat],
                (Xf[:, feat] <= t.threshold[level]).astype(float),
                weight[left[level]] / weight[level],
            )
            parent = w[:, level]
            w[:, left[level]] = parent * go_left
            w[:, right[level]] = parent * (1.0 - go_left)
            level = np.concatenate([left[level], right[level]])
        leaves = left == -1
        out += w[:, leaves] @ value[leaves]
    return out / len(forest.estimators_)


def training_data(model):
    """(genotypes int8 training samples × model sites, labels str) or None when the model
    file does not carry them (models saved before scripts/model.py stored `training`)."""
    training = model.get("training")
    if not training:
        return None
    classes = np.asarray(model["classes"], dtype=str)
    return np.asarray(training["genotypes"], dtype=np.int8), classes[training["labels"]]


def refit_params(model, n_jobs=1) -> dict:
    """The saved model's parameters (those the current code knows), seed included, with
    the learner it fitted (`auto`: the one chosen; models saved before learners: the
    forest). Keys the model file lacks take today's defaults (model.max_features_cap)."""
    known = set(params_with_defaults({}))
    saved = dict(model["metadata"].get("params") or {})
    learner = model["metadata"].get("learner") or learner_of(model["pipeline"])
    out = {k: v for k, v in saved.items() if k in known}
    return out | {"learner": learner, "n_jobs": int(n_jobs)}


def refit_observed_proba(model, X: np.ndarray, observed: np.ndarray, n_jobs=1):
    """Class probabilities from the model's learner refit on the training genotypes at
    each sample's observed sites (one seeded fit per distinct observed-site pattern,
    patterns in sorted order); rows with no observed site are left NaN. Returns (proba,
    number of fits).

    Cost bound: a forest refit has model.refit_estimators trees (not n_estimators), each
    at most max_features_cap features per split; the fit imputes on int8 and sees one
    float32 copy (model.fit_pipeline)."""
    train_g, train_y = training_data(model)
    params = refit_params(model, n_jobs)
    proba = np.full((len(X), len(model["classes"])), np.nan)
    patterns, group = np.unique(observed, axis=0, return_inverse=True)
    n_fits = 0
    for k, pattern in enumerate(patterns):
        if not pattern.any():
            continue
        rows = np.flatnonzero(group.ravel() == k)
        trees = min(int(params["refit_estimators"]), int(params["n_estimators"]))
        pipe = fit_pipeline(params, train_g[:, pattern], train_y, n_estimators=trees)
        if list(pipe.classes_) != list(model["classes"]):  # same labels: cannot happen
            raise ValueError(f"predict: refit classes {list(pipe.classes_)}")
        proba[rows] = pipe.predict_proba(X[np.ix_(rows, np.flatnonzero(pattern))])
        n_fits += 1
    return proba, n_fits


def class_prior(model) -> np.ndarray:
    """The training samples' class shares (what a forest marginalised over every split
    gives, up to class weights)."""
    counts = model["metadata"].get("class_counts") or {}
    value = np.array([float(counts.get(c, 0)) for c in model["classes"]])
    return value / value.sum() if value.sum() else np.full(len(value), 1 / len(value))


def predict_proba(model, X: np.ndarray, n_jobs=1):
    """(probabilities, method per row, refits) for genotypes X (model sites, -1 = missing).

    Fully observed rows: the saved pipeline as is (`full`, today's predictions exactly).
    Rows with missing sites: `refit_observed` when the model carries its training
    genotypes, else (and for rows with no observed site) `marginalised` (forests) or
    `prior` (the training class shares; other learners)."""
    pipe = model["pipeline"]
    n, n_classes = len(X), len(model["classes"])
    proba = np.zeros((n, n_classes))
    method = np.full(n, "full", dtype=object)
    observed = X != MISSING
    partial = ~observed.all(axis=1)
    if (~partial).any():
        proba[~partial] = pipe.predict_proba(X[~partial])
    n_fits = 0
    if partial.any():
        rows = np.flatnonzero(partial)
        sub = np.full((len(rows), n_classes), np.nan)
        if training_data(model) is not None:
            sub, n_fits = refit_observed_proba(model, X[rows], observed[rows], n_jobs)
            method[rows] = "refit_observed"
        todo = np.isnan(sub).any(axis=1)
        if todo.any() and learner_of(pipe) == "random_forest":
            Xf, known = forest_inputs(pipe, X[rows[todo]], observed[rows[todo]])
            sub[todo] = marginal_proba(pipe.steps[-1][1], Xf, known)
            method[rows[todo]] = "marginalised"
        elif todo.any():  # no observed site, not a forest: the training class shares
            sub[todo] = class_prior(model)
            method[rows[todo]] = "prior"
        proba[rows] = sub
    return proba, method, n_fits


# ----------------------------------------------------------------------------- predictions


def predict(
    model, genotypes: pd.DataFrame, covered=None, labels=None, min_observed=MIN_OBSERVED, n_jobs=1
) -> pd.DataFrame:
    """Predictions for every row of `genotypes` with a model (path or load_model dict).

    Columns: sample, predicted, prob_<class>..., n_model_sites, n_from_vcf,
    n_hom_ref_covered, n_imputed, observed_share, low_coverage (observed_share <
    `min_observed`), method (full / refit_observed / marginalised), and true_label
    ("" = unknown) when `labels` ({sample: label} or Series) is given. The number of
    refits is in the frame's attrs["refits"].
    """
    if not isinstance(model, dict):
        model = load_model(model)
    classes = list(model["classes"])
    pipe = model["pipeline"]
    if list(pipe.classes_) != classes:
        raise ValueError(f"predict: model classes {classes} != pipeline's {list(pipe.classes_)}")
    X, counts = align(genotypes, model["sites"], covered)
    out = pd.DataFrame({"sample": list(genotypes.index)})
    proba, method, n_fits = predict_proba(model, X.to_numpy(), n_jobs)
    out["predicted"] = np.asarray(classes, dtype=object)[proba.argmax(axis=1)] if len(X) else []
    for j, c in enumerate(classes):
        out[f"prob_{c}"] = proba[:, j]
    for col in COUNTS:
        out[col] = counts[col].to_numpy()
    n_sites = len(model["sites"])
    observed = n_sites - counts["n_imputed"].to_numpy()
    out["observed_share"] = observed / n_sites if n_sites else np.zeros(len(out))
    out["low_coverage"] = out["observed_share"] < float(min_observed)
    out["method"] = method
    out.attrs["refits"] = n_fits
    if labels is not None:
        labels = pd.Series(labels, dtype=object) if not isinstance(labels, pd.Series) else labels
        out["true_label"] = out["sample"].map(labels).fillna("").astype(str).to_numpy()
    return out


def sample_labels(samples: pd.DataFrame, label="label") -> pd.Series:
    """{sample: label} ("" = unlabelled) from a samples table."""
    return samples.set_index("sample")[label].astype(str).str.strip()


def predict_unlabelled(
    model, genotypes: pd.DataFrame, samples: pd.DataFrame, min_observed=MIN_OBSERVED, n_jobs=1
) -> pd.DataFrame:
    """Training run: predict the samples of the same matrix that have no label."""
    labels = sample_labels(samples).reindex(genotypes.index).fillna("")
    unlabelled = genotypes.loc[labels.to_numpy() == ""]
    return predict(model, unlabelled, None, min_observed=min_observed, n_jobs=n_jobs)


def model_sites_table(model, fai=None) -> pd.DataFrame:
    """The model's sites as CHROM, POS, REF,ALT rows, in reference (.fai) order when given.

    Sites on contigs missing from the .fai are dropped (they stay missing -> imputed)."""
    rows = [split_site_id(s) for s in model["sites"]]
    table = pd.DataFrame(rows, columns=["chrom", "pos", "ref", "alt"])
    table["alleles"] = table["ref"] + "," + table["alt"]
    if fai is not None:
        rank = {c: i for i, (c, _) in enumerate(read_fai(fai))}
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
        genotypes = read_genotypes(smk.input.genotypes)
        samples = _samples_for(smk)
        covered_path = getattr(smk.input, "covered", None)
        covered = read_covered(covered_path) if covered_path else None
        min_observed = float(getattr(smk.params, "min_observed", MIN_OBSERVED))
        n_jobs = int(getattr(smk, "threads", 1) or 1)
        if bool(getattr(smk.params, "unlabelled_only", False)):
            if samples is None:
                raise ValueError("predict: unlabelled_only needs the samples table")
            out = predict_unlabelled(model, genotypes, samples, min_observed, n_jobs)
            log.write("mode: unlabelled samples of the training matrix\n")
        else:
            labels = sample_labels(samples) if samples is not None else None
            out = predict(model, genotypes, covered, labels, min_observed, n_jobs)
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
            log.write(
                f"methods: {out['method'].value_counts().to_dict()}, refits: "
                f"{out.attrs.get('refits', 0)}\nlow coverage (observed share < "
                f"{min_observed}): {int(out['low_coverage'].sum())}\n"
            )


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
