# FastQC on the raw and the trimmed reads of every unit of one sample, in one JVM start
# (scripts/fastqc.py: reports named <sample>.<unit>.<raw|trimmed>.<R1|R2|SE> whatever the
# user's FASTQ files are called, each unit's in results/fastqc/<sample>/<unit>/; one core,
# one FastQC thread per file, the JVM's C1 compiler only).
rule fastqc:
    input:
        unpack(fastqc_files),
    output:
        directory("results/fastqc/{sample}"),
    log:
        "results/logs/fastqc/{sample}.log",
    benchmark:
        "results/benchmarks/fastqc/{sample}.tsv"
    conda:
        "../envs/fastqc.yaml"
    threads: 1
    resources:
        mem_mb=mem(1000),
    script:
        "../scripts/fastqc.py"
