"""Rule demo_population (rules/demo.smk): the demo cohort's reference, truth VCF,
phenotypes and summary, simulated by scripts/demo.py."""

from pathlib import Path

from demo import simulate_population, write_population


def main(smk):
    with open(smk.log[0], "w") as log:
        pop = simulate_population(dict(smk.params.demo))
        paths = write_population(pop, Path(smk.output.ref).parent)
        for key, path in paths.items():  # the rule's outputs must match our layout
            assert Path(getattr(smk.output, key)) == path, (key, path)
        s = pop.summary
        log.write(
            f"SNPs: {s['n_snps']} {s['n_snps_per_contig']}\ncases/controls: "
            f"{s['n_cases']}/{s['n_controls']}\noracle AUC: {s['oracle_auc']}\n"
            f"Hudson Fst: {s['fst_hudson']}\n"
        )


if "snakemake" in globals():
    main(snakemake)  # noqa: F821
