"""Rule fastqc (rules/fastqc.smk): FastQC on the raw and the trimmed reads of every unit of
one sample, in one JVM start (JVM start-up dominates on small inputs).

The inputs are linked under canonical names first, so that reports are named
<sample>.<unit>.<raw|trimmed>.<R1|R2|SE> whatever the user's FASTQ files are called; each
unit's reports go to results/fastqc/<sample>/<unit>/. FastQC spends much of its wall time
idle (JVM start, polling sleeps), so the job claims one core and lets FastQC run one thread
per file. The JVM's optimising (C2) compiler doubles FastQC's CPU time on files of this
size without making it faster: C1 only.

A script, not a shell command: a Snakemake dry run formats every shell command of every
job three times, and this one was long (bench/results/dag.md). The standard library only.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def report_names(sample, raw, trimmed) -> list[tuple[str, str, str]]:
    """(report name, unit, FASTQ) of every file, raw and trimmed of each read in turn. The
    trimmed reads' names, <unit>.<R1|R2|SE>.fastq.gz (rules/map.smk), name both."""
    out = []
    for fq_raw, fq_trimmed in zip(raw, trimmed, strict=True):
        unit, read = Path(fq_trimmed).name.removesuffix(".fastq.gz").rsplit(".", 1)
        for kind, fq in (("raw", fq_raw), ("trimmed", fq_trimmed)):
            out.append((f"{sample}.{unit}.{kind}.{read}", unit, fq))
    return out


def run_fastqc(sample, raw, trimmed, outdir, log) -> None:
    files = report_names(sample, raw, trimmed)
    env = dict(os.environ, _JAVA_OPTIONS="-XX:TieredStopAtLevel=1")
    with tempfile.TemporaryDirectory() as tmp:
        links, reports = Path(tmp, "in"), Path(tmp, "out")
        links.mkdir()
        reports.mkdir()
        for name, _, fq in files:
            (links / f"{name}.fastq.gz").symlink_to(Path(fq).resolve())
        cmd = ["fastqc", "--quiet", "--threads", str(len(files)), "--outdir", str(reports)]
        cmd += sorted(str(p) for p in links.iterdir())
        with open(log, "w") as fh:
            subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, check=True)
        for name, unit, _ in files:
            dest = Path(outdir, unit)
            dest.mkdir(parents=True, exist_ok=True)
            for ext in ("html", "zip"):
                shutil.move(reports / f"{name}_fastqc.{ext}", dest / f"{name}_fastqc.{ext}")


def _main(smk):
    run_fastqc(smk.wildcards.sample, smk.input.raw, smk.input.trimmed, smk.output[0], smk.log[0])


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
