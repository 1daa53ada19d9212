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
        # The matrix as floats: 2,721 MB at 5,000 x 14,805 sites (25.6 MB parquet), 943 MB
        # at 1,000 (bench/results/cohort_steps.md).
        mem_mb=mem(2000, per_input_mb=40, inputs=["genotypes"]),
    params:
        features=config["features"],
        ploidy=MAX_PLOIDY,
    script:
        "../scripts/features.py"
