"""Prediction with a saved model (scripts/predict.py): alignment by site ID, explicit
handling of absent sites (covered -> hom-ref, else imputed), counts, model sites."""

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
import model  # noqa: E402
import model_io  # noqa: E402
import predict  # noqa: E402

PARAMS = {"n_estimators": 40, "cv_folds": 3, "cv_repeats": 1, "n_shuffles": 0, "n_jobs": 1}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model on 90 labelled samples (+10 unlabelled), saved and re-loaded."""
    rng = np.random.default_rng(11)
    n, m = 100, 30
    g = rng.binomial(2, 0.4, (n, m)).astype(np.int8)
    y = np.where(g[:, 0] + g[:, 1] + rng.normal(0, 0.5, n) > 1.6, "case", "control")
    g[:, 2] = 2  # all training samples hom-ALT: a missing value here must become 2
    names = [f"S{i:03d}" for i in range(n)]
    ids = [f"chr{1 + j % 2}:{1000 + j}:A:T" for j in range(m)]
    genotypes = pd.DataFrame(g, index=pd.Index(names, name="sample"), columns=ids)
    labels = y.astype(object)
    labels[90:] = ""
    samples = pd.DataFrame({"sample": names, "label": labels})
    art = model.train(genotypes, samples, None, PARAMS)
    path = tmp_path_factory.mktemp("model") / "model.skops"
    model_io.save_model(art["model"], path)
    return {
        "path": path,
        "model": model_io.load_model(path),
        "genotypes": genotypes,
        "samples": samples,
    }


def test_aligns_by_site_id_not_column_order(trained):
    g = trained["genotypes"]
    reference = predict.predict(trained["model"], g)
    rng = np.random.default_rng(0)
    shuffled = g[list(rng.permutation(g.columns))]
    shuffled = shuffled.assign(**{"chr9:5:G:C": 1, "chr1:1000:A:G": 2})  # unknown sites
    out = predict.predict(trained["path"], shuffled)  # a path works too
    pd.testing.assert_frame_equal(out, reference)
    assert (out["n_model_sites"] == 30).all() and (out["n_from_vcf"] == 30).all()
    assert (out["n_imputed"] == 0).all() and (out["n_hom_ref_covered"] == 0).all()
    probs = out[["prob_case", "prob_control"]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1)
    assert (out["predicted"] == np.where(probs[:, 0] >= probs[:, 1], "case", "control")).all()


def test_absent_sites_hom_ref_when_covered_else_imputed(trained):
    g = trained["genotypes"].iloc[:4].copy()
    dropped = ["chr1:1002:A:T", "chr2:1003:A:T", "chr1:1004:A:T"]
    g.loc[g.index[0], "chr2:1005:A:T"] = -1  # a missing call in the new matrix
    partial = g.drop(columns=dropped)
    covered = pd.DataFrame(False, index=g.index, columns=dropped)
    covered.loc[g.index[1], dropped[1:]] = True
    covered.loc[g.index[2], dropped] = True
    X, counts = predict.align(partial, trained["model"]["sites"], covered)
    assert counts["n_from_vcf"].tolist() == [26, 27, 27, 27]
    assert counts["n_hom_ref_covered"].tolist() == [0, 2, 3, 0]
    assert counts["n_imputed"].tolist() == [4, 1, 0, 3]
    assert (counts.sum(axis=1) - counts["n_model_sites"] == 30).all()  # the parts add up
    assert X.loc[g.index[2], dropped].tolist() == [0, 0, 0]
    assert X.loc[g.index[0], dropped].tolist() == [-1, -1, -1]
    # The same, with coverage as a mapping {sample: covered site IDs}.
    mapping = {g.index[1]: set(dropped[1:]), g.index[2]: {s: True for s in dropped}}
    _, counts2 = predict.align(partial, trained["model"]["sites"], mapping)
    pd.testing.assert_frame_equal(counts, counts2)
    out = predict.predict(trained["model"], partial, covered)
    assert out["n_imputed"].tolist() == [4, 1, 0, 3]


def test_absent_site_stays_missing_for_the_imputer(trained):
    site = "chr1:1002:A:T"  # every training sample is 2 there
    assert trained["model"]["imputation"][site] == 2
    g = trained["genotypes"].iloc[:5]
    X, _ = predict.align(g.drop(columns=[site]), trained["model"]["sites"])
    imputer = trained["model"]["pipeline"].named_steps["impute"]
    col = trained["model"]["sites"].index(site)
    assert (X[site] == -1).all()  # missing, not 0
    assert (imputer.transform(X.to_numpy())[:, col] == 2).all()


def test_missing_causal_site_is_left_out_not_read_as_hom_ref_or_mode(trained):
    site = "chr1:1000:A:T"  # drives the label; training mode 1
    labelled = (trained["samples"]["label"] != "").to_numpy()
    g = trained["genotypes"]
    cols = ["prob_case", "prob_control"]
    missing = predict.predict(trained["model"], g.assign(**{site: -1}))
    as_zero = predict.predict(trained["model"], g.assign(**{site: 0}))
    assert (missing["n_imputed"] == 1).all() and (missing["n_from_vcf"] == 29).all()
    assert (missing["method"] == "refit_observed").all() and missing.attrs["refits"] == 1
    assert not np.allclose(missing[cols], as_zero[cols])  # 0 would change the predictions
    # The refit: the model's settings on the training genotypes without that site.
    rest = [s for s in g.columns if s != site]
    pipe = model.build_pipeline(predict.refit_params(trained["model"]), 29, labelled.sum())
    pipe.fit(g.loc[labelled, rest].to_numpy(), trained["samples"]["label"][labelled])
    np.testing.assert_array_equal(missing[cols].to_numpy(), pipe.predict_proba(g[rest].to_numpy()))


def test_unlabelled_and_true_labels(trained):
    out = predict.predict_unlabelled(trained["model"], trained["genotypes"], trained["samples"])
    assert out["sample"].tolist() == [f"S{i:03d}" for i in range(90, 100)]
    assert "true_label" not in out
    labels = predict.sample_labels(trained["samples"])
    out = predict.predict(trained["model"], trained["genotypes"].iloc[85:95], labels=labels)
    assert out["true_label"].tolist()[:5] == trained["samples"]["label"].tolist()[85:90]
    assert out["true_label"].tolist()[5:] == [""] * 5
    assert list(out.columns) == [
        "sample", "predicted", "prob_case", "prob_control",
        *predict.COUNTS, *predict.COVERAGE, "true_label",
    ]  # fmt: skip


def test_duplicate_site_ids_are_an_error(trained):
    g = trained["genotypes"].iloc[:2]
    dup = pd.concat([g, g.iloc[:, :1]], axis=1)
    with pytest.raises(ValueError, match="duplicated site IDs"):
        predict.predict(trained["model"], dup)


def test_model_sites_in_reference_order(trained, tmp_path):
    fai = tmp_path / "genome.fa.fai"
    fai.write_text("chr2\t5000\t6\t60\t61\nchr1\t5000\t5100\t60\t61\n")
    table = predict.model_sites_table(trained["model"], fai)
    assert table["chrom"].tolist() == ["chr2"] * 15 + ["chr1"] * 15
    assert table["pos"].is_monotonic_increasing is False
    assert table.iloc[0].tolist() == ["chr2", 1001, "A,T"]
    fai.write_text("chr1\t5000\t5100\t60\t61\n")
    assert len(predict.model_sites_table(trained["model"], fai)) == 15


def test_model_sites_rule_script(trained, tmp_path):
    """scripts/model_sites.py (rule model_sites): the alleles file, headerless, and a log."""
    import model_sites

    fai = tmp_path / "genome.fa.fai"
    fai.write_text("chr1\t5000\t5100\t60\t61\n")  # chr2 missing: its 15 sites dropped
    out, log = tmp_path / "out/model_sites.tsv", tmp_path / "model_sites.log"
    mask = tmp_path / "out/genotype_mask.txt"
    model_sites.main(
        SimpleNamespace(
            input=SimpleNamespace(model=str(trained["path"]), fai=str(fai)),
            output=SimpleNamespace(sites=str(out), mask=str(mask)),
            params=SimpleNamespace(filter={"min_dp": 7, "min_gq": 30}),
            log=[str(log)],
        )
    )
    rows = out.read_text().splitlines()
    assert len(rows) == 15 and rows[0] == "chr1\t1000\tA,T"
    assert "dropped (contig not in the reference): 15" in log.read_text()
    assert mask.read_text() == "FMT/DP<7 | FMT/GQ<30\n"  # this model records no filter


def test_genotype_mask_is_the_training_runs():
    """predict_with masks new genotypes with the training run's min_dp/min_gq (recorded
    in the model), not with whatever the predicting run's config says."""
    import model_sites

    trained = {"metadata": {"config": {"filter": {"min_dp": 3, "min_gq": 10, "min_qual": 30}}}}
    mask, source = model_sites.genotype_mask(trained, {"min_dp": 5, "min_gq": 20})
    assert mask == "FMT/DP<3 | FMT/GQ<10" and "training" in source
    mask, source = model_sites.genotype_mask({"metadata": {}}, {"min_dp": 5, "min_gq": 20})
    assert mask == "FMT/DP<5 | FMT/GQ<20" and "config" in source


