"""The report: plotting and summary functions on tiny fixtures (unit), and the figures,
summary, MultiQC report and `snakemake --report` of the session's small demo run (e2e)."""

import json
import re
import sys

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, snakemake

sys.path.insert(0, str(REPO / "scripts"))
import plot_style  # noqa: E402
import qc  # noqa: E402
import report_association  # noqa: E402
import report_model  # noqa: E402
import report_population  # noqa: E402
import report_predictions  # noqa: E402
import report_qc  # noqa: E402
import report_variants  # noqa: E402
import sample_qc  # noqa: E402
import summary  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "report"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_png(path, min_px=200):
    """A valid, non-empty PNG of a sensible size; returns (height, width)."""
    from PIL import Image

    assert path.exists(), path
    assert path.read_bytes()[:8] == PNG_MAGIC, f"{path} is not a PNG"
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        width, height = im.size
        extrema = im.convert("L").getextrema()
    assert width >= min_px and height >= min_px, (path, width, height)
    assert extrema[0] < extrema[1], f"{path} is blank"
    return height, width


FLAGSTAT = """\
1000 + 0 in total (QC-passed reads + QC-failed reads)
980 + 0 primary
10 + 0 secondary
10 + 0 supplementary
60 + 0 duplicates
50 + 0 primary duplicates
950 + 0 mapped (95.00% : N/A)
930 + 0 primary mapped (94.90% : N/A)
980 + 0 paired in sequencing
490 + 0 read1
490 + 0 read2
900 + 0 properly paired (91.84% : N/A)
"""


def fake_run(tmp_path, n):
    """flagstat/stats/idxstats files of n samples with known numbers."""
    paths = {"flagstat": [], "stats": [], "idxstats": []}
    for i in range(n):
        d = tmp_path / f"S{i}"
        d.mkdir()
        (d / "f.txt").write_text(FLAGSTAT)
        # 100 bp reference: 10 bases at depth 1, 80 at depth 2 -> mean (10 + 160) / 100
        (d / "s.txt").write_text(
            "SN\traw total sequences:\t1000\nCOV\t[1-1]\t1\t10\nCOV\t[2-2]\t2\t80\n"
        )
        (d / "i.txt").write_text("chr1\t60\t5\t0\nchr2\t40\t5\t0\n*\t0\t0\t0\n")
        for key, name in (("flagstat", "f"), ("stats", "s"), ("idxstats", "i")):
            paths[key].append(d / f"{name}.txt")
    return [f"S{i}" for i in range(n)], paths


# ----------------------------------------------------------------------------- parsers


def test_flagstat_and_mapping_table(tmp_path):
    names, p = fake_run(tmp_path, 2)
    fs = qc.read_flagstat(p["flagstat"][0])
    assert fs["total"] == 1000 and fs["mapped"] == 950 and fs["primary_duplicates"] == 50
    table, hists = qc.mapping_table(names, p["flagstat"], p["stats"], p["idxstats"])
    row = table.iloc[0]
    assert row["mapping_rate"] == pytest.approx(0.95)
    assert row["properly_paired_rate"] == pytest.approx(900 / 980)
    assert row["duplicate_rate"] == pytest.approx(50 / 930)
    assert row["mean_depth"] == pytest.approx(1.7)
    hist = hists["S0"].set_index("depth")["bases"]
    assert hist[0] == 10 and hist.sum() == 100  # uncovered bases added at depth 0


def test_real_fixture_files():
    fs = qc.read_flagstat(FIXTURES / "S012.flagstat.txt")
    assert fs["total"] == 9600 and fs["properly_paired"] == 9600
    sn, cov = qc.read_samtools_stats(FIXTURES / "S012.stats.txt")
    assert sn["raw total sequences"] == 9600 and len(cov) > 10
    assert qc.read_genome_length(FIXTURES / "S012.idxstats.txt") == 80000


