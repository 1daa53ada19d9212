# Samples x SNPs int8 ALT-dosage matrix (-1 = missing), site and sample tables.
rule matrix:
    input:
        unpack(get_matrix_inputs),
        samples=config["samples"],
    output:
        genotypes="results/matrix/genotypes.parquet",
        sites="results/matrix/sites.tsv",
        samples="results/matrix/samples.tsv",
    log:
        "results/logs/matrix/matrix.log",
    benchmark:
        "results/benchmarks/matrix/matrix.tsv"
    conda:
        "../envs/python.yaml"
    threads: 1
    resources:
        mem_mb=mem(2000),
    params:
        target=config["model"]["target"],
        ploidy=config["ploidy"],
    script:
        "../scripts/matrix.py"


# Optional PLINK 2 copy of the same genotypes for GWAS tools (matrix.plink),
# with the matrix's site IDs as variant IDs so that both line up.
rule plink:
    input:
        unpack(get_matrix_inputs),
    output:
        multiext("results/matrix/genotypes", ".pgen", ".pvar", ".psam"),
    log:
        "results/logs/matrix/plink.log",
    benchmark:
        "results/benchmarks/matrix/plink.tsv"
    conda:
        "../envs/plink.yaml"
    threads: 1
    resources:
        mem_mb=mem(2000),
    shell:
        "plink2 --vcf {input.vcf:q} --make-pgen --out results/matrix/genotypes"
        " --set-all-var-ids '@:#:$r:$a' --new-id-max-allele-len 1000 missing"
        " --threads {threads} --memory {resources.mem_mb} > {log:q} 2>&1"
