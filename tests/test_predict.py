"""Prediction with a saved model (scripts/predict.py): alignment by site ID, explicit
handling of absent sites (covered -> hom-ref, else imputed), counts, model sites."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
import model  # noqa: E402
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
    model.save_model(art["model"], path)
    return {
        "path": path,
        "model": model.load_model(path),
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


def test_missing_site_takes_training_imputation_not_zero(trained):
    site = "chr1:1002:A:T"  # every training sample is 2 there
    assert trained["model"]["imputation"][site] == 2
    g = trained["genotypes"].iloc[:5]
    X, _ = predict.align(g.drop(columns=[site]), trained["model"]["sites"])
    imputer = trained["model"]["pipeline"].named_steps["impute"]
    col = trained["model"]["sites"].index(site)
    assert (imputer.transform(X.to_numpy())[:, col] == 2).all()
    # And the prediction equals that of the sample with an explicit 2, not with 0.
    as_two = predict.predict(trained["model"], g.assign(**{site: 2}))
    missing = predict.predict(trained["model"], g.drop(columns=[site]))
    cols = ["prob_case", "prob_control"]
    pd.testing.assert_frame_equal(as_two[cols], missing[cols])


def test_missing_causal_site_is_not_read_as_hom_ref(trained):
    site = "chr1:1000:A:T"  # drives the label; training mode 1
    labelled = trained["samples"]["label"] != ""
    mode = trained["genotypes"].loc[labelled.to_numpy(), site].mode()[0]
    assert mode == 1 and trained["model"]["imputation"][site] == 1
    g = trained["genotypes"]
    cols = ["prob_case", "prob_control"]
    missing = predict.predict(trained["model"], g.assign(**{site: -1}))
    as_mode = predict.predict(trained["model"], g.assign(**{site: 1}))
    as_zero = predict.predict(trained["model"], g.assign(**{site: 0}))
    pd.testing.assert_frame_equal(missing[cols], as_mode[cols])
    assert (missing["n_imputed"] == 1).all() and (missing["n_from_vcf"] == 29).all()
    assert not np.allclose(missing[cols], as_zero[cols])  # 0 would change the predictions


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
        *predict.COUNTS, "true_label",
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


def test_read_covered_long_and_wide(tmp_path):
    long = tmp_path / "long.tsv"
    long.write_text("sample\tsite_id\tcovered\nA\tc:1:A:G\t1\nA\tc:2:A:G\t0\nB\tc:2:A:G\t1\n")
    wide = predict.read_covered(long)
    assert wide.loc["A", "c:1:A:G"] and not wide.loc["A", "c:2:A:G"] and wide.loc["B", "c:2:A:G"]
    path = tmp_path / "wide.tsv"
    wide.reset_index().to_csv(path, sep="\t", index=False)
    pd.testing.assert_frame_equal(predict.read_covered(path), wide, check_names=False)
