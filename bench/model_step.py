"""The model step against a plain scikit-learn random-forest CV on the same matrix.

    .venv/bin/python bench/model_step.py RUN_DIR [RUN_DIR ...] [--rounds N] [--out FILE]

RUN_DIR is a finished workflow run (results/matrix/genotypes.parquet, samples.tsv,
results/features/selected.tsv, the model params in its config). For each, in alternating
rounds, two child processes on the same sites and labels:

- workflow: `scripts/model.py` `train()` as the `model` rule runs it (CV, the
  shuffled-label null and the final refit, saved nowhere);
- plain: what a data scientist writes by hand: `RepeatedStratifiedKFold` with the same
  folds, repeats and seed, `RandomForestClassifier` with the same trees, max_features,
  class weights and n_jobs, missing genotypes filled with the column median of all
  samples (outside the folds: the usual shortcut, and cheaper), ROC AUC per fold. No
  null, no final model.

CPU seconds (user + sys of the child and its threads) are the figure that matters on a
shared machine; wall seconds are printed too. Never a CI test.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np, pandas as pd
from table_io import read_genotypes, read_samples
run, arm, params = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
geno = read_genotypes(f"{run}/results/matrix/genotypes.parquet")
samples = read_samples(f"{run}/results/matrix/samples.tsv")
sel = pd.read_csv(f"{run}/results/features/selected.tsv", sep="\t", dtype={"site_id": str})
kept = sel.loc[sel["kept"].astype(str).str.lower() == "true", "site_id"].tolist()
start = time.perf_counter()
if arm == "workflow":
    import model
    out = model.train(geno, samples, None, params, features=kept)
    m = out["metrics"]
    auc, null = m["metrics"]["roc_auc"]["mean"], m["shuffled"]["metrics"]["roc_auc"]["mean"]
    acc = m["metrics"]["accuracy"]["mean"]
else:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import RepeatedStratifiedKFold
    import model  # only for its option parsing (max_features)
    lab = samples.set_index("sample")["label"].reindex(geno.index).fillna("").astype(str)
    keep = lab.to_numpy() != ""
    X = geno.loc[keep, kept].to_numpy(dtype=float, copy=True)
    X[X < 0] = np.nan
    X = np.where(np.isnan(X), np.nanmedian(X, axis=0), X)
    y = lab[keep].to_numpy()
    classes = np.unique(y)
    cv = RepeatedStratifiedKFold(n_splits=params["cv_folds"], n_repeats=params["cv_repeats"],
                                 random_state=params["seed"])
    aucs, accs = [], []
    for tr, te in cv.split(X, y):
        rf = RandomForestClassifier(n_estimators=params["n_estimators"],
                                    max_features=model._max_features(params["max_features"]),
                                    min_samples_leaf=params["min_samples_leaf"],
                                    class_weight=params["class_weight"],
                                    random_state=params["seed"], n_jobs=params["n_jobs"])
        p = rf.fit(X[tr], y[tr]).predict_proba(X[te])
        accs.append(accuracy_score(y[te], classes[p.argmax(1)]))
        aucs.append(roc_auc_score(y[te] == classes[1], p[:, 1]) if len(classes) == 2 else
                    roc_auc_score(y[te], p, multi_class="ovr", average="macro", labels=classes))
    auc, acc, null = float(np.mean(aucs)), float(np.mean(accs)), None
wall = time.perf_counter() - start
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "auc": auc, "acc": acc,
                  "null_auc": null, "n": int(len(geno)), "m": len(kept)}))
"""


def run_params(run: Path) -> dict:
    sys.path.insert(0, str(REPO / "scripts"))
    from defaults import with_defaults

    cfg = yaml.safe_load((run / "config" / "config.yaml").read_text()) or {}
    return with_defaults("model", cfg.get("model", {}))


def child(run: Path, arm: str, params: dict) -> dict:
    cmd = [sys.executable, "-c", CHILD, str(REPO / "scripts"), str(run), arm, json.dumps(params)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{arm} on {run} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    rows = []
    for run in args.runs:
        params = run_params(run)
        best = {}
        for _ in range(args.rounds):  # alternate the arms: both see the same load
            for arm in ("workflow", "plain"):
                r = child(run, arm, params)
                if arm not in best or r["cpu"] < best[arm]["cpu"]:
                    best[arm] = r
        w, p = best["workflow"], best["plain"]
        rows.append(
            f"| {run.name} | {w['n']} × {w['m']} | {w['cpu']:.1f} / {w['wall']:.1f} | "
            f"{p['cpu']:.1f} / {p['wall']:.1f} | **{w['cpu'] / p['cpu']:.2f}** / "
            f"{w['wall'] / p['wall']:.2f} | {w['auc']:.3f} / {p['auc']:.3f} | "
            f"{w['null_auc']:.3f} | {os.getloadavg()[0]:.1f} |"
        )
    text = (
        f"Model step against a plain random-forest CV ({time.strftime('%Y-%m-%d')}, "
        f"best of {args.rounds} alternating rounds, 2 cores)\n\n"
        "| run | samples × sites | workflow CPU / wall s | plain CPU / wall s | "
        "ratio CPU / wall | CV AUC workflow / plain | null AUC | load |\n"
        "|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
