"""The SLURM profile, for real: a single-node SLURM on localhost (.ci/slurm-local.sh) runs the
small demo through sbatch (a copy of the local run with three samples' read steps and every
cohort step to redo), and its calls and genotype matrix equal the local run's. The local
SLURM enforces memory (OverMemoryKill): the matrix job asks for too little on its first
attempt, is killed, and the profile's retries resubmit it with more memory.

Needs root (the daemons and /etc/slurm/slurm.conf) and, when SLURM is not installed, apt-get;
skipped otherwise. Only the daemons this test started are stopped.
"""

import os
import re
import shutil
import subprocess
import time

import pandas as pd
import pysam
import pytest
import yaml
from conftest import SHIMS, copy_run
from helpers import REPO, snakemake

pytestmark = pytest.mark.e2e

SCRIPT = REPO / ".ci" / "slurm-local.sh"
# Outside pytest's private tmp: munged wants every folder above its socket searchable.
STATE = f"/tmp/slurm-local-pytest-{os.getpid()}"
TARGETS = ["results/calls/cohort.vcf.gz", "results/matrix/genotypes.parquet"]
# Cohort rules that run once per calling chunk (rules/calls.smk, filter.smk).
CHUNKED = ("call_chunk", "filter_chunk")
# Test-only memory of the matrix job, scaled by attempt as the rules' own mem_mb: 100 MB on
# the first attempt (less than the Snakemake process that runs the job inside it), 1,600 MB
# on the second (the step peaks at a few hundred MB).
FORCED_MEM = "100 * attempt ** 4"


def _slurm_env():
    return {**os.environ, "SLURM_CONF": "/etc/slurm/slurm.conf"}


@pytest.fixture(scope="module")
def slurm():
    if os.geteuid() != 0:
        pytest.skip("a local SLURM needs root (daemons, /etc/slurm/slurm.conf)")
    if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        pytest.skip("SLURM is not installed and there is no apt-get to install it")
    if subprocess.run(["pgrep", "-x", "slurmctld"], capture_output=True).returncode == 0:
        pytest.skip("a slurmctld is already running on this machine; not starting a second one")
    # The real scontrol while this test's controller runs (tests/shims stands in otherwise).
    path = os.environ["PATH"]
    os.environ["PATH"] = os.pathsep.join(p for p in path.split(os.pathsep) if p != SHIMS)
    subprocess.run([str(SCRIPT), "start", STATE], check=True, timeout=600)
    try:
        yield STATE
    finally:
        subprocess.run([str(SCRIPT), "stop", STATE], timeout=120)
        shutil.rmtree(STATE, ignore_errors=True)
        os.environ["PATH"] = path


def _sbatch_jobs():
    """{job id: (comment, state, memory)} of every job the controller knows (MinJobAge keeps
    finished ones); the executor plugin puts the rule (or group) name in the comment."""
    out = subprocess.run(
        ["squeue", "-h", "-t", "all", "-o", "%i %k %T %m"],
        capture_output=True,
        text=True,
        check=True,
        env=_slurm_env(),
    ).stdout
    return {f[0]: (f[1], f[2], f[3]) for f in (line.split() for line in out.splitlines())}


def _records(path):
    """Every record's site and per-sample genotype and depth (header lines with dates and
    command lines are left out)."""
    with pysam.VariantFile(str(path)) as vcf:
        samples = list(vcf.header.samples)
        return samples, [
            (
                r.chrom,
                r.pos,
                r.ref,
                r.alts,
                round(r.qual, 2) if r.qual is not None else None,
                tuple((r.samples[s]["GT"], r.samples[s].get("DP")) for s in samples),
            )
            for r in vcf
        ]


# Samples whose read steps run again on SLURM (S012 has two lanes): the others' BAMs are
# kept from the local run, so that the test stays within a few minutes on 2 cores.
REMAP = ("S001", "S002", "S012")


