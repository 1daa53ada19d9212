"""Trim, check and map one sequencing unit, in one job (rules/map.smk trim_map).

Cutadapt runs first (scripts/trim.py: its log names a broken input file). Then one FastQC
JVM reads the raw and the trimmed reads in the background while `bwa mem | samtools fixmate
-m | samtools sort` maps the trimmed reads: FastQC spends much of its wall time idle (JVM
start, polling sleeps), and one job per unit instead of two halves Snakemake's work per
sample (bench/results/dag.md). The trimmed reads live in the job's scratch folder only
(<bam>.tmp.d, removed at the start and the end of the job).
"""

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from trim import trim


def map_command(reads, index, bam, read_group, extra, threads, sort_mem_mb) -> str:
    """The bash pipeline: bwa mem (-K fixes the batch size so that the output does not
    depend on threads) | samtools fixmate -m (mate tags while reads are name-grouped) |
    samtools sort. `read_group` keeps its literal \\t (bwa reads them); `extra` is the
    user's bwa options as written in the config."""
    q = shlex.quote
    return (
        f"set -o pipefail; bwa mem -t {threads} -K 10000000 -R {q(read_group)} {extra or ''}"
        f" {q(str(index))} {' '.join(q(str(r)) for r in reads)}"
        " | samtools fixmate -m -u - -"
        f" | samtools sort -@ {threads} -m {sort_mem_mb}M -T {q(str(bam) + '.tmp')}"
        f" -o {q(str(bam))} -"
    )


def map_reads(reads, index, bam, read_group, extra, threads, sort_mem_mb, log) -> int:
    """Run the mapping pipeline with its stderr in `log`; its exit code."""
    cmd = map_command(reads, index, bam, read_group, extra, threads, sort_mem_mb)
    with open(log, "w") as fh:
        fh.write(f"$ {cmd}\n")
        fh.flush()
        return subprocess.run(["bash", "-c", cmd], stderr=fh).returncode


def read_group(sample, unit) -> str:
    """Deterministic read group: ID/PU from sample+unit, SM and LB = sample (bwa -R)."""
    rg_id = f"{sample}.{unit}"
    return rf"@RG\tID:{rg_id}\tSM:{sample}\tLB:{sample}\tPL:ILLUMINA\tPU:{rg_id}"


def sort_mem_mb(mem_mb, threads, reserved_mb=0) -> int:
    """samtools sort -m per thread: half of the job's memory left beside FastQC
    (`reserved_mb`) over its sort threads."""
    return max(100, (mem_mb - reserved_mb) // (2 * threads))


def fastqc_mb(n_files) -> int:
    """Memory FastQC takes for `n_files` files at one thread each: Java heap 250 MB per
    thread (the fastqc launcher's -Xmx) and ~50 MB of JVM beyond it."""
    return 300 * n_files


def mates(reads) -> list[str]:
    """Read names of a unit's files: R1, R2 when paired, SE when single-end."""
    return ["R1", "R2"] if len(reads) == 2 else ["SE"]


def fastqc_names(sample, unit, raw, trimmed) -> list[tuple[str, str]]:
    """(reads file, report name) of the raw and trimmed reads of one unit. Reports are
    named <sample>.<unit>.<raw|trimmed>.<R1|R2|SE> whatever the user's files are called."""
    return [
        (str(f), f"{sample}.{unit}.{kind}.{mate}")
        for kind, files in (("raw", raw), ("trimmed", trimmed))
        for f, mate in zip(files, mates(raw), strict=True)
    ]


def start_fastqc(named, scratch, log) -> subprocess.Popen:
    """One FastQC JVM over every file of `named`, one thread per file, in the background.
    Inputs are linked under their report names in `scratch`/in; reports go to `scratch`/out.
    The JVM's optimising (C2) compiler doubles FastQC's CPU time on small files without
    making it faster: C1 only."""
    indir, outdir = Path(scratch, "in"), Path(scratch, "out")
    indir.mkdir(parents=True)
    outdir.mkdir()
    links = []
    for path, name in named:
        link = indir / f"{name}.fastq.gz"
        link.symlink_to(os.path.abspath(path))
        links.append(str(link))
    cmd = ["fastqc", "--quiet", "--threads", str(len(links)), "--outdir", str(outdir), *links]
    env = {**os.environ, "_JAVA_OPTIONS": "-XX:TieredStopAtLevel=1"}
    with open(log, "w") as fh:
        fh.write(f"$ {shlex.join(cmd)}\n")
        fh.flush()
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)


def collect_fastqc(named, scratch, outdir) -> None:
    """Move the HTML and zip report of every file of `named` into `outdir`."""
    os.makedirs(outdir, exist_ok=True)
    for _, name in named:
        for ext in ("html", "zip"):
            shutil.move(Path(scratch, "out", f"{name}_fastqc.{ext}"), outdir)


def trim_map_unit(smk, scratch) -> str | None:
    """The job in `scratch` (a folder of its own): its error message, or None."""
    sample, unit = smk.wildcards.sample, smk.wildcards.unit
    raw = list(smk.input.reads)
    trimmed = [os.path.join(scratch, f"{unit}.{m}.fastq.gz") for m in mates(raw)]
    code = trim(
        raw,
        trimmed,
        smk.output.report,
        dict(smk.params.cutadapt),
        smk.threads,
        smk.log.trim,
        f"sample {sample}, unit {unit} ({smk.params.units_sheet})",
    )
    if code:
        return f"cutadapt failed: see {smk.log.trim}"
    # FastQC unless fastqc.enabled is false (then the rule declares no FastQC output).
    named = fastqc_names(sample, unit, raw, trimmed) if "fastqc" in smk.output.keys() else []
    fastqc = start_fastqc(named, os.path.join(scratch, "fastqc"), smk.log.fastqc) if named else None
    if not named:
        Path(smk.log.fastqc).write_text("FastQC not run: fastqc.enabled is false\n")
    try:
        code = map_reads(
            trimmed,
            os.path.splitext(smk.input.idx[0])[0],  # the reference, beside its bwa index
            smk.output.bam,
            read_group(sample, unit),
            smk.params.extra,
            smk.threads,
            sort_mem_mb(smk.resources.mem_mb, smk.threads, fastqc_mb(len(named))),
            smk.log.map,
        )
    except BaseException:
        if fastqc:
            fastqc.kill()
            fastqc.wait()
        raise
    if fastqc and fastqc.wait():
        return f"FastQC failed: see {smk.log.fastqc}"
    if code:
        return f"bwa mem | samtools fixmate | samtools sort failed: see {smk.log.map}"
    if fastqc:
        collect_fastqc(named, os.path.join(scratch, "fastqc"), smk.output.fastqc)
    return None


def _main(smk):
    # Scratch beside the BAM (trimmed reads are as large as the raw ones, too large for a
    # small TMPDIR), at a fixed path: a rerun after a kill removes what the killed job left.
    scratch = f"{smk.output.bam}.tmp.d"
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    try:
        error = trim_map_unit(smk, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if error:
        sys.exit(error)


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