def test_sample_qc_record_gives_the_same_tables(tmp_path):
    """The per-sample QC record (written by the markdup job, read by the QC figures and
    the summary) gives the tables that the raw files give."""
    trim = sorted((FIXTURES / "trim").glob("*/*.json"))
    files = [FIXTURES / f"S012.{x}.txt" for x in ("flagstat", "stats", "idxstats")]
    rec = sample_qc.record("S012", trim, *files)
    sample_qc.write(tmp_path / "S012.json", rec)
    units, mapping, hists = qc.read_sample_qc([tmp_path / "S012.json"])
    pd.testing.assert_frame_equal(units, qc.read_cutadapt(trim))
    want, want_hists = qc.mapping_table(["S012"], *([f] for f in files))
    pd.testing.assert_frame_equal(mapping, want)
    pd.testing.assert_frame_equal(hists["S012"], want_hists["S012"])
    assert mapping.loc[0, "mean_depth"] > 0


def test_trimming_sums_units():
    units = qc.read_cutadapt(sorted((FIXTURES / "trim").glob("*/*.json")))
    assert list(units["unit"]) == ["L1", "L2"] and set(units["sample"]) == {"S012"}
    trim = qc.trimming_table(units)
    assert len(trim) == 1
    row = trim.iloc[0]
    assert row["reads_in"] == units["reads_in"].sum()
    assert row["adapter_share"] == pytest.approx(
        units["with_adapter"].sum() / (2 * units["reads_in"].sum())
    )
    assert 0 < row["bases_trimmed_share"] < 0.2


def test_ts_tv():
    sites = pd.DataFrame(
        {
            "snp": [True, True, True, False],
            "transition": [True, True, False, False],
        }
    )
    assert qc.ts_tv(sites) == 2.0
    assert np.isnan(qc.ts_tv(sites.iloc[:2]))


def test_build_summary_and_headline():
    samples = pd.DataFrame(
        {
            "sample": ["a", "b"],
            "label": ["x", ""],
            "call_rate": ["1", "0.5"],
            "heterozygosity": ["0.2", "0.1"],
        }
    )
    genotypes = pd.DataFrame(
        [[0, 1], [-1, 2]], index=["a", "b"], columns=["s1", "s2"], dtype="int8"
    )
    pred = pd.DataFrame({"sample": ["b"], "predicted": ["x"], "prob_x": [0.7], "prob_y": [0.3]})
    oof = pd.DataFrame({"sample": ["a", "a"], "true": ["x", "x"], "predicted": ["x", "y"]})
    table = summary.build_summary(
        samples, oof=oof, predictions=pred, sheet_samples=["a", "b", "c"], genotypes=genotypes
    )
    assert list(table["sample"]) == ["a", "b", "c"]  # a sheet sample not in the matrix kept
    assert list(table["n_called_sites"].iloc[:2]) == [2, 1]
    assert table.loc[0, "cv_correct_share"] == 0.5
    assert table.loc[1, "probability"] == 0.7
    counts = pd.DataFrame({"filter": ["input", "low_qual", "output"], "remaining": [10, 8, 8]})
    head = summary.headline(counts, genotypes, {"lambda_gc": 1.01}, None, table)
    assert head["sites_input"] == 10 and head["sites_filtered"] == 8
    assert head["matrix_sites"] == 2 and head["predicted_samples"] == 1


# ----------------------------------------------------------------------------- figures


