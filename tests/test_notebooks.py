"""The notebooks (rules/notebooks.smk, notebooks/*.py.ipynb): their logic in
scripts/explore.py on tiny fixtures, the HTML conversion and the Jupyter environment
(scripts/notebook_html.py), a kernel that runs with the network down (unit); and on the
session's small demo run (e2e): the executed notebooks and pages, their numbers against
the workflow's own tables, a failing cell that fails the rule, and the sequence-model
notebook on that branch's files."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from conftest import copy_run
from helpers import REPO, copy_workflow, planned_jobs, snakemake

sys.path.insert(0, str(REPO / "scripts"))
import explore  # noqa: E402
import model  # noqa: E402
import notebook_html  # noqa: E402
from table_io import read_genotypes, read_samples, read_sites, read_tsv  # noqa: E402

NOTEBOOK_DIR = REPO / "notebooks"
JUPYTER_CONFIG = NOTEBOOK_DIR / "jupyter"
BIN = Path(sys.executable).parent


def frame(g, names=None):
    g = np.asarray(g, dtype=np.int8)
    return pd.DataFrame(
        g,
        index=pd.Index(names or [f"S{i}" for i in range(len(g))], name="sample"),
        columns=[f"chr1:{100 + j}:A:G" for j in range(g.shape[1])],
    )


# ----------------------------------------------------------------------------- matrix


def test_call_rates_and_overview():
    g = frame([[0, 1, -1, 2], [-1, -1, 2, 0], [1, 1, 1, 1]])
    samples = pd.DataFrame({"sample": ["S0", "S1", "S2"], "label": ["case", "", "control"]})
    per_sample, per_site = explore.call_rates(g)
    assert per_sample.tolist() == [0.75, 0.5, 1.0]
    assert per_site.tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 1.0])
    o = explore.matrix_overview(g, samples)
    assert (o["n_samples"], o["n_sites"], o["n_labelled"]) == (3, 4, 2)
    assert o["missing_share"] == pytest.approx(3 / 12)
    assert o["dosage_counts"] == {"missing": 3, "0": 2, "1": 5, "2": 2}
    assert o["class_counts"] == {"case": 1, "control": 1}
    # ALT frequency per group, missing genotypes left out; the unlabelled sample too.
    freq = explore.dosage_by_group(g, samples.set_index("sample")["label"])
    assert freq.loc["chr1:100:A:G"].tolist() == [0.0, 0.5]
    assert np.isnan(freq.loc["chr1:102:A:G", "case"])


def test_colour_columns():
    samples = pd.DataFrame(
        {
            "sample": ["a", "b", "c", "d"],
            "call_rate": ["1", "0.9", "1", "1"],
            "heterozygosity": ["0.2", "0.3", "0.1", "0.2"],
            "label": ["case", "control", "case", ""],
            "phenotype": ["case", "control", "case", ""],  # the label's own column
            "population": ["p1", "p2", "p2", "p1"],
            "age": ["31", "40", "", "52"],  # numbers
            "batch": ["x", "x", "x", "x"],  # one group
        }
    )
    assert explore.colour_columns(samples) == ["label", "population"]


def test_pc_r2():
    # PC1 is the group means exactly (R² 1); PC2 has equal group means (R² 0).
    pca = pd.DataFrame(
        {
            "sample": ["a", "b", "c", "d", "e"],
            "PC1": [1.0, 1.0, -1.0, -1.0, 5.0],
            "PC2": [1.0, -1.0, 1.0, -1.0, 0.0],
        }
    )
    samples = pd.DataFrame({"sample": list("abcde"), "pop": ["x", "x", "y", "y", ""]})
    r2 = explore.pc_r2(pca, samples, "pop")  # e has no value: left out
    assert r2["PC1"] == pytest.approx(1.0)
    assert r2["PC2"] == pytest.approx(0.0)


# ----------------------------------------------------------------------------- association


def test_top_hits_and_agreement():
    ids = [f"chr1:{i}:A:G" for i in range(20)]
    assoc = pd.DataFrame({"site_id": ids, "p": [10.0 ** -(20 - i) for i in range(20)]})
    assoc.loc[19, "p"] = np.nan  # untestable site
    imp = pd.DataFrame({"site_id": ids[:-1], "importance": np.arange(19, 0, -1) / 190})
    imp["rank"] = np.arange(1, 20)
    agree = explore.association_importance_agreement(assoc, imp)
    assert agree == {"n_shared": 19, "spearman_rho": pytest.approx(1.0), "top10_overlap": 10}
    top = explore.top_hits(assoc, imp, n=3)
    assert top["site_id"].tolist() == ids[:3]
    assert top["rank"].tolist() == [1, 2, 3]


# ----------------------------------------------------------------------------- model


def test_metrics_table():
    metrics = {
        "classes": ["a", "b", "c"],
        "majority_baseline_accuracy": 0.4,
        "metrics": {
            "accuracy": {"mean": 0.9, "sd": 0.1},
            "balanced_accuracy": {"mean": 0.8, "sd": 0.1},
            "roc_auc": {"mean": 0.95, "sd": 0.02},
        },
        "shuffled": {"metrics": {"roc_auc": {"mean": 0.51, "sd": 0.05}}},
    }
    t = explore.metrics_table(metrics)
    assert t.loc["accuracy", "chance"] == 0.4
    assert t.loc["balanced_accuracy", "chance"] == pytest.approx(1 / 3)
    assert (t.loc["roc_auc", "cv_mean"], t.loc["roc_auc", "shuffled_mean"]) == (0.95, 0.51)
    assert pd.isna(t.loc["accuracy", "shuffled_mean"])


def test_folds_from_oof_are_the_model_steps_folds():
    """The prototype reads the folds back from oof_predictions.tsv: they must be the
    model step's RepeatedStratifiedKFold splits (same samples held out, per repeat)."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    rng = np.random.default_rng(1)
    g = frame(rng.integers(0, 3, (24, 6)))
    y = np.array(["case", "control"] * 12)
    params = {"n_estimators": 10, "cv_folds": 3, "cv_repeats": 2, "n_shuffles": 0, "seed": 7}
    oof = model.cross_validate(g, y, params | {"n_jobs": 1})["oof"]
    folds = explore.folds_from_oof(oof)
    splitter = RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=7)
    expected = [sorted(g.index[test]) for _, test in splitter.split(g, y)]
    assert [sorted(f["test"]) for f in folds] == expected
    for f in folds:  # train and test partition the labelled samples
        assert not set(f["train"]) & set(f["test"])
        assert sorted(f["train"] + f["test"]) == sorted(g.index)


