# FastQC on the raw and the trimmed reads of every unit of one sample, in one JVM start
# (JVM start-up dominates on small inputs). Inputs are linked under canonical names
# first so that reports are named <sample>.<unit>.<raw|trimmed>.<R1|R2|SE> whatever the
# user's FASTQ files are called; each unit's reports go to results/fastqc/<sample>/<unit>/.
# FastQC spends much of its wall time idle (JVM start, polling sleeps), so the job
# claims one core and lets FastQC run one thread per file. The JVM's optimising (C2)
# compiler doubles FastQC's CPU time on files of this size without making it faster:
# C1 only.
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
    shell:
        """
        (
            set -euo pipefail
            export _JAVA_OPTIONS="-XX:TieredStopAtLevel=1"
            tmp=$(mktemp -d)
            trap 'rm -rf "$tmp"' EXIT
            mkdir "$tmp/in" "$tmp/out"
            raw=({input.raw:q})
            trimmed=({input.trimmed:q})
            names=()
            for i in "${{!trimmed[@]}}"; do
                unit_read=$(basename "${{trimmed[$i]}}" .fastq.gz)  # <unit>.<R1|R2|SE>
                unit=${{unit_read%.*}} read=${{unit_read##*.}}
                for kind in raw trimmed; do
                    name="{wildcards.sample}.$unit.$kind.$read"
                    if [ $kind = raw ]; then fq=${{raw[$i]}}; else fq=${{trimmed[$i]}}; fi
                    ln -s "$(realpath "$fq")" "$tmp/in/$name.fastq.gz"
                    names+=("$unit/$name")
                done
            done
            fastqc --quiet --threads ${{#names[@]}} --outdir "$tmp/out" "$tmp"/in/*.fastq.gz
            out={output:q}
            for unit_name in "${{names[@]}}"; do
                mkdir -p "$out/${{unit_name%/*}}"
                mv "$tmp/out/${{unit_name#*/}}_fastqc.html" "$tmp/out/${{unit_name#*/}}_fastqc.zip" \\
                    "$out/${{unit_name%/*}}/"
            done
        ) >{log:q} 2>&1
        """
