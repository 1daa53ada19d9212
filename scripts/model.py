"""Phenotype classifier (model.learner: random_forest, logistic, gradient_boosting or
auto): repeated stratified CV, a shuffled-label null, a final model on all labelled
samples, saved with skops.

`auto` is nested: inside each outer training fold an inner stratified CV (auto_folds)
scores every candidate (auto_learners) and the best is refit on the outer training fold;
the reported metrics are the outer held-out folds' scores of that whole procedure. The
final model repeats the choice on all labelled samples (metrics.json auto.final_model).
`compare` cross-validates every learner and auto on the same folds.

Scale: the forest tries at most max_features_cap features per split, so its cost per
tree does not grow linearly with the SNPs; the null and the low-coverage refits use 100
trees (null_estimators, refit_estimators). Memory: the genotypes stay int8; each fit sees
one float32 copy of its imputed training fold (fit_pipeline, _fit_predict), never a
float64 copy (gradient boosting excepted: scikit-learn converts its input to float64).

No leakage: every fitted step (imputer, SNP selection by a univariate test, PCA, forest)
is a step of one scikit-learn Pipeline, so each CV training fold refits all of them and
the held-out fold never informs its own predictions. The label-free filters before it
(scripts/features.py: MAF, call rate, LD) may use all samples.

Missing is not 0: genotypes keep -1 and SimpleImputer(missing_values=-1, most_frequent)
replaces it with the training samples' most frequent dosage of that SNP. Inside the CV the
same imputation is done by `fold_mode()` / `impute()` (vectorised over the small integer
codes; scikit-learn's loops over columns and took ~65 % of the step), from the training
fold only, with the same result; the saved model keeps the SimpleImputer.

The shuffled-label null is a reference, not a result: each shuffle is one repeat of the
k folds with `model.null_estimators` trees (bench/results/model_step.md: its AUC is the
same with 100 trees as with 500), so the null costs ~20 % of the real CV, not 3x.

Binary ROC AUC is that of P(positive class), the positive class being the second of the
sorted class names; multi-class AUC is the one-vs-rest macro average.

The pipeline uses built-in scikit-learn estimators only, so skops loads it with an
explicit allow-list of types (scripts/model_io.py ALLOWED_TYPES) and no custom code;
never pickle.
"""

import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import skops
from defaults import with_defaults
from labels import check_labels
from model_io import save_model, sha256
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_selection import SelectKBest, chi2
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler
from table_io import MISSING, read_genotype_frame, read_samples, read_sites
from threadpoolctl import threadpool_limits

METRICS = ["accuracy", "balanced_accuracy", "roc_auc"]
# model.learner values; `auto` picks one of these by an inner CV in each training fold.
LEARNERS = ("random_forest", "logistic", "gradient_boosting")
# The pipeline's last step, by learner ("forest" as in models saved before learners).
STEP = {"random_forest": "forest", "logistic": "logistic", "gradient_boosting": "boosting"}
PER_CLASS = ["precision", "recall", "f1"]


def params_with_defaults(params) -> dict:
    """`model` params over the schema defaults (scripts/defaults.py); unknown keys raise."""
    return with_defaults("model", params)


# ----------------------------------------------------------------------------- data


def labelled_data(genotypes, samples, features=None, label="label"):
    """(X: labelled samples × features DataFrame, y: labels ndarray of str), matrix order.

    `features` restricts and orders the columns (site IDs); labels come from the samples
    table column `label` ("" = unlabelled)."""
    if label not in samples:
        raise ValueError(f"model: samples table has no column {label!r}")
    labels = samples.set_index("sample")[label].reindex(genotypes.index).fillna("")
    labels = labels.astype(str).str.strip()
    keep = labels.to_numpy() != ""
    X = genotypes.loc[keep]
    if features is not None:
        missing = [s for s in features if s not in genotypes.columns]
        if missing:
            raise ValueError(
                f"model: {len(missing)} selected sites not in the matrix: {missing[:5]}"
            )
        X = X[list(features)]
    return X, labels[keep].to_numpy(dtype=str)


# ----------------------------------------------------------------------------- pipeline


def fold_mode(X) -> np.ndarray:
    """Per column, the most frequent non-missing code of an int8 matrix (ties: the
    smallest, as SimpleImputer(most_frequent)); -1 where a column has no call."""
    top = int(X.max(initial=0))
    counts = np.stack([(X == v).sum(axis=0) for v in range(top + 1)])
    return np.where(counts.any(axis=0), counts.argmax(axis=0), MISSING).astype(np.int8)


