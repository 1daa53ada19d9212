"""Session-wide fixtures: one run of the small demo cohort, shared by every test that
only reads its outputs (end to end, report, cluster comparison, crash/resume reference).

A test that changes the run (rewrites sheets, reruns jobs) must work on a copy
(`copy_run`) or restore what it changed.
"""

import os
import shutil
import sys
from pathlib import Path

import pytest
from helpers import REPO, deep_update, demo_config, setup_workdir, snakemake

# A failing `scontrol` first on PATH (tests/shims/scontrol says why): every Snakemake start
# would otherwise wait 10 s once SLURM is installed but not running.
SHIMS = str(Path(__file__).parent / "shims")
os.environ["PATH"] = f"{SHIMS}{os.pathsep}{os.environ['PATH']}"

sys.path.insert(0, str(REPO / "scripts"))
import demo  # noqa: E402

# The small demo: 12 samples (S011 is left out at first and added later, as a new
# sample would be; S012 has two lanes), 3 calling chunks, a small, fast model.
SMALL = {
    "demo": {
        "enabled": True,
        "outdir": "resources/demo",
        "n_samples": 12,
        "n_unlabelled": 2,
        "contig_length": 40000,
    },
    "bcftools": {"chunks": 3},
    # Nine labelled samples: small folds and forest, this run checks plumbing.
    "model": {"cv_folds": 2, "cv_repeats": 1, "n_estimators": 50, "n_shuffles": 1},
}
LEFT_OUT = ("S011",)


def small_demo_sheets(workdir, leave_out=LEFT_OUT, overrides=None):
    """Write the small demo's config and sheets into `workdir` without `leave_out`.

    Returns (sample names, units table)."""
    cfg = setup_workdir(workdir, deep_update(SMALL, overrides or {}), [], [], base=demo_config())
    samples, units = demo.demo_sheets(cfg["demo"])
    samples = samples[~samples["sample"].isin(leave_out)]
    units = units[units["sample"].isin(samples["sample"])]
    samples.to_csv(workdir / "config/samples.tsv", sep="\t", index=False)
    units.to_csv(workdir / "config/units.tsv", sep="\t", index=False)
    return list(samples["sample"]), units


# Files whose workflow runs take minutes, longest first: under pytest-xdist (`./run tests`)
# they start first, so that the workers finish together instead of one of them starting
# the full demo when the other is done. The rest keep their order.
FIRST = (
    "test_e2e_ml_demo.py",  # the full 96-sample demo, ~3.5 min
    "test_slurm.py",  # the small demo, then ~1.5 min of mostly waiting on SLURM
    "test_privacy.py",  # a pseudonymised run from reads
    "test_e2e_1000g.py",  # the model on the 1000 Genomes panel with the defaults
    "test_crash_resume.py",
    "test_s3.py",
)


def pytest_collection_modifyitems(items):
    """A test that needs the small demo run is end to end, whatever its module says:
    `-m "not e2e"` must never start a workflow run through this fixture."""
    for item in items:
        if "small_demo" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
    rank = {name: i for i, name in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(FIRST)))  # stable


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    """(workdir, samples, units) of one complete local run of the small demo (under
    pytest-xdist, one per worker that needs it)."""
    workdir = tmp_path_factory.mktemp("small_demo")
    samples, units = small_demo_sheets(workdir)
    snakemake(workdir)
    return workdir, samples, units


def from_small_demo_vcf(workdir, reference, overrides=None):
    """Config in `workdir` that starts the ML steps from the small demo run's cohort VCF
    (`reference`: the `small_demo` workdir) with its samples sheet; no reads, no reference."""
    start = {
        "demo": {"enabled": False},
        "input_vcf": str(reference / "results/calls/cohort.vcf.gz"),
        "samples": str(reference / "config/samples.tsv"),
        "reference": {"fasta": ""},
    }
    overrides = deep_update(deep_update(SMALL, start), overrides or {})
    return setup_workdir(workdir, overrides, base=demo_config())


def copy_run(src, dst):
    """A copy of a finished run (config, sheets, resources, results, .snakemake
    metadata) that a test may change freely."""
    shutil.copytree(src, dst, symlinks=True)
    return dst