def test_read_covered_long_and_wide(tmp_path):
    long = tmp_path / "long.tsv"
    long.write_text("sample\tsite_id\tcovered\nA\tc:1:A:G\t1\nA\tc:2:A:G\t0\nB\tc:2:A:G\t1\n")
    wide = predict.read_covered(long)
    assert wide.loc["A", "c:1:A:G"] and not wide.loc["A", "c:2:A:G"] and wide.loc["B", "c:2:A:G"]
    path = tmp_path / "wide.tsv"
    wide.reset_index().to_csv(path, sep="\t", index=False)
    pd.testing.assert_frame_equal(predict.read_covered(path), wide, check_names=False)


# ----------------------------------------------------------------------------- missing sites


def test_fully_observed_samples_get_the_saved_pipelines_predictions(trained):
    g = trained["genotypes"]
    g = g.assign(**{g.columns[3]: np.where(np.arange(len(g)) % 4 == 0, -1, g.iloc[:, 3])})
    out = predict.predict(trained["model"], g)
    full = (g != -1).all(axis=1).to_numpy()
    assert full.sum() == 75 and (out["method"][full] == "full").all()
    assert (out["method"][~full] == "refit_observed").all()
    today = trained["model"]["pipeline"].predict_proba(g.to_numpy()[full])
    np.testing.assert_array_equal(out.loc[full, ["prob_case", "prob_control"]].to_numpy(), today)
    assert (out["observed_share"][full] == 1).all() and not out["low_coverage"][full].any()


