"""VCF -> matrix -> classifier on real genotypes: 1000 Genomes phase 3, 2,504 samples."""

import json

import pandas as pd
import pytest
from helpers import SHARED, setup_workdir, snakemake

pytestmark = [pytest.mark.e2e, pytest.mark.realdata]

DATA = SHARED / "1000g_phase3_chr1_140kb_2504samples"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if not DATA.is_dir():
        pytest.skip(f"{DATA} not present")
    workdir = tmp_path_factory.mktemp("g1k")
    overrides = {
        "input_vcf": str(DATA / "1000G_phase3.chr1_11697036-11836540.vcf.gz"),
        "samples": str(DATA / "labels.tsv"),  # has a `sample` column: a valid sheet
        "reference": {"fasta": ""},
        "demo": {"enabled": False},
        # Released panel genotypes carry no QUAL, DP or GQ to filter on.
        "filter": {"min_qual": 0, "min_dp": 0, "min_gq": 0, "min_maf": 0.01},
        # Rare SNPs carry population signal (keep MAF >= 1 %); LD pruning trims the
        # 741 SNPs to ~410 near-independent ones: as accurate, and faster.
        "features": {"min_maf": 0.01, "ld_prune": {"enabled": True, "r2": 0.8}},
        "model": {"target": "super_population", "n_shuffles": 1},
    }
    setup_workdir(workdir, overrides)
    snakemake(workdir, timeout=3000)
    return workdir


def test_matrix_shape_and_labels(run):
    genotypes = pd.read_parquet(run / "results/matrix/genotypes.parquet")
    samples = pd.read_csv(run / "results/matrix/samples.tsv", sep="\t", keep_default_na=False)
    assert genotypes.shape[0] == 2504
    assert set(samples["label"]) == {"AFR", "AMR", "EAS", "EUR", "SAS"}
    assert (genotypes.to_numpy() >= -1).all()


def test_super_population_accuracy(run):
    metrics = json.loads((run / "results/model/metrics.json").read_text())
    acc = metrics["metrics"]["accuracy"]["mean"]
    bal = metrics["metrics"]["balanced_accuracy"]["mean"]
    shuffled = metrics["shuffled"]["metrics"]["accuracy"]["mean"]
    cm = metrics["confusion_matrix"]
    print(f"1000G: CV accuracy {acc:.3f}, balanced {bal:.3f}, shuffled {shuffled:.3f}")
    print("confusion matrix", cm["classes"], *cm["matrix"], sep="\n")
    assert acc >= 0.806, f"CV accuracy {acc:.3f} below the plain random forest's 0.806"
    assert shuffled < 0.35  # the majority class is 0.264
