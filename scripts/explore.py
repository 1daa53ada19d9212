"""The notebooks' logic (notebooks/*.py.ipynb, rules/notebooks.smk): tables and numbers
computed from `results/`, so that the notebooks stay thin and the tests call these
functions directly.

- matrix: genotype counts and call rates recomputed from genotypes.parquet (-1 = missing);
- population: how much of each PC a samples-table column explains (R²);
- association: top hits beside the forest's importances, and their rank agreement;
- model: metrics against the majority baseline and shuffled labels; the CV folds as the
  model step used them (from oof_predictions.tsv); a quick alternative model on exactly
  those folds (prototype_cv: imputation and scaling fitted inside each training fold);
- sequence model: whatever results/sequence_model/ holds (metrics.json, predictions.tsv,
  a training history), read without assuming more than JSON numbers and TSV columns.

Figures: `show(fig)` renders a matplotlib figure as PNG into the notebook (independent of
the matplotlib backend, which scripts/plot_style.py sets to Agg); `show_plot(fn, ...)`
runs one of the report's plot_* functions (scripts/report_*.py: tables in, PNG out) and
shows its PNG, so a notebook draws the report's figures with the report's code.
"""

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from plot_style import GREY, colour, plt
from table_io import MISSING, read_genotype_frame

SUMMARY_KEYS = ("explore", "model", "sequence_model")


# ----------------------------------------------------------------------------- display


def show(fig):
    """Display a matplotlib figure in the notebook as a PNG, then close it."""
    from IPython.display import Image, display

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    display(Image(data=buf.getvalue()))


def show_plot(plot, *args, **kwargs):
    """Run a report plot function `plot(*args, path, **kwargs)` and display its PNG."""
    from IPython.display import Image, display

    with tempfile.TemporaryDirectory(prefix="explore.") as tmp:
        path = Path(tmp) / "figure.png"
        plot(*args, path, **kwargs)
        display(Image(data=path.read_bytes()))


def write_summary(summary: dict, path):
    """The notebook's headline numbers as JSON (the rule's output)."""
    Path(path).write_text(json.dumps(_plain(summary), indent=2, sort_keys=True) + "\n")


def _plain(x):
    """JSON-safe copy: numpy scalars to Python, NaN to None."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.integer | np.bool_):
        return x.item()
    if isinstance(x, float | np.floating):
        return float(x) if np.isfinite(x) else None
    return x


# ----------------------------------------------------------------------------- matrix


def read_matrix(path, columns=None) -> pd.DataFrame:
    """The genotype matrix (or its `columns`) as a frame over one int8 array: about the
    matrix' own size in memory (table_io.read_genotype_frame), at any cohort size."""
    return read_genotype_frame(path, columns)


# Genotypes (samples x sites x folds) the prototype may fit on in all: its features are a
# seeded, label-free subset of the model's sites when the matrix is larger (issue 22: at
# 10,000 samples a float copy of every site would take gigabytes and minutes per fold).
PROTOTYPE_BUDGET = 3e7


def prototype_sites(kept, n_samples: int, n_folds: int, seed: int = 0) -> list:
    """The prototype's sites: all of `kept` when n_folds x n_samples x sites stays within
    PROTOTYPE_BUDGET, else an evenly seeded random subset of that size (at least 500), in
    the matrix order. Never chosen by the labels (no leak into the folds)."""
    kept = list(kept)
    cap = max(500, int(PROTOTYPE_BUDGET / max(n_folds * n_samples, 1)))
    if len(kept) <= cap:
        return kept
    rng = np.random.default_rng(seed)
    return [kept[i] for i in np.sort(rng.choice(len(kept), cap, replace=False))]


