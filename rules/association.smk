# Per-SNP association of genotype with the label (for Manhattan / QQ plots).
rule association:
    input:
        genotypes="results/matrix/genotypes.parquet",
        samples="results/matrix/samples.tsv",
        sites="results/matrix/sites.tsv",
        pca="results/features/pca.tsv",
    output:
        table="results/association/association.tsv",
        summary="results/association/association_summary.json",
    log:
        "results/logs/association/association.log",
    benchmark:
        "results/benchmarks/association/association.tsv"
    conda:
        "../envs/python.yaml"
    threads: 1
    resources:
        # Reads the matrix as features does (rules/features.smk): the same term for its
        # size (369 MB at 2,000 x 36,435 sites, 679 MB at 10,000 x 44,544).
        mem_mb=mem(2000, per_input_mb=10, inputs=["genotypes"]),
    params:
        association=config["association"],
        ploidy=MAX_PLOIDY,
    script:
        "../scripts/association.py"
