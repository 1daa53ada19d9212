# Keep the sites inside the regions BED and record which region each falls in
# (scripts/regions.py, pybedtools). Only when `regions` is set.
rule regions:
    input:
        vcf="results/filter/filtered.vcf.gz",
        bed=config["regions"] or [],
        fai=GENOME_FAI,
    output:
        vcf="results/regions/regions.vcf.gz",
        tbi="results/regions/regions.vcf.gz.tbi",
        tsv="results/regions/site_regions.tsv",
    log:
        "results/logs/regions/regions.log",
    benchmark:
        "results/benchmarks/regions/regions.tsv"
    conda:
        "../envs/python.yaml"
    threads: 1
    resources:
        mem_mb=mem(1000),
    script:
        "../scripts/regions.py"
