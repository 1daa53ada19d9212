# BWA-MEM per unit (lane) with a deterministic read group, mate tags added
# while reads are still name-grouped, then coordinate sorted. Units of one
# sample are merged and duplicates marked on the merged library.
rule bwa_mem:
    input:
        reads=get_trimmed,
        idx=multiext(GENOME, ".amb", ".ann", ".bwt", ".pac", ".sa"),
    output:
        temp("results/map/units/{sample}/{unit}.bam"),
    log:
        "results/logs/map/units/{sample}/{unit}.log",
    benchmark:
        "results/benchmarks/map/units/{sample}/{unit}.tsv"
    conda:
        "../envs/bwa.yaml"
    threads: 2
    resources:
        mem_mb=mem(2000),
    params:
        index=lambda wc, input: os.path.splitext(input.idx[0])[0],  # GENOME
        rg=read_group,
        extra=config["bwa"]["extra"],
        sort_mem=lambda wc, threads, resources: max(100, resources.mem_mb // (2 * threads)),
    shell:
        # -K fixes the batch size so that output does not depend on threads.
        "(set -o pipefail; bwa mem -t {threads} -K 10000000 -R '{params.rg}' {params.extra}"
        " {params.index} {input.reads:q}"
        " | samtools fixmate -m -u - -"
        " | samtools sort -@ {threads} -m {params.sort_mem}M -T {output:q}.tmp"
        " -o {output:q} -) 2> {log:q}"


rule markdup:
    input:
        get_unit_bams,
    output:
        bam="results/map/{sample}.bam",
        bai="results/map/{sample}.bam.bai",
        metrics="results/map/{sample}.markdup.txt",
    log:
        "results/logs/map/{sample}.markdup.log",
    benchmark:
        "results/benchmarks/map/{sample}.markdup.tsv"
    conda:
        "../envs/samtools.yaml"
    threads: 2
    resources:
        mem_mb=mem(1000),
    params:
        extra=config["markdup"]["extra"],
    shell:
        "(set -o pipefail; samtools merge -@ {threads} -u -o - {input:q}"
        " | samtools markdup -@ {threads} -T {output.bam:q}.tmp -f {output.metrics:q}"
        " {params.extra} - {output.bam:q}"
        " && samtools index -@ {threads} {output.bam:q}) 2> {log:q}"
