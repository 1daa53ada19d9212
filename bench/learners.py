"""Scale-aware forest defaults and the learners, measured (bench/results/defaults.md).

    .venv/bin/python bench/learners.py sim N_PER_DEME        # simulate + cache a cohort
    .venv/bin/python bench/learners.py pertree DATA [MF ...] # CPU s per tree, one CV fold
    .venv/bin/python bench/learners.py cv DATA LEARNERS REPEATS [JSON params]
    .venv/bin/python bench/learners.py memory DATA [JSON params]

DATA: `g1k` (the 1000 Genomes chr1 panel after the schema-default filter and features,
413 SNPs, via bench/defaults.py) or `simN` (msprime island model as in
/work/shared/notes/measured-2026-12-07.md: 5 demes of 5,000, migration 2e-4, N diploid
samples per deme, 6 Mb, recombination 1e-8, mutation 1.25e-8, biallelic sites, MAF >=
0.01, then scripts/features.py LD pruning r² 0.8 / 50 / 5; labels = deme). Cached in
bench/work/learners/. Every line printed is one JSON record; CPU seconds are user + sys
of this process and its threads (the machine is shared: CPU, not wall, is the figure).

- pertree: one training fold (4/5 of the samples, stratified, seed 42) and a forest of
  20 trees (class_weight balanced, n_jobs 2) per max_features setting (sqrt, log2, a
  fraction, or capN = 0.2 capped at N, the workflow's default with max_features_cap N);
- cv: scripts/model.py cross_validate (the workflow's code: imputation in the folds, the
  same RepeatedStratifiedKFold folds for every learner) for each learner, no null;
- memory: scripts/model.py train() as the `model` rule runs it, on a parquet of the full
  MAF-filtered matrix (read with only the LD-kept columns, as rule model does), printing
  the peak RSS (ru_maxrss) against the int8 sizes of the full and the kept matrix.
"""

import importlib.util
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work" / "learners"
sys.path.insert(0, str(REPO / "scripts"))

import features as fe  # noqa: E402
import model as mo  # noqa: E402

FEATURES = {
    "min_maf": 0.01,
    "min_call_rate": 0.95,
    "ld_prune": {"enabled": True, "r2": 0.8, "window": 50, "step": 5},
}


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def emit(**record):
    print(json.dumps(record), flush=True)


def simulate(n_per_deme, length=6e6, seed=1):
    """(dosages samples × biallelic sites int8, site IDs, deme labels)."""
    import msprime

    dem = msprime.Demography.island_model([5000] * 5, migration_rate=2e-4)
    ts = msprime.sim_ancestry(
        samples={f"pop_{i}": n_per_deme for i in range(5)},
        demography=dem,
        sequence_length=length,
        recombination_rate=1e-8,
        random_seed=seed,
    )
    ts = msprime.sim_mutations(ts, rate=1.25e-8, random_seed=seed)
    bi = np.array([len({m.derived_state for m in s.mutations}) == 1 for s in ts.sites()])
    hap = ts.genotype_matrix()[bi]
    dosage = (hap[:, 0::2] + hap[:, 1::2]).astype(np.int8).T
    pos = ts.tables.sites.position[bi].astype(np.int64) + 1
    ids, first = np.unique([f"chr1:{p}:A:G" for p in pos], return_index=True)
    order = np.sort(first)
    labels = [
        ts.population(ts.node(i.nodes[0]).population).metadata["name"] for i in ts.individuals()
    ]
    return dosage[:, order], [f"chr1:{p}:A:G" for p in pos[order]], np.asarray(labels)


def sim_paths(n):
    return WORK / f"sim{n}.parquet", WORK / f"sim{n}.json"


def make_sim(n_per_deme):
    WORK.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    g, ids, y = simulate(n_per_deme)
    frame = pd.DataFrame(g, columns=ids, index=pd.Index([f"S{i:05d}" for i in range(len(y))]))
    frame.index.name = "sample"
    kept, table = fe.select_features(frame, None, FEATURES)
    maf_ok = (table["reason"] != "low_maf").to_numpy()
    parquet, meta = sim_paths(len(y))
    frame.loc[:, maf_ok].to_parquet(parquet)
    meta.write_text(json.dumps({"labels": y.tolist(), "kept": kept, "records": len(ids)}))
    emit(
        data=f"sim{len(y)}",
        records=len(ids),
        maf=int(maf_ok.sum()),
        kept=len(kept),
        seconds=round(time.perf_counter() - start, 1),
    )


