"""Rule pseudonymise_sheet: the samples sheet with every sample renamed to its keyed
pseudonym (results/privacy/samples.tsv, which the rules read) and the real name ->
pseudonym table (privacy.mapping, outside results/), both mode 0600 (scripts/privacy.py)."""

from privacy import pseudonymise_sheets, read_key, write_mapping, write_sheet
from sheets import load_samples


def pseudonymise_sheet(sheet, key_file, out_sheet, out_mapping) -> int:
    samples, _, table = pseudonymise_sheets(load_samples(sheet), None, read_key(key_file))
    write_sheet(samples, out_sheet)
    write_mapping(table, out_mapping)
    return len(table)


def _main(smk):
    n = pseudonymise_sheet(smk.input.sheet, smk.input.key, smk.output.sheet, smk.output.mapping)
    with open(smk.log[0], "w") as log:
        log.write(f"samples renamed to pseudonyms: {n}\n")


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
