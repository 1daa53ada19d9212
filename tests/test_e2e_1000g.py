"""A user's run "From a VCF", as the README writes it, on real genotypes: 1000 Genomes
phase 3, 2,504 samples. From the root of a fresh copy of the workflow,
`snakemake --configfile mine.yaml` with nothing but `samples`, `input_vcf` and
`model.target`: every other value is a default, and the defaults must do well here.
(The one other key, `notebooks.enabled: false`, leaves out the exploration notebooks,
which no test here reads and which change no result.)"""

import json

import pandas as pd
import pytest
import yaml
from defaults import schema_defaults
from helpers import SHARED, copy_workflow, filter_params, run_from_root

pytestmark = [pytest.mark.e2e, pytest.mark.realdata]

DATA = SHARED / "1000g_phase3_chr1_140kb_2504samples"
# The defaults as config/README.md documents them (tests/test_sheets.py checks the README
# against the schema): the run must have used exactly these.
DOCUMENTED_FILTER = schema_defaults()["filter"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if not DATA.is_dir():
        pytest.skip(f"{DATA} not present")
    root = copy_workflow(tmp_path_factory.mktemp("g1k"))
    mine = {
        "samples": str(DATA / "labels.tsv"),  # has a `sample` column: a valid sheet
        "input_vcf": str(DATA / "1000G_phase3.chr1_11697036-11836540.vcf.gz"),
        "model": {"target": "super_population"},
        "notebooks": {"enabled": False},  # not read here; ~15 s of the run
    }
    (root / "mine.yaml").write_text(yaml.safe_dump(mine))
    run_from_root(root, "--configfile", "mine.yaml", timeout=3600)
    return root


def test_defaults_are_the_documented_ones(run):
    used = filter_params(run / "results/filter/filtered.bcf")
    assert used == {**DOCUMENTED_FILTER, "ploidy": 2}
    model = json.loads((run / "results/model/metrics.json").read_text())
    defaults = schema_defaults()["model"]
    assert model["cv"]["folds"] == defaults["cv_folds"] == 5
    assert model["cv"]["repeats"] == defaults["cv_repeats"] == 3
    assert model["shuffled"]["n_shuffles"] == defaults["n_shuffles"]
    assert not (run / "resources/demo").exists()  # nothing of the demo ran


def test_matrix_shape_and_labels(run):
    genotypes = pd.read_parquet(run / "results/matrix/genotypes.parquet")
    samples = pd.read_csv(run / "results/matrix/samples.tsv", sep="\t", keep_default_na=False)
    assert genotypes.shape[0] == 2504
    assert set(samples["label"]) == {"AFR", "AMR", "EAS", "EUR", "SAS"}
    assert (genotypes.to_numpy() >= -1).all()


def test_super_population_accuracy_with_pure_defaults(run):
    metrics = json.loads((run / "results/model/metrics.json").read_text())
    acc = metrics["metrics"]["accuracy"]["mean"]
    bal = metrics["metrics"]["balanced_accuracy"]["mean"]
    shuffled = metrics["shuffled"]["metrics"]["accuracy"]["mean"]
    cm = metrics["confusion_matrix"]
    print(f"1000G defaults: CV accuracy {acc:.3f}, balanced {bal:.3f}, shuffled {shuffled:.3f}")
    print("confusion matrix", cm["classes"], *cm["matrix"], sep="\n")
    # A plain 5-fold random forest on the 741 SNPs with MAF >= 1 % reaches 0.806.
    assert acc >= 0.82, f"CV accuracy {acc:.3f} below 0.82 with the default settings"
    assert shuffled < 0.35  # the majority class is 0.264
    # The default learner, with 0.2 of the 413 SNPs per split (below max_features_cap).
    assert metrics["learner"] == "random_forest" and "compare" not in metrics
    assert metrics["learner_settings"]["random_forest"]["max_features"] == 82


def test_logistic_learner_on_the_runs_matrix(run):
    """model.learner logistic through the workflow's CV code on the run's own matrix and
    features: the linear model beats the forest here (bench/results/defaults.md)."""
    import model
    import table_io

    selected = pd.read_csv(run / "results/features/selected.tsv", sep="\t", dtype={"site_id": str})
    kept = selected.loc[selected["kept"].astype(str).str.lower() == "true", "site_id"]
    genotypes = table_io.read_genotype_frame(run / "results/matrix/genotypes.parquet", kept)
    samples = pd.read_csv(run / "results/matrix/samples.tsv", sep="\t", keep_default_na=False)
    X, y = model.labelled_data(genotypes, samples, list(kept))
    params = {"target": "super_population", "learner": "logistic", "cv_repeats": 1}
    metrics = model.cross_validate(X, y, params | {"n_shuffles": 0})["metrics"]
    acc = metrics["metrics"]["accuracy"]["mean"]
    print(f"1000G logistic: CV accuracy {acc:.3f} (5 x 1)")
    assert acc >= 0.84