def call_rates(genotypes: pd.DataFrame, block: int = 4096):
    """(per-sample, per-site) share of called genotypes (not -1) of the matrix, block by
    block of sites (no matrix-sized temporary)."""
    g = genotypes.to_numpy()
    n, m = g.shape
    per_sample = np.zeros(n, dtype=np.int64)
    per_site = np.zeros(m, dtype=np.int64)
    for a in range(0, m, block):
        called = g[:, a : a + block] != MISSING
        per_sample += called.sum(axis=1)
        per_site[a : a + block] = called.sum(axis=0)
    return (
        pd.Series(per_sample / max(m, 1) if m else np.full(n, np.nan), index=genotypes.index,
                  name="call_rate"),
        pd.Series(per_site / n if n else np.full(m, np.nan), index=genotypes.columns,
                  name="call_rate"),
    )  # fmt: skip


def matrix_overview(genotypes: pd.DataFrame, samples: pd.DataFrame) -> dict:
    """Size, missingness, dosage counts and labels of the matrix."""
    g = genotypes.to_numpy()
    # One value at a time (a bool per genotype), not a sorted or widened copy of the matrix.
    names = {MISSING: "missing", 0: "0", 1: "1", 2: "2"}
    dosage = {name: int((g == v).sum()) for v, name in names.items()}
    dosage = {k: v for k, v in dosage.items() if v}
    labels = samples.set_index("sample").reindex(genotypes.index)["label"].fillna("")
    return {
        "n_samples": int(g.shape[0]),
        "n_sites": int(g.shape[1]),
        "missing_share": float((g == MISSING).mean()) if g.size else 0.0,
        "dosage_counts": dosage,
        "n_labelled": int((labels != "").sum()),
        "class_counts": {str(k): int(v) for k, v in labels[labels != ""].value_counts().items()},
    }


