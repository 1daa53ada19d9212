"""Every bad input of the catalogue (tests/bad_inputs.py) stops a real `snakemake` run with
a non-zero exit, a message naming the file (row, line or read) and the fix, and no output
left that looks complete."""

import re
import shutil

import pytest
from bad_inputs import CASES, FINAL, SAMPLES, make_base, samples_sheet
from helpers import snakemake


@pytest.fixture(scope="session")
def base(tmp_path_factory):
    return make_base(tmp_path_factory.mktemp("bad_inputs_base"))


def test_catalogue():
    ids = [c.id for c in CASES]
    assert len(ids) >= 30 and len(set(ids)) == len(ids)
    assert all(c.stage in ("parse", "job") and c.messages for c in CASES)
    assert all(c.targets for c in CASES if c.stage == "job")


def test_base_is_valid(base, tmp_path):
    """The base itself passes every check (so each case fails for its own reason)."""
    work = shutil.copytree(base, tmp_path / "work")
    proc = snakemake(work, "-n", check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_labels_not_needed_up_to_the_calls(base, tmp_path):
    """Label checks run only when the DAG needs the model: calling needs no labels."""
    work = shutil.copytree(base, tmp_path / "work")
    samples_sheet(work, *(f"{s}\t" for s, _ in SAMPLES))
    proc = snakemake(work, "-n", "results/calls/cohort.vcf.gz", check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = snakemake(work, "-n", check=False, timeout=300)
    assert proc.returncode != 0 and "no labelled sample" in proc.stdout + proc.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, base, tmp_path):
    work = shutil.copytree(base, tmp_path / "work")
    case.build(work)
    args = ["-n"] if case.stage == "parse" else list(case.targets)
    proc = snakemake(work, *args, check=False, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    missing = [m for m in case.messages if not re.search(m, out)]
    assert not missing, f"{missing} not in:\n{out[-4000:]}"
    if case.stage == "parse":
        assert "Traceback (most recent call last)" not in out, out[-3000:]
        assert not (work / "results").exists()
    left = [f for f in [*FINAL, *case.absent] if (work / f).exists()]
    assert not left, f"outputs left after the failure: {left}"
