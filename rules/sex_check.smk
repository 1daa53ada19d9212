# Ploidy by sex and region, and the sex check (scripts/ploidy.py, scripts/sex_check.py).
# sex_calling: the ploidy file (config `ploidy`, mitochondria haploid) and each sample's
#   sex for `bcftools call -S`: the sheet's, or for unknown/empty the sex its depth shows
#   (its QC record, from idxstats), stated in the log. The sheet's sexes come as params,
#   so that editing a label of the sheet reruns no calling.
# sex_check: sex inferred from depth (from reads) and from the X calls, against the
#   sheet; mismatches logged (an error with sex_check.mismatch_error).


rule sex_calling:
    input:
        fai=GENOME_FAI,
        qc=expand("results/qc/{sample}.json", sample=SAMPLES),
    output:
        ploidy="results/sex_check/ploidy.txt",
        sexes="results/sex_check/calling_sexes.txt",
    log:
        "results/logs/sex_check/sex_calling.log",
    benchmark:
        "results/benchmarks/sex_check/sex_calling.tsv"
    conda:
        "../envs/python.yaml"
    threads: 1
    resources:
        mem_mb=mem(500),
    params:
        ploidy=config["ploidy"],
        sexes=SHEET_SEX,  # male/female of the sheet; {} when the ploidy ignores sex
    script:
        "../scripts/sex_check.py"


rule sex_check:
    input:
        unpack(sex_check_inputs),
    output:
        tsv="results/sex_check/sex_check.tsv",
    log:
        "results/logs/sex_check/sex_check.log",
    benchmark:
        "results/benchmarks/sex_check/sex_check.tsv"
    conda:
        "../envs/python.yaml"
    threads: 1
    resources:
        mem_mb=mem(1000),
    params:
        mismatch_error=config["sex_check"]["mismatch_error"],
    script:
        "../scripts/sex_check.py"


rule report_sex:
    input:
        tsv="results/sex_check/sex_check.tsv",
    output:
        png=report(
            "results/report/sex_check/sex.png",
            caption="../report/sex_check.rst",
            category="1. QC",
            subcategory="Sex check",
            labels={"figure": "sex check"},
        ),
    log:
        "results/logs/report/sex.log",
    benchmark:
        "results/benchmarks/report/sex.tsv"
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=mem(1000),
    script:
        "../scripts/report_sex.py"
