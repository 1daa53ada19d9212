# Keep the sites inside the regions BED and record which region each falls in
# (scripts/regions.py, pybedtools). Only when `regions` is set. Scattered over the
# calling chunks as the filter is; each chunk reads its records through the index.
rule regions_chunk:
    input:
        vcf="results/filter/filtered.bcf",
        csi="results/filter/filtered.bcf.csi",
        bed=config["regions"] or [],
        fai=GENOME_FAI,
        chunk="results/calls/chunks/{chunk}.bed",
    output:
        bcf=temp("results/regions/chunks/{chunk}.bcf"),
        tsv=temp("results/regions/chunks/{chunk}.tsv"),
    log:
        "results/logs/regions/chunk.{chunk}.log",
    benchmark:
        "results/benchmarks/regions/chunk.{chunk}.tsv"
    conda:
        "../envs/python.yaml"
    threads: 1
    resources:
        mem_mb=mem(1000),
    params:
        scatter=N_CHUNKS > 1,
    script:
        "../scripts/regions.py"


rule regions:
    input:
        chunks=expand("results/regions/chunks/{chunk}.bcf", chunk=range(N_CHUNKS)),
        tsvs=expand("results/regions/chunks/{chunk}.tsv", chunk=range(N_CHUNKS)),
    output:
        bcf="results/regions/regions.bcf",
        csi="results/regions/regions.bcf.csi",
        tsv="results/regions/site_regions.tsv",
    log:
        "results/logs/regions/regions.log",
    benchmark:
        "results/benchmarks/regions/regions.tsv"
    conda:
        "../envs/python.yaml"
    threads: 1
    resources:
        mem_mb=mem(500),
    script:
        "../scripts/regions.py"