def test_prototype_cv_on_given_folds():
    # Site 0 is the label (0 = case, 2 = control), four noise sites with 10 % missing
    # (imputed inside each training fold): the prototype separates the held-out halves.
    rng = np.random.default_rng(0)
    names = [f"S{i}" for i in range(60)]
    y = pd.Series(["case", "control"] * 30, index=names)
    g = rng.integers(0, 3, (60, 5))
    g[rng.random(g.shape) < 0.1] = -1
    g[:, 0] = np.where(y == "case", 0, 2)
    g = frame(g, names)
    folds = [
        {"repeat": 1, "fold": 1, "train": names[:30], "test": names[30:]},
        {"repeat": 1, "fold": 2, "train": names[30:], "test": names[:30]},
    ]
    res = explore.prototype_cv(g, y, folds, explore.logistic_regression)
    assert res[["repeat", "fold", "n_test"]].values.tolist() == [[1, 1, 30], [1, 2, 30]]
    assert res["accuracy"].tolist() == [1.0, 1.0]
    assert res["roc_auc"].tolist() == [1.0, 1.0]
    forest = [
        {"repeat": 1, "fold": 1, "accuracy": 0.7, "roc_auc": 0.8},
        {"repeat": 1, "fold": 2, "accuracy": 0.6, "roc_auc": 0.7},
    ]
    both = explore.compare_folds(forest, res)
    assert both["roc_auc_forest"].tolist() == [0.8, 0.7]
    assert both["roc_auc_prototype"].tolist() == [1.0, 1.0]


def test_prediction_summary():
    pred = pd.DataFrame(
        {"predicted": ["a", "b", "a"], "method": ["full"] * 3, "low_coverage": [False, True, False]}
    )
    assert explore.prediction_summary(pred) == {
        "n_predicted": 3,
        "predicted": {"a": 2, "b": 1},
        "method": {"full": 3},
        "low_coverage": {"False": 2, "True": 1},
    }


# ----------------------------------------------------------------------------- sequence model

SEQ_METRICS = {
    "accuracy": 0.8125,
    "baseline_accuracy": 0.6875,
    "baselines": {"kmer4_logistic": 0.75, "gc_logistic": 0.6875},
    "majority_accuracy": 0.5,
    "roc_auc": 0.87,
    "flag": True,
    "confusion_matrix": {
        "labels": ["gene", "intergenic"],
        "rows_true_columns_predicted": [[7, 1], [2, 6]],
    },
}