@pytest.mark.parametrize("n", [5, 300])
def test_figures_small_and_large_cohorts(tmp_path, n):
    """Every plotting function writes a valid PNG; with many samples, those whose layout
    depends on the number of samples."""
    rng = np.random.default_rng(1)
    names = [f"S{i:04d}" for i in range(n)]
    labels = rng.choice(["AFR", "EUR", "EAS", ""], n)
    out = tmp_path / "figs"
    trim = pd.DataFrame(
        {
            "sample": names,
            "reads_in": 1000,
            "reads_out": rng.integers(900, 1000, n),
            "reads_removed_share": rng.uniform(0, 0.1, n),
            "adapter_share": rng.uniform(0, 0.2, n),
            "bases_trimmed_share": rng.uniform(0, 0.05, n),
        }
    )
    report_qc.plot_reads(trim, out / "reads.png")
    mapping = pd.DataFrame(
        {
            "sample": names,
            "mapping_rate": rng.uniform(0.9, 1, n),
            "properly_paired_rate": rng.uniform(0.9, 1, n),
            "duplicate_rate": rng.uniform(0, 0.1, n),
            "mean_depth": rng.uniform(5, 30, n),
        }
    )
    report_qc.plot_mapping(mapping, out / "mapping.png")
    hists = {
        s: pd.DataFrame({"depth": np.arange(40), "bases": rng.poisson(100, 40)}) for s in names
    }
    report_qc.plot_depth(hists, out / "depth.png")
    samples = pd.DataFrame(
        {
            "sample": names,
            "label": labels,
            "call_rate": rng.uniform(0.9, 1, n),
            "heterozygosity": rng.uniform(0.1, 0.3, n),
            "population": rng.choice(["p1", "p2"], n),
        }
    )
    report_variants.plot_sample_stats(samples, out / "samples.png")
    pca = pd.DataFrame(rng.normal(size=(n, 4)), columns=["PC1", "PC2", "PC3", "PC4"])
    pca.insert(0, "sample", names)
    variance = pd.DataFrame(
        {"pc": ["PC1", "PC2", "PC3", "PC4"], "variance_ratio": [0.4, 0.2, 0.1, 0.05]}
    )
    report_population.plot_pca(pca, variance, samples, "label", out / "pca_label.png")
    classes = ["AFR", "EAS", "EUR"]
    pred = pd.DataFrame({"sample": names, "predicted": rng.choice(classes, n)})
    p = rng.dirichlet(np.ones(3), n)
    for j, c in enumerate(classes):
        pred[f"prob_{c}"] = p[:, j]
    report_predictions.plot_predictions(pred, out / "predictions.png")
    if n > plot_style.MAX_NAMED:
        pngs = sorted(out.glob("*.png"))
        assert len(pngs) == 6
        for png in pngs:
            check_png(png)
        return
    report_population.plot_pca(pca, variance, samples, "population", out / "pca_population.png")
    counts = pd.DataFrame(
        {
            "filter": ["input", "low_qual", "genotypes_masked_dp", "low_maf", "output"],
            "removed": [0, 5, 7, 2, 7],
            "remaining": pd.array([100, 95, pd.NA, 93, 93], dtype="Int64"),
        }
    )
    report_variants.plot_filters(counts, out / "filters.png")
    sites = pd.DataFrame(
        {
            "chrom": "chr1",
            "pos": np.arange(200),
            "ref": "A",
            "alt": rng.choice(["G", "C", "T"], 200),
            "qual": rng.gamma(2, 100, 200),
            "dp": np.nan,  # a VCF without INFO/DP: the panel says so
            "snp": True,
        }
    )
    sites["transition"] = sites["alt"] == "G"
    matrix_sites = pd.DataFrame({"af": rng.uniform(0, 1, 200)})
    report_variants.plot_site_stats(
        sites, sites.iloc[::2], matrix_sites, out / "sites.png", {"min_qual": 30}
    )
    assoc = pd.DataFrame(
        {
            "chrom": np.repeat(["chr1", "chr2", "chr10"], 100),
            "pos": np.tile(np.arange(100) * 1000, 3),
            "p": rng.uniform(size=300),
            "test": "chi2",
        }
    )
    report_association.plot_manhattan(
        assoc, {"lambda_gc": 1.02, "test": "allelic chi2"}, out / "manhattan.png"
    )
    report_association.plot_qq(assoc, {"lambda_gc": 1.02}, out / "qq.png")
    lab = rng.choice(classes, 60)
    proba = rng.dirichlet(np.ones(3), 60)
    oof = pd.DataFrame(
        {"sample": range(60), "repeat": 1, "fold": np.tile([1, 2, 3], 20), "true": lab}
    )
    for j, c in enumerate(classes):
        oof[f"prob_{c}"] = proba[:, j]
    folds = [{"accuracy": a, "balanced_accuracy": a, "roc_auc": a} for a in rng.uniform(0.5, 1, 3)]
    metrics = {
        "classes": classes,
        "majority_baseline_accuracy": 0.4,
        "cv": {"repeats": 1},
        "confusion_matrix": {"classes": classes, "matrix": [[5, 1, 0], [2, 9, 1], [0, 0, 12]]},
        "folds": folds,
        "shuffled": {"folds": folds[::-1]},
    }
    report_model.plot_roc(oof, metrics, out / "roc_multiclass.png")
    binary = oof.assign(true=np.where(lab == "AFR", "AFR", "EAS"))
    report_model.plot_roc(binary, {**metrics, "classes": ["AFR", "EAS"]}, out / "roc_binary.png")
    report_model.plot_confusion(metrics, out / "confusion.png")
    imp = pd.DataFrame(
        {
            "site_id": [f"chr1:{i}:A:G" for i in range(30)],
            "importance": rng.uniform(size=30),
            "region": ["geneA"] * 10 + [""] * 20,
        }
    )
    report_model.plot_importances(imp, out / "importances.png", top_n=20)
    report_model.plot_null(metrics, out / "shuffled.png")
    report_predictions.plot_predictions(pred.iloc[:0], out / "predictions_none.png")
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 17
    for png in pngs:
        height, width = check_png(png)
        assert width < 4000 and height < 3000, (png, width, height)  # stays a page


