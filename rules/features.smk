# Label-free feature engineering: MAF / call-rate thresholds, LD pruning, PCA.
rule features:
    input:
        genotypes="results/matrix/genotypes.parquet",
        sites="results/matrix/sites.tsv",
    output:
        selected="results/features/selected.tsv",
        pca="results/features/pca.tsv",
        pca_variance="results/features/pca_variance.tsv",
    params:
        features=config["features"],
    log:
        "results/logs/features/features.log",
    benchmark:
        "results/benchmarks/features/features.tsv"
    threads: 1
    resources:
        mem_mb=mem(2000),
    conda:
        "../envs/python.yaml"
    script:
        "../scripts/features.py"
