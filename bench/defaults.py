"""Defaults of the ML steps (features.*, model.*) chosen on real data: a small grid on the
1000 Genomes chr1 panel (super-population, 5 classes) and on the demo cohort.

    .venv/bin/python bench/defaults.py --demo DIR [--quick]

DIR is a finished default demo run (a copy of the repo where the workflow ran the demo to
results/model/): its results/matrix/{genotypes.parquet,sites.tsv,samples.tsv} and
resources/demo/truth/{summary.json,causal.tsv} are read, nothing is written there.

The grid measures the workflow's own code: scripts/filter.py `filter_vcf` and
scripts/matrix.py `build_matrix` (1000G; schema-default filter), scripts/features.py
`select_features`, scripts/model.py `cross_validate` (1000G) and `train` (demo: CV + the
final model's importances). Every parameter is passed explicitly as a full dict.

1. Screening, 5-fold CV x 1, no shuffles: feature thresholds and LD pruning with the old
   model settings, then max_features / trees / class_weight on the best feature setting.
2. Confirmation, 5-fold CV x 3 (seed 42, the workflow's default): the old defaults, the
   chosen defaults (CHOSEN), the best screened points and a plain scikit-learn random
   forest on the same folds. The demo runs with 3 shuffles (the null); on 1000G shuffles
   are skipped (they do not change the CV metrics, only add the null's fits).

Writes bench/results/defaults.md (defaults-quick.md with --quick; --quick: 100 trees, a
few grid points, checks the harness in ~3 min). Work files: bench/work/defaults/.
"""

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import make_pipeline

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work" / "defaults"
RESULTS = BENCH / "results"
G1K = REPO.parent / "shared" / "data" / "1000g_phase3_chr1_140kb_2504samples"
G1K_VCF = G1K / "1000G_phase3.chr1_11697036-11836540.vcf.gz"
G1K_TARGET = "super_population"
# scripts/ first: its `defaults` module (schema defaults) must win over this file's name.
sys.path.insert(0, str(REPO / "scripts"))

import features as fe  # noqa: E402
import model as mo  # noqa: E402
from defaults import schema_defaults  # noqa: E402
from filter import filter_vcf  # noqa: E402
from matrix import build_matrix  # noqa: E402

PLOIDY = 2
FILTER = schema_defaults()["filter"]  # what a user's run filters with
LD_OFF = {"enabled": False, "r2": 0.8, "window": 50, "step": 5}
OLD_FEATURES = {"min_maf": 0.05, "min_call_rate": 0.95, "ld_prune": LD_OFF, "pca_components": 10}
OLD_MODEL = {
    "target": "phenotype",
    "n_estimators": 500,
    "max_features": "sqrt",
    "min_samples_leaf": 1,
    "class_weight": "balanced",
    "cv_folds": 5,
    "cv_repeats": 3,
    "select_top": 0,
    "use_pcs": 0,
    "n_shuffles": 3,
    "seed": 42,
    "n_jobs": 2,
    # The grid below was measured before max_features_cap existed: fractions uncapped.
    # (On 1000G the chosen 0.2 of 413 SNPs = 82 is below today's cap of 100 anyway;
    # bench/learners.py measures the cap at genome scale.)
    "max_features_cap": 0,
}
# The defaults this benchmark recommends (bench/results/defaults.md explains why).
CHOSEN_FEATURES = {"min_maf": 0.01, "min_call_rate": 0.95, "ld_r2": 0.8}
CHOSEN_MODEL = {"max_features": 0.2, "n_estimators": 500, "class_weight": "balanced"}
CACHE_FILE = WORK / "cache.json"
CACHE = {}
PLAIN_TREES = 300  # the panel's SOURCE.md sanity check: 300 trees, 5-fold, MAF >= 1%


# ----------------------------------------------------------------------------- grid points


def point(maf=0.05, cr=0.95, ld=None, mf="sqrt", trees=500, cw="balanced", leaf=1) -> dict:
    """One grid point: features (min_maf, min_call_rate, LD r² or None) and model settings."""
    return {"maf": maf, "cr": cr, "ld": ld, "mf": mf, "trees": trees, "cw": cw, "leaf": leaf}


