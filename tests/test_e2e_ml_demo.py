"""The whole demo, reads -> model -> predictions, checked against the simulator's truth.

One run of the default demo cohort (96 samples, 88 labelled), then:
- the model: CV ROC AUC near the oracle AUC of the simulator's liability model, the
  causal SNPs among the top importances, shuffled labels at chance;
- the round trip: the saved model predicts the 8 held-out (unlabelled) samples from
  their reads in a separate `predict_with` run; compared with their true labels;
- reproducibility: rerunning matrix, model and predict gives identical bytes.
"""

import hashlib
import json

import pandas as pd
import pytest
from helpers import DEMO_CONFIG, demo_config, setup_workdir, snakemake

pytestmark = pytest.mark.e2e

OUTPUTS = [
    "results/matrix/genotypes.parquet",
    "results/model/metrics.json",
    "results/model/oof_predictions.tsv",
    "results/model/importances.tsv",
    "results/predict/predictions.tsv",
]


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# What these tests read: the reads-to-predictions path of `./run demo`. FastQC, MultiQC
# and the report figures are checked on the small demo (test_e2e_demo.py,
# test_report.py); without FastQC here (`fastqc.enabled: false`, a user option) the run
# starts 96 JVMs fewer.
TARGETS = [*OUTPUTS, "results/calls/cohort.vcf.gz"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo_full")
    setup_workdir(workdir, {"fastqc": {"enabled": False}}, base=demo_config())  # `./run demo`
    snakemake(workdir, *TARGETS, timeout=3000)
    return workdir


def test_fastqc_off_runs_no_fastqc(demo):
    assert not (demo / "results/fastqc").exists()
    logs = {p.read_text() for p in (demo / "results/logs/fastqc").glob("*/*.log")}
    assert logs == {"FastQC not run: fastqc.enabled is false\n"}
    trimmed = {p.parent.name for p in (demo / "results/trim").glob("*/*.json")}
    assert len(trimmed) == 96  # Cutadapt still ran, for every sample


@pytest.fixture(scope="module")
def truth(demo):
    return pd.read_csv(demo / "resources/demo/truth/phenotypes.tsv", sep="\t").set_index("sample")


def test_cv_auc_near_oracle_and_null_at_chance(demo):
    metrics = json.loads((demo / "results/model/metrics.json").read_text())
    summary = json.loads((demo / "resources/demo/truth/summary.json").read_text())
    auc = metrics["metrics"]["roc_auc"]["mean"]
    null = metrics["shuffled"]["metrics"]["roc_auc"]["mean"]
    oracle = summary["oracle_auc"]
    print(
        f"demo: CV ROC AUC {auc:.3f} (sd {metrics['metrics']['roc_auc']['sd']:.3f}), "
        f"oracle {oracle:.3f}, shuffled {null:.3f}, "
        f"accuracy {metrics['metrics']['accuracy']['mean']:.3f}"
    )
    assert abs(auc - oracle) <= 0.1
    assert abs(null - 0.5) <= 0.1
    # The default learner; 0.2 of the demo's ~230 SNPs per split is below the cap.
    assert metrics["learner"] == "random_forest"
    settings = metrics["learner_settings"]["random_forest"]
    assert settings["max_features"] == int(0.2 * metrics["n_features"])


def test_causal_snps_rank_in_top_10(demo):
    causal = pd.read_csv(demo / "resources/demo/truth/causal.tsv", sep="\t")
    imp = pd.read_csv(demo / "results/model/importances.tsv", sep="\t")
    top = list(imp["site_id"].head(10))
    found = [s for s in causal["site_id"] if s in top]
    print("causal in top 10:", found, "of", list(causal["site_id"]))
    # Every causal SNP the filters kept is a candidate; most must rank in the top 10.
    assert len(found) >= len(causal) - 1


def test_probabilities_follow_the_true_genetic_score(demo, truth):
    """The model's P(case) ranks the 88 labelled samples by the simulator's genetic score
    (out of fold, averaged over repeats). Chance gives rho ~ N(0, 0.11): 0.5 is > 4 sd."""
    from scipy.stats import spearmanr

    oof = pd.read_csv(demo / "results/model/oof_predictions.tsv", sep="\t")
    prob = oof.groupby("sample")["prob_case"].mean()
    rho = spearmanr(prob, truth.loc[prob.index, "genetic_score"]).statistic
    print(f"demo: Spearman(P(case) out of fold, true genetic score) = {rho:.3f}")
    assert len(prob) == 88
    assert rho >= 0.5


def test_unlabelled_samples_predicted(demo, truth):
    pred = pd.read_csv(demo / "results/predict/predictions.tsv", sep="\t").set_index("sample")
    samples = pd.read_csv(DEMO_CONFIG.parent / "samples.tsv", sep="\t", keep_default_na=False)
    unlabelled = list(samples.loc[samples["phenotype"] == "", "sample"])
    assert sorted(pred.index) == sorted(unlabelled)
    assert {"prob_case", "prob_control", "n_imputed"} <= set(pred.columns)
    # Eight samples cannot show accuracy (a coin gets >= 5 of 8 right 36 % of the time):
    # this is plumbing; test_probabilities_follow_the_true_genetic_score is the science.
    acc = (pred["predicted"] == truth.loc[pred.index, "phenotype"]).mean()
    print(f"unlabelled demo samples: accuracy {acc:.2f} against the truth")
    assert (pred["method"] != "marginalised").all() and pred["observed_share"].min() > 0.9


def test_predict_with_saved_model_from_reads(demo, truth, tmp_path):
    """Round trip: the saved model predicts the held-out samples from their reads alone."""
    held_out = pd.read_csv(demo / "results/predict/predictions.tsv", sep="\t")["sample"]
    units = pd.read_csv(DEMO_CONFIG.parent / "units.tsv", sep="\t", keep_default_na=False)
    units = units[units["sample"].isin(held_out)]
    rows = [
        {"sample": r.sample, "unit": r.unit, "fq1": demo / r.fq1, "fq2": demo / r.fq2}
        for r in units.itertuples()
    ]
    # Another lab predicts without the simulator, its own filter settings in its config:
    # the genotypes are masked with the training run's (recorded in the model).
    overrides = {
        "demo": {"enabled": False},
        "reference": {"fasta": str(demo / "resources/demo/reference.fa")},
        "predict_with": str(demo / "results/model/model.skops"),
        "filter": {"min_dp": 9, "min_gq": 40},
        "fastqc": {"enabled": False},  # FastQC is checked on the small demo
    }
    samples = [{"sample": s} for s in held_out]
    setup_workdir(tmp_path, overrides, samples, rows, base=demo_config())
    snakemake(tmp_path, "results/predict/predictions.tsv", timeout=1500)
    trained = demo_config()["filter"]
    mask = (tmp_path / "results/predict/genotype_mask.txt").read_text().strip()
    assert mask == f"FMT/DP<{trained['min_dp']} | FMT/GQ<{trained['min_gq']}"
    new = pd.read_csv(tmp_path / "results/predict/predictions.tsv", sep="\t").set_index("sample")
    old = pd.read_csv(demo / "results/predict/predictions.tsv", sep="\t").set_index("sample")
    assert sorted(new.index) == sorted(held_out)
    acc = (new["predicted"] == truth.loc[new.index, "phenotype"]).mean()
    same = (new["predicted"] == old.loc[new.index, "predicted"]).mean()
    print(f"predict_with from reads: accuracy {acc:.2f}, agreement with training run {same:.2f}")
    print(new.to_string())
    # Few sites lack coverage at 12x: most model sites are genotyped, not imputed.
    assert (new["n_imputed"] <= 0.1 * new["n_model_sites"]).all()
    assert same >= 0.85
    assert acc >= 0.6


def test_same_seed_same_outputs(demo):
    before = {p: sha(demo / p) for p in OUTPUTS}
    snakemake(demo, *TARGETS, "--forcerun", "matrix", "model", "predict")
    after = {p: sha(demo / p) for p in OUTPUTS}
    assert before == after