# ----------------------------------------------------------------------------- end to end

FIGURES = [
    "qc/reads.png",
    "qc/mapping.png",
    "qc/depth.png",
    "variants/filters.png",
    "variants/sites.png",
    "variants/samples.png",
    "population/pca_label.png",
    "population/pca_population.png",  # report.color_by: [population] (.test/demo)
    "association/manhattan.png",
    "association/qq.png",
    "model/roc.png",
    "model/confusion.png",
    "model/shuffled.png",
    "model/importances.png",
    "model/predictions.png",
]


@pytest.mark.e2e
def test_demo_figures(small_demo):
    workdir, _, _ = small_demo
    for fig in FIGURES:
        check_png(workdir / "results/report" / fig)


def _flagstat_numbers(path):
    """mapped / total and properly paired / paired straight from the flagstat text."""
    text = path.read_text()

    def count(desc):
        return int(re.search(rf"^(\d+) \+ \d+ {desc}", text, re.M).group(1))

    return count("mapped"), count("in total"), count("properly paired"), count("paired in")


@pytest.mark.e2e
def test_demo_summary_matches_sources(small_demo):
    workdir, samples, units = small_demo
    res = workdir / "results"
    table = pd.read_csv(res / "summary.tsv", sep="\t", keep_default_na=False, na_values=["NA"])
    assert sorted(table["sample"]) == sorted(samples)
    matrix = pd.read_csv(res / "matrix/samples.tsv", sep="\t", keep_default_na=False)
    genotypes = pd.read_parquet(res / "matrix/genotypes.parquet")
    if "sample" in genotypes.columns:
        genotypes = genotypes.set_index("sample")
    for _, row in table.iterrows():
        s = row["sample"]
        mapped, total, proper, paired = _flagstat_numbers(res / f"bamstats/{s}.flagstat.txt")
        assert row["mapping_rate"] == pytest.approx(mapped / total, rel=1e-5)
        assert row["properly_paired_rate"] == pytest.approx(proper / paired, rel=1e-5)
        reads_in = sum(
            json.loads(p.read_text())["read_counts"]["input"]
            for p in (res / "trim" / s).glob("*.json")
        )
        assert row["reads_in"] == reads_in
        m = matrix.set_index("sample").loc[s]
        assert row["call_rate"] == pytest.approx(float(m["call_rate"]), abs=1e-5)
        assert row["n_called_sites"] == int((genotypes.loc[s] != -1).sum())
        assert 5 < row["mean_depth"] < 30  # the demo simulates 12x
    cohort = json.loads((res / "summary.json").read_text())
    counts = pd.read_csv(res / "filter/filter_counts.tsv", sep="\t").set_index("filter")
    assert cohort["sites_input"] == int(counts.loc["input", "remaining"])
    assert cohort["sites_filtered"] == int(counts.loc["output", "remaining"])
    assert cohort["matrix_sites"] == genotypes.shape[1]
    metrics = json.loads((res / "model/metrics.json").read_text())
    assert cohort["cv_roc_auc_mean"] == metrics["metrics"]["roc_auc"]["mean"]
    predictions = pd.read_csv(res / "predict/predictions.tsv", sep="\t")
    assert cohort["predicted_samples"] == len(predictions)


