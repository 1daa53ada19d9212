"""The workflow deployed the catalog way (README "Deploy"): imported as a Snakemake module by
a Snakefile in the user's own folder, which holds only config/ (the small demo's). The
workflow's folder (a copy of this one) is read-only during the runs: mounted read-only when
a mount namespace can be made (`unshare -rm`), and in any case `chmod -R a-w`, with every
file's and folder's size, mtime and mode compared before and after (root ignores the
write bits, so the comparison is what holds everywhere)."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import model_io
import pytest
from conftest import small_demo_sheets
from helpers import REPO, copy_workflow, job_counts, planned_jobs

MODULE = """configfile: "config/config.yaml"


module reads2pheno:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from reads2pheno{prefix}
{extra}"""

# What `snakedeploy deploy-workflow` 0.17.1 writes into workflow/Snakefile (its template),
# the snakefile line aside: github("<owner>/reads2pheno", path="Snakefile", tag="v0.1.0").
SNAKEDEPLOY = """from snakemake.utils import min_version


min_version("6.10.0")


configfile: "config/config.yaml"


# declare reads2pheno as a module
module reads2pheno:
    snakefile:
        "{snakefile}"
    config:
        config


# use all rules from reads2pheno
use rule * from reads2pheno
"""

# What a user's folder may change: the model job's resources, from their Snakefile.
OVERRIDE = """

use rule model from reads2pheno as r2p_model with:
    resources:
        mem_mb=1234,
"""

# Not compared: the runs' own record (logs, benchmarks).
SKIP_DIRS = ("results/logs", "results/benchmarks")
# Nor indexes (their file is), MultiQC's log and page: the page embeds its data compressed,
# with the date; its data (multiqc_data.json) is compared.
SKIP = (".bai", ".csi", ".tbi", "multiqc.log", "multiqc_report.html")


def user_folder(path, snakefile, prefix=" as r2p_*", extra=""):
    """A user's folder: config/ (from `small_demo_sheets` unless already there) and a
    Snakefile importing the workflow at `snakefile` as a module."""
    if not (path / "config" / "config.yaml").exists():
        small_demo_sheets(path)
    (path / "Snakefile").write_text(MODULE.format(snakefile=snakefile, prefix=prefix, extra=extra))
    return path


def snapshot(root):
    """{relative path: (size, mtime_ns, mode)} of everything under root (a folder's
    mtime changes when an entry is made or removed in it, even one removed again)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [".", *dirnames, *filenames]:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (
                st.st_mode >> 12,
                st.st_size,
                st.st_mtime_ns,
                st.st_mode,
            )
    return out


def can_mount_read_only():
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "-rm", "sh", "-c", "mount --bind / / && mount -o remount,bind,ro / /"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def run_read_only(workflow, user, *args, timeout=1800):
    """`snakemake --cores 2 ARGS` in `user` while `workflow` is read-only; asserts that
    nothing under `workflow` changed. Returns the process."""
    before = snapshot(workflow)
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    if can_mount_read_only():
        # $0 is the folder to remount read-only, "$@" the command.
        mount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
        cmd = ["unshare", "-rm", "sh", "-c", mount, str(workflow), *cmd]
    subprocess.run(["chmod", "-R", "a-w", str(workflow)], check=True)
    try:
        proc = subprocess.run(cmd, cwd=user, capture_output=True, text=True, timeout=timeout)
    finally:
        for rel, (*_, mode) in before.items():
            p = workflow / rel
            if p.exists() and not p.is_symlink():
                os.chmod(p, mode & 0o7777)
    assert proc.returncode == 0, proc.stderr[-6000:]
    after = snapshot(workflow)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the run wrote into the workflow's folder: {changed[:20]}"
    return proc


# A date and time (bcftools' header lines, MultiQC, notebooks, pages).
STAMP = re.compile(
    rb"\d{4}-\d{2}-\d{2}(T| |, )\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"
    rb"|\w{3},? \w{3} +\d{1,2},? \d{2}:\d{2}(:\d{2})? \d{4}"
)
TMP = re.compile(rb"/tmp\w*/multiqc\.\w+")  # MultiQC's links to the Cutadapt reports


def comparable(path, root, workflow):
    """sha256 of a result of the run in `root` with the workflow at `workflow`, their
    folders' paths, temporary folders' names (MultiQC) and timestamps aside: a
    zip (FastQC) by its entries, not their times; a BAM by its records and header without
    the @PG lines (samtools merge gives them random IDs); a VCF/BCF as text; an executed
    notebook by its cells' sources and outputs, without the cell Snakemake injects (paths);
    any other file with the run's folder and dates blanked."""
    h = hashlib.sha256()
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            for info in sorted(z.infolist(), key=lambda i: i.filename):
                h.update(info.filename.encode() + b"\0" + z.read(info) + b"\0")
        return h.hexdigest()
    if path.suffix == ".bam":
        text = subprocess.run(
            ["samtools", "view", "-h", "--no-PG", str(path)], capture_output=True, check=True
        ).stdout
        data = b"\n".join(line for line in text.splitlines() if not line.startswith(b"@PG"))
    elif path.name.endswith((".vcf.gz", ".bcf")):
        data = subprocess.run(
            ["bcftools", "view", "--no-version", str(path)], capture_output=True, check=True
        ).stdout
    elif path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        kept = [
            [c["cell_type"], c["source"], c.get("outputs")]
            for c in cells
            if "snakemake preamble start" not in "".join(c["source"])
        ]
        data = json.dumps(kept, sort_keys=True).encode()
    else:
        data = path.read_bytes()
    for path, name in ((sys.prefix, b"<venv>"), (root, b"<run>"), (workflow, b"<wf>")):
        data = data.replace(str(path).encode(), name)  # the venv first: it may be in <wf>
    h.update(TMP.sub(b"<tmp>", STAMP.sub(b"<time>", data)))
    return h.hexdigest()