def load(data):
    """(int8 DataFrame labelled samples × kept sites, labels, parquet path or None)."""
    if data == "g1k":
        spec = importlib.util.spec_from_file_location("bench_defaults", BENCH / "defaults.py")
        bd = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bd)
        shared = Path("/work/shared/data/1000g_phase3_chr1_140kb_2504samples")
        if not bd.G1K.is_dir() and shared.is_dir():  # a worktree beside /work/shared
            bd.G1K, bd.G1K_VCF = shared, shared / bd.G1K_VCF.name
        g, sites, samples = bd.load_1000g()
        kept, _ = fe.select_features(g, sites, FEATURES, 2)
        y = samples.set_index("sample")["label"].reindex(g.index).astype(str).to_numpy()
        return g[kept], y, None
    n = int(data.removeprefix("sim"))
    parquet, meta = sim_paths(n)
    info = json.loads(meta.read_text())
    return mo.read_model_genotypes(parquet, info["kept"]), np.asarray(info["labels"]), parquet


def pertree(data, settings):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedKFold

    X, y, _ = load(data)
    train, _ = next(StratifiedKFold(5, shuffle=True, random_state=42).split(X, y))
    Xt = X.to_numpy(np.int8)[train].astype(np.float32)
    for setting in settings:
        cap = int(setting[3:]) if setting.startswith("cap") else 0
        value = 0.2 if cap else (setting if setting in ("sqrt", "log2") else float(setting))
        m = mo.forest_max_features({"max_features": value, "max_features_cap": cap}, X.shape[1])
        rf = RandomForestClassifier(
            20, max_features=m, class_weight="balanced", random_state=42, n_jobs=2
        )
        c, t = cpu(), time.perf_counter()
        rf.fit(Xt, y[train])
        emit(
            data=data,
            n_train=len(train),
            features=X.shape[1],
            setting=setting,
            per_split=m,
            cpu_per_tree=round((cpu() - c) / 20, 4),
            wall_per_tree=round((time.perf_counter() - t) / 20, 4),
        )


def cv(data, learners, repeats, extra):
    X, y, _ = load(data)
    for learner in learners:
        params = {
            "target": "t",
            "learner": learner,
            "cv_repeats": repeats,
            "n_shuffles": 0,
            "n_jobs": 2,
        } | extra
        c, t = cpu(), time.perf_counter()
        m = mo.cross_validate(X, y, params)["metrics"]
        fits = 5 * repeats
        emit(
            data=data,
            learner=learner,
            repeats=repeats,
            params=extra,
            accuracy=m["metrics"]["accuracy"]["mean"],
            sd=m["metrics"]["accuracy"]["sd"],
            balanced=m["metrics"]["balanced_accuracy"]["mean"],
            auc=m["metrics"]["roc_auc"]["mean"],
            chosen=m.get("auto", {}).get("chosen_per_outer_fold"),
            cpu_per_outer_fit=round((cpu() - c) / fits, 2),
            wall=round(time.perf_counter() - t, 1),
        )


def memory(data, extra):
    """Peak RSS of the model step (train) against the int8 matrices."""
    n = int(data.removeprefix("sim"))
    parquet, meta = sim_paths(n)
    info = json.loads(meta.read_text())
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n_full = len(pd.read_parquet(parquet, columns=[]).index) * 0 + n
    import pyarrow.parquet as pq

    full_cols = len(pq.read_schema(parquet).names) - 1
    c, t = cpu(), time.perf_counter()
    genotypes = mo.read_model_genotypes(parquet, info["kept"])
    samples = pd.DataFrame({"sample": genotypes.index, "label": info["labels"]})
    params = {"target": "t", "n_jobs": 2} | extra
    out = mo.train(genotypes, samples, None, params, features=info["kept"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    emit(
        data=data,
        params=extra,
        samples=n_full,
        full_sites=full_cols,
        kept=len(info["kept"]),
        int8_full_mb=round(n * full_cols / 2**20, 1),
        int8_kept_mb=round(n * len(info["kept"]) / 2**20, 1),
        rss_before_mb=round(base, 1),
        peak_rss_mb=round(peak, 1),
        accuracy=out["metrics"]["metrics"]["accuracy"]["mean"],
        cpu=round(cpu() - c, 1),
        wall=round(time.perf_counter() - t, 1),
    )


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "sim":
        make_sim(int(args[0]))
    elif cmd == "pertree":
        pertree(args[0], args[1:] or ["sqrt", "cap100", "0.2"])
    elif cmd == "cv":
        cv(args[0], args[1].split(","), int(args[2]), json.loads(args[3]) if len(args) > 3 else {})
    elif cmd == "memory":
        memory(args[0], json.loads(args[1]) if len(args) > 1 else {})
    else:
        raise SystemExit(__doc__)