def impute(X, mode) -> np.ndarray:
    """X with -1 replaced by `mode`; columns with no call in training (mode -1) are
    dropped, as SimpleImputer drops them."""
    out = np.where(X == MISSING, mode, X)
    return out[:, mode != MISSING] if (mode == MISSING).any() else out


def build_pipeline(
    params, n_features, n_train, imputer=True, n_estimators=None, learner=None
) -> Pipeline:
    """Imputer -> [SelectKBest] -> [passthrough + scaled PCA] -> [scaler] -> learner.

    imputer=False: no imputation step (fit_pipeline and the CV impute with fold_mode /
    impute). n_estimators: forest trees, if not model.n_estimators (the null's, the
    refits'). learner: one of LEARNERS, if not model.learner (never `auto` here: the
    choice is made by choose_learner)."""
    p = params_with_defaults(params)
    learner = learner or p["learner"]
    if learner not in LEARNERS:
        raise ValueError(f"model: learner {learner!r} is not one of {LEARNERS}")
    steps = []
    if imputer:
        steps.append(("impute", SimpleImputer(missing_values=MISSING, strategy="most_frequent")))
    k = min(int(p["select_top"]), n_features) if p["select_top"] else n_features
    if p["select_top"]:
        steps.append(("select", SelectKBest(chi2, k=k)))  # chi2 on dosages ~ allelic test
    n_pcs = min(int(p["use_pcs"]), k, n_train)
    if n_pcs > 0:
        pcs = Pipeline([("scale", StandardScaler()), ("pca", PCA(n_pcs, random_state=p["seed"]))])
        steps.append(("pcs", FeatureUnion([("snps", "passthrough"), ("pca", pcs)])))
    seed = int(p["seed"])
    if learner == "random_forest":
        estimator = RandomForestClassifier(
            n_estimators=int(n_estimators or p["n_estimators"]),
            max_features=forest_max_features(p, k + max(n_pcs, 0)),
            min_samples_leaf=int(p["min_samples_leaf"]),
            class_weight=p["class_weight"],
            random_state=seed,
            n_jobs=int(p["n_jobs"]),
        )
    elif learner == "logistic":
        # Dosages scaled to unit variance (copy=False: the scaler's input is always a
        # fresh float array, the imputer's output or a fold's). L2 with lbfgs: smooth,
        # multinomial, memory O(features x classes), fast on p >> n; elastic net
        # (l1_ratio > 0) needs saga.
        steps.append(("scale", StandardScaler(copy=False)))
        l1 = float(p["logistic_l1_ratio"])
        estimator = LogisticRegression(
            C=float(p["logistic_C"]),
            l1_ratio=l1,
            solver="saga" if l1 > 0 else "lbfgs",
            max_iter=int(p["logistic_max_iter"]),
            # Unweighted: on 1000G balanced weights cost 0.006-0.009 accuracy
            # (bench/results/defaults.md); class_weight is the forest's.
            class_weight=None,
            random_state=seed,
        )
    else:
        estimator = HistGradientBoostingClassifier(
            learning_rate=float(p["boosting_learning_rate"]),
            max_iter=int(p["boosting_iterations"]),
            # Per split a fraction of the features, as the forest: cost bounded at scale.
            max_features=float(min(1.0, forest_max_features(p, k + n_pcs) / (k + n_pcs))),
            early_stopping=False,  # every fit the same number of iterations (bounded, seeded)
            random_state=seed,
        )
    steps.append((STEP[learner], estimator))
    return Pipeline(steps)


def forest_max_features(params, n_features) -> int:
    """Features tried per split (a count): `max_features` (sqrt / log2 / a fraction <= 1 /
    a count > 1) of `n_features`, at most `max_features_cap` (0 = no cap), at least 1.

    The cap keeps the per-tree cost bounded as the SNPs grow (bench/results/defaults.md):
    a fraction alone grows linearly with them."""
    p = params_with_defaults(params)
    value, n = p["max_features"], max(int(n_features), 1)
    if value == "sqrt":
        m = np.sqrt(n)
    elif value == "log2":
        m = np.log2(n)
    elif value is None:
        m = n
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"model: max_features {value!r}: sqrt, log2, a fraction or a count")
    else:
        m = value * n if value <= 1 else value
    cap = int(p["max_features_cap"])
    m = min(int(m), cap) if cap else int(m)
    return int(min(max(m, 1), n))


