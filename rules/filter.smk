# Site and genotype filters of the cohort VCF (scripts/filter.py, cyvcf2): a
# genotype failing DP/GQ becomes missing, never hom-ref. Scattered over the calling
# chunks (rules/calls.smk; one chunk streams an unindexed input_vcf whole), gathered
# block by block into one BCF with the summed counts per filter.
rule filter_chunk:
    input:
        vcf=COHORT_VCF,
        index=COHORT_INDEX if N_CHUNKS > 1 else [],
        bed="results/calls/chunks/{chunk}.bed",
    output:
        bcf=temp("results/filter/chunks/{chunk}.bcf"),
        counts=temp("results/filter/chunks/{chunk}.counts.tsv"),
        # the kept sites' int8 dosages, for the matrix (decoded once, here)
        npz=temp("results/filter/chunks/{chunk}.npz"),
        sites=temp("results/filter/chunks/{chunk}.sites.tsv"),
    log:
        "results/logs/filter/chunk.{chunk}.log",
    benchmark:
        "results/benchmarks/filter/chunk.{chunk}.tsv"
    conda:
        "../envs/python.yaml"
    threads: 1
    resources:
        mem_mb=mem(1000),
    params:
        filter=config["filter"],
        ploidy=MAX_PLOIDY,
        haploid_contigs=HAPLOID_CONTIGS,
        scatter=N_CHUNKS > 1,
    script:
        "../scripts/filter.py"


rule filter:
    input:
        vcf=COHORT_VCF,
        chunks=expand("results/filter/chunks/{chunk}.bcf", chunk=range(N_CHUNKS)),
        counts=expand("results/filter/chunks/{chunk}.counts.tsv", chunk=range(N_CHUNKS)),
    output:
        bcf="results/filter/filtered.bcf",
        csi="results/filter/filtered.bcf.csi",
        counts="results/filter/filter_counts.tsv",
    log:
        "results/logs/filter/filter.log",
    benchmark:
        "results/benchmarks/filter/filter.tsv"
    conda:
        "../envs/python.yaml"
    threads: 1
    resources:
        mem_mb=mem(500),
    params:
        scatter=N_CHUNKS > 1,
    script:
        "../scripts/filter.py"