def write_sequence_model(folder):
    """A results/sequence_model/ as that branch writes it: metrics.json, history.tsv,
    test_predictions.tsv (16 held-out windows, 13 right: accuracy 0.8125)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(SEQ_METRICS))
    pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "loss": [0.69, 0.6, 0.5],
            "val_loss": [0.68, 0.62, 0.65],
            "accuracy": [0.55, 0.7, 0.8],
            "best": [False, True, False],
        }
    ).to_csv(folder / "history.tsv", sep="\t", index=False)
    pairs = [("gene", "gene")] * 7 + [("gene", "intergenic")] + [("intergenic", "gene")] * 2
    pairs += [("intergenic", "intergenic")] * 6
    pd.DataFrame(
        {"id": [f"w{i}" for i in range(16)], "true": [t for t, _ in pairs]}
        | {"predicted": [p for _, p in pairs]}
    ).to_csv(folder / "test_predictions.tsv", sep="\t", index=False)


def test_read_sequence_model(tmp_path):
    write_sequence_model(tmp_path)
    seq = explore.read_sequence_model(tmp_path)
    assert seq["files"] == ["history.tsv", "metrics.json", "test_predictions.tsv"]
    assert seq["predictions"] is None  # no predict_fasta
    assert seq["numbers"]["baselines.kmer4_logistic"] == 0.75
    assert seq["numbers"]["confusion_matrix.rows_true_columns_predicted.1.0"] == 2
    assert "flag" not in seq["numbers"]  # booleans are not numbers here
    acc = explore.accuracy_table(seq["numbers"])
    assert acc.index[0] == "accuracy" and acc.iloc[-1] == 0.5
    assert len(acc) == 5
    cm = explore.find_confusion(seq["metrics"])
    assert cm.loc["gene"].tolist() == [7, 1] and cm.loc["intergenic"].tolist() == [2, 6]
    # The held-out predictions give the accuracy metrics.json states.
    assert explore.agreement(seq["test_predictions"]) == SEQ_METRICS["accuracy"]
    fig = explore.plot_history(seq["history"])
    assert [len(ax.lines) for ax in fig.axes] == [2, 1]  # losses; accuracy (best: bool)
    explore.plt.close(fig)


# ----------------------------------------------------------------------------- environment, HTML


def test_jupyter_environment(tmp_path):
    (tmp_path / "jupyter-nbconvert").touch()
    env = {"PATH": "/usr/bin:/bin"}
    changes = notebook_html.jupyter_environment(env, tmp_path, "/wf/notebooks/jupyter")
    assert changes == {
        "PATH": f"{tmp_path}:/usr/bin:/bin",
        "JUPYTER_CONFIG_PATH": "/wf/notebooks/jupyter",
    }
    # Already first (as under ./run): nothing changes; other config dirs are kept after ours.
    env = {"PATH": f"{tmp_path}:/bin", "JUPYTER_CONFIG_PATH": "/mine"}
    assert notebook_html.jupyter_environment(env, tmp_path, "/wf/j") == {
        "JUPYTER_CONFIG_PATH": "/wf/j:/mine"
    }
    # A Python without nbconvert beside it: PATH is left alone.
    assert "PATH" not in notebook_html.jupyter_environment(env, tmp_path / "none", "/wf/j")


def tiny_png():
    import io

    fig, ax = explore.plt.subplots(figsize=(1, 1))
    ax.plot([0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    explore.plt.close(fig)
    import base64

    return base64.b64encode(buf.getvalue()).decode()


def executed_notebook(error=False):
    nb = nbformat.v4.new_notebook()
    pre = nbformat.v4.new_code_cell("import os; os.chdir(r'/secret/workdir')")
    pre.metadata["tags"] = [notebook_html.PREAMBLE_TAG]
    cell = nbformat.v4.new_code_cell("figure()")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": tiny_png()}),
        nbformat.v4.new_output("stream", name="stdout", text="CV ROC AUC 0.875\n"),
    ]
    if error:
        cell.outputs.append(nbformat.v4.new_output("error", ename="KeyError", evalue="'x'"))
    nb.cells = [pre, cell]
    return nb


def test_to_html_drops_the_preamble_and_loads_nothing(tmp_path):
    nbformat.write(executed_notebook(), tmp_path / "a.ipynb")
    cells, images = notebook_html.to_html(tmp_path / "a.ipynb", tmp_path / "a.html")
    assert (cells, images) == (1, 1)
    html = (tmp_path / "a.html").read_text()
    assert "CV ROC AUC 0.875" in html and "data:image/png;base64," in html
    assert "/secret/workdir" not in html
    assert 'src="http' not in html  # no CDN script: the page works offline
    nbformat.write(executed_notebook(error=True), tmp_path / "b.ipynb")
    with pytest.raises(ValueError, match="a cell failed: KeyError"):
        notebook_html.to_html(tmp_path / "b.ipynb", tmp_path / "b.html")


def test_kernel_runs_without_network(tmp_path):
    """nbconvert --execute as the notebook: directive runs it, with notebooks/jupyter on
    JUPYTER_CONFIG_PATH: the kernel (this venv's Python) talks over Unix sockets, so it
    runs inside `unshare -rn` (loopback down), from another folder than the notebook's,
    and leaves no socket folder behind."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rn", "true"]).returncode:
        pytest.skip("cannot create a network namespace here (unshare -rn)")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sys\nprint(sys.executable)")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    (tmp_path / "nb").mkdir()
    nbformat.write(nb, tmp_path / "nb" / "t.ipynb")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    env.update(notebook_html.jupyter_environment(env, BIN, JUPYTER_CONFIG))
    cmd = ["unshare", "-rn", str(BIN / "jupyter-nbconvert"), "--execute", "--to", "notebook"]
    cmd += ["--output", str(tmp_path / "out.ipynb"), str(tmp_path / "nb" / "t.ipynb")]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert Path(out.cells[0].outputs[0]["text"].strip()).parent.resolve() == BIN.resolve()
    assert list(tmp.iterdir()) == []  # the socket folder was removed


