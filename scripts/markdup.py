"""Rule markdup (rules/map.smk): a sample's lane BAMs merged, duplicates marked on the merged
library, indexed, `samtools stats` / `flagstat` / `idxstats`; then the sample's QC record
`results/qc/<sample>.json` (scripts/sample_qc.py: these statistics and the Cutadapt reports
of its units), which the QC figures and the summary read.

A script, not a shell command, as the record needs Python: the standard library only (the
samtools environment).
"""

import shlex
import subprocess

import sample_qc


def markdup_command(bams, ref, out, extra, threads) -> str:
    """The bash pipeline; `out` holds the output paths (bam, metrics, stats, flagstat,
    idxstats); `extra` is the user's samtools markdup options as written in the config."""
    q = shlex.quote
    bam = q(str(out["bam"]))
    return (
        f"set -o pipefail; samtools merge -@ {threads} -u -o - {' '.join(q(str(b)) for b in bams)}"
        f" | samtools markdup -@ {threads} -T {q(str(out['bam']) + '.tmp')}"
        f" -f {q(str(out['metrics']))} {extra or ''} - {bam}"
        f" && samtools index -@ {threads} {bam}"
        f" && samtools stats --reference {q(str(ref))} {bam} > {q(str(out['stats']))}"
        f" && samtools flagstat {bam} > {q(str(out['flagstat']))}"
        f" && samtools idxstats {bam} > {q(str(out['idxstats']))}"
    )


def _main(smk):
    out = {k: smk.output[k] for k in ("bam", "metrics", "stats", "flagstat", "idxstats")}
    cmd = markdup_command(smk.input.bams, smk.input.ref, out, smk.params.extra, smk.threads)
    with open(smk.log[0], "w") as log:
        log.write(f"$ {cmd}\n")
        log.flush()
        subprocess.run(["bash", "-c", cmd], stderr=log, check=True)
        rec = sample_qc.record(
            smk.wildcards.sample, smk.input.trim, out["flagstat"], out["stats"], out["idxstats"]
        )
        sample_qc.write(smk.output.qc, rec)


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