def test_small_demo_on_slurm_equals_local_run(slurm, small_demo, tmp_path):
    local, _, units = small_demo
    workdir = copy_run(local, tmp_path / "slurm_run")
    n_chunks = int(
        yaml.safe_load((workdir / "config/config.yaml").read_text())["bcftools"]["chunks"]
    )
    n_units = int(units["sample"].isin(REMAP).sum())
    for s in REMAP:
        for path in [*(workdir / "results/map").glob(f"{s}.*"), workdir / f"results/trim/{s}"]:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        shutil.rmtree(workdir / f"results/map/units/{s}", ignore_errors=True)
    for target in TARGETS:
        (workdir / target).unlink()
    before = _sbatch_jobs()
    start = time.monotonic()
    proc = snakemake(
        workdir,
        *TARGETS,
        "--workflow-profile",
        str(REPO / "profiles" / "slurm"),
        # Test-only: no accounting here, so job states come from squeue. The first check
        # comes this many seconds after a submission, and every check that finds no job
        # finished adds 10 s to the wait (the plugin's back-off), so a job is seen done at
        # 1, 12, 33 ... s instead of 3, 16, 39 ... s: the short jobs here (~10 s) are seen
        # ~4 s earlier, each of the run's five steps (persample, calling, gather, filter,
        # matrix) one after the other.
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--seconds-between-status-checks",
        "2",
        "--latency-wait",
        "5",
        "--slurm-no-account",
        # The profile groups one sample's read steps per job; here all three in one job.
        "--group-components",
        f"persample={len(REMAP)}",
        # One forced out-of-memory failure (FORCED_MEM), retried by the profile's `retries`.
        "--set-resources",
        f"matrix:mem_mb={FORCED_MEM}",
        timeout=900,
    )
    elapsed = time.monotonic() - start
    jobs = {k: v for k, v in _sbatch_jobs().items() if k not in before}
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", proc.stderr)
    print(f"SLURM run: {elapsed:.0f} s, {len(jobs)} sbatch jobs, snakemake: {done}")
    # Every job of the run went through sbatch and completed there: the read steps of the
    # three samples as one group job, every cohort job on its own (sex_calling: the calling
    # sexes, from the remapped samples' QC records); the matrix job twice.
    assert done, proc.stderr[-3000:]
    rules = sorted(comment for comment, _, _ in jobs.values())
    assert rules == sorted(
        ["rule_persample_markdup_trim_map"]
        + [f"rule_{r}_wildcards_{i}" for r in CHUNKED for i in range(n_chunks)]
        + ["rule_sex_calling", "rule_gather_calls", "rule_filter", "rule_matrix", "rule_matrix"]
    )
    # The matrix job: killed by SLURM for its memory on the first attempt (100 MB), then
    # resubmitted with 1,600 MB, and completed; every other job completed at once.
    matrix = sorted((int(k), v) for k, v in jobs.items() if v[0] == "rule_matrix")
    assert [(state, m) for _, (_, state, m) in matrix] == [
        ("FAILED", "100M"),
        ("COMPLETED", "1600M"),
    ]
    assert {v[1] for k, v in jobs.items() if v[0] != "rule_matrix"} == {"COMPLETED"}
    (log,) = (workdir / ".snakemake/slurm_logs").glob(f"rule_matrix/**/{matrix[0][0]}.log")
    killed = log.read_text()
    assert "exceeded memory limit" in killed, killed[-2000:]
    # In the group: trim + map per unit (S012 has two lanes), markdup per sample; then
    # the cohort jobs: the calling sexes, calling and filter per chunk, each with its
    # gather; the matrix.
    steps = str(n_units + len(REMAP) + 2 * n_chunks + 4)
    assert done[-1] == (steps, steps)
    # The same calls and the same matrix as the local run.
    assert _records(workdir / TARGETS[0]) == _records(local / TARGETS[0])
    pd.testing.assert_frame_equal(
        pd.read_parquet(workdir / TARGETS[1]), pd.read_parquet(local / TARGETS[1])
    )
