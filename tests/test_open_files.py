"""Calling under an open-file limit (README: Large cohorts, scripts/calls.py).

Calling opens one file per sample at once. Every calling job raises its soft limit to
the hard one; joint mode is refused before any job when even the hard limit is too low;
gvcf mode then merges in groups (tests/test_gvcf.py). The end-to-end cases rerun only the
calling of a copy of the small demo run (11 samples; 17 open files measured, 27 asked).
"""

import resource
import sys

import pytest
from conftest import copy_run
from helpers import REPO, records, snakemake

sys.path.insert(0, str(REPO / "scripts"))
import calls  # noqa: E402

COHORT = "results/calls/cohort.vcf.gz"
HARD = resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def recall(workdir, nofile, check=True):
    """Calling of `workdir` again (the cohort VCF removed; the chunk BCFs are temporary)
    under the (soft, hard) open-file limit `nofile`."""
    for path in (workdir / COHORT, workdir / f"{COHORT}.tbi"):
        path.unlink(missing_ok=True)
    return snakemake(workdir, COHORT, nofile=nofile, check=check)


def test_groups_keep_order_and_size():
    items = list(range(11))
    assert calls.groups(items, 4) == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9, 10]]
    assert calls.groups(items, 11) == [items]
    parts = calls.groups(list(range(1000)), 300)  # 4 runs of 250, not 300 x 3 + 100
    assert [len(p) for p in parts] == [250] * 4
    assert sum(parts, []) == list(range(1000))


def test_fan_in_from_the_limit():
    assert calls.fan_in(None) is None
    assert calls.fan_in(1024) == 1024 - calls.OPEN_FILES_BESIDES_INPUTS
    with pytest.raises(SystemExit, match="too low to merge even two"):
        calls.fan_in(calls.OPEN_FILES_BESIDES_INPUTS + 1)


def test_merge_tree_levels(tmp_path):
    """25 gVCFs, 4 at a time: 7 merges, then 2, then the final merge of 2 files."""
    ran = []
    files = calls.merge_tree(
        [f"s{i}.g.bcf" for i in range(25)], "ref.fa", "0.bed", tmp_path, 4, ran.append
    )
    assert len(ran) == 7 + 2
    assert files == [str(tmp_path / "level1.0.bcf"), str(tmp_path / "level1.1.bcf")]
    # Every sample is in exactly one group of the first level, in order.
    first = [(tmp_path / f"level0.{i}.list").read_text().split() for i in range(7)]
    assert sum(first, []) == [f"s{i}.g.bcf" for i in range(25)]
    assert all(len(g) <= 4 for g in first)
    # 3 gVCFs, 2 at a time: one merge of 2, the third left as it is.
    ran.clear()
    files = calls.merge_tree(["a", "b", "c"], "ref.fa", "0.bed", tmp_path, 2, ran.append)
    assert len(ran) == 1 and files == [str(tmp_path / "level0.0.bcf"), "c"]
    assert calls.merge_tree(["a", "b"], "ref.fa", "0.bed", tmp_path, 4, ran.append) == ["a", "b"]
    assert calls.merge_tree(["a", "b"], "ref.fa", "0.bed", tmp_path, None, ran.append) == ["a", "b"]


def test_joint_error_names_the_limit_and_the_fixes():
    assert calls.joint_open_files_error(1000, None) is None
    assert calls.joint_open_files_error(1000, 1016) is None
    error = calls.joint_open_files_error(1000, 1015)
    assert "1016 open files" in error and "limit on this machine is 1015" in error
    assert "bcftools.mode: gvcf" in error and "ulimit -Hn 1016" in error


@pytest.fixture(scope="module")
def joint_copy(small_demo, tmp_path_factory):
    src, samples, _ = small_demo
    return copy_run(src, tmp_path_factory.mktemp("open_files") / "run"), src


def test_joint_raises_the_soft_limit(joint_copy):
    """Under a soft limit of 32 (Snakemake itself needs ~20), the jobs run at the hard
    limit and call what the unlimited run called."""
    workdir, src = joint_copy
    recall(workdir, (32, HARD))
    for chunk in range(3):
        log = (workdir / f"results/logs/calls/chunk.{chunk}.log").read_text()
        assert log.startswith(f"open-file limit {HARD}, 27 needed\n")
    assert records(workdir / COHORT) == records(src / COHORT)


def test_joint_refused_before_any_job(joint_copy):
    """A hard limit too low for all BAMs: no job starts, the message names the limit and
    the fixes."""
    workdir, _ = joint_copy
    proc = recall(workdir, (20, 20), check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "needs 27 open files, but the hard open-file limit on this machine is 20" in out
    assert "bcftools.mode: gvcf" in out
    assert "rule call_chunk:" not in out and "localrule" not in out
    assert not list((workdir / "results/calls/chunks").glob("*.bcf"))
