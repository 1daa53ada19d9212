"""Rule model_sites (rules/predict.smk): a saved model's sites as a bcftools -T/-C
alleles file, CHROM POS REF,ALT in reference order (scripts/predict.py
model_sites_table); sites on contigs the reference lacks are left out."""

from pathlib import Path

from model_io import load_model
from predict import model_sites_table


def main(smk):
    model = load_model(smk.input.model)
    with open(smk.log[0], "w") as log:
        table = model_sites_table(model, smk.input.fai)
        Path(smk.output[0]).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(smk.output[0], sep="\t", index=False, header=False)
        dropped = len(model["sites"]) - len(table)
        log.write(f"model sites: {len(model['sites'])}\nwritten: {len(table)}\n")
        log.write(f"dropped (contig not in the reference): {dropped}\n")


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