def label(p) -> str:
    ld = f"ld {p['ld']}" if p["ld"] else "no ld"
    cw = p["cw"] or "none"
    leaf = f", leaf {p['leaf']}" if p["leaf"] != 1 else ""
    return f"maf {p['maf']}, cr {p['cr']}, {ld} / mf {p['mf']}, {p['trees']} trees, {cw}{leaf}"


def feature_params(p) -> dict:
    ld = {**LD_OFF, "enabled": p["ld"] is not None, "r2": p["ld"] or LD_OFF["r2"]}
    return {**OLD_FEATURES, "min_maf": p["maf"], "min_call_rate": p["cr"], "ld_prune": ld}


def model_params(p, target, repeats, shuffles) -> dict:
    return {
        **OLD_MODEL,
        "target": target,
        "n_estimators": p["trees"],
        "max_features": p["mf"],
        "min_samples_leaf": p["leaf"],
        "class_weight": p["cw"],
        "cv_repeats": repeats,
        "n_shuffles": shuffles,
    }


OLD = point()
# The model settings are screened with these features: MAF 0.01 gains most in the feature
# block; of the two LD thresholds within noise of each other, the milder r² 0.8.
ANCHOR = point(maf=0.01, cr=0.95, ld=0.8)
CHOSEN = point(
    maf=CHOSEN_FEATURES["min_maf"],
    cr=CHOSEN_FEATURES["min_call_rate"],
    ld=CHOSEN_FEATURES["ld_r2"],
    mf=CHOSEN_MODEL["max_features"],
    trees=CHOSEN_MODEL["n_estimators"],
    cw=CHOSEN_MODEL["class_weight"],
)


def feature_grid(quick) -> list:
    """Feature thresholds and LD pruning, with the old model settings."""
    if quick:
        return [point(maf=0.05), point(maf=0.01), point(maf=0.01, ld=0.8)]
    grid = [point(maf=m, ld=ld) for m in (0.01, 0.02, 0.05) for ld in (None, 0.8, 0.5)]
    grid += [point(maf=m, cr=0.9, ld=ld) for m, ld in ((0.05, None), (0.01, None), (0.01, 0.8))]
    return grid


def model_grid(quick) -> list:
    """max_features, trees and class_weight with the features of ANCHOR; max_features
    fractions also without LD pruning and with r² 0.5."""
    f = {k: ANCHOR[k] for k in ("maf", "cr", "ld")}
    if quick:
        return [point(**f, mf=0.2)]
    grid = [point(**f, mf=mf) for mf in (0.1, 0.2, 0.33)]
    grid += [point(**f, mf=mf, cw=None) for mf in ("sqrt", 0.2)]
    grid += [point(**f, trees=t) for t in (300, 1000)] + [point(**f, mf=0.2, trees=1000)]
    grid += [point(**f, mf=0.2, leaf=2)]
    grid += [point(maf=f["maf"], cr=f["cr"], mf=mf) for mf in (0.1, 0.2, 0.33)]
    grid += [point(maf=f["maf"], cr=f["cr"], ld=0.5, mf=mf) for mf in (0.1, 0.2)]
    return grid


# ----------------------------------------------------------------------------- data


def load_1000g():
    """(genotypes, sites, samples) of the panel after the schema-default filter."""
    WORK.mkdir(parents=True, exist_ok=True)
    filtered = WORK / "g1k.filtered.vcf.gz"
    stamp = WORK / "g1k.filter.json"
    if not filtered.exists() or not stamp.exists() or json.loads(stamp.read_text()) != FILTER:
        filter_vcf(G1K_VCF, filtered, dict(FILTER), PLOIDY)
        stamp.write_text(json.dumps(FILTER))
    sheet = pd.read_csv(G1K / "labels.tsv", sep="\t", dtype=str, keep_default_na=False)
    return build_matrix(filtered, sheet, G1K_TARGET, PLOIDY)


