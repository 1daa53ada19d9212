# The classifier (model.learner: random forest by default, logistic, gradient
# boosting or auto = nested choice) on the labelled samples: repeated stratified
# CV with every fitted step inside the folds (model.compare: every learner on
# the same folds), the same CV on shuffled labels, then a final model refit on
# all labelled samples and saved with skops. Reads only the LD-kept columns.
rule model:
    input:
        labels_checked,
        genotypes="results/matrix/genotypes.parquet",
        samples="results/matrix/samples.tsv",
        sites="results/matrix/sites.tsv",
        selected="results/features/selected.tsv",
    output:
        metrics="results/model/metrics.json",
        oof="results/model/oof_predictions.tsv",
        importances="results/model/importances.tsv",
        model="results/model/model.skops",
    log:
        "results/logs/model/model.log",
    benchmark:
        "results/benchmarks/model/model.tsv"
    conda:
        "../envs/python.yaml"
    threads: config["model"]["n_jobs"]
    resources:
        mem_mb=mem(4000),
    params:
        # n_jobs is the rule's threads: more cores never rerun the model.
        model={k: v for k, v in config["model"].items() if k != "n_jobs"},
        # Recorded in the model file's metadata (provenance).
        filter=config["filter"],
        features=config["features"],
    script:
        "../scripts/model.py"
