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
        mem_mb=mem(2000),
    params:
        association=config["association"],
        ploidy=MAX_PLOIDY,
    script:
        "../scripts/association.py"
