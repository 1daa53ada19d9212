"""What reruns when (README "What reruns when"): a finished run moved to another folder,
with another clone of the workflow and another venv, plans nothing; a config edit plans
only the steps that read the edited key, and what follows them."""

import subprocess
import sys
from pathlib import Path

import yaml
from conftest import copy_run
from helpers import copy_workflow, job_counts, planned_jobs

READ_STEPS = {
    "demo_population",
    "demo_reads",
    "reference",
    "bwa_index",
    "trim_map",
    "markdup",
    "call_chunks",
    "call_chunk",
    "gather_calls",
    "vcf_stats",
    "multiqc",
    "report_qc",
}


def other_venv(path):
    """A second virtual environment (another interpreter path) that sees this one's
    packages through a .pth file: what a new clone's `./run` would build."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    py = path / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = [p for p in sys.path if p.endswith("site-packages")]
    (path / "lib" / site.split("/lib/", 1)[1] / "ours.pth").write_text("\n".join(ours) + "\n")
    return py


def test_moved_run_with_another_venv_plans_nothing(small_demo, tmp_path):
    """The workflow and the run in other folders (as `cp -a`, `mv` or `rsync -a` leave
    them), another interpreter: no job. (A fresh `git clone` gives every script a new
    mtime, which Snakemake's code trigger reads as changed code: README.)"""
    workdir, _, _ = small_demo
    moved = copy_run(workdir, tmp_path / "moved")
    clone = copy_workflow(tmp_path / "clone", keep_mtimes=True)
    python = other_venv(tmp_path / "venv")
    assert python != Path(sys.executable)
    cmd = [str(python), "-m", "snakemake", "-s", str(clone / "Snakefile"), "-d", str(moved)]
    proc = subprocess.run([*cmd, "--cores", "2", "-n"], capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert job_counts(out) == {}, out[-4000:]
    assert "Nothing to be done" in out


def edit(workdir, tmp_path, change):
    """A --configfile with one edited key over the run's config (nothing is written)."""
    path = tmp_path / "edit.yaml"
    path.write_text(yaml.safe_dump(change))
    return planned_jobs(workdir, "--configfile", str(path))


def test_report_top_n_reruns_only_the_report(small_demo, tmp_path):
    workdir, _, _ = small_demo
    jobs = edit(workdir, tmp_path, {"report": {"top_n": 7}})
    assert "report_model" in jobs
    assert set(jobs) <= {"all", "report_model"}, jobs


def test_filter_min_dp_reruns_the_filter_and_what_follows(small_demo, tmp_path):
    workdir, _, _ = small_demo
    jobs = edit(workdir, tmp_path, {"filter": {"min_dp": 4}})
    assert {"filter_chunk", "filter", "matrix", "features", "model"} <= set(jobs)
    assert "predict" in jobs and "call_chunks" not in jobs, jobs
    assert not READ_STEPS & set(jobs), jobs
