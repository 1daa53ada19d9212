# Cutadapt: adapter and quality trimming, minimum length (scripts/trim.py, which also
# names the broken input file in the log when cutadapt fails). Trimmed reads are
# temporary (mapping and FastQC read them); the JSON reports are kept.
rule cutadapt_pe:
    input:
        get_fastqs,
    output:
        r1=temp("results/trim/{sample}/{unit}.R1.fastq.gz"),
        r2=temp("results/trim/{sample}/{unit}.R2.fastq.gz"),
        report="results/trim/{sample}/{unit}.pe.json",
    log:
        "results/logs/trim/{sample}/{unit}.log",
    benchmark:
        "results/benchmarks/trim/{sample}/{unit}.tsv"
    conda:
        "../envs/cutadapt.yaml"
    threads: 2
    resources:
        mem_mb=mem(1000),
    params:
        cutadapt=config["cutadapt"],
        where=unit_where,
    script:
        "../scripts/trim.py"


rule cutadapt_se:
    input:
        get_fastqs,
    output:
        se=temp("results/trim/{sample}/{unit}.SE.fastq.gz"),
        report="results/trim/{sample}/{unit}.se.json",
    log:
        "results/logs/trim/{sample}/{unit}.se.log",
    benchmark:
        "results/benchmarks/trim/{sample}/{unit}.se.tsv"
    conda:
        "../envs/cutadapt.yaml"
    threads: 2
    resources:
        mem_mb=mem(1000),
    params:
        cutadapt=config["cutadapt"],
        where=unit_where,
    script:
        "../scripts/trim.py"
