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
        # The int8 matrix plus float blocks: 356 MB at 2,000 x 36,435 sites (34 MB parquet),
        # 757 MB at 10,000 x 44,544 (103 MB parquet; bench/results/genome_scale.md). The
        # int8 matrix is 3-5x its parquet file: 10x covers it with room for the blocks.
        mem_mb=mem(2000, per_input_mb=10, inputs=["genotypes"]),
    params:
        features=config["features"],
        ploidy=MAX_PLOIDY,
    script:
        "../scripts/features.py"