# ----------------------------------------------------------------------------- small demo (e2e)


def executed(path):
    """(notebook, text of every stream output) of an executed notebook, checked: valid,
    every code cell ran, no error output."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code), path
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"], path
    return nb, "".join(o.get("text", "") for o in outputs if o.output_type == "stream")


def test_demo_notebooks_executed(small_demo):
    workdir, _, _ = small_demo
    for name in ("explore", "model"):
        _, text = executed(workdir / f"results/notebooks/{name}.ipynb")
        kernel = next(line for line in text.splitlines() if line.startswith("kernel: "))
        # this venv's Python
        assert Path(kernel.split(": ", 1)[1]).parent.resolve() == BIN.resolve()
    # No sequence-model notebook unless that branch runs.
    assert not (workdir / "results/notebooks/sequence_model.ipynb").exists()


def test_demo_notebook_numbers(small_demo):
    """The numbers the notebooks computed equal the workflow's own tables."""
    res = small_demo[0] / "results"
    g = read_genotypes(res / "matrix/genotypes.parquet")
    samples, sites = read_samples(res / "matrix/samples.tsv"), read_sites(res / "matrix/sites.tsv")
    ex = json.loads((res / "notebooks/explore.json").read_text())
    assert (ex["n_samples"], ex["n_sites"]) == g.shape
    assert ex["n_labelled"] == int((samples["label"] != "").sum())
    assert ex["mean_sample_call_rate"] == pytest.approx(samples["call_rate"].astype(float).mean())
    assert ex["mean_site_call_rate"] == pytest.approx(sites["call_rate"].astype(float).mean())
    assert ex["missing_share"] == pytest.approx(float((g.to_numpy() == -1).mean()), abs=1e-6)
    assoc = read_tsv(res / "association/association.tsv")
    assert ex["min_p"] == pytest.approx(assoc["p"].min(), rel=1e-9)
    assert set(ex["pc_r2"]) >= {"label", "population"}
    assert all(0 <= v <= 1 for r in ex["pc_r2"].values() for v in r.values())

    metrics = json.loads((res / "model/metrics.json").read_text())
    mo = json.loads((res / "notebooks/model.json").read_text())
    assert mo["cv_roc_auc"] == metrics["metrics"]["roc_auc"]["mean"]
    assert mo["n_folds"] == metrics["cv"]["folds"] * metrics["cv"]["repeats"]
    assert 0 <= mo["prototype"]["roc_auc"] <= 1
    pred = read_tsv(res / "predict/predictions.tsv")
    assert mo["predictions"]["n_predicted"] == len(pred)


