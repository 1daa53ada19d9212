# Embedded demo cohort: a seeded simulator (scripts/demo.py, run by
# scripts/demo_population.py and scripts/demo_reads.py) writes the
# reference, truth VCF, phenotypes and reads the first time they are needed.
if DEMO:

    rule demo_population:
        output:
            ref=f"{DEMO}/reference.fa",
            vcf=f"{DEMO}/truth/truth.vcf.gz",
            tbi=f"{DEMO}/truth/truth.vcf.gz.tbi",
            phenotypes=f"{DEMO}/truth/phenotypes.tsv",
            causal=f"{DEMO}/truth/causal.tsv",
            summary=f"{DEMO}/truth/summary.json",
        log:
            "results/logs/demo/population.log",
        benchmark:
            "results/benchmarks/demo/population.tsv"
        conda:
            "../envs/python.yaml"
        threads: 1
        resources:
            mem_mb=mem(2000),
        params:
            demo=config["demo"],
        script:
            "../scripts/demo_population.py"

    rule demo_reads:
        input:
            ref=f"{DEMO}/reference.fa",
            vcf=f"{DEMO}/truth/truth.vcf.gz",
        output:
            r1=f"{DEMO}/reads/{{sample}}_{{unit}}_R1.fastq.gz",
            r2=f"{DEMO}/reads/{{sample}}_{{unit}}_R2.fastq.gz",
        log:
            "results/logs/demo/reads/{sample}/{unit}.log",
        benchmark:
            "results/benchmarks/demo/reads/{sample}/{unit}.tsv"
        conda:
            "../envs/python.yaml"
        threads: 1
        resources:
            mem_mb=mem(1000),
        params:
            demo=config["demo"],
            # Only this sample's own unit count: growing the sheet by other
            # samples must not change these params (and so rerun reads).
            n_units=lambda wc: len(sample_units(wc.sample)),
            adapters=lambda wc: {
                "r1": config["cutadapt"]["adapter_r1"],
                "r2": config["cutadapt"]["adapter_r2"],
            },
        script:
            "../scripts/demo_reads.py"

    # The demo's genes (ORFs of its random reference, so nothing else of the demo changes)
    # and the truth consequence of every simulated SNP; set annotation.gff to its GFF3.
    rule demo_annotation:
        input:
            ref=f"{DEMO}/reference.fa",
            vcf=f"{DEMO}/truth/truth.vcf.gz",
        output:
            gff=f"{DEMO}/genes.gff3",
            truth=f"{DEMO}/truth/consequences.tsv",
        log:
            "results/logs/demo/annotation.log",
        benchmark:
            "results/benchmarks/demo/annotation.tsv"
        conda:
            "../envs/python.yaml"
        threads: 1
        resources:
            mem_mb=mem(1000),
        script:
            "../scripts/demo_annotation.py"
