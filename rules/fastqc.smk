# FastQC on the raw and the trimmed reads of one unit, in one JVM start
# (JVM start-up dominates on small inputs). Inputs are linked under canonical
# names first so that reports are named <sample>.<unit>.<raw|trimmed>.<R1|R2|SE>
# whatever the user's FASTQ files are called. FastQC spends much of its wall
# time idle (JVM start, polling sleeps), so the job claims one core and lets
# FastQC run one thread per file. The JVM's optimising (C2) compiler doubles
# FastQC's CPU time on files of this size without making it faster: C1 only.
rule fastqc:
    input:
        raw=get_fastqs,
        trimmed=get_trimmed,
    output:
        directory("results/fastqc/{sample}/{unit}"),
    log:
        "results/logs/fastqc/{sample}/{unit}.log",
    benchmark:
        "results/benchmarks/fastqc/{sample}/{unit}.tsv"
    conda:
        "../envs/fastqc.yaml"
    threads: 1
    resources:
        mem_mb=mem(1000),
    params:
        reads=lambda wc: ["R1", "R2"] if is_paired(wc) else ["SE"],
    shell:
        """
        (
            set -euo pipefail
            export _JAVA_OPTIONS="-XX:TieredStopAtLevel=1"
            tmp=$(mktemp -d)
            trap 'rm -rf "$tmp"' EXIT
            raw=({input.raw:q})
            trimmed=({input.trimmed:q})
            reads=({params.reads})
            for i in "${{!reads[@]}}"; do
                ln -s "$(realpath "${{raw[$i]}}")" "$tmp/{wildcards.sample}.{wildcards.unit}.raw.${{reads[$i]}}.fastq.gz"
                ln -s "$(realpath "${{trimmed[$i]}}")" "$tmp/{wildcards.sample}.{wildcards.unit}.trimmed.${{reads[$i]}}.fastq.gz"
            done
            out={output:q}
            mkdir -p "$out"
            fastqc --quiet --threads $((2 * ${{#reads[@]}})) --outdir "$out" "$tmp"/*.fastq.gz
        ) >{log:q} 2>&1
        """