def _max_features(value):
    """sqrt / log2 / None as given; a number <= 1 is a fraction (so 1 means all features,
    not one), a larger number a count (bench/model_step.py's plain arm)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return float(value) if value <= 1 else int(value)


def learner_of(pipeline) -> str:
    """The learner name of a fitted pipeline (its last step)."""
    name = pipeline.steps[-1][0]
    return {v: k for k, v in STEP.items()}.get(name, name)


def fit_pipeline(params, X, y, learner=None, n_estimators=None) -> Pipeline:
    """The pipeline with its imputer, fitted on int8 genotypes X (-1 = missing).

    Memory: the imputer's statistics are the training samples' most frequent codes
    (fold_mode, vectorised on int8), and the SimpleImputer is fitted on that one row
    (same statistics_, same all-missing columns dropped), so no float64 copy of X is
    made; the later steps see one float32 copy of the imputed matrix."""
    p = params_with_defaults(params)
    X = np.asarray(X, dtype=np.int8)
    mode = fold_mode(X)
    imputer = SimpleImputer(missing_values=MISSING, strategy="most_frequent")
    imputer.fit(mode[None, :].astype(np.float32))
    Xi = impute(X, mode).astype(np.float32)
    rest = build_pipeline(p, Xi.shape[1], len(y), False, n_estimators, learner)
    with threadpool_limits(int(p["n_jobs"])):
        rest.fit(Xi, y)
    return Pipeline([("impute", imputer), *rest.steps])


def feature_names(pipeline, site_ids) -> list:
    """Names of the forest's input columns: the selected site IDs, then PC1..PCk."""
    names = list(site_ids)
    if "select" in pipeline.named_steps:
        names = [
            s
            for s, on in zip(names, pipeline.named_steps["select"].get_support(), strict=True)
            if on
        ]
    if "pcs" in pipeline.named_steps:
        n_pcs = pipeline.named_steps["pcs"].transformer_list[1][1].named_steps["pca"].n_components_
        names += [f"PC{i}" for i in range(1, n_pcs + 1)]
    return names


# ----------------------------------------------------------------------------- CV


def _fold_metrics(y_true, y_pred, proba, classes) -> dict:
    out = {
        "accuracy": accuracy_score(y_true, y_pred),
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
    }
    try:
        if len(classes) == 2:
            out["roc_auc"] = roc_auc_score(y_true == classes[1], proba[:, 1])
        else:
            out["roc_auc"] = roc_auc_score(
                y_true, proba, multi_class="ovr", average="macro", labels=classes
            )
    except ValueError:  # a class absent from the fold (cannot happen with stratified folds)
        out["roc_auc"] = float("nan")
    prec, rec, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0
    )
    for i, c in enumerate(classes):
        out[f"precision:{c}"], out[f"recall:{c}"], out[f"f1:{c}"] = prec[i], rec[i], f1[i]
    return {k: float(v) for k, v in out.items()}


def _fit_predict(p, Xtr, ytr, Xte, learner, n_estimators=None):
    """(class probabilities of Xte, learner used) from a fit on the training fold.

    Xtr / Xte int8 (-1 = missing), imputed with the training fold's modes only. `auto`:
    choose_learner on the training fold alone (its own inner folds), then the choice is
    refit on the whole training fold; the held-out fold never takes part in the choice."""
    if learner == "auto":
        learner, _ = choose_learner(p, Xtr, ytr, n_estimators)
    mode = fold_mode(Xtr)  # the training fold's, never the test fold's
    Xi = impute(Xtr, mode).astype(np.float32)
    pipe = build_pipeline(p, Xi.shape[1], len(ytr), False, n_estimators, learner)
    # OpenMP / BLAS threads (gradient boosting, lbfgs) = the rule's threads, as the forest.
    with threadpool_limits(int(p["n_jobs"])):
        pipe.fit(Xi, ytr)
        del Xi
        proba = pipe.predict_proba(impute(Xte, mode).astype(np.float32))
    return proba, learner, pipe.classes_


def auto_candidates(params) -> list:
    """The learners `auto` chooses from (model.auto_learners), in tie-break order."""
    p = params_with_defaults(params)
    names = list(p["auto_learners"])
    bad = [n for n in names if n not in LEARNERS]
    if bad or not names:
        raise ValueError(f"model: auto_learners {names}: choose from {list(LEARNERS)}")
    return names


