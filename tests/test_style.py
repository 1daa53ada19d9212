"""Lint and format checks, as tests."""

import subprocess
import sys
from pathlib import Path

from helpers import REPO

BIN = Path(sys.executable).parent


def run(*cmd):
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)


def test_snakemake_lint():
    # The template config/config.yaml names example files a user replaces, so the
    # workflow is linted with the demo's config (as `./run demo` runs it).
    proc = run(str(BIN / "snakemake"), "--lint", "--configfile", ".test/demo/config.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt():
    proc = run(str(BIN / "snakefmt"), "--check", "Snakefile", "rules")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff():
    proc = run(str(BIN / "ruff"), "check", "scripts", "tests", "bench")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run(str(BIN / "ruff"), "format", "--check", "scripts", "tests", "bench")
    assert proc.returncode == 0, proc.stdout + proc.stderr
