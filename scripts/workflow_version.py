"""The workflow's release version. Its one home is the file VERSION at the workflow's root
(CHANGELOG.md says what each release changed): the Snakefile logs it at start,
scripts/summary.py writes it into results/summary.json and scripts/model_io.py into the
model file's metadata. Read from beside this file, so it is the version of the code that
runs, wherever the run's folder is (a Snakemake module: README, Deploy).
"""

from pathlib import Path

VERSION_FILE = Path(__file__).resolve().parents[1] / "VERSION"


def workflow_version() -> str:
    return VERSION_FILE.read_text().strip()