def test_demo_notebook_pages(small_demo):
    res = small_demo[0] / "results"
    metrics = json.loads((res / "model/metrics.json").read_text())
    colours = explore.colour_columns(read_samples(res / "matrix/samples.tsv"))
    pages = {name: (res / f"notebooks/{name}.html").read_text() for name in ("explore", "model")}
    auc = metrics["metrics"]["roc_auc"]
    assert f"CV ROC AUC {auc['mean']:.3f} +- {auc['sd']:.3f}" in pages["model"]
    # Figures embedded: call rates, a PCA per colouring (label, population), Manhattan, QQ;
    # shuffled labels, importances, forest against the prototype.
    assert colours == ["label", "population"]
    assert pages["explore"].count("data:image/png;base64,") >= 1 + 2 + 2
    assert pages["model"].count("data:image/png;base64,") >= 3
    for html in pages.values():
        assert "snakemake-job-properties" not in html and "os.chdir" not in html
        assert 'src="http' not in html


def test_notebooks_off_plans_no_notebook_job(tmp_path):
    """notebooks.enabled false: the run plans no notebook job and no page (so the report has
    no "7. Notebooks" section); the rest of the run is unchanged. With the default (true)
    the small demo plans both notebooks (test_e2e_demo.py, test_gvcf.py)."""
    from conftest import small_demo_sheets

    small_demo_sheets(tmp_path, overrides={"notebooks": {"enabled": False}})
    jobs = planned_jobs(tmp_path)
    assert {"model", "predict", "summary", "all"} <= set(jobs)
    assert [rule for rule in jobs if rule.startswith("notebook")] == []


def test_failing_cell_fails_the_rule(small_demo, tmp_path):
    """A notebook cell that raises fails its job: Snakemake exits non-zero with the cell's
    error, the notebook rule's output is removed and no page is made of it (the .json
    missing, the next run executes the notebook again)."""
    run = copy_run(small_demo[0], tmp_path / "run")
    flow = copy_workflow(tmp_path / "flow", keep_mtimes=True)
    path = flow / "notebooks/explore.py.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell('raise RuntimeError("cell fails on purpose")'))
    nbformat.write(nb, path)
    page, summary = run / "results/notebooks/explore.html", run / "results/notebooks/explore.json"
    before = page.stat().st_mtime_ns
    cmd = [sys.executable, "-m", "snakemake", "-s", str(flow / "Snakefile"), "-d", str(run)]
    cmd += ["--cores", "2", "--retries", "0", "--rerun-triggers", "mtime"]
    cmd += ["--forcerun", "notebook_explore", "results/notebooks/explore.html"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "cell fails on purpose" in out and "Error in rule notebook_explore" in out
    assert not summary.exists()  # removed: the next run runs the notebook again
    assert page.stat().st_mtime_ns == before  # no page made of the failed notebook


def test_sequence_model_notebook(small_demo, tmp_path):
    """The sequence-model notebook on that branch's files (as scripts/sequence_model.py
    writes them), asked for by its page."""
    run = copy_run(small_demo[0], tmp_path / "run")
    write_sequence_model(run / "results/sequence_model")
    snakemake(run, "results/notebooks/sequence_model.html", "--rerun-triggers", "mtime")
    _, text = executed(run / "results/notebooks/sequence_model.ipynb")
    assert "accuracy of test_predictions.tsv: 0.8125" in text
    summary = json.loads((run / "results/notebooks/sequence_model.json").read_text())
    assert summary["numbers"]["baselines.gc_logistic"] == 0.6875
    html = (run / "results/notebooks/sequence_model.html").read_text()
    assert "intergenic" in html and html.count("data:image/png;base64,") >= 1


def test_prototype_sites_bounded_and_label_free():
    """Issue 22: on a large cohort the prototype fits on a seeded subset of the model's
    sites (in matrix order), so the notebook job stays within its time and memory."""
    kept = [f"chr1:{i}:A:G" for i in range(50_000)]
    assert explore.prototype_sites(kept[:700], 2504, 15) == kept[:700]  # 1000G: all
    sub = explore.prototype_sites(kept, 10_000, 5, seed=3)
    rank = {s: i for i, s in enumerate(kept)}
    assert len(sub) == 600 and sub == sorted(sub, key=rank.get)
    assert sub == explore.prototype_sites(kept, 10_000, 5, seed=3)
    assert len(explore.prototype_sites(kept, 100_000, 15)) == 500  # the floor