def choose_learner(params, X, y, n_estimators=None):
    """(best learner, {learner: inner CV score}) by a stratified k-fold CV (model.
    auto_folds folds, seeded) of each candidate on X, y only; the score is the mean of
    model.auto_metric over the inner folds, ties go to the earlier candidate."""
    p = params_with_defaults(params)
    y = np.asarray(y, dtype=str)
    classes = [str(c) for c in np.unique(y)]
    folds = int(min(int(p["auto_folds"]), min((y == c).sum() for c in classes)))
    if folds < 2:
        raise ValueError("model: auto needs at least 2 samples of each class in a training fold")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=int(p["seed"]))
    splits = list(splitter.split(X, y))
    scores = {}
    for name in auto_candidates(p):
        values = []
        for train, test in splits:
            proba, _, fitted = _fit_predict(p, X[train], y[train], X[test], name, n_estimators)
            pred = np.asarray(fitted, dtype=str)[proba.argmax(axis=1)]
            values.append(_fold_metrics(y[test], pred, proba, classes)[p["auto_metric"]])
        scores[name] = float(np.nanmean(values))
    best = max(scores, key=lambda n: (scores[n], -list(scores).index(n)))
    return best, scores


def _cv_once(X, y, params, sample_names, n_repeats=None, n_estimators=None, learner=None):
    """One repeated-stratified-KFold run: (fold records, oof DataFrame, confusion matrix).

    n_repeats / n_estimators: if not the model's cv_repeats / n_estimators (the null).
    learner: if not model.learner (model.compare). The folds depend on the seed, the
    labels and cv_folds / cv_repeats only: every learner sees the same folds."""
    p = params_with_defaults(params)
    learner = learner or p["learner"]
    classes = [str(c) for c in np.unique(y)]  # sorted
    n_splits, n_repeats = int(p["cv_folds"]), int(n_repeats or p["cv_repeats"])
    splitter = RepeatedStratifiedKFold(
        n_splits=n_splits, n_repeats=n_repeats, random_state=int(p["seed"])
    )
    records, oof, cm = [], [], np.zeros((len(classes), len(classes)), dtype=np.int64)
    for i, (train, test) in enumerate(splitter.split(X, y)):
        repeat, fold = divmod(i, n_splits)
        proba, used, fitted = _fit_predict(p, X[train], y[train], X[test], learner, n_estimators)
        assert list(fitted) == classes  # every training fold holds every class
        pred = np.asarray(classes)[proba.argmax(axis=1)]
        records.append(
            {"repeat": repeat + 1, "fold": fold + 1, "n_train": len(train), "n_test": len(test)}
            | ({"learner": used} if learner == "auto" else {})
            | _fold_metrics(y[test], pred, proba, classes)
        )
        cm += confusion_matrix(y[test], pred, labels=classes)
        frame = pd.DataFrame(
            {
                "sample": sample_names[test],
                "repeat": repeat + 1,
                "fold": fold + 1,
                "true": y[test],
                "predicted": pred,
            }
        )
        for j, c in enumerate(classes):
            frame[f"prob_{c}"] = proba[:, j]
        oof.append(frame)
    order = {s: i for i, s in enumerate(sample_names)}
    oof = pd.concat(oof, ignore_index=True)
    oof = oof.sort_values(
        ["repeat", "sample"], key=lambda s: s.map(order) if s.name == "sample" else s
    )
    return records, oof.reset_index(drop=True), cm


def _summary(values) -> dict:
    v = np.asarray(values, dtype=float)
    ok = v[np.isfinite(v)]
    if not len(ok):
        return {"mean": None, "sd": None, "min": None, "max": None, "values": _r(v)}
    return {
        "mean": _r(ok.mean()),
        "sd": _r(ok.std(ddof=1)) if len(ok) > 1 else 0.0,
        "min": _r(ok.min()),
        "max": _r(ok.max()),
        "values": _r(v),
    }


def _r(x, digits=6):
    """Rounded, JSON-safe floats (NaN -> None), element-wise for arrays."""
    if np.ndim(x):
        return [_r(v, digits) for v in x]
    x = float(x)
    return round(x, digits) if np.isfinite(x) else None


