"""Rule demo_annotation (rules/demo.smk): the demo reference's genes (its own open reading
frames) as GFF3, and the truth consequence of every simulated SNP (scripts/demo.py)."""

import json

from demo import write_annotation


def main(smk):
    with open(smk.log[0], "w") as log:
        counts = write_annotation(smk.input.ref, smk.input.vcf, smk.output.gff, smk.output.truth)
        log.write(json.dumps(counts, indent=2) + "\n")


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