def load_demo(run: Path):
    """(genotypes, sites, samples, oracle AUC, causal site IDs) of a finished demo run."""
    m = run / "results" / "matrix"
    truth = run / "resources" / "demo" / "truth"
    genotypes = fe.read_genotypes(m / "genotypes.parquet")
    sites, samples = fe.read_sites(m / "sites.tsv"), fe.read_samples(m / "samples.tsv")
    oracle = json.loads((truth / "summary.json").read_text())["oracle_auc"]
    causal = list(pd.read_csv(truth / "causal.tsv", sep="\t")["site_id"])
    return genotypes, sites, samples, oracle, causal


# ----------------------------------------------------------------------------- runs


def loadavg() -> str:
    return "{:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())


def cached(kind, p, repeats, shuffles, fn):
    """fn() once per (data set, point, repeats, shuffles): results are kept in
    bench/work/defaults/cache.json (--fresh empties it), so a rerun only fits new points."""
    key = json.dumps([kind, p, repeats, shuffles], sort_keys=True)
    if key not in CACHE:
        CACHE[key] = fn()
        CACHE_FILE.write_text(json.dumps(CACHE, indent=1))
    return CACHE[key]


def run_1000g(data, p, repeats) -> dict:
    genotypes, sites, samples = data
    kept, _ = fe.select_features(genotypes, sites, feature_params(p), PLOIDY)
    X, y = mo.labelled_data(genotypes, samples, kept)
    load, start = loadavg(), time.perf_counter()
    cv = mo.cross_validate(X, y, model_params(p, G1K_TARGET, repeats, 0))
    seconds = time.perf_counter() - start
    m = cv["metrics"]["metrics"]
    return {
        "g1k_snps": len(kept),
        "g1k_acc": m["accuracy"]["mean"],
        "g1k_acc_sd": m["accuracy"]["sd"],
        "g1k_bacc": m["balanced_accuracy"]["mean"],
        "g1k_s_fit": seconds / (5 * repeats),
        "load": load,
    }


def run_demo(demo, p, repeats, shuffles) -> dict:
    genotypes, sites, samples, oracle, causal = demo
    kept, _ = fe.select_features(genotypes, sites, feature_params(p), PLOIDY)
    out = mo.train(
        genotypes, samples, sites, model_params(p, "phenotype", repeats, shuffles), features=kept
    )
    top = list(out["importances"]["site_id"].head(10))
    m = out["metrics"]
    auc = m["metrics"]["roc_auc"]["mean"]
    null = m["shuffled"]["metrics"]["roc_auc"]["mean"] if shuffles else None
    found = sum(s in top for s in causal)
    return {
        "demo_snps": len(kept),
        "demo_causal_kept": sum(s in kept for s in causal),
        "demo_auc": auc,
        "demo_gap": auc - oracle,
        "demo_null": null,
        "demo_top10": found,
        "demo_pass": abs(auc - oracle) <= 0.1
        and found >= len(causal) - 1
        and (null is None or abs(null - 0.5) <= 0.1),
    }


def plain_rf(X, y, repeats, trees, seed=42):
    """Plain scikit-learn forest (most-frequent imputation, sqrt features, no class
    weights) on the folds model.cross_validate uses: (accuracy, balanced accuracy, AUC of
    P(second class) when binary, mean fit seconds)."""
    splitter = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=seed)
    X = np.asarray(X, dtype=np.int8)
    accs, baccs, aucs, fit = [], [], [], []
    for train, test in splitter.split(X, y):
        pipe = make_pipeline(
            SimpleImputer(missing_values=-1, strategy="most_frequent"),
            RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=2),
        )
        start = time.perf_counter()
        pipe.fit(X[train], y[train])
        fit.append(time.perf_counter() - start)
        pred = pipe.predict(X[test])
        accs.append(accuracy_score(y[test], pred))
        baccs.append(balanced_accuracy_score(y[test], pred))
        if len(pipe.classes_) == 2:
            aucs.append(
                roc_auc_score(y[test] == pipe.classes_[1], pipe.predict_proba(X[test])[:, 1])
            )
    auc = float(np.mean(aucs)) if aucs else None
    return (
        float(np.mean(accs)),
        float(np.std(accs, ddof=1)),
        float(np.mean(baccs)),
        auc,
        np.mean(fit),
    )


