# Report: matplotlib figures (scripts/report_<group>.py, styled by scripts/plot_style.py;
# QC parsers in scripts/qc.py), registered for
# `snakemake --report results/report.html` with captions in report/; a per-sample
# summary table (scripts/summary.py); MultiQC over the read and mapping QC.
# One rule per figure group, so the DAG does not grow with the samples.
include: "report_inputs.smk"


report: "../report/workflow.rst"


rule summary:
    input:
        unpack(summary_inputs),
    output:
        table="results/summary.tsv",
        cohort="results/summary.json",
    log:
        "results/logs/report/summary.log",
    benchmark:
        "results/benchmarks/report/summary.tsv"
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        # 1.1 GB measured at 100 and at 1,000 samples x 15,000 sites (bench/results/
        # cohort_steps.md), + 3x the genotype matrix it reads (int8 in memory, ~1.2x
        # its parquet).
        mem_mb=mem(2000, per_input_mb=3, inputs=["genotypes"]),
    params:
        samples=SAMPLES,
    script:
        "../scripts/summary.py"


rule report_predictions:
    input:
        predictions="results/predict/predictions.tsv",
    output:
        report(
            "results/report/model/predictions.png",
            caption="../report/predictions.rst",
            category="6. Model",
            subcategory="Predictions",
            labels={"figure": "predictions for new samples"},
        ),
    log:
        "results/logs/report/predictions.log",
    benchmark:
        "results/benchmarks/report/predictions.tsv"
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=mem(1000),
    script:
        "../scripts/report_predictions.py"


if FROM_READS:

    rule report_qc:
        input:
            qc=qc_records(),  # one per sample: trimming, flagstat, depth (markdup)
        output:
            reads=report(
                "results/report/qc/reads.png",
                caption="../report/qc_reads.rst",
                category="1. QC",
                subcategory="Reads",
                labels={"figure": "reads before and after trimming"},
            ),
            mapping=report(
                "results/report/qc/mapping.png",
                caption="../report/qc_mapping.rst",
                category="2. Mapping",
                subcategory="Mapping",
                labels={"figure": "mapping rate, pairs, duplicates, depth"},
            ),
            depth=report(
                "results/report/qc/depth.png",
                caption="../report/qc_depth.rst",
                category="2. Mapping",
                subcategory="Depth",
                labels={"figure": "depth distribution"},
            ),
        log:
            "results/logs/report/qc.log",
        benchmark:
            "results/benchmarks/report/qc.tsv"
        conda:
            "../envs/report.yaml"
        threads: 1
        resources:
            mem_mb=mem(1000),
        script:
            "../scripts/report_qc.py"

    rule multiqc:
        input:
            fastqc=fastqc_reports(),
            trim_logs=[trim_log(s, u) for s, u in unit_pairs()],
            bamstats=bamstats_files(),
            vcf_stats="results/calls/cohort.stats.txt",
        output:
            html=report(
                "results/multiqc/multiqc_report.html",
                caption="../report/multiqc.rst",
                category="1. QC",
                subcategory="MultiQC",
                labels={"figure": "MultiQC report"},
            ),
            data=directory("results/multiqc/multiqc_report_data"),
        log:
            "results/logs/report/multiqc.log",
        benchmark:
            "results/benchmarks/report/multiqc.tsv"
        conda:
            "../envs/multiqc.yaml"
        threads: 1
        resources:
            mem_mb=mem(2000),
        params:
            # Cutadapt logs are linked as <sample>.<unit>.cutadapt.log (scripts/multiqc.py).
            names=[f"{s}.{u}" for s, u in unit_pairs()],
        script:
            "../scripts/multiqc.py"


