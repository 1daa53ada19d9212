# Reference: checked (unique contig names, nucleotide codes only: scripts/reference.py)
# while it is copied (decompressed if needed) under results/, so that its indexes never
# have to be written next to the user's own file.
rule reference:
    input:
        stored(config["reference"]["fasta"]) or [],  # rules/common.smk: s3:// URLs
    output:
        fa=GENOME,
        fai=GENOME_FAI,
    log:
        "results/logs/reference/reference.log",
    benchmark:
        "results/benchmarks/reference/reference.tsv"
    conda:
        "../envs/python.yaml"
    threads: 1
    resources:
        mem_mb=mem(1000),
    script:
        "../scripts/reference.py"


rule bwa_index:
    input:
        GENOME,
    output:
        BWA_INDEX,
    log:
        "results/logs/reference/bwa_index.log",
    benchmark:
        "results/benchmarks/reference/bwa_index.tsv"
    conda:
        "../envs/bwa.yaml"
    threads: 1
    resources:
        # bwa index needs ~5.4 GB for a human genome; bwtsw for large ones.
        mem_mb=mem(6000),
    shell:
        "bwa index {input:q} 2> {log:q}"
