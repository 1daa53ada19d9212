"""Random-forest model (scripts/model.py): no leakage, signal, missing values, errors,
multi-class, determinism and safe skops persistence."""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.feature_selection import SelectKBest, chi2

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
import model  # noqa: E402
import model_io  # noqa: E402

FAST = {"n_estimators": 60, "cv_folds": 5, "cv_repeats": 1, "n_shuffles": 0, "n_jobs": 1}


def frame(g, prefix="chr1"):
    n, m = g.shape
    return pd.DataFrame(
        np.asarray(g, dtype=np.int8),
        index=pd.Index([f"S{i:04d}" for i in range(n)], name="sample"),
        columns=[f"{prefix}:{100 + 7 * j}:C:T" for j in range(m)],
    )


def noise(n=200, m=300, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.binomial(2, rng.uniform(0.1, 0.5, m), (n, m))
    g[rng.random(g.shape) < 0.02] = -1
    y = np.array(["case", "control"])[rng.permutation(np.arange(n) % 2)]
    return frame(g), y


def causal_columns(m):
    return np.linspace(0, m - 1, 5).astype(int)


def planted(n=200, m=100, seed=1, n_classes=2):
    """Five causal SNPs (causal_columns) with equal additive effects plus noise."""
    rng = np.random.default_rng(seed)
    g = rng.binomial(2, rng.uniform(0.2, 0.5, m), (n, m))
    score = g[:, causal_columns(m)].sum(axis=1) + rng.normal(0, 0.7, n)
    if n_classes == 2:
        y = np.where(score > np.median(score), "case", "control")
    else:
        cuts = np.quantile(score, [1 / 3, 2 / 3])
        y = np.select([score < cuts[0], score < cuts[1]], ["low", "mid"], "high")
    g[rng.random(g.shape) < 0.02] = -1
    return frame(g), y


def sheet(genotypes, y, unlabelled=0):
    labels = np.asarray(y, dtype=object).copy()
    if unlabelled:
        labels[-unlabelled:] = ""
    return pd.DataFrame({"sample": genotypes.index, "label": labels})


def auc(result):
    return result["metrics"]["metrics"]["roc_auc"]["mean"]


# ----------------------------------------------------------------------------- leakage


def test_noise_gives_chance_auc_even_with_selection_and_leaky_selection_does_not():
    # 200 x 300 rather than thousands of SNPs: SimpleImputer(most_frequent) costs ~0.7 ms
    # per column and fit. Over seeds 0-5 the honest AUCs were 0.45-0.57, the leaky
    # ones 0.67-0.76.
    X, y = noise()
    params = FAST | {"cv_repeats": 2}
    plain = model.cross_validate(X, y, params)
    selected = model.cross_validate(X, y, params | {"select_top": 20})
    assert 0.4 <= auc(plain) <= 0.6
    assert 0.4 <= auc(selected) <= 0.6
    # Evidence that the check can fail: selecting the top 20 SNPs on ALL samples before
    # the CV (the leak the pipeline prevents) inflates the AUC of pure noise.
    imputed = np.where(X.to_numpy() == -1, 0, X.to_numpy())
    leaky = SelectKBest(chi2, k=20).fit(imputed, y).get_support()
    leaked = model.cross_validate(X.loc[:, leaky], y, params)
    assert auc(leaked) > 0.65
    assert auc(leaked) - auc(selected) > 0.1


def test_pcs_inside_the_folds_on_noise():
    X, y = noise(m=200, seed=2)
    result = model.cross_validate(X, y, FAST | {"use_pcs": 5, "select_top": 50})
    assert 0.4 <= auc(result) <= 0.6


# ----------------------------------------------------------------------------- signal


def test_planted_signal_found_and_shuffled_labels_at_chance():
    X, y = planted()
    params = FAST | {"n_estimators": 200, "n_shuffles": 2}
    art = model.train(X, sheet(X, y), None, params)
    m = art["metrics"]
    assert m["metrics"]["roc_auc"]["mean"] > 0.8
    assert m["metrics"]["balanced_accuracy"]["mean"] > 0.7
    assert 0.4 <= m["shuffled"]["metrics"]["roc_auc"]["mean"] <= 0.6
    assert len(m["shuffled"]["folds"]) == 2 * 5
    causal = set(X.columns[causal_columns(X.shape[1])])
    top = set(art["importances"]["site_id"].head(5))
    assert len(top & causal) >= 4
    assert art["importances"]["rank"].tolist() == list(range(1, 101))
    assert m["positive_class"] == "control" and "control" in m["roc_auc_definition"]
    assert m["majority_baseline_accuracy"] == 0.5
    assert m["class_counts"] == {"case": 100, "control": 100}


def test_metrics_structure_and_oof():
    X, y = planted(n=100, m=50)
    params = FAST | {"cv_repeats": 2, "n_shuffles": 1}
    res = model.cross_validate(X, y, params)
    m, oof = res["metrics"], res["oof"]
    for key in ("accuracy", "balanced_accuracy", "roc_auc"):
        s = m["metrics"][key]
        assert set(s) == {"mean", "sd", "min", "max", "values"} and len(s["values"]) == 10
        assert s["min"] <= s["mean"] <= s["max"]
    assert set(m["per_class"]) == {"case", "control"}
    assert set(m["per_class"]["case"]) == {"precision", "recall", "f1"}
    cm = np.array(m["confusion_matrix"]["matrix"])
    assert cm.sum() == 2 * 100 and m["confusion_matrix"]["rows"] == "true"
    assert m["shuffled"]["metrics"].keys() == m["metrics"].keys()
    assert list(oof.columns) == ["sample", "repeat", "fold", "true", "predicted"] + [
        "prob_case",
        "prob_control",
    ]
    assert len(oof) == 200 and oof.groupby("repeat")["sample"].nunique().tolist() == [100, 100]
    assert np.allclose(oof[["prob_case", "prob_control"]].sum(axis=1), 1)
    assert (oof["true"].to_numpy() == np.tile(y, 2)).all()
    json.dumps(m)  # JSON-serialisable


def test_multiclass():
    X, y = planted(n=300, m=50, n_classes=3)
    art = model.train(X, sheet(X, y), None, FAST | {"n_shuffles": 1})
    m = art["metrics"]
    assert m["classes"] == ["high", "low", "mid"] and m["positive_class"] is None
    assert m["metrics"]["roc_auc"]["mean"] > 0.7
    assert m["metrics"]["roc_auc"]["mean"] - m["shuffled"]["metrics"]["roc_auc"]["mean"] > 0.15
    assert np.array(m["confusion_matrix"]["matrix"]).shape == (3, 3)
    assert [c for c in art["oof"] if c.startswith("prob_")] == ["prob_high", "prob_low", "prob_mid"]
    assert art["model"]["classes"] == ["high", "low", "mid"]


# ----------------------------------------------------------------------------- missing


def test_missing_is_imputed_from_training_not_zero():
    X, y = planted(n=100, m=20)
    X.iloc[:, 0] = 2  # every training sample hom-ALT
    col = X.iloc[:, 1].to_numpy().copy()
    col[:60] = -1  # mostly missing; the rest hom-ALT: the mode must ignore -1
    col[60:] = 2
    X.iloc[:, 1] = col
    art = model.train(X, sheet(X, y), None, FAST)
    imputation = art["model"]["imputation"]
    assert imputation[X.columns[0]] == 2 and imputation[X.columns[1]] == 2
    imputer = art["model"]["pipeline"].named_steps["impute"]
    new = np.full((1, X.shape[1]), -1, dtype=np.int8)
    assert imputer.transform(new)[0, :2].tolist() == [2, 2]


# ----------------------------------------------------------------------------- errors


def test_errors_say_what_to_fix():
    X, y = planted(n=40, m=10)
    with pytest.raises(ValueError, match="no labelled sample"):
        model.train(X, sheet(X, [""] * 40), None, FAST)
    with pytest.raises(ValueError, match="only one class"):
        model.train(X, sheet(X, ["case"] * 40), None, FAST)
    few = np.array(["case"] * 37 + ["control"] * 3, dtype=object)
    with pytest.raises(ValueError, match=r"'control' has 3 .*lower model.cv_folds to 3"):
        model.train(X, sheet(X, few), None, FAST)
    with pytest.raises(ValueError, match="unknown parameter"):
        model.cross_validate(X, y, FAST | {"n_trees": 5})


def test_unlabelled_samples_are_left_out():
    X, y = planted(n=110, m=20)
    art = model.train(X, sheet(X, y, unlabelled=10), None, FAST)
    assert art["metrics"]["n_samples"] == 100
    assert art["model"]["metadata"]["n_samples"] == 100
    assert not set(art["oof"]["sample"]) & set(X.index[-10:])


# ----------------------------------------------------------------------------- determinism


def run_all(tmp, X, samples, params):
    art = model.train(X, samples, None, params, {"created": "2026-01-01T00:00:00Z"})
    model.write_artifacts(art, *(tmp / f for f in ("m.json", "oof.tsv", "imp.tsv", "model.skops")))
    return {f: (tmp / f).read_bytes() for f in ("m.json", "oof.tsv", "imp.tsv", "model.skops")}


def test_same_seed_identical_outputs(tmp_path):
    X, y = planted(n=80, m=40)
    params = FAST | {"n_jobs": 2, "n_shuffles": 1, "select_top": 20, "use_pcs": 2}
    runs = []
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        seed = 7 if name == "c" else 42
        runs.append(run_all(tmp_path / name, X, sheet(X, y), params | {"seed": seed}))
    assert runs[0] == runs[1]  # byte-identical, the skops file included
    assert runs[0]["oof.tsv"] != runs[2]["oof.tsv"]  # and the comparison can fail
    assert runs[0]["m.json"] != runs[2]["m.json"]


# ----------------------------------------------------------------------------- skops


class Smuggled:
    """A type skops does not trust and the allow-list does not name."""

    def __init__(self):
        self.payload = "not a model"


def test_skops_round_trip_and_metadata(tmp_path):
    X, y = planted(n=80, m=30)
    X.iloc[:5, 3] = -1
    meta = {"created": "2026-01-01", "input_sha256": {"genotypes": "ab" * 32}, "config": {"a": 1}}
    art = model.train(X, sheet(X, y), None, FAST | {"select_top": 10}, meta)
    path = tmp_path / "model.skops"
    model_io.save_model(art["model"], path)
    loaded = model_io.load_model(path)
    assert loaded["sites"] == list(X.columns) and loaded["classes"] == ["case", "control"]
    np.testing.assert_array_equal(
        loaded["pipeline"].predict_proba(X.to_numpy()),
        art["model"]["pipeline"].predict_proba(X.to_numpy()),
    )
    md = loaded["metadata"]
    assert md["created"] == "2026-01-01" and md["input_sha256"]["genotypes"] == "ab" * 32
    assert md["config"] == {"a": 1} and md["n_samples"] == 80 and md["target"] == "phenotype"
    assert {"python", "scikit-learn", "skops", "numpy"} <= set(md["versions"])
    assert md["params"]["select_top"] == 10
    assert set(sio.get_untrusted_types(file=path)) <= model_io.ALLOWED_TYPES


def test_untrusted_types_are_refused(tmp_path, monkeypatch):
    X, y = planted(n=60, m=10)
    art = model.train(X, sheet(X, y), None, FAST)
    evil = dict(art["model"], metadata={"x": Smuggled()})
    path = tmp_path / "evil.skops"
    sio.dump(evil, path)
    assert any(t.endswith("Smuggled") for t in sio.get_untrusted_types(file=path))
    with pytest.raises(model_io.UntrustedModelError, match="Smuggled"):
        model_io.load_model(path)
    # Whatever the file says, an untrusted type outside the allow-list stops the load
    # before skops.io.load runs.
    good = tmp_path / "good.skops"
    model_io.save_model(art["model"], good)

    def no_load(*args, **kwargs):
        raise AssertionError("skops.io.load must not run")

    monkeypatch.setattr(model_io.sio, "get_untrusted_types", lambda **kw: ["builtins.eval"])
    monkeypatch.setattr(model_io.sio, "load", no_load)
    with pytest.raises(model_io.UntrustedModelError, match="builtins.eval"):
        model_io.load_model(good)


def test_not_a_model_dict_is_refused(tmp_path):
    path = tmp_path / "other.skops"
    sio.dump({"pipeline": None}, path)
    with pytest.raises(ValueError, match="not a model"):
        model_io.load_model(path)


def test_fold_imputation_equals_simple_imputer():
    """The CV's vectorised imputation is scikit-learn's most_frequent: ties to the
    smallest code, a column with no call dropped, the training fold's values only."""
    from sklearn.impute import SimpleImputer

    rng = np.random.default_rng(3)
    g = rng.integers(-1, 3, size=(40, 30)).astype(np.int8)
    g[:, 0] = [0, 1] * 20  # a tie: 0
    g[:20, 1] = -1  # no call in the "training" half
    g[:, 2] = [-1, 2, 1, 1] * 10  # missing and a clear mode
    train, test = g[:20], g[20:]
    ref = SimpleImputer(missing_values=-1, strategy="most_frequent").fit(train)
    mode = model.fold_mode(train)
    assert mode[0] == 0 and mode[1] == -1
    np.testing.assert_array_equal(model.impute(train, mode), ref.transform(train))
    np.testing.assert_array_equal(model.impute(test, mode), ref.transform(test))


def test_null_runs_one_repeat_per_shuffle_with_its_own_trees():
    X, y = noise(n=80, m=40)
    m = model.cross_validate(X, y, FAST | {"cv_repeats": 2, "n_shuffles": 2, "null_estimators": 7})
    null = m["metrics"]["shuffled"]
    assert (null["n_shuffles"], null["repeats_per_shuffle"], null["n_estimators"]) == (2, 1, 7)
    assert len(null["folds"]) == 2 * 5 and len(m["metrics"]["folds"]) == 2 * 5


# ----------------------------------------------------------------------------- learners

LEARNERS_FAST = FAST | {"n_estimators": 25, "boosting_iterations": 15, "auto_folds": 3}


def test_every_learner_on_the_same_folds_finds_the_signal():
    X, y = planted(n=150, m=60)
    res = model.cross_validate(X, y, LEARNERS_FAST | {"compare": True, "n_shuffles": 1})
    m = res["metrics"]
    assert m["learner"] == "random_forest"
    learners = m["compare"]["learners"]
    assert list(learners) == ["random_forest", "logistic", "gradient_boosting", "auto"]
    for name, block in learners.items():
        assert block["roc_auc"]["mean"] > 0.7, name
        assert len(block["folds"]) == 5
    # The configured learner's entry is the main CV itself, on the same folds.
    assert learners["random_forest"]["roc_auc"]["values"] == m["metrics"]["roc_auc"]["values"]
    # The planted signal is additive: the linear model is the best of the three.
    assert learners["logistic"]["roc_auc"]["mean"] >= learners["random_forest"]["roc_auc"]["mean"]
    assert m["compare"]["majority_baseline_accuracy"] == m["majority_baseline_accuracy"]
    assert set(m["learner_settings"]) == {"random_forest", "logistic", "gradient_boosting"}
    json.dumps(m)


def test_auto_chooses_inside_each_training_fold_only(monkeypatch):
    """Nested CV: the choice sees the outer training fold (never its held-out samples),
    the reported scores are the outer folds' and the null runs the whole choice."""
    X, y = planted(n=100, m=40)
    seen = []
    real = model.choose_learner

    def spy(params, Xs, ys, n_estimators=None):
        seen.append((len(ys), n_estimators))
        return real(params, Xs, ys, n_estimators)

    monkeypatch.setattr(model, "choose_learner", spy)
    art = model.train(X, sheet(X, y), None, LEARNERS_FAST | {"learner": "auto", "n_shuffles": 1})
    m = art["metrics"]
    # 5 outer folds (80 training samples), 5 null folds (null trees), then all 100.
    assert seen == [(80, None)] * 5 + [(80, 100)] * 5 + [(100, None)]
    assert sum(m["auto"]["chosen_per_outer_fold"].values()) == 5
    assert {f["learner"] for f in m["folds"]} <= set(model.LEARNERS)
    final = m["auto"]["final_model"]
    assert final["chosen"] == art["model"]["metadata"]["learner"]
    assert model.learner_of(art["model"]["pipeline"]) == final["chosen"]
    assert set(final["inner_scores"]) == {"random_forest", "logistic"}  # auto_learners
    assert m["metrics"]["roc_auc"]["mean"] > 0.75
    assert 0.3 <= m["shuffled"]["metrics"]["roc_auc"]["mean"] <= 0.7


def test_auto_on_noise_stays_at_chance():
    # Picking the best of three on the inner folds must not leak into the outer score.
    X, y = noise(n=150, m=100, seed=3)
    res = model.cross_validate(X, y, LEARNERS_FAST | {"learner": "auto"})
    assert 0.38 <= auc(res) <= 0.62


@pytest.mark.parametrize("learner", ["logistic", "gradient_boosting"])
def test_other_learners_save_load_and_importances(learner, tmp_path):
    X, y = planted(n=120, m=40)
    art = model.train(X, sheet(X, y), None, LEARNERS_FAST | {"learner": learner})
    path = tmp_path / "m.skops"
    model.save_model(art["model"], path)
    assert set(sio.get_untrusted_types(file=path)) <= model_io.ALLOWED_TYPES
    loaded = model_io.load_model(path)
    assert loaded["metadata"]["learner"] == learner
    full = X.to_numpy()
    assert np.allclose(
        loaded["pipeline"].predict_proba(full), art["model"]["pipeline"].predict_proba(full)
    )
    imp = art["importances"]
    assert np.isclose(imp["importance"].sum(), 1) and (imp["importance"] >= 0).all()
    causal = set(X.columns[causal_columns(X.shape[1])])
    assert len(set(imp["site_id"].head(5)) & causal) >= 3
    assert art["metrics"]["importance"] == model.IMPORTANCE[learner]


def test_max_features_cap_bounds_the_per_split_count():
    p = {"max_features": 0.2, "max_features_cap": 100}
    assert model.forest_max_features(p, 413) == 82  # the 1000G panel: as before the cap
    assert model.forest_max_features(p, 18620) == 100  # not 3,724
    assert model.forest_max_features(p | {"max_features": "sqrt"}, 18620) == 100
    assert model.forest_max_features(p | {"max_features": "sqrt"}, 400) == 20
    assert model.forest_max_features(p | {"max_features_cap": 0}, 18620) == 3724
    assert model.forest_max_features(p | {"max_features": 5000, "max_features_cap": 0}, 300) == 300
    assert model.forest_max_features(p, 3) == 1


def test_fit_pipeline_makes_no_float64_copy_and_imputes_as_simple_imputer():
    X, y = planted(n=80, m=30)
    Xa = X.to_numpy().copy()
    Xa[:, 7] = -1  # a column with no call is dropped, as SimpleImputer drops it
    params = FAST | {"max_features": "sqrt"}  # 5 per split of 30 or of the 29 kept
    pipe = model.fit_pipeline(params, Xa, y)
    ref = model.build_pipeline(params, Xa.shape[1], len(y)).fit(Xa, y)
    stats = ref.named_steps["impute"].statistics_
    assert np.array_equal(pipe.named_steps["impute"].statistics_, stats, equal_nan=True)
    assert np.allclose(pipe.predict_proba(Xa), ref.predict_proba(Xa))
