# Cohort calling, scattered over chunks of the reference and gathered, in one of two
# modes (`bcftools.mode`):
#   joint: bcftools mpileup of all BAMs | bcftools call, per chunk;
#   gvcf:  one genotype-likelihood gVCF per sample (bcftools mpileup -g, kept), then per
#          chunk bcftools merge -g | bcftools call. A new sample adds one gVCF job; the
#          merge and call of the cohort are cheap.
# Then normalised (left-align, split multiallelics), bgzipped and indexed.
import calls  # scripts/calls.py (scripts/ is on sys.path, rules/common.smk)

# From a VCF (`input_vcf`) nothing is called and no reference need exist: its header's
# contigs are chunked for the ML half (filter, regions, matrix) when it is indexed (the
# pseudonymised copy always is) and gives every contig a length, else one chunk.
if FROM_READS:
    N_CHUNKS = calls.n_chunks(config, Path.cwd())
elif config["input_vcf"]:
    N_CHUNKS = calls.vcf_n_chunks(config, config["input_vcf"], indexed=PRIVACY["pseudonymise"])
else:
    N_CHUNKS = 1
CALL_MODE = config["bcftools"]["mode"]


rule call_chunks:
    input:
        GENOME_FAI if FROM_READS else config["input_vcf"] or [],
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


if CALL_MODE == "joint":

    rule call_chunk:
        input:
            **PLOIDY_INPUTS,
            ref=GENOME,
            fai=GENOME_FAI,
            bed="results/calls/chunks/{chunk}.bed",
            bams=joint_bams,
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
            # The chunk's contig sequence (bcftools loads a whole contig: up to ~250 MB
            # on a human genome) + ~0.1 MB per BAM measured, x2 (bench/cohort_steps.py).
            mem_mb=mem(1000, per_1000_samples_mb=200),
        params:
            mpileup=config["bcftools"]["mpileup"],
            call=config["bcftools"]["call"],
            open_files=calls.open_files_needed(len(SAMPLES)),
        shell:
            # One open file per BAM: the soft limit is raised to the hard one; a node
            # where that is still too low stops with the fixes in the log.
            "(ulimit -Sn $(ulimit -Hn); set -o pipefail;"
            ' echo "open-file limit $(ulimit -Sn), {params.open_files} needed" >&2;'
            " if [ $(ulimit -Sn) != unlimited ] && [ $(ulimit -Sn) -lt {params.open_files} ]; then"
            " echo 'bcftools mpileup opens every BAM at once: {params.open_files} open files needed,'"
            ' "hard limit $(ulimit -Hn) on $(hostname). Set bcftools.mode: gvcf or raise it"'
            " '(README: Large cohorts).' >&2; exit 1; fi;"
            " bcftools mpileup -f {input.ref:q} -R {input.bed:q}"
            " -a FORMAT/AD,FORMAT/DP {params.mpileup} -Ou {input.bams:q}"
            " | bcftools call --ploidy-file {input.ploidy:q} -S {input.sexes:q} -a FORMAT/GQ {params.call} -Ob -o {output:q}"
            " && bcftools index {output:q}) 2> {log:q}"

else:

    rule gvcf_sample:
        input:
            ref=GENOME,
            fai=GENOME_FAI,
            bam="results/map/{sample}.bam",
            bai="results/map/{sample}.bam.bai",
        output:
            bcf="results/calls/gvcf/{sample}.g.bcf",
            csi="results/calls/gvcf/{sample}.g.bcf.csi",
        log:
            "results/logs/calls/gvcf.{sample}.log",
        benchmark:
            "results/benchmarks/calls/gvcf.{sample}.tsv"
        conda:
            "../envs/bcftools.yaml"
        threads: 1
        resources:
            mem_mb=mem(1000),
        params:
            mpileup=config["bcftools"]["mpileup"],
            blocks=config["bcftools"]["gvcf_blocks"],
        shell:
            # Genotype likelihoods of every covered site: candidate alleles as records,
            # the rest as <*> blocks by depth band. Uncovered sites are absent, so they
            # stay missing after the merge (never hom-ref without reads).
            "(set -o pipefail; bcftools mpileup -f {input.ref:q} -g {params.blocks}"
            " -a FORMAT/AD,FORMAT/DP {params.mpileup} -Ob -o {output.bcf:q} {input.bam:q}"
            " && bcftools index -f {output.bcf:q}) 2> {log:q}"

    rule merge_gvcf_chunk:
        input:
            **PLOIDY_INPUTS,
            ref=GENOME,
            fai=GENOME_FAI,
            bed="results/calls/chunks/{chunk}.bed",
            gvcfs=expand("results/calls/gvcf/{sample}.g.bcf", sample=SAMPLES),
            csis=expand("results/calls/gvcf/{sample}.g.bcf.csi", sample=SAMPLES),
        output:
            temp("results/calls/chunks/{chunk}.bcf"),
        log:
            "results/logs/calls/merge.{chunk}.log",
        benchmark:
            "results/benchmarks/calls/merge.{chunk}.tsv"
        conda:
            "../envs/gvcf_merge.yaml"
        threads: 1
        resources:
            # ~0.26 MB per gVCF measured in one merge, x2 (bench/cohort_steps.py).
            mem_mb=mem(1000, per_1000_samples_mb=500),
        params:
            call=config["bcftools"]["call"],
        script:
            # bcftools merge -g | bcftools call | bcftools view -T, per chunk; the merge
            # in groups (a tree) when the gVCFs need more open files than the job's hard
            # limit allows (scripts/calls.py merge_chunk).
            "../scripts/calls.py"


rule gather_calls:
    input:
        ref=GENOME,
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
        # bcftools sort's buffer (768 MB by default, then it spills to disk) and
        # norm's contig sequence: not the cohort size.
        mem_mb=mem(1500),
    shell:
        # Normalise after the gather: left-aligning may move an indel across
        # a chunk boundary, which per-chunk norm would leave unsorted.
        "(set -o pipefail; bcftools concat -Ou {input.chunks:q}"
        " | bcftools norm -f {input.ref:q} -m -any -Ou"
        " | bcftools sort -Oz -o {output.vcf:q} -T {output.vcf:q}.tmp"
        " && bcftools index -t {output.vcf:q}) 2> {log:q}"


rule vcf_stats:
    input:
        ref=GENOME,
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
