# Site and genotype filters of the cohort VCF (scripts/filter.py, cyvcf2): a
# genotype failing DP/GQ becomes missing, never hom-ref.
rule filter_vcf:
    input:
        vcf=COHORT_VCF,
    output:
        vcf="results/filter/filtered.vcf.gz",
        tbi="results/filter/filtered.vcf.gz.tbi",
        counts="results/filter/filter_counts.tsv",
    log:
        "results/logs/filter/filter.log",
    benchmark:
        "results/benchmarks/filter/filter.tsv"
    conda:
        "../envs/python.yaml"
    threads: 1
    resources:
        mem_mb=mem(1000),
    params:
        filter=config["filter"],
        ploidy=config["ploidy"],
    script:
        "../scripts/filter.py"