def result_files(root):
    """{path under root: file} of resources/ and results/, the runs' own logs and
    benchmarks aside."""
    out = {}
    for top in ("resources", "results"):
        for p in sorted((root / top).rglob("*")):
            rel = p.relative_to(root).as_posix()
            if p.is_file() and not rel.startswith(SKIP_DIRS) and not rel.endswith(SKIP):
                out[rel] = p
    return out


def differing(a, b, workflow_a, workflow_b):
    """Paths in only one of two runs, or whose results differ (comparable()); `workflow_a`
    and `workflow_b`: the workflow's folders of the runs."""
    fa, fb = result_files(a), result_files(b)
    only = sorted(set(fa) ^ set(fb))
    return only + [
        k
        for k in sorted(fa.keys() & fb.keys())
        if comparable(fa[k], a, workflow_a) != comparable(fb[k], b, workflow_b)
    ]


def first_difference(a, b):
    """The first line (of at most 300 characters) that differs between two files."""
    if not (a.is_file() and b.is_file()):
        return "missing"
    pairs = zip(a.read_bytes().splitlines(), b.read_bytes().splitlines(), strict=False)
    return next(((x[:300], y[:300]) for x, y in pairs if x != y), "line count")


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory):
    """A copy of this workflow (tracked and new files), as a release folder would be."""
    return copy_workflow(tmp_path_factory.mktemp("reads2pheno"))


def test_dry_run_with_and_without_prefix(workflow_copy, tmp_path):
    """The module plans the same jobs as the workflow run directly: with the `as r2p_*`
    prefix and a `use rule ... with:` that sets a rule's resources from the user's folder,
    and in snakedeploy's layout without prefix."""
    snakefile = workflow_copy / "Snakefile"
    small_demo_sheets(tmp_path / "direct")
    direct = planned_jobs(tmp_path / "direct")
    assert direct["trim_map"] == 12 and direct["model"] == 1
    user = user_folder(tmp_path / "prefixed", snakefile, extra=OVERRIDE)
    proc = run_read_only(workflow_copy, user, "-n")
    out = proc.stdout + proc.stderr
    assert job_counts(out) == {f"r2p_{rule}": n for rule, n in direct.items()}
    block = out.split("rule r2p_model:", 1)[1].split("\n[", 1)[0]  # up to the next job
    assert "mem_mb=1234" in block, block
    version = (workflow_copy / "VERSION").read_text().strip()
    assert f"reads2pheno {version} ({workflow_copy})" in out  # the release, at start
    # snakedeploy's layout: config/ and profiles/ copied, workflow/Snakefile (its template,
    # without prefix), pointed at the release's Snakefile by path (README, Deploy).
    deployed = tmp_path / "deployed"
    small_demo_sheets(deployed)
    shutil.copytree(workflow_copy / "profiles", deployed / "profiles")
    (deployed / "workflow").mkdir()
    (deployed / "workflow" / "Snakefile").write_text(SNAKEDEPLOY.format(snakefile=snakefile))
    proc = run_read_only(workflow_copy, deployed, "-n")
    assert job_counts(proc.stdout + proc.stderr) == direct


def test_small_demo_as_module_equals_direct_run(small_demo, workflow_copy, tmp_path):
    """The session's small demo config run as a module (prefixed) from a user folder, the
    workflow's folder read-only: every result (resources/ and results/) equals the direct
    run's; `--report` works the same way; the version is in the summary and the model."""
    workdir, _, _ = small_demo
    user = tmp_path / "user"
    shutil.copytree(workdir / "config", user / "config")
    user_folder(user, workflow_copy / "Snakefile")
    run_read_only(workflow_copy, user)
    different = differing(workdir, user, REPO, workflow_copy)
    assert not different, [(p, first_difference(workdir / p, user / p)) for p in different]
    run_read_only(workflow_copy, user, "--report", "results/report.html", timeout=600)
    assert (user / "results/report.html").stat().st_size > 100_000
    version = (workflow_copy / "VERSION").read_text().strip()
    assert json.loads((user / "results/summary.json").read_text())["workflow_version"] == version
    metadata = model_io.load_model(user / "results/model/model.skops")["metadata"]
    assert metadata["workflow_version"] == version