def plot_call_rates(sample_rates: pd.Series, site_rates: pd.Series, threshold=None):
    """Histograms of per-sample and per-site call rates (the filter's threshold dashed)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    bins = np.linspace(0, 1, 41)
    for ax, rates, what in zip(axes, (sample_rates, site_rates), ("sample", "site"), strict=True):
        ax.hist(rates.to_numpy(), bins=bins, color=colour(0))
        ax.set_xlabel(f"call rate per {what}")
        ax.set_ylabel(f"{what}s")
        ax.set_title(f"{len(rates):,} {what}s, mean call rate {rates.mean():.3f}")
        if threshold is not None and what == "site":
            ax.axvline(threshold, color=colour(3), ls="--", lw=1, label=f"filter {threshold}")
            ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def dosage_by_group(genotypes: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Mean ALT allele frequency per site in each label group (missing genotypes left out;
    NaN where a group has no call). One group's rows at a time, in integers: no float copy
    of the whole matrix."""
    g = genotypes.to_numpy()
    labels = labels.reindex(genotypes.index).fillna("").to_numpy()
    out = {}
    for group in sorted(v for v in set(labels) if v != ""):
        sub = g[labels == group]
        called = (sub != MISSING).sum(axis=0)
        alt = np.where(sub != MISSING, sub, 0).sum(axis=0, dtype=np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[group] = np.where(called > 0, alt / (2 * called), np.nan)
    return pd.DataFrame(out, index=genotypes.columns)


# ----------------------------------------------------------------------------- population


MATRIX_COLUMNS = ("sample", "call_rate", "heterozygosity")


def colour_columns(samples: pd.DataFrame, max_groups=20) -> list[str]:
    """Columns of the matrix's samples table to colour the PCA by: the label, then every
    sheet column that groups samples (not numbers, 2 to `max_groups` values, not a copy of
    the label). From the table itself, so that no report setting reruns a notebook."""
    cols = ["label"] if "label" in samples else []
    for c in samples.columns:
        if c in MATRIX_COLUMNS or c == "label":
            continue
        values = samples[c].fillna("").astype(str)
        if "label" in samples and values.equals(samples["label"].fillna("").astype(str)):
            continue
        if pd.to_numeric(values[values != ""], errors="coerce").notna().all():
            continue
        if 2 <= values[values != ""].nunique() <= max_groups:
            cols.append(c)
    return cols


def pc_r2(pca: pd.DataFrame, samples: pd.DataFrame, column: str, n_pcs=4) -> pd.Series:
    """Share of each PC's variance explained by the groups of `column` (one-way ANOVA R²:
    between-group / total sum of squares), over the samples with a value in `column`."""
    data = pca.merge(samples[["sample", column]], on="sample", how="inner")
    data = data[data[column].fillna("").astype(str) != ""]
    pcs = [c for c in pca.columns if c.startswith("PC")][:n_pcs]
    out = {}
    for pc in pcs:
        x = data[pc].astype(float)
        total = ((x - x.mean()) ** 2).sum()
        means = x.groupby(data[column]).transform("mean")
        out[pc] = float(((means - x.mean()) ** 2).sum() / total) if total > 0 else np.nan
    return pd.Series(out, name=column)


# ----------------------------------------------------------------------------- association


def top_hits(assoc: pd.DataFrame, importances: pd.DataFrame, n=10) -> pd.DataFrame:
    """The n smallest p-values with the forest's importance rank of the same site
    (empty when the site is not a model feature)."""
    cols = [c for c in ("site_id", "chrom", "pos", "test", "p", "or", "beta") if c in assoc]
    top = assoc.dropna(subset=["p"]).sort_values("p", kind="stable").head(n)[cols]
    ranks = importances.set_index("site_id")[["importance", "rank"]]
    return top.merge(ranks, left_on="site_id", right_index=True, how="left").reset_index(drop=True)


def association_importance_agreement(assoc: pd.DataFrame, importances: pd.DataFrame) -> dict:
    """Spearman ρ between −log10 p and importance over the sites both tables have, and
    the overlap of their top 10."""
    from scipy.stats import spearmanr

    a = assoc.dropna(subset=["p"]).set_index("site_id")["p"].astype(float)
    imp = importances.set_index("site_id")["importance"].astype(float)
    shared = a.index.intersection(imp.index)
    rho = np.nan
    if len(shared) > 2:
        rho = spearmanr(-np.log10(np.clip(a[shared], 1e-300, 1)), imp[shared]).statistic
    top_a = set(a.sort_values(kind="stable").index[:10])
    top_i = set(imp.sort_values(ascending=False, kind="stable").index[:10])
    return {
        "n_shared": int(len(shared)),
        "spearman_rho": float(rho),
        "top10_overlap": len(top_a & top_i),
    }


# ----------------------------------------------------------------------------- model


def metrics_table(metrics: dict) -> pd.DataFrame:
    """One row per metric: CV mean and sd, shuffled-label mean, and chance (majority
    class for accuracy, 1/classes for balanced accuracy, 0.5 for ROC AUC)."""
    shuffled = metrics.get("shuffled", {}).get("metrics", {})
    chance = {
        "accuracy": metrics.get("majority_baseline_accuracy"),
        "balanced_accuracy": 1 / len(metrics["classes"]),
        "roc_auc": 0.5,
    }
    rows = []
    for name, block in metrics["metrics"].items():
        rows.append(
            {
                "metric": name,
                "cv_mean": block["mean"],
                "cv_sd": block["sd"],
                "shuffled_mean": shuffled.get(name, {}).get("mean"),
                "chance": chance.get(name),
            }
        )
    return pd.DataFrame(rows).set_index("metric")


def folds_from_oof(oof: pd.DataFrame) -> list[dict]:
    """The model step's CV splits, read back from its out-of-fold predictions: per
    (repeat, fold) the held-out samples; the training samples are the repeat's others."""
    folds = []
    for repeat, rep in oof.groupby("repeat", sort=True):
        everyone = list(rep["sample"].astype(str))
        for fold, sub in rep.groupby("fold", sort=True):
            test = list(sub["sample"].astype(str))
            held = set(test)
            folds.append(
                {
                    "repeat": int(repeat),
                    "fold": int(fold),
                    "train": [s for s in everyone if s not in held],
                    "test": test,
                }
            )
    return folds


def logistic_regression(seed=0, C=0.1):
    """The prototype: L2 logistic regression on standardised dosages (missing → the
    training fold's most frequent dosage, as in the model step)."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        SimpleImputer(missing_values=MISSING, strategy="most_frequent"),
        StandardScaler(),
        LogisticRegression(C=C, max_iter=2000, random_state=seed),
    )


def prototype_cv(genotypes: pd.DataFrame, labels: pd.Series, folds, make_model) -> pd.DataFrame:
    """Cross-validate `make_model()` on the given folds (folds_from_oof): a fresh model is
    fitted on each training fold. Per fold: accuracy, balanced accuracy, ROC AUC (of the
    second sorted class for two classes, one-vs-rest macro otherwise)."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score

    y_all = labels.astype(str)
    rows = []
    for f in folds:
        X_train = genotypes.loc[f["train"]].to_numpy()
        X_test = genotypes.loc[f["test"]].to_numpy()
        y_train, y_test = y_all[f["train"]].to_numpy(), y_all[f["test"]].to_numpy()
        model = make_model().fit(X_train, y_train)
        proba = model.predict_proba(X_test)
        classes = list(model.classes_)
        pred = np.asarray(classes)[proba.argmax(axis=1)]
        try:
            if len(classes) == 2:
                auc = roc_auc_score(y_test == classes[1], proba[:, 1])
            else:
                auc = roc_auc_score(y_test, proba, multi_class="ovr", labels=classes)
        except ValueError:  # one class only in this held-out fold
            auc = np.nan
        rows.append(
            {
                "repeat": f["repeat"],
                "fold": f["fold"],
                "n_test": len(y_test),
                "accuracy": accuracy_score(y_test, pred),
                "balanced_accuracy": balanced_accuracy_score(y_test, pred),
                "roc_auc": auc,
            }
        )
    return pd.DataFrame(rows)


def compare_folds(model_folds: list, prototype: pd.DataFrame) -> pd.DataFrame:
    """Per fold: the forest's (metrics.json `folds`) and the prototype's metrics side by side."""
    forest = pd.DataFrame(model_folds)[["repeat", "fold", "accuracy", "roc_auc"]]
    return forest.merge(
        prototype[["repeat", "fold", "accuracy", "roc_auc"]],
        on=["repeat", "fold"],
        suffixes=("_forest", "_prototype"),
    )


def plot_fold_comparison(table: pd.DataFrame, metric="roc_auc"):
    """Forest against prototype, one point per CV fold, with the diagonal."""
    fig, ax = plt.subplots(figsize=(4.2, 4))
    x, y = table[f"{metric}_forest"], table[f"{metric}_prototype"]
    ax.plot([0, 1], [0, 1], color=GREY, ls=":", lw=1)
    ax.scatter(x, y, color=colour(0), s=25)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"random forest ({metric}, mean {x.mean():.3f})")
    ax.set_ylabel(f"prototype ({metric}, mean {y.mean():.3f})")
    ax.set_title(f"{len(table)} CV folds")
    fig.tight_layout()
    return fig