def fit_times(g1k, named, rounds, cap=None) -> list:
    """Median seconds of one final fit (`build_pipeline(...).fit`, all 2,504 samples) per
    named point; the points alternate, so that the shared machine's load hits all alike."""
    genotypes, sites, samples = g1k
    data = {}
    for name, p in named:
        p = {**p, "trees": min(p["trees"], cap or p["trees"])}
        kept, _ = fe.select_features(genotypes, sites, feature_params(p), PLOIDY)
        X, y = mo.labelled_data(genotypes, samples, kept)
        data[name] = (model_params(p, G1K_TARGET, 1, 0), X.to_numpy(dtype=np.int8), y)
    seconds = {name: [] for name in data}
    load = loadavg()
    for _ in range(rounds):
        for name, (params, X, y) in data.items():
            start = time.perf_counter()
            mo.build_pipeline(params, X.shape[1], len(y)).fit(X, y)
            seconds[name].append(time.perf_counter() - start)
    return [
        (name, data[name][1].shape[1], float(np.median(s)), load) for name, s in seconds.items()
    ]


def plain_rows(g1k, demo, repeats, trees) -> dict:
    """The plain forest on all SNPs with MAF >= 1% (any call rate, no LD pruning)."""
    p = point(maf=0.01, cr=0.0)
    genotypes, sites, samples = g1k
    kept, _ = fe.select_features(genotypes, sites, feature_params(p), PLOIDY)
    X, y = mo.labelled_data(genotypes, samples, kept)
    load = loadavg()
    acc, sd, bacc, _, fit = plain_rf(X, y, repeats, trees)
    row = {"g1k_snps": len(kept), "g1k_acc": acc, "g1k_acc_sd": sd, "g1k_bacc": bacc}
    row |= {"g1k_s_fit": fit, "load": load}
    genotypes, sites, samples, oracle, causal = demo
    kept, _ = fe.select_features(genotypes, sites, feature_params(p), PLOIDY)
    X, y = mo.labelled_data(genotypes, samples, kept)
    _, _, _, auc, _ = plain_rf(X, y, repeats, trees)
    forest = make_pipeline(
        SimpleImputer(missing_values=-1, strategy="most_frequent"),
        RandomForestClassifier(n_estimators=trees, random_state=42, n_jobs=2),
    ).fit(np.asarray(X, dtype=np.int8), y)[-1]
    top = [kept[i] for i in np.argsort(-forest.feature_importances_, kind="stable")[:10]]
    found = sum(s in top for s in causal)
    row |= {"demo_snps": len(kept), "demo_causal_kept": sum(s in kept for s in causal)}
    row |= {"demo_auc": auc, "demo_gap": auc - oracle, "demo_null": None, "demo_top10": found}
    row["demo_pass"] = abs(auc - oracle) <= 0.1 and found >= len(causal) - 1
    return {"name": f"plain sklearn RF ({trees} trees, MAF >= 1%)", **row}


def evaluate(points, g1k, demo, repeats, shuffles, trees_cap=None, tag="") -> list:
    rows = []
    for p in points:
        if trees_cap:
            p = {**p, "trees": min(p["trees"], trees_cap)}
        row = {"name": tag + label(p), "point": p}
        row |= cached("1000g", p, repeats, 0, lambda p=p: run_1000g(g1k, p, repeats))
        row |= cached(
            "demo", p, repeats, shuffles, lambda p=p: run_demo(demo, p, repeats, shuffles)
        )
        print(_line(row), flush=True)
        rows.append(row)
    return rows


def same(a, b) -> bool:
    return all(a[k] == b[k] for k in ("maf", "cr", "ld", "mf", "trees", "cw", "leaf"))