if not PREDICT_WITH:

    rule report_variants:
        input:
            vcf=COHORT_VCF,
            filtered="results/filter/filtered.bcf",
            counts="results/filter/filter_counts.tsv",
            sites="results/matrix/sites.tsv",
            samples="results/matrix/samples.tsv",
        output:
            filters=report(
                "results/report/variants/filters.png",
                caption="../report/variants_filters.rst",
                category="3. Variants",
                subcategory="Filters",
                labels={"figure": "sites remaining after each filter"},
            ),
            sites=report(
                "results/report/variants/sites.png",
                caption="../report/variants_sites.rst",
                category="3. Variants",
                subcategory="Sites",
                labels={"figure": "Ts/Tv, QUAL, DP, allele frequencies"},
            ),
            samples=report(
                "results/report/variants/samples.png",
                caption="../report/variants_samples.rst",
                category="3. Variants",
                subcategory="Samples",
                labels={"figure": "missingness and heterozygosity per sample"},
            ),
        log:
            "results/logs/report/variants.log",
        benchmark:
            "results/benchmarks/report/variants.tsv"
        conda:
            "../envs/report.yaml"
        threads: 1
        resources:
            mem_mb=mem(2000),
        params:
            filter=config["filter"],
        script:
            "../scripts/report_variants.py"

    rule report_population:
        input:
            pca="results/features/pca.tsv",
            variance="results/features/pca_variance.tsv",
            samples="results/matrix/samples.tsv",
        output:
            [
                report(
                    f"results/report/population/pca_{report_file_name(c)}.png",
                    caption="../report/pca.rst",
                    category="4. Population structure",
                    subcategory="PCA",
                    labels={"figure": f"PCA coloured by {c}"},
                )
                for c in PCA_COLOURS
            ],
        log:
            "results/logs/report/population.log",
        benchmark:
            "results/benchmarks/report/population.tsv"
        conda:
            "../envs/report.yaml"
        threads: 1
        resources:
            mem_mb=mem(1000),
        params:
            columns=PCA_COLOURS,
        script:
            "../scripts/report_population.py"

    rule report_consequences:
        input:
            sites="results/matrix/sites.tsv",
            selected="results/features/selected.tsv",
        output:
            figure=report(
                "results/report/annotation/consequences.png",
                caption="../report/consequences.rst",
                category="3. Variants",
                subcategory="Consequences",
                labels={"figure": "Variant consequences"},
            ),
        log:
            "results/logs/report/consequences.log",
        benchmark:
            "results/benchmarks/report/consequences.tsv"
        conda:
            "../envs/report.yaml"
        threads: 1
        resources:
            mem_mb=mem(1000),
        script:
            "../scripts/report_consequences.py"

    rule report_association:
        input:
            table="results/association/association.tsv",
            summary="results/association/association_summary.json",
        output:
            manhattan=report(
                "results/report/association/manhattan.png",
                caption="../report/manhattan.rst",
                category="5. Association",
                subcategory="Manhattan",
                labels={"figure": "Manhattan plot"},
            ),
            qq=report(
                "results/report/association/qq.png",
                caption="../report/qq.rst",
                category="5. Association",
                subcategory="QQ",
                labels={"figure": "QQ plot"},
            ),
        log:
            "results/logs/report/association.log",
        benchmark:
            "results/benchmarks/report/association.tsv"
        conda:
            "../envs/report.yaml"
        threads: 1
        resources:
            mem_mb=mem(1000),
        script:
            "../scripts/report_association.py"

    rule report_model:
        input:
            metrics="results/model/metrics.json",
            oof="results/model/oof_predictions.tsv",
            importances="results/model/importances.tsv",
        output:
            roc=report(
                "results/report/model/roc.png",
                caption="../report/roc.rst",
                category="6. Model",
                subcategory="Cross-validation",
                labels={"figure": "ROC curves per CV fold"},
            ),
            confusion=report(
                "results/report/model/confusion.png",
                caption="../report/confusion.rst",
                category="6. Model",
                subcategory="Cross-validation",
                labels={"figure": "confusion matrix"},
            ),
            null=report(
                "results/report/model/shuffled.png",
                caption="../report/shuffled.rst",
                category="6. Model",
                subcategory="Cross-validation",
                labels={"figure": "real vs shuffled labels"},
            ),
            importances=report(
                "results/report/model/importances.png",
                caption="../report/importances.rst",
                category="6. Model",
                subcategory="Importances",
                labels={"figure": "top feature importances"},
            ),
        log:
            "results/logs/report/model.log",
        benchmark:
            "results/benchmarks/report/model.tsv"
        conda:
            "../envs/report.yaml"
        threads: 1
        resources:
            mem_mb=mem(1000),
        params:
            top_n=REPORT["top_n"],
        script:
            "../scripts/report_model.py"