def prediction_summary(predictions: pd.DataFrame) -> dict:
    """Predicted classes, prediction methods and low-coverage flags of predictions.tsv."""
    out = {"n_predicted": len(predictions)}
    for col in ("predicted", "method", "low_coverage"):
        if col in predictions:
            counts = predictions[col].astype(str).value_counts().sort_index()
            out[col] = {k: int(v) for k, v in counts.items()}
    return out


# ----------------------------------------------------------------------------- sequence model


def flatten_numbers(tree, prefix="") -> dict:
    """Every number of a JSON tree as {"a.b.0": value} (bools and strings left out)."""
    out = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            out |= flatten_numbers(v, f"{prefix}{k}.")
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out |= flatten_numbers(v, f"{prefix}{i}.")
    elif isinstance(tree, int | float) and not isinstance(tree, bool):
        out[prefix[:-1]] = float(tree)
    return out


def _read_table(path: Path):
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        if isinstance(data, list):
            return pd.DataFrame(data)
        if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()):
            lengths = {len(v) for v in data.values()}
            return pd.DataFrame(data) if len(lengths) == 1 else None
        return None
    return pd.read_csv(path, sep="\t" if path.suffix in (".tsv", ".txt") else ",")


def read_sequence_model(folder) -> dict:
    """What results/sequence_model/ holds: metrics.json (also as flat numbers), and those of
    predictions.tsv, test_predictions.tsv and a training history (a file whose name starts
    with `history`: TSV, CSV or JSON of per-epoch columns) that exist (else None), with the
    names of all its files."""
    folder = Path(folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    out = {
        "metrics": metrics,
        "numbers": flatten_numbers(metrics),
        "files": sorted(p.name for p in folder.iterdir() if p.is_file()),
        "history": None,
    }
    for name in ("predictions", "test_predictions"):
        path = folder / f"{name}.tsv"
        out[name] = pd.read_csv(path, sep="\t") if path.exists() else None
    for path in sorted(folder.glob("history*")):
        if path.suffix in (".tsv", ".csv", ".json", ".txt"):
            table = _read_table(path)
            if table is not None and len(table):
                out["history"] = table
                out["history_file"] = path.name
                break
    return out


def accuracy_table(numbers: dict) -> pd.Series:
    """The numbers whose key names an accuracy or a baseline (the model's, its baselines',
    the majority class's), largest first."""
    acc = {k: v for k, v in numbers.items() if "accuracy" in k or k.startswith("baseline")}
    return pd.Series(acc, name="accuracy", dtype=float).sort_values(ascending=False)


def find_confusion(tree):
    """The first confusion matrix in a JSON tree, as a DataFrame (rows true, columns
    predicted): a dict under a key containing `confusion` with a list of class names and a
    square list of lists."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            if "confusion" in str(key) and isinstance(value, dict):
                names = next((v for v in value.values() if _is_names(v)), None)
                matrix = next((v for v in value.values() if _is_square(v)), None)
                if names is not None and matrix is not None and len(names) == len(matrix):
                    return pd.DataFrame(
                        matrix,
                        index=pd.Index(names, name="true"),
                        columns=pd.Index(names, name="predicted"),
                    )
            found = find_confusion(value)
            if found is not None:
                return found
    return None


def _is_names(v):
    return isinstance(v, list) and v and all(isinstance(x, str) for x in v)


def _is_square(v):
    return (
        isinstance(v, list)
        and v
        and all(isinstance(r, list) and len(r) == len(v) for r in v)
        and all(isinstance(x, int | float) for r in v for x in r)
    )


def agreement(predictions: pd.DataFrame, true="true", predicted="predicted") -> float:
    """Share of rows whose predicted class is the true one (held-out predictions)."""
    return float((predictions[true].astype(str) == predictions[predicted].astype(str)).mean())


def plot_history(history: pd.DataFrame):
    """Every numeric column of a training history against the epoch (or row number):
    losses in one panel, the other columns in a second."""
    data = history.select_dtypes("number")
    x_col = next((c for c in ("epoch", "step") if c in data), None)
    x = data.pop(x_col) if x_col else pd.Series(np.arange(1, len(data) + 1))
    loss = [c for c in data if "loss" in c.lower()]
    other = [c for c in data if c not in loss]
    panels = [p for p in (loss, other) if p]
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(5 * max(len(panels), 1), 3.6))
    for ax, cols in zip(np.atleast_1d(axes), panels, strict=False):
        for i, c in enumerate(cols):
            ax.plot(x, data[c], color=colour(i), marker="o", ms=3, label=c)
        ax.set_xlabel(x_col or "row")
        ax.legend(frameon=False)
    fig.tight_layout()
    return fig