@pytest.mark.e2e
def test_demo_multiqc(small_demo):
    workdir, samples, units = small_demo
    data = workdir / "results/multiqc/multiqc_report_data"
    assert (workdir / "results/multiqc/multiqc_report.html").stat().st_size > 100_000
    names = set(pd.read_csv(data / "multiqc_general_stats.txt", sep="\t")["Sample"])
    # Cleaned names: <sample> (samtools, bcftools), <sample>.<unit> (Cutadapt) and
    # <sample>.<unit>.<raw|trimmed>.<R1|R2> (FastQC); trimmed R1 and R2 stay apart.
    for s in samples:
        assert s in names
    for _, u in units.iterrows():
        stem = f"{u['sample']}.{u['unit']}"
        assert stem in names
        for kind in ("raw", "trimmed"):
            assert {f"{stem}.{kind}.R1", f"{stem}.{kind}.R2"} <= names
    cutadapt = pd.read_csv(data / "multiqc_cutadapt.txt", sep="\t")
    assert len(cutadapt) == len(units)
    flagstat = pd.read_csv(data / "multiqc_samtools_flagstat.txt", sep="\t")
    assert set(flagstat["Sample"]) == set(samples)


@pytest.mark.e2e
def test_snakemake_report_html(small_demo):
    workdir, _, _ = small_demo
    out = workdir / "results/report.html"
    snakemake(workdir, "--report", str(out), timeout=600)
    html = out.read_text(errors="replace")
    assert out.stat().st_size > 200_000
    for category in ("QC", "Mapping", "Variants", "Population structure", "Association", "Model"):
        assert category in html, category


def test_color_by_column_missing_from_sheet_is_skipped(tmp_path):
    """A `report.color_by` column the sheet lacks gives a warning, not an error."""
    from conftest import small_demo_sheets

    small_demo_sheets(tmp_path)
    sheet = tmp_path / "config/samples.tsv"
    table = pd.read_csv(sheet, sep="\t", dtype=str, keep_default_na=False)
    table.drop(columns="population").to_csv(sheet, sep="\t", index=False)
    proc = snakemake(tmp_path, "-n", "--quiet", "rules", timeout=300)
    assert "has no column 'population'; skipped" in proc.stdout + proc.stderr


def test_depth_shares_of_histograms_of_different_lengths():
    """Samples whose reads reach different depths (or skip one) give rows of the same
    length: the depth figure of a 1,000-sample tiny-read cohort failed on this."""
    hists = {
        "a": pd.DataFrame({"depth": [0, 1, 2], "bases": [10, 30, 60]}),
        "b": pd.DataFrame({"depth": [0, 3], "bases": [50, 50]}),  # no depth 1 or 2
    }
    frac, at_least = report_qc.depth_shares(hists, ["a", "b"], 4)
    np.testing.assert_allclose(frac, [[0.1, 0.3, 0.6, 0, 0], [0.5, 0, 0, 0.5, 0]])
    np.testing.assert_allclose(at_least, [[1, 0.9, 0.6, 0, 0], [1, 0.5, 0.5, 0.5, 0]])
