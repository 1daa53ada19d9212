# Joint calling over all samples: bcftools mpileup | call, scattered over
# chunks of the reference, gathered, normalised (left-align, split
# multiallelics), bgzipped and indexed.
rule call_chunks:
    input:
        "results/reference/genome.fa.fai",
    output:
        expand("results/calls/chunks/{chunk}.bed", chunk=range(N_CHUNKS)),
    log:
        "results/logs/calls/chunks.log",
    benchmark:
        "results/benchmarks/calls/chunks.tsv"
    conda:
        "../envs/python.yaml"
    threads: 1
    resources:
        mem_mb=mem(500),
    script:
        "../scripts/calls.py"


rule call_chunk:
    input:
        ref="results/reference/genome.fa",
        fai="results/reference/genome.fa.fai",
        bed="results/calls/chunks/{chunk}.bed",
        bams=expand("results/map/{sample}.bam", sample=SAMPLES),
        bais=expand("results/map/{sample}.bam.bai", sample=SAMPLES),
    output:
        temp("results/calls/chunks/{chunk}.bcf"),
    log:
        "results/logs/calls/chunk.{chunk}.log",
    benchmark:
        "results/benchmarks/calls/chunk.{chunk}.tsv"
    conda:
        "../envs/bcftools.yaml"
    threads: 1
    resources:
        mem_mb=mem(1000),
    params:
        mpileup=config["bcftools"]["mpileup"],
        call=config["bcftools"]["call"],
        ploidy=config["ploidy"],
    shell:
        "(set -o pipefail; bcftools mpileup -f {input.ref:q} -R {input.bed:q}"
        " -a FORMAT/AD,FORMAT/DP {params.mpileup} -Ou {input.bams:q}"
        " | bcftools call --ploidy {params.ploidy} -a FORMAT/GQ {params.call} -Ob -o {output:q}"
        " && bcftools index {output:q}) 2> {log:q}"


rule gather_calls:
    input:
        ref="results/reference/genome.fa",
        chunks=expand("results/calls/chunks/{chunk}.bcf", chunk=range(N_CHUNKS)),
    output:
        vcf="results/calls/cohort.vcf.gz",
        tbi="results/calls/cohort.vcf.gz.tbi",
    log:
        "results/logs/calls/gather.log",
    benchmark:
        "results/benchmarks/calls/gather.tsv"
    conda:
        "../envs/bcftools.yaml"
    threads: 2
    resources:
        mem_mb=mem(1000),
    shell:
        # Normalise after the gather: left-aligning may move an indel across
        # a chunk boundary, which per-chunk norm would leave unsorted.
        "(set -o pipefail; bcftools concat -Ou {input.chunks:q}"
        " | bcftools norm -f {input.ref:q} -m -any -Ou"
        " | bcftools sort -Oz -o {output.vcf:q} -T {output.vcf:q}.tmp"
        " && bcftools index -t {output.vcf:q}) 2> {log:q}"


rule vcf_stats:
    input:
        ref="results/reference/genome.fa",
        vcf="results/calls/cohort.vcf.gz",
    output:
        "results/calls/cohort.stats.txt",
    log:
        "results/logs/calls/stats.log",
    benchmark:
        "results/benchmarks/calls/stats.tsv"
    conda:
        "../envs/bcftools.yaml"
    threads: 1
    resources:
        mem_mb=mem(500),
    shell:
        "bcftools stats -F {input.ref:q} -s - {input.vcf:q} > {output:q} 2> {log:q}"