def test_observed_share_and_low_coverage_flag(trained):
    g = trained["genotypes"].iloc[:4].copy()
    sites = list(g.columns)
    g.iloc[1, :15] = -1  # 15 of 30 observed: share 0.5, not below 0.5
    g.iloc[2, :16] = -1  # 14 of 30
    g.iloc[3, :] = -1  # none: marginalised over every split
    absent = sites[25:]  # absent from the matrix; covered by the reads -> hom-ref
    covered = pd.DataFrame(False, index=g.index, columns=absent)
    covered.iloc[:3] = True
    out = predict.predict(trained["model"], g.drop(columns=absent), covered, min_observed=0.5)
    np.testing.assert_allclose(out["observed_share"], [1, 15 / 30, 14 / 30, 0])
    assert out["low_coverage"].tolist() == [False, False, True, True]
    assert out["method"].tolist() == ["full", "refit_observed", "refit_observed", "marginalised"]
    assert out["n_hom_ref_covered"].tolist() == [5, 5, 5, 0]
    np.testing.assert_allclose(out[["prob_case", "prob_control"]].sum(axis=1), 1)
    # With no site observed, marginalising gives the forest's (balanced) prior for all.
    again = predict.predict(trained["model"], g.iloc[[3, 3]])
    assert again["prob_case"].nunique() == 1
    default = predict.predict(trained["model"], g)
    assert (default["low_coverage"] == (default["observed_share"] < predict.MIN_OBSERVED)).all()


def test_samples_sharing_a_pattern_share_one_refit_and_batches_do_not_matter(trained):
    g = trained["genotypes"].iloc[:6].copy()
    g.iloc[:3, [0, 5, 9]] = -1
    g.iloc[3:5, [1, 2]] = -1
    out = predict.predict(trained["model"], g)
    assert out.attrs["refits"] == 2 and (out["method"][:5] == "refit_observed").all()
    alone = predict.predict(trained["model"], g.iloc[[4]])
    cols = ["prob_case", "prob_control"]
    np.testing.assert_array_equal(alone[cols].to_numpy(), out[cols].to_numpy()[[4]])
    pd.testing.assert_frame_equal(predict.predict(trained["model"], g), out)  # seeded


