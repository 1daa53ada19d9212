# Privacy (privacy.pseudonymise): the renamed samples sheet the rules read and the real
# name -> pseudonym table (outside results/), written by a job, never while parsing.
if PRIVACY["pseudonymise"]:

    rule pseudonymise_sheet:
        input:
            sheet=SAMPLES_SHEET_REAL,
            key=PRIVACY["key_file"],
        output:
            sheet="results/privacy/samples.tsv",
            mapping=PRIVACY["mapping"],
        log:
            "results/logs/privacy/pseudonymise_sheet.log",
        benchmark:
            "results/benchmarks/privacy/pseudonymise_sheet.tsv"
        conda:
            "../envs/privacy.yaml"
        threads: 1
        resources:
            mem_mb=mem(500),
        script:
            "../scripts/privacy_sheet.py"


# Pseudonymised copy of `input_vcf` (privacy.pseudonymise): every sample renamed to
# its keyed pseudonym (scripts/privacy.py), so that no real name reaches results/.
if config["input_vcf"] and PRIVACY["pseudonymise"]:

    rule pseudonymise_vcf:
        input:
            vcf=config["input_vcf"],
        output:
            vcf="results/privacy/input.vcf.gz",
            tbi="results/privacy/input.vcf.gz.tbi",
        log:
            "results/logs/privacy/pseudonymise_vcf.log",
        benchmark:
            "results/benchmarks/privacy/pseudonymise_vcf.tsv"
        conda:
            "../envs/privacy.yaml"
        threads: 1
        resources:
            mem_mb=mem(1000),
        params:
            key_file=PRIVACY["key_file"],
        script:
            "../scripts/privacy.py"
