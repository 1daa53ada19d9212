# Cutadapt: adapter and quality trimming, minimum length. Trimmed reads are
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
        a=config["cutadapt"]["adapter_r1"],
        A=config["cutadapt"]["adapter_r2"],
        q=config["cutadapt"]["quality"],
        m=config["cutadapt"]["min_length"],
        extra=config["cutadapt"]["extra"],
        # On failure: which input file is broken, where, and the fix (appended to the log).
        explain=TRIM_ERROR,
        where=unit_where,
    shell:
        "cutadapt --cores {threads} -a {params.a} -A {params.A} -q {params.q},{params.q}"
        " --minimum-length {params.m} {params.extra} --json {output.report:q}"
        " -o {output.r1:q} -p {output.r2:q} {input:q} > {log:q} 2>&1"
        " || bash {params.explain:q} {log:q} {params.where:q} {input:q}"


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
        a=config["cutadapt"]["adapter_r1"],
        q=config["cutadapt"]["quality"],
        m=config["cutadapt"]["min_length"],
        extra=config["cutadapt"]["extra"],
        # On failure: which input file is broken, where, and the fix (appended to the log).
        explain=TRIM_ERROR,
        where=unit_where,
    shell:
        "cutadapt --cores {threads} -a {params.a} -q {params.q}"
        " --minimum-length {params.m} {params.extra} --json {output.report:q}"
        " -o {output.se:q} {input:q} > {log:q} 2>&1"
        " || bash {params.explain:q} {log:q} {params.where:q} {input:q}"