def _populations(seed=5):
    """Majority class A (120) and minority B, C (40 each); every site leans to its class'
    dosage (A 0, B 2, C 1), each genotype replaced at random with probability 0.35."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(["A", "B", "C"], [120, 40, 40])
    g = np.select([labels == "A", labels == "B"], [0, 2], 1)[:, None] * np.ones((1, 40), int)
    noisy = rng.random(g.shape) < 0.35
    g[noisy] = rng.integers(0, 3, noisy.sum())
    names = [f"P{i:03d}" for i in range(len(labels))]
    ids = [f"chr1:{100 + j}:C:T" for j in range(40)]
    return pd.DataFrame(g.astype(np.int8), index=names, columns=ids), labels


@pytest.fixture(scope="module")
def populations():
    g, labels = _populations()
    sheet = pd.DataFrame({"sample": g.index, "label": labels})
    art = model.train(g, sheet, None, PARAMS)
    new, new_labels = _populations(seed=6)  # fresh samples of the same populations
    keep = np.isin(np.arange(len(new_labels)), [*range(120, 135), *range(160, 175)])  # B, C
    new, new_labels = new.loc[keep], new_labels[keep]
    rng = np.random.default_rng(7)
    masked = new.to_numpy().copy()
    for row in masked:  # 4 of 40 sites observed (90 % missing)
        row[rng.permutation(40)[4:]] = -1
    return art["model"], pd.DataFrame(masked, index=new.index, columns=new.columns), new_labels


def test_masked_minority_sample_is_not_pulled_to_the_majority_class(populations):
    fitted, masked, truth = populations
    today = np.asarray(fitted["classes"])[
        fitted["pipeline"].predict_proba(masked.to_numpy()).argmax(axis=1)
    ]
    assert (today == "A").mean() > 0.8  # mode imputation: most look like the majority
    out = predict.predict(fitted, masked)
    assert (out["method"] == "refit_observed").all()
    assert (out["observed_share"] == 0.1).all() and out["low_coverage"].all()
    assert (out["predicted"] == truth).mean() > 0.8 and (out["predicted"] == "A").mean() < 0.1
    # A model file without the training genotypes (saved before they were stored):
    # marginalising over the missing sites recovers the classes too.
    old = {k: v for k, v in fitted.items() if k != "training"}
    marg = predict.predict(old, masked)
    assert (marg["method"] == "marginalised").all()
    assert (marg["predicted"] == truth).mean() > 0.8


def test_model_file_with_training_genotypes_round_trips(populations, tmp_path):
    fitted = populations[0]
    a, b = tmp_path / "a.skops", tmp_path / "b.skops"
    model_io.save_model(fitted, a)
    model_io.save_model(fitted, b)
    assert a.read_bytes() == b.read_bytes()  # byte-reproducible
    assert set(sio.get_untrusted_types(file=a)) <= model_io.ALLOWED_TYPES
    loaded = model_io.load_model(a)
    training = loaded["training"]
    assert training["genotypes"].dtype == np.int8 and training["genotypes"].shape == (200, 40)
    labels = np.asarray(loaded["classes"])[training["labels"]]
    assert labels.tolist() == ["A"] * 120 + ["B"] * 40 + ["C"] * 40
    masked = populations[1].iloc[[0, -1]]
    pd.testing.assert_frame_equal(predict.predict(loaded, masked), predict.predict(a, masked))


@pytest.mark.parametrize("learner", ["logistic", "gradient_boosting", "auto"])
def test_low_coverage_prediction_refits_the_models_learner(learner, tmp_path):
    """Every learner goes through the same prediction path: the saved model as is for
    full rows, its own learner (auto: the one chosen) refit on the observed sites, and
    the training class shares for a sample with no observed site."""
    g, labels = _populations()
    sheet = pd.DataFrame({"sample": g.index, "label": labels})
    params = PARAMS | {"learner": learner, "boosting_iterations": 20, "n_estimators": 20}
    art = model.train(g, sheet, None, params)
    path = tmp_path / "m.skops"
    model_io.save_model(art["model"], path)
    fitted = model_io.load_model(path)
    chosen = fitted["metadata"]["learner"]
    assert chosen in model.LEARNERS and predict.refit_params(fitted)["learner"] == chosen
    new, truth = _populations(seed=6)
    rows = [0, 1, 125, 126, 165, 166]
    new, truth = new.iloc[rows].copy(), truth[rows]
    masked = new.to_numpy().copy()
    rng = np.random.default_rng(3)
    for row in masked[2:5]:
        row[rng.permutation(40)[8:]] = -1
    masked[5] = -1  # nothing observed
    out = predict.predict(fitted, pd.DataFrame(masked, index=new.index, columns=new.columns))
    expect_last = "marginalised" if chosen == "random_forest" else "prior"
    assert out["method"].tolist() == ["full"] * 2 + ["refit_observed"] * 3 + [expect_last]
    assert out.attrs["refits"] == 3
    assert (out["predicted"].to_numpy()[:5] == truth[:5]).mean() >= 0.8
    if chosen != "random_forest":
        shares = np.array([120, 40, 40]) / 200
        assert np.allclose(out.iloc[5][["prob_A", "prob_B", "prob_C"]].astype(float), shares)
