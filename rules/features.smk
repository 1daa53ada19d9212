# Label-free feature engineering: MAF / call-rate thresholds, LD pruning, PCA.
rule features:
    input:
        genotypes="results/matrix/genotypes.parquet",
        sites="results/matrix/sites.tsv",
    output:
        selected="results/features/selected.tsv",
        pca="results/features/pca.tsv",
        pca_variance="results/features/pca_variance.tsv",
    log:
        "results/logs/features/features.log",
    benchmark:
        "results/benchmarks/features/features.tsv"
    conda:
        "../envs/python.yaml"
    threads: 1
    resources:
        mem_mb=mem(2000),
    params:
        features=config["features"],
        ploidy=MAX_PLOIDY,
    script:
        "../scripts/features.py"