# ----------------------------------------------------------------------------- report


def _f(x, digits=3, sign=False):
    if x is None:
        return "–"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _line(r) -> str:
    return (
        f"{r['name']}: 1000G acc {_f(r['g1k_acc'])} bacc {_f(r['g1k_bacc'])} "
        f"({r['g1k_snps']} SNPs, {_f(r['g1k_s_fit'], 1)} s/fit, load {r['load']}); demo AUC "
        f"{_f(r['demo_auc'])} gap {_f(r['demo_gap'], sign=True)} top10 {r['demo_top10']} "
        f"null {_f(r['demo_null'])} pass {r['demo_pass']}"
    )


def table(rows, n_causal, with_null=False) -> str:
    head = [
        "setting (features / model)",
        "1000G SNPs",
        "1000G acc",
        "1000G bal. acc",
        "s / fit",
        "load",
        "demo SNPs",
        "demo AUC",
        "− oracle",
        "causal in top 10",
    ]
    head += ["null AUC"] if with_null else []
    head += ["demo checks"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        acc = _f(r["g1k_acc"]) + (f" ± {_f(r['g1k_acc_sd'])}" if with_null else "")
        cells = [
            r["name"],
            str(r["g1k_snps"]),
            acc,
            _f(r["g1k_bacc"]),
            _f(r["g1k_s_fit"], 1),
            r["load"],
            f"{r['demo_snps']} ({r['demo_causal_kept']}/{n_causal} causal)",
            _f(r["demo_auc"]),
            _f(r["demo_gap"], sign=True),
            f"{r['demo_top10']}/{n_causal}",
        ]
        cells += [_f(r["demo_null"])] if with_null else []
        cells += ["pass" if r["demo_pass"] else "**fail**"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def yaml_fragment(p) -> str:
    ld = p["ld"] is not None
    cw = p["cw"] if p["cw"] else "null"
    return "\n".join(
        [
            "features:",
            f"  min_maf: {p['maf']}",
            f"  min_call_rate: {p['cr']}",
            "  ld_prune:",
            f"    enabled: {str(ld).lower()}",
            f"    r2: {p['ld'] or LD_OFF['r2']}",
            f"    window: {LD_OFF['window']}",
            f"    step: {LD_OFF['step']}",
            "model:",
            f"  n_estimators: {p['trees']}",
            f"  max_features: {p['mf']}",
            f"  min_samples_leaf: {p['leaf']}",
            f"  class_weight: {cw}",
        ]
    )


def report(screen, confirm, times, quick, demo_dir, oracle, n_causal, minutes) -> str:
    old = next(r for r in confirm if r["name"].startswith("old"))
    chosen = next(r for r in confirm if r["name"].startswith("chosen"))
    plain = next(r for r in confirm if r["name"].startswith("plain"))
    reps = 1 if quick else 3
    fit = {name: sec for name, _, sec, _ in times}
    met = chosen["g1k_acc"] >= 0.82 and chosen["demo_pass"]
    out = [
        f"# ML defaults on real data ({dt.date.today().isoformat()}{', quick' if quick else ''})",
        "",
        "`bench/defaults.py`"
        + (" --quick" if quick else "")
        + f"; this run {minutes:.0f} min on 2 shared cores (points in the cache reused). 1000G: "
        "the 1000 Genomes phase-3 chr1 panel (2,504 samples, 4,296 records), "
        "filtered by `scripts/filter.py` with the schema defaults (SNPs, call rate ≥ 0.9, "
        "MAF ≥ 0.01: 741 SNPs; the VCF has no QUAL/DP/GQ), target super_population "
        f"(5 classes, majority 0.264). Demo: the default demo run in `{demo_dir}` "
        f"(88 labelled of 96, binary phenotype of {n_causal} causal SNPs, "
        f"oracle AUC {oracle:.3f}); its matrix is the workflow's (demo filter thresholds: "
        "min_dp 3, min_gq 10, call rate 0.8), features and model are each row's.",
        "",
        "Columns: 1000G CV accuracy and balanced accuracy (`scripts/model.py` "
        "`cross_validate`); s / fit = CV wall seconds / fits (5-fold on ~2,000 samples, "
        "n_jobs 2, at that load average: ±20 %); demo ROC AUC (CV mean, `train`), its "
        "difference to the oracle AUC, causal SNPs among the final model's top-10 "
        "importances. Demo checks (tests/test_e2e_ml_demo.py): |AUC − oracle| ≤ 0.1, "
        f"≥ {n_causal - 1} of {n_causal} causal in the top 10, shuffled-label AUC within "
        "0.1 of 0.5 (confirmation only). Features: maf = features.min_maf, cr = "
        "features.min_call_rate, ld = ld_prune r² (window 50, step 5); model: mf = "
        "max_features.",
        "",
        "## Screening: 5-fold CV × 1, no shuffles",
        "",
        table(screen, n_causal),
        "",
        f"## Confirmation: 5-fold CV × {reps} (seed 42), demo with 3 shuffled-label runs",
        "",
        "The plain forest: `RandomForestClassifier(n_estimators="
        f"{PLAIN_TREES if not quick else 100}, random_state=42)` after "
        "`SimpleImputer(most_frequent)`, on all SNPs with MAF ≥ 1 % and the same folds.",
        "",
        table(confirm, n_causal, with_null=True),
        "",
        "## Fit time",
        "",
        "One final-model fit on all 2,504 1000G samples (`build_pipeline(...).fit`, "
        f"n_jobs 2), median of {1 if quick else 3}, the settings alternated (load "
        f"{times[0][3]} at the start):",
        "",
        "| setting | SNPs | s / fit |",
        "|---|---|---|",
        *[f"| {name} | {n} | {sec:.1f} |" for name, n, sec, _ in times],
        "",
        "## Chosen defaults and why",
        "",
        "```yaml",
        yaml_fragment(CHOSEN),
        "```",
        "",
        f"1000G accuracy {_f(chosen['g1k_acc'])} (balanced {_f(chosen['g1k_bacc'])}) against "
        f"{_f(old['g1k_acc'])} with the old defaults and {_f(plain['g1k_acc'])} with the "
        f"plain forest; demo AUC {_f(chosen['demo_auc'])} (oracle {oracle:.3f}), "
        f"{chosen['demo_top10']}/{n_causal} causal SNPs in the top 10, shuffled AUC "
        f"{_f(chosen['demo_null'])}; one 1000G fit {fit['chosen']:.1f} s (old defaults "
        f"{fit['old defaults']:.1f} s). Target (≥ 0.82 on 1000G, demo checks): "
        f"{'met' if met else '**not met**'}.",
        "",
        WHY,
        "",
    ]
    return "\n".join(out)


WHY = """\
Numbers below are from the tables above (screening 5 × 1, confirmation 5 × 3).

- **features.min_maf 0.05 → 0.01** (= the filter's min_maf): the largest single gain. The
  old threshold drops 304 of the 741 SNPs, among them variants common in one continent and
  rare elsewhere: 0.788 → 0.806 without LD pruning, 0.796 → 0.820 with it; 0.02 is never
  better than 0.01. The demo's causal SNPs (AF 0.25–0.73) are kept either way.
- **LD pruning on, r² 0.8** (window 50, step 5): 741 → 413 SNPs on 1000G, +0.014
  (sqrt, 0.1) and +0.004 to +0.005 (0.2, 0.33) at equal model settings, and faster fits.
  Blocks of near-duplicate SNPs take many of the candidate slots at each split; one tag
  SNP per block leaves room for others. r² 0.5 (288 SNPs) is no better on 1000G
  (0.821–0.823 confirmed) but costs the demo 0.01–0.05 AUC (gap to the oracle up to
  −0.07, the check allows 0.1): too aggressive for a small cohort with a few causal SNPs.
- **max_features sqrt → 0.2**: on the pruned SNPs, 5 × 3 CV gives 0.818 (sqrt), 0.818
  (0.1), 0.822 (0.2): LD pruning alone stays below 0.82. 0.33 is no better and ~1.5 ×
  slower. On the demo 0.1 ranks only 3 of the 4 causal SNPs in the top 10 (both runs),
  0.2 all 4.
- **n_estimators 500, class_weight balanced, min_samples_leaf 1 stay**: 1,000 trees gain
  ≤ 0.001 for twice the time, 300 lose 0.004; without class weights accuracy is equal and
  balanced accuracy 0.003 lower (1000G classes range 347–661); min_samples_leaf 2 loses
  0.006.
- **features.min_call_rate 0.95 stays**: the 1000G panel has no missing genotypes, and
  on the demo 0.9 vs 0.95 moves the AUC by less than its CV noise; the stricter value
  keeps most-frequent imputation rare. filter.* is unchanged.

Caveats: the margin over 0.82 is thin. The best settings form a plateau at 0.818–0.823
(5 × 3; fold sd 0.011–0.017), and screening (5 × 1) overstates them by 0.002–0.008
(the largest of noisy estimates). The gains are robust: +0.034 over the old defaults
and +0.016 over the plain forest on the same folds. The demo's shuffled-label AUC is
0.40–0.42 at every setting (old defaults included): a property of its 88 samples and 3
shuffles, inside the check's 0.1 but close to it."""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--demo",
        type=Path,
        default=BENCH / "work" / "demo",
        help="a finished default demo run (results/matrix, resources/demo/truth)",
    )
    parser.add_argument("--quick", action="store_true", help="100 trees, a few points")
    parser.add_argument("--fresh", action="store_true", help="ignore cached results")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    if CACHE_FILE.exists() and not args.fresh:
        CACHE.update(json.loads(CACHE_FILE.read_text()))
    if not (args.demo / "results" / "matrix" / "genotypes.parquet").exists():
        sys.exit(f"no finished demo run in {args.demo}: pass --demo DIR (see the docstring)")
    start = time.perf_counter()
    g1k = load_1000g()
    demo = load_demo(args.demo)
    cap = 100 if args.quick else None
    reps = 1 if args.quick else 3

    print("# screening: features", flush=True)
    screen = evaluate(feature_grid(args.quick), g1k, demo, 1, 0, cap)
    print("# screening: model settings", flush=True)
    screen += evaluate(model_grid(args.quick), g1k, demo, 1, 0, cap)

    print("# confirmation", flush=True)
    ranked = sorted((r for r in screen if r["demo_pass"]), key=lambda r: -r["g1k_acc"])
    fixed = [{**p, "trees": min(p["trees"], cap or p["trees"])} for p in (OLD, CHOSEN, ANCHOR)]
    others = [r["point"] for r in ranked if not any(same(r["point"], p) for p in fixed)]
    confirm = evaluate([OLD], g1k, demo, reps, 3, cap, "old defaults: ")
    confirm += evaluate([CHOSEN], g1k, demo, reps, 3, cap, "chosen: ")
    confirm += evaluate([ANCHOR], g1k, demo, reps, 3, cap, "LD pruning only: ")
    confirm += evaluate(others[: 1 if args.quick else 4], g1k, demo, reps, 3, cap, "runner-up: ")
    plain = plain_rows(g1k, demo, reps, 100 if args.quick else PLAIN_TREES)
    print(_line(plain), flush=True)
    confirm.append(plain)

    print("# fit times", flush=True)
    named = [("old defaults", OLD), ("chosen", CHOSEN), ("LD pruning only", ANCHOR)]
    times = fit_times(g1k, named, 1 if args.quick else 3, cap)
    print(times, flush=True)

    text = report(
        screen,
        confirm,
        times,
        args.quick,
        args.demo,
        demo[3],
        len(demo[4]),
        (time.perf_counter() - start) / 60,
    )
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("defaults-quick.md" if args.quick else "defaults.md")
    path.write_text(text)
    print(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