def _report(records, cm, classes, scope) -> dict:
    """metrics / per_class / confusion_matrix / folds of a set of fold records."""
    return {
        "metrics": {m: _summary([r[m] for r in records]) for m in METRICS},
        "per_class": {
            c: {m: _summary([r[f"{m}:{c}"] for r in records]) for m in PER_CLASS} for c in classes
        },
        "confusion_matrix": {
            "classes": classes,
            "rows": "true",
            "columns": "predicted",
            "scope": scope,
            "matrix": cm.tolist(),
        },
        "folds": [
            {k: (_r(v) if isinstance(v, float) else v) for k, v in r.items()} for r in records
        ],
    }


def cross_validate(X, y, params) -> dict:
    """Repeated stratified CV of the pipeline, plus the same CV on shuffled labels.

    X: samples × sites (DataFrame, or array), -1 = missing; y: class labels. Returns
    {"metrics": the metrics.json content, "oof": out-of-fold predictions DataFrame}.
    """
    p = params_with_defaults(params)
    y = np.asarray(y, dtype=str)
    check_labels(y, int(p["cv_folds"]), p["target"], f"model: column {p['target']}")
    names = np.asarray(X.index if isinstance(X, pd.DataFrame) else np.arange(len(y)), dtype=str)
    Xa = np.asarray(X, dtype=np.int8)
    classes = [str(c) for c in np.unique(y)]  # sorted
    counts = {c: int((y == c).sum()) for c in classes}
    records, oof, cm = _cv_once(Xa, y, p, names)
    scope = (
        "out-of-fold predictions summed over all repeats "
        f"(each labelled sample counted cv_repeats = {p['cv_repeats']} times)"
    )
    metrics = {
        "classes": classes,
        "positive_class": classes[1] if len(classes) == 2 else None,
        "roc_auc_definition": (
            f"ROC AUC of P({classes[1]!r}), the second of the sorted class names"
            if len(classes) == 2
            else "one-vs-rest ROC AUC, macro average over classes"
        ),
        "n_samples": len(y),
        "n_features": int(Xa.shape[1]),
        "class_counts": counts,
        "majority_class": max(classes, key=lambda c: (counts[c], -classes.index(c))),
        "majority_baseline_accuracy": _r(max(counts.values()) / len(y)),
        "cv": {
            "splitter": "RepeatedStratifiedKFold",
            "folds": int(p["cv_folds"]),
            "repeats": int(p["cv_repeats"]),
            "seed": int(p["seed"]),
            "select_top": int(p["select_top"]),
            "select_test": "chi2" if p["select_top"] else None,
            "use_pcs": int(p["use_pcs"]),
        },
        "learner": p["learner"],
        **_learner_settings(p, Xa.shape[1]),
        **_report(records, cm, classes, scope),
    }
    if p["learner"] == "auto":
        chosen = [r["learner"] for r in records]
        metrics["auto"] = {
            "candidates": auto_candidates(p),
            "inner_folds": int(p["auto_folds"]),
            "metric": p["auto_metric"],
            "chosen_per_outer_fold": {n: chosen.count(n) for n in sorted(set(chosen))},
            "note": "metrics are of the whole choice, scored on the outer held-out folds",
        }
    if p["compare"]:
        # Every learner (and auto) on the same folds; the configured one is reused.
        learners = {}
        for name in [*LEARNERS, "auto"]:
            recs = records if name == p["learner"] else _cv_once(Xa, y, p, names, learner=name)[0]
            learners[name] = {m: _summary([r[m] for r in recs]) for m in METRICS} | {
                "folds": [{k: _r(r[k]) for k in METRICS} for r in recs]
            }
        metrics["compare"] = {
            "learners": learners,
            "majority_baseline_accuracy": metrics["majority_baseline_accuracy"],
            "folds": "the same RepeatedStratifiedKFold folds (seed, cv_folds, cv_repeats) for all",
        }
    # The null: the same folds on permuted labels (same class counts, seeded
    # permutations), one repeat per shuffle, null_estimators trees.
    rng = np.random.default_rng(int(p["seed"]))
    shuffled, cm_null = [], np.zeros_like(cm)
    for s in range(int(p["n_shuffles"])):
        # The same learner (auto: the whole choice) on the permuted labels.
        recs, _, cm_s = _cv_once(
            Xa, rng.permutation(y), p, names, n_repeats=1, n_estimators=p["null_estimators"]
        )
        shuffled += [{"shuffle": s + 1} | r for r in recs]
        cm_null += cm_s
    metrics["shuffled"] = {
        "n_shuffles": int(p["n_shuffles"]),
        "repeats_per_shuffle": 1,
        "n_estimators": int(p["null_estimators"]),
        **_report(
            shuffled,
            cm_null,
            classes,
            "out-of-fold predictions of one repeat per shuffle, summed over shuffles",
        ),
    }
    return {"metrics": metrics, "oof": oof}


