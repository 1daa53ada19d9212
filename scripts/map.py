"""Trim one sequencing unit and map it, in one job (rules/map.smk trim_map_pe / trim_map_se).

Cutadapt runs first (scripts/trim.py: its log names a broken input file), then
`bwa mem | samtools fixmate -m | samtools sort` on the trimmed reads. The trimmed reads
are written too: FastQC reads them (rules/fastqc.smk).
"""

import os
import shlex
import subprocess
import sys

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


def sort_mem_mb(mem_mb, threads) -> int:
    """samtools sort -m per thread: half of the job's memory over its sort threads."""
    return max(100, mem_mb // (2 * threads))


def _main(smk):
    sample, unit = smk.wildcards.sample, smk.wildcards.unit
    paired = "r1" in smk.output.keys()
    trimmed = [smk.output.r1, smk.output.r2] if paired else [smk.output.se]
    code = trim(
        list(smk.input.reads),
        trimmed,
        smk.output.report,
        dict(smk.params.cutadapt),
        smk.threads,
        smk.log.trim,
        f"sample {sample}, unit {unit} ({smk.params.units_sheet})",
    )
    if code:
        sys.exit(f"cutadapt failed: see {smk.log.trim}")
    code = map_reads(
        trimmed,
        os.path.splitext(smk.input.idx[0])[0],  # the reference, beside its bwa index
        smk.output.bam,
        read_group(sample, unit),
        smk.params.extra,
        smk.threads,
        sort_mem_mb(smk.resources.mem_mb, smk.threads),
        smk.log.map,
    )
    if code:
        sys.exit(f"bwa mem | samtools fixmate | samtools sort failed: see {smk.log.map}")


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
