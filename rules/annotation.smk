# Variant consequences (annotation.gff): the GFF3 is checked against the reference and
# converted to the Ensembl style bcftools csq reads (scripts/annotation_gff.py), then
# `bcftools csq` (pysam's, which takes the genetic code) annotates the cohort VCF and its
# BCSQ calls become a table that the matrix joins into sites.tsv (scripts/annotation.py).
ANNOTATION = config["annotation"]["gff"]
ANNOTATION_TABLE = "results/annotation/consequences.tsv"  # joined by rules/matrix.smk
if config["features"]["consequences"] and not ANNOTATION:
    raise WorkflowError(
        "config: features.consequences is set but annotation.gff is empty.\n"
        "Fix: set annotation.gff to a GFF3 of the reference, or features.consequences: []."
    )
if ANNOTATION:  # a small GFF3's lines are checked before any job (its contigs by the job)
    import annotation  # scripts/annotation.py

    try:
        annotation.check_gff_early(ANNOTATION)
    except annotation.GffError as e:
        raise WorkflowError(f"annotation.gff: {e}") from None
if ANNOTATION and not config["reference"]["fasta"]:
    raise WorkflowError(
        "config: annotation.gff needs the reference it annotates (reference.fasta is empty).\n"
        "Fix: set reference.fasta to the FASTA the GFF3 describes."
    )

if ANNOTATION:

    rule annotation_gff:
        input:
            gff=ANNOTATION,
            fai=GENOME_FAI,
        output:
            gff="results/annotation/genes.gff3",
            summary="results/annotation/gff_summary.json",
        log:
            "results/logs/annotation/gff.log",
        benchmark:
            "results/benchmarks/annotation/gff.tsv"
        conda:
            "../envs/python.yaml"
        threads: 1
        resources:
            mem_mb=mem(2000),
        params:
            genetic_code=config["annotation"]["genetic_code"],
        script:
            "../scripts/annotation_gff.py"

    rule annotation:
        input:
            vcf=COHORT_VCF,
            gff="results/annotation/genes.gff3",
            summary="results/annotation/gff_summary.json",
            ref=GENOME,
            fai=GENOME_FAI,
        output:
            vcf="results/annotation/annotated.vcf.gz",
            tbi="results/annotation/annotated.vcf.gz.tbi",
            table=ANNOTATION_TABLE,
        log:
            "results/logs/annotation/annotation.log",
        benchmark:
            "results/benchmarks/annotation/annotation.tsv"
        conda:
            "../envs/python.yaml"
        threads: 1
        resources:
            mem_mb=mem(2000),
        script:
            "../scripts/annotation.py"
