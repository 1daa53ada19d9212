# samtools stats / flagstat / idxstats of the final per-sample BAM.
rule bamstats:
    input:
        bam="results/map/{sample}.bam",
        bai="results/map/{sample}.bam.bai",
        ref=GENOME,
    output:
        stats="results/bamstats/{sample}.stats.txt",
        flagstat="results/bamstats/{sample}.flagstat.txt",
        idxstats="results/bamstats/{sample}.idxstats.txt",
    log:
        "results/logs/bamstats/{sample}.log",
    benchmark:
        "results/benchmarks/bamstats/{sample}.tsv"
    conda:
        "../envs/samtools.yaml"
    threads: 1
    resources:
        mem_mb=mem(500),
    shell:
        "(samtools stats --reference {input.ref:q} {input.bam:q} > {output.stats:q}"
        " && samtools flagstat {input.bam:q} > {output.flagstat:q}"
        " && samtools idxstats {input.bam:q} > {output.idxstats:q}) 2> {log:q}"
