"""Rule model_sites (rules/predict.smk): a saved model's sites as a bcftools -T/-C
alleles file, CHROM POS REF,ALT in reference order (scripts/predict.py
model_sites_table); sites on contigs the reference lacks are left out. Also the
genotype mask of the run that trained the model (`genotype_mask`), so that new
samples' genotypes are masked as the training samples' were."""

from pathlib import Path

from model_io import load_model
from predict import model_sites_table


def genotype_mask(model, fallback) -> tuple[str, str]:
    """(bcftools expression failing a genotype, where its thresholds come from).

    The training run's filter.min_dp / min_gq, recorded in the model's metadata; a model
    saved before they were recorded gets `fallback` (this run's filter settings)."""
    recorded = ((model.get("metadata") or {}).get("config") or {}).get("filter") or {}
    if all(k in recorded for k in ("min_dp", "min_gq")):
        source, values = "the model (training run's filter)", recorded
    else:
        source, values = "this run's config (the model records no filter)", fallback
    dp, gq = int(values["min_dp"]), int(values["min_gq"])
    return f"FMT/DP<{dp} | FMT/GQ<{gq}", source


def main(smk):
    model = load_model(smk.input.model)
    with open(smk.log[0], "w") as log:
        table = model_sites_table(model, smk.input.fai)
        Path(smk.output.sites).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(smk.output.sites, sep="\t", index=False, header=False)
        dropped = len(model["sites"]) - len(table)
        log.write(f"model sites: {len(model['sites'])}\nwritten: {len(table)}\n")
        log.write(f"dropped (contig not in the reference): {dropped}\n")
        mask, source = genotype_mask(model, dict(smk.params.filter))
        Path(smk.output.mask).write_text(mask + "\n")
        log.write(f"genotype mask: {mask} (from {source})\n")


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
