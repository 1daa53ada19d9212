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
        # size (1.2-1.3 GB measured at 100 and 1,000 x 15,000 sites).
        mem_mb=mem(2000, per_input_mb=40, inputs=["genotypes"]),
    params:
        association=config["association"],
        ploidy=MAX_PLOIDY,
    script:
        "../scripts/association.py"