def _learner_settings(p, n_features) -> dict:
    """The settings of the configured learner(s), for metrics.json."""
    out = {}
    names = auto_candidates(p) if p["learner"] == "auto" else [p["learner"]]
    if p["compare"]:
        names = list(LEARNERS)
    if "random_forest" in names:
        out["random_forest"] = {
            "n_estimators": int(p["n_estimators"]),
            "max_features": forest_max_features(p, n_features),
            "null_estimators": int(p["null_estimators"]),
        }
    if "logistic" in names:
        out["logistic"] = {
            "C": float(p["logistic_C"]),
            "l1_ratio": float(p["logistic_l1_ratio"]),
            "solver": "saga" if float(p["logistic_l1_ratio"]) > 0 else "lbfgs",
        }
    if "gradient_boosting" in names:
        out["gradient_boosting"] = {
            "iterations": int(p["boosting_iterations"]),
            "learning_rate": float(p["boosting_learning_rate"]),
        }
    return {"learner_settings": out}


# ----------------------------------------------------------------------------- final model


IMPORTANCE = {
    "random_forest": "impurity decrease (feature_importances_)",
    "logistic": "mean |coefficient| over classes, on unit-variance inputs",
    "gradient_boosting": "summed split gain over all trees",
}


def learner_importances(pipeline) -> np.ndarray:
    """One importance per input column of the last step, normalised to sum 1 (see
    IMPORTANCE for what each learner's means)."""
    est, learner = pipeline.steps[-1][1], learner_of(pipeline)
    if learner == "random_forest":
        return est.feature_importances_
    if learner == "logistic":
        value = np.abs(est.coef_).mean(axis=0)
    else:  # the fitted trees' nodes (TreePredictor.nodes: feature_idx, gain, is_leaf)
        value = np.zeros(est.n_features_in_)
        for trees in est._predictors:
            for tree in trees:
                nodes = tree.nodes[~tree.nodes["is_leaf"].astype(bool)]
                np.add.at(value, nodes["feature_idx"], np.maximum(nodes["gain"], 0))
    total = value.sum()
    return value / total if total > 0 else value


def importances(pipeline, site_ids, sites=None) -> pd.DataFrame:
    """site_id (or PCk), the learner's importance (IMPORTANCE), rank (1 = most
    important), region."""
    names = feature_names(pipeline, site_ids)
    table = pd.DataFrame({"site_id": names, "importance": learner_importances(pipeline)})
    table = table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    if sites is not None and "region" in sites:
        region = sites.drop_duplicates("site_id").set_index("site_id")["region"]
        table["region"] = table["site_id"].map(region).fillna("")
    return table


def versions() -> dict:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def _plain(x):
    """JSON-like plain Python (dict/list/str/int/float/bool/None) for the metadata."""
    if isinstance(x, dict) or hasattr(x, "items"):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if x is None or isinstance(x, bool | int | float | str):
        return x
    return str(x)


