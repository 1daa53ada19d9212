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
