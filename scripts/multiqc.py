"""MultiQC over the run's FastQC, Cutadapt, samtools and bcftools reports (rule multiqc).

Cutadapt logs are linked as `<sample>.<unit>.cutadapt.log` in a scratch folder, so that
MultiQC names them by sample and unit (not by the user's FASTQ names), like the FastQC
reports. MultiQC runs under the interpreter of this script (the conda env's, or the one
beside Snakemake), with its settings from report/multiqc_config.yaml.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIG = "report/multiqc_config.yaml"  # relative to the workflow's folder


def multiqc_command(html, config, inputs) -> list[str]:
    html = Path(html)
    return [
        *(sys.executable, "-m", "multiqc", "--force", "--no-ansi", "--config", str(config)),
        *("--outdir", str(html.parent), "--filename", html.name),
        *(str(p) for p in inputs),
    ]


def run_multiqc(html, data_dir, config, fastqc, trim_logs, names, bamstats, vcf_stats, log):
    """Link the Cutadapt logs under their canonical names, then run MultiQC."""
    shutil.rmtree(data_dir, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="multiqc.") as tmp:
        for trim_log, name in zip(trim_logs, names, strict=True):
            Path(tmp, f"{name}.cutadapt.log").symlink_to(Path(trim_log).resolve())
        cmd = multiqc_command(html, config, [*fastqc, tmp, *bamstats, vcf_stats])
        with open(log, "w") as fh:
            subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=True)


def _main(smk):
    run_multiqc(
        smk.output.html,
        smk.output.data,
        Path(smk.scriptdir).parent / CONFIG,
        smk.input.fastqc,
        smk.input.trim_logs,
        smk.params.names,
        smk.input.bamstats,
        smk.input.vcf_stats,
        smk.log[0],
    )


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
