"""Crash and resume: a run killed with SIGKILL (Snakemake and every job process) in the
middle of mapping, and again in the middle of model training, resumes with the flags a
user runs with (the default profile's `rerun-incomplete`) and ends with exactly the
outputs of an uninterrupted run (the session's small demo, same seed).

The killed run starts from a copy of the small demo's config and simulated inputs
(reads, reference) in a fresh directory, so it redoes mapping onward only; its config
turns the exploration notebooks off (`notebooks.enabled`: none of the compared outputs
comes from them, and they are tested on the small demo run itself). After each
kill, every output of an interrupted job that is on disk must be recorded as incomplete
by Snakemake (so it cannot pass for a finished file) and be redone by the resumed run.
"""

import base64
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pysam
import pytest
import yaml
from helpers import REPO, snakemake

pytestmark = pytest.mark.e2e

# Identical bytes to the uninterrupted run (metrics.json holds no timings).
SAME = [
    "results/matrix/genotypes.parquet",
    "results/matrix/sites.tsv",
    "results/matrix/samples.tsv",
    "results/model/metrics.json",
    "results/model/oof_predictions.tsv",
    "results/model/importances.tsv",
    "results/model/model.skops",
    "results/predict/predictions.tsv",
]  # not cohort.vcf.gz: bcftools stamps the date into its header


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def start(workdir, name):
    """Snakemake as a user runs it, in its own session (so that every job dies with it)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
    cmd += ["-d", str(workdir), "--cores", "2"]
    out = open(workdir / f"{name}.out", "w")  # noqa: SIM115 (closed by the caller's wait)
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def session_pids(sid):
    """Live (non-zombie) processes of session `sid`."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            pids.append(int(stat.parent.name))
    return pids


def kill_session(proc, timeout=20):
    """kill -9 Snakemake and all its children (jobs run in their own process groups of
    the same session), as a power cut or OOM kill would."""
    sid = proc.pid
    deadline = time.monotonic() + timeout
    while pids := session_pids(sid):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert time.monotonic() < deadline, f"processes of the killed run survive: {pids}"
        time.sleep(0.05)
    proc.wait()


def wait_for(proc, workdir, name, condition, timeout=300):
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if proc.poll() is not None:
            tail = (workdir / f"{name}.out").read_text()[-4000:]
            raise AssertionError(f"{name}: snakemake ended ({proc.returncode}) first:\n{tail}")
        assert time.monotonic() < deadline, f"{name}: timed out waiting"
        time.sleep(0.01)


def incomplete(workdir):
    """Outputs Snakemake has marked incomplete (.snakemake/incomplete/<base64 path>)."""
    marks = workdir / ".snakemake" / "incomplete"
    if not marks.is_dir():
        return set()
    return {base64.urlsafe_b64decode(p.name).decode() for p in marks.iterdir() if p.is_file()}


def markdup_running(workdir):
    """A merged BAM being written (markdup streams it; the index comes after)."""
    return [
        bam.relative_to(workdir).as_posix()
        for bam in (workdir / "results/map").glob("*.bam")
        if not bam.with_name(bam.name + ".bai").exists()
    ]


def model_running(workdir):
    """The model job has started (Snakemake marks its outputs before it runs it) and has
    not written its metrics yet."""
    started = "results/model/metrics.json" in incomplete(workdir)
    return started and not (workdir / "results/model/metrics.json").exists()


def leftovers(workdir):
    """On-disk outputs of interrupted jobs: (path, size) of every marked file present."""
    return {p: (workdir / p).stat().st_size for p in incomplete(workdir) if (workdir / p).exists()}


def kill_and_resume(reference, workdir):
    """Copy the reference run's inputs, kill twice, resume; return a report dict."""
    for sub in ("config", "resources"):
        shutil.copytree(reference / sub, workdir / sub)  # copy2: mtimes kept, inputs not redone
    cfg_path = workdir / "config/config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["notebooks"] = {"enabled": False}
    cfg["fastqc"] = {"enabled": False}  # no FastQC JVM beside each mapping (the small demo has it)
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    report = {}
    t0 = time.monotonic()

    # 1. Killed while mapping: a merged BAM half-written by markdup (bwa_mem may run too).
    proc = start(workdir, "run1")
    bams = wait_for(proc, workdir, "run1", lambda: markdup_running(workdir))
    kill_session(proc)
    report["kill1_s"] = time.monotonic() - t0
    marked = incomplete(workdir)
    report["kill1_incomplete"] = sorted(marked)
    report["kill1_on_disk"] = leftovers(workdir)
    # Every BAM seen mid-write is marked incomplete, unless its job managed to finish
    # (and unmark it) between the poll and the kill.
    finished = [b for b in bams if b not in marked]
    assert all((workdir / f"{b}.bai").exists() for b in finished), finished
    killed = sorted(m for m in marked if m.startswith("results/map/") and m.endswith(".bam"))
    assert killed, f"no mapping output marked incomplete: {sorted(marked)}"
    killed_bam = killed[0]
    report["kill1_bam_valid"] = (
        subprocess.run(["samtools", "quickcheck", killed_bam], cwd=workdir).returncode == 0
        if (workdir / killed_bam).exists()
        else None
    )

    # A killed Snakemake leaves its lock: the rerun says so and names --unlock, which
    # is what a user runs first. Unlocking keeps the incomplete marks.
    locked = snakemake(workdir, check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    snakemake(workdir, "--unlock")
    assert incomplete(workdir) == marked

    # 2. Resumed, and killed again while training the model.
    proc = start(workdir, "run2")
    wait_for(proc, workdir, "run2", lambda: model_running(workdir))
    time.sleep(0.5)  # into training: the script takes seconds to import and fit
    kill_session(proc)
    report["kill2_s"] = time.monotonic() - t0
    marked = incomplete(workdir)
    report["kill2_incomplete"] = sorted(marked)
    report["kill2_on_disk"] = leftovers(workdir)
    assert "results/model/metrics.json" in marked
    run2 = (workdir / "run2.out").read_text()
    assert f"output: {killed_bam}" in run2, "the interrupted mapping job was not redone"

    # 3. Resumed to the end, exactly as a user would rerun.
    snakemake(workdir, "--unlock")
    snakemake(workdir)
    report["total_s"] = time.monotonic() - t0
    assert not incomplete(workdir)
    stray = [
        p.relative_to(workdir).as_posix()
        for p in (workdir / "results").rglob("*")
        if ".tmp" in p.name or (p.name.startswith(".") and p.name != ".snakemake_timestamp")
    ]
    assert not stray, f"temporary files left behind: {stray}"
    if "/units/" in killed_bam:
        assert not (workdir / killed_bam).exists()  # temp(): redone, used, removed
    else:
        with pysam.AlignmentFile(str(workdir / killed_bam)) as bam:
            assert bam.check_index()  # redone whole, and indexed
    return report


def test_killed_run_resumes_to_identical_outputs(small_demo, tmp_path):
    reference, samples, _ = small_demo
    report = kill_and_resume(reference, tmp_path)
    print(report)
    ours = {p: sha(tmp_path / p) for p in SAME}
    theirs = {p: sha(reference / p) for p in SAME}
    assert ours == theirs  # same seed, interrupted twice: the same bytes
    for sample in samples:
        assert (tmp_path / f"results/map/{sample}.bam.bai").exists()
