"""Rule demo_reads (rules/demo.smk): one unit's read pairs of one demo sample,
simulated by scripts/demo.py from the demo reference and truth VCF."""

from demo import simulate_unit_reads


def main(smk):
    with open(smk.log[0], "w") as log:
        stats = simulate_unit_reads(
            smk.input.ref, smk.input.vcf, smk.wildcards.sample, smk.wildcards.unit,
            int(smk.params.n_units), dict(smk.params.demo), smk.output.r1, smk.output.r2,
            adapters=dict(smk.params.adapters),
        )  # fmt: skip
        log.write("".join(f"{k}: {v}\n" for k, v in stats.items()))


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
