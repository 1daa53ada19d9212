# Samples x SNPs int8 ALT-dosage matrix (-1 = missing), site and sample tables, gathered
# from the genotypes the filter jobs decoded per chunk (rules/filter.smk); with `regions`,
# of the sites the regions step kept.
rule matrix:
    input:
        # the region names of the sites, when `regions` is set
        unpack(lambda wc: {"regions": REGIONS_TABLE} if config["regions"] else {}),
        # rules/annotation.smk: the gene, consequence and protein_change of each site
        unpack(lambda wc: {"annotation": ANNOTATION_TABLE} if ANNOTATION else {}),
        npzs=expand("results/filter/chunks/{chunk}.npz", chunk=range(N_CHUNKS)),
        sites=expand("results/filter/chunks/{chunk}.sites.tsv", chunk=range(N_CHUNKS)),
        # the filter's gather: its "no site left" check runs first
        counts="results/filter/filter_counts.tsv",
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
        # The interpreter and pyarrow's cost per site column, + 5x the chunks' int8
        # dosages (N x sites bytes): 4.6x measured at 2,000 x 73,783 (bench/results/
        # ml_half.md); 234 MB at 1,000 x 14,768 (bench/results/cohort_steps.md).
        mem_mb=mem(2000, per_input_mb=5, inputs=["npzs"]),
    params:
        target=config["model"]["target"],
        ploidy=MAX_PLOIDY,
    script:
        "../scripts/matrix.py"


# Optional PLINK 2 copy of the same genotypes for GWAS tools (matrix.plink), with the
# matrix's site IDs `chrom:pos:ref:alt` as variant IDs so that both line up: set by
# bcftools from the VCF's own contig names (plink2's `@` would write chr1 as 1). A half
# call (./1) is missing, as in the matrix off X/Y/MT (on them the matrix reads it as the
# haploid call: plink2 cannot tell contigs apart here), and a repeated site ID keeps its
# first record. tests/test_plink.py reads the export back and runs plink2 --glm on it. The
# .psam's SEX: the sheet's sex, else the inferred one (rules/sex_check.smk), else unknown.
rule plink:
    input:
        unpack(get_matrix_inputs),
        sex="results/sex_check/sex_check.tsv",
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
        "tmp=$(mktemp -d {resources.tmpdir:q}/plink.XXXXXX); trap 'rm -rf \"$tmp\"' EXIT;"
        " bcftools annotate --set-id '%CHROM:%POS:%REF:%FIRST_ALT' -Ob -o \"$tmp/ids.bcf\""
        " {input.vcf:q} > {log:q} 2>&1"
        # the .psam's SEX: the sheet's, else the inferred one
        """ && awk -F'\\t' 'NR == 1 {{print "#IID\\tSEX"; next}}"""
        """ {{s = ($2 == "male" || $2 == "female") ? $2 : $3;"""
        """ print $1 "\\t" (s == "male" ? "M" : s == "female" ? "F" : "U")}}'"""
        ' {input.sex:q} > "$tmp/sex.txt"'
        ' && plink2 --bcf "$tmp/ids.bcf" --update-sex "$tmp/sex.txt" --make-pgen'
        " --out results/matrix/genotypes"
        " --allow-extra-chr --vcf-half-call missing --rm-dup force-first"
        " --threads {threads} --memory {resources.mem_mb} >> {log:q} 2>&1"
