# Predictions. Training mode: the unlabelled samples of the matrix, with the
# model just trained. `predict_with` mode: every sample of the sheets, with a
# saved model; its sites are genotyped straight from the BAMs (hom-ref where
# reads cover them, missing where they do not). A sample with missing sites is
# predicted by a forest refit on the sites it has (scripts/predict.py).
rule predict:
    input:
        unpack(get_predict_inputs),
    output:
        "results/predict/predictions.tsv",
    log:
        "results/logs/predict/predict.log",
    benchmark:
        "results/benchmarks/predict/predict.tsv"
    conda:
        "../envs/python.yaml"
    # forest refits for samples with missing sites (deterministic for any thread count)
    threads: 2
    resources:
        # Follows the matrix and the model file (which holds the training genotypes at
        # the model's sites): 1,122 MB at 2,000 x 36,435 sites (46 MB of inputs), 4,329
        # MB at 10,000 x 44,544 (146 MB; bench/results/genome_scale.md).
        mem_mb=mem(2000, per_input_mb=30, inputs=["genotypes", "model"]),
    params:
        unlabelled_only=not PREDICT_WITH,
        # predictions.tsv low_coverage: observed share of model sites below this
        min_observed=config["predict"]["min_observed"],
    script:
        "../scripts/predict.py"


if PREDICT_WITH:

    rule model_sites:
        input:
            model=PREDICT_WITH,
            fai=GENOME_FAI,
        output:
            sites="results/predict/model_sites.tsv",
            # the training run's genotype mask (its filter.min_dp / min_gq)
            mask="results/predict/genotype_mask.txt",
        log:
            "results/logs/predict/model_sites.log",
        benchmark:
            "results/benchmarks/predict/model_sites.tsv"
        conda:
            "../envs/python.yaml"
        threads: 1
        resources:
            mem_mb=mem(1000),
        params:
            # only for a model that does not record its training filter
            filter={k: config["filter"][k] for k in ("min_dp", "min_gq")},
        script:
            "../scripts/model_sites.py"

    rule genotype_model_sites:
        input:
            **PLOIDY_INPUTS,
            ref=GENOME,
            fai=GENOME_FAI,
            sites="results/predict/model_sites.tsv",
            mask="results/predict/genotype_mask.txt",
            bams=expand("results/map/{sample}.bam", sample=SAMPLES),
            bais=expand("results/map/{sample}.bam.bai", sample=SAMPLES),
        output:
            vcf="results/predict/model_sites.vcf.gz",
            tbi="results/predict/model_sites.vcf.gz.tbi",
        log:
            "results/logs/predict/genotype_model_sites.log",
        benchmark:
            "results/benchmarks/predict/genotype_model_sites.tsv"
        conda:
            "../envs/bcftools.yaml"
        threads: 1
        resources:
            mem_mb=mem(1000),
        params:
            mpileup=config["bcftools"]["mpileup"],
        shell:
            # -C alleles -T: call exactly the model's alleles at its sites,
            # hom-ref included (no --variants-only).
            "(set -o pipefail; bcftools mpileup -f {input.ref:q} -T {input.sites:q}"
            " -a FORMAT/AD,FORMAT/DP {params.mpileup} -Ou {input.bams:q}"
            " | bcftools call -m -C alleles -T {input.sites:q} -a FORMAT/GQ"
            " --ploidy-file {input.ploidy:q} -S {input.sexes:q} -Ou"
            # The training run's genotype mask, so that new samples are genotyped
            # as the training samples were (rule model_sites).
            ' | bcftools filter -S . -e "$(cat {input.mask:q})" -Oz -o {output.vcf:q}'
            " && bcftools index -t {output.vcf:q}) 2> {log:q}"

    # Model sites where none of the new samples shows the ALT allele come out of
    # `call -C alleles` with ALT "." and so are not in the matrix; a sample whose
    # reads cover such a site (a called GT after masking) is hom-ref there.
    rule model_sites_coverage:
        input:
            vcf="results/predict/model_sites.vcf.gz",
            sites="results/predict/model_sites.tsv",
        output:
            "results/predict/covered.tsv",
        log:
            "results/logs/predict/model_sites_coverage.log",
        benchmark:
            "results/benchmarks/predict/model_sites_coverage.tsv"
        conda:
            "../envs/bcftools.yaml"
        threads: 1
        resources:
            mem_mb=mem(500),
        shell:
            "(set -o pipefail; bcftools query -i 'ALT=\".\"' -f '[%SAMPLE\\t%CHROM\\t%POS\\t%GT\\n]'"
            " {input.vcf:q}"
            ' | awk -F\'\\t\' -v OFS=\'\\t\' \'BEGIN {{print "sample", "site_id", "covered"}}'
            ' NR == FNR {{split($3, a, ","); id[$1 ":" $2] = $1 ":" $2 ":" a[1] ":" a[2]; next}}'
            ' ($2 ":" $3) in id {{print $1, id[$2 ":" $3], ($4 !~ /\\./)}}\''
            " {input.sites:q} - > {output:q}) 2> {log:q}"

    rule predict_matrix:
        input:
            vcf=PREDICT_VCF,
            samples=config["samples"],
        output:
            genotypes="results/predict/genotypes.parquet",
            sites="results/predict/sites.tsv",
            samples="results/predict/samples.tsv",
        log:
            "results/logs/predict/matrix.log",
        benchmark:
            "results/benchmarks/predict/matrix.tsv"
        conda:
            "../envs/python.yaml"
        threads: 1
        resources:
            mem_mb=mem(2000),
        params:
            target=config["model"]["target"],
            ploidy=MAX_PLOIDY,
            haploid_contigs=HAPLOID_CONTIGS,
        script:
            "../scripts/matrix.py"
