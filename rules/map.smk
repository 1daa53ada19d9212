# Per unit (lane), one job (scripts/map.py): Cutadapt (adapters, quality trimming, minimum
# length; scripts/trim.py names a broken input file in the trim log), then BWA-MEM with a
# deterministic read group (ID/PU <sample>.<unit>, SM/LB <sample>), mate tags added while
# reads are still name-grouped, coordinate sorted, while one FastQC JVM reads the raw and
# trimmed reads in the background. Paired or single-end follows the unit's reads. The read
# group, index prefix and sort memory are worked out in the script from the wildcards,
# inputs and resources: param functions cost time per job in the DAG
# (bench/results/dag.md). Trimmed reads stay inside the job; lane BAMs are temporary; the
# JSON and FastQC reports are kept. Per sample, one job (scripts/markdup.py): units merged,
# duplicates marked on the merged library, indexed, then samtools stats / flagstat /
# idxstats, and the sample's QC record results/qc/<sample>.json (scripts/sample_qc.py) that
# the QC figures and the summary read.
if config["fastqc"]["enabled"]:
    FASTQC_OUTPUT = {"fastqc": directory("results/fastqc/{sample}/{unit}")}
else:
    FASTQC_OUTPUT = {}


rule trim_map:
    input:
        reads=get_fastqs,
        idx=BWA_INDEX,
    output:
        **FASTQC_OUTPUT,  # fastqc: its folder, unless fastqc.enabled is false
        report="results/trim/{sample}/{unit}.json",
        bam=temp("results/map/units/{sample}/{unit}.bam"),
    log:
        # In this order: --show-failed-logs stops at the first missing or empty log.
        trim="results/logs/trim/{sample}/{unit}.log",
        map="results/logs/map/units/{sample}/{unit}.log",
        fastqc="results/logs/fastqc/{sample}/{unit}.log",
    benchmark:
        "results/benchmarks/map/units/{sample}/{unit}.tsv"
    conda:
        "../envs/map.yaml"
    threads: 2
    resources:
        # BWA-MEM and sort, plus FastQC's JVM (scripts/map.py fastqc_mb).
        mem_mb=mem(3000),
    params:
        cutadapt=config["cutadapt"],
        extra=config["bwa"]["extra"],
        units_sheet=config["units"],  # named in the log when a unit's reads are broken
    script:
        "../scripts/map.py"


rule markdup:
    input:
        unpack(markdup_inputs),  # bams, trim (Cutadapt reports for the QC record)
        ref=GENOME,
    output:
        bam="results/map/{sample}.bam",
        bai="results/map/{sample}.bam.bai",
        metrics="results/map/{sample}.markdup.txt",
        stats="results/bamstats/{sample}.stats.txt",
        flagstat="results/bamstats/{sample}.flagstat.txt",
        idxstats="results/bamstats/{sample}.idxstats.txt",
        qc="results/qc/{sample}.json",
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
    script:
        "../scripts/markdup.py"
