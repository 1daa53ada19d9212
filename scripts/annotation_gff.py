"""Rule annotation_gff (rules/annotation.smk): check the GFF3 against the reference and
write the Ensembl-style copy that bcftools csq reads (scripts/annotation.py)."""

import json
import sys

from annotation import GffError, prepare_gff


def main(smk):
    with open(smk.log[0], "w") as log:
        try:
            summary = prepare_gff(
                smk.input.gff, smk.input.fai, smk.output.gff, smk.params.genetic_code
            )
        except GffError as e:
            log.write(f"{e}\n")
            sys.exit(f"annotation.gff: {e}")
        with open(smk.output.summary, "w") as fh:
            json.dump(summary, fh, indent=2)
        log.write(json.dumps(summary, indent=2) + "\n")


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