def train(genotypes, samples, sites, params, metadata=None, features=None) -> dict:
    """CV, shuffled-label null, final refit on all labelled samples.

    Returns {"metrics", "oof", "importances", "model"}; "model" is the dict saved with
    skops: pipeline, sites (the ordered site IDs it expects), classes, imputation
    {site: training value for -1}, metadata, training {genotypes: the labelled samples'
    int8 genotypes at the model sites (-1 = missing; no sample names), labels: indices
    into classes} (scripts/predict.py refits on a new sample's observed sites with them).
    `metadata` may carry created, config and input_sha256; no clock is read here, so
    reruns give identical outputs.
    """
    p = params_with_defaults(params)
    X, y = labelled_data(genotypes, samples, features)
    cv = cross_validate(X, y, p)
    classes = cv["metrics"]["classes"]
    Xa = X.to_numpy(dtype=np.int8)
    learner, auto = p["learner"], None
    if learner == "auto":  # the same choice on all labelled samples, then refit
        learner, scores = choose_learner(p, Xa, y)
        auto = {"chosen": learner, "inner_scores": {k: _r(v) for k, v in scores.items()}}
        cv["metrics"]["auto"]["final_model"] = auto
    pipe = fit_pipeline(p, Xa, y, learner)
    site_ids = list(X.columns)
    stats = pipe.named_steps["impute"].statistics_
    meta = dict(metadata or {})
    summary = cv["metrics"]["metrics"]
    model = {
        "pipeline": pipe,
        "sites": site_ids,
        "classes": classes,
        "imputation": {s: float(v) for s, v in zip(site_ids, stats, strict=True)},
        "metadata": _plain(
            {
                "target": p["target"],
                "label_column": "label",
                # The fitted learner (auto: the one chosen); the low-coverage refits use it.
                "learner": learner,
                "auto": auto,
                "params": {k: v for k, v in p.items() if k != "n_jobs"},  # not a result
                "config": meta.pop("config", None),
                "versions": versions(),
                "input_sha256": meta.pop("input_sha256", None),
                "created": meta.pop("created", None),
                "n_samples": len(y),
                "n_features": len(site_ids),
                "class_counts": cv["metrics"]["class_counts"],
                "positive_class": cv["metrics"]["positive_class"],
                "cv_means": {m: summary[m]["mean"] for m in METRICS},
                **meta,
            }
        ),
        # Privacy: the training genotypes travel with the model (README, "phenotype model").
        "training": {
            "genotypes": np.ascontiguousarray(Xa, dtype=np.int8),
            "labels": np.searchsorted(np.asarray(classes), y).astype(np.int16),
        },
    }
    cv["metrics"]["importance"] = IMPORTANCE[learner]
    return {
        "metrics": cv["metrics"],
        "oof": cv["oof"],
        "importances": importances(pipe, site_ids, sites),
        "model": model,
    }


# ----------------------------------------------------------------------------- output


def write_artifacts(artifacts, metrics, oof, importances_path, model_path):
    for path in (metrics, oof, importances_path, model_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(metrics).write_text(json.dumps(artifacts["metrics"], indent=2) + "\n")
    artifacts["oof"].to_csv(oof, sep="\t", index=False, float_format="%.6g")
    artifacts["importances"].to_csv(importances_path, sep="\t", index=False, float_format="%.6g")
    save_model(artifacts["model"], model_path)


# ----------------------------------------------------------------------------- entry point


def _main(smk):
    start = time.perf_counter()
    params = dict(smk.params.model) | {"n_jobs": smk.threads}
    # Provenance: the settings that made the matrix and features this model saw.
    config = {key: dict(getattr(smk.params, key)) for key in ("filter", "features", "model")}
    samples = read_samples(smk.input.samples)
    sites = read_sites(smk.input.sites)
    selected = pd.read_csv(smk.input.selected, sep="\t", dtype={"site_id": str})
    kept = selected.loc[selected["kept"].astype(str).str.lower() == "true", "site_id"].tolist()
    # Memory: only the model's columns are read (int8), never the whole matrix.
    genotypes = read_genotype_frame(smk.input.genotypes, kept)
    metadata = {
        "config": config,
        # Reproducible: the time comes from the environment (SOURCE_DATE_EPOCH), if at all.
        "created": _source_date(),
        "input_sha256": {
            "genotypes": sha256(smk.input.genotypes),
            "samples": sha256(smk.input.samples),
            "selected": sha256(smk.input.selected),
        },
    }
    artifacts = train(genotypes, samples, sites, params, metadata, features=kept)
    write_artifacts(
        artifacts, smk.output.metrics, smk.output.oof, smk.output.importances, smk.output.model
    )
    m = artifacts["metrics"]
    with open(smk.log[0], "w") as log:
        log.write(
            f"labelled samples: {m['n_samples']} {m['class_counts']}\nfeatures: {m['n_features']}\n"
            f"majority baseline accuracy: {m['majority_baseline_accuracy']}\n"
        )
        for label, block in (("CV", m["metrics"]), ("shuffled", m["shuffled"]["metrics"])):
            log.write(
                f"{label}: "
                + ", ".join(f"{k} {v['mean']} +- {v['sd']}" for k, v in block.items())
                + "\n"
            )
        top = artifacts["importances"].head(5)
        log.write("top features: " + ", ".join(top["site_id"]) + "\n")
        log.write(f"time: {time.perf_counter() - start:.1f} s\n")


def _source_date():
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
