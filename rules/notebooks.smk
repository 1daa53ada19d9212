# Notebooks that explore results/ (notebooks/*.py.ipynb, their logic in scripts/explore.py):
# Snakemake `notebook:` rules, so that `snakemake --edit-notebook <output>` opens one with
# the job's `snakemake` object (README, Notebooks). The executed notebook is kept
# (log: notebook=) and rule notebook_html turns it into the report's HTML page.
# Each notebook rule also writes the numbers it computed as JSON (its output).
import notebook_html  # scripts/notebook_html.py (scripts/ is on sys.path: common.smk)

# The sequence model's notebook only when that step runs; none with notebooks.enabled
# false (no job, and no "7. Notebooks" section in the report).
NOTEBOOKS = (
    ([] if PREDICT_WITH or SEQUENCE_ONLY else ["explore", "model"])
    + (["sequence_model"] if config["sequence_model"]["enabled"] else [])
    if config["notebooks"]["enabled"]
    else []
)
# What get_final_outputs() requests (rules/common.smk): the pages; with them the .ipynb.
NOTEBOOK_OUTPUTS = [f"results/notebooks/{name}.html" for name in NOTEBOOKS]

# jupyter-nbconvert beside Snakemake's Python first on PATH; kernels over Unix sockets.
os.environ.update(
    notebook_html.jupyter_environment(
        os.environ, Path(sys.executable).parent, WORKFLOW_DIR / "notebooks" / "jupyter"
    )
)


rule notebook_explore:
    input:
        genotypes="results/matrix/genotypes.parquet",
        samples="results/matrix/samples.tsv",
        sites="results/matrix/sites.tsv",
        pca="results/features/pca.tsv",
        variance="results/features/pca_variance.tsv",
        association="results/association/association.tsv",
        association_summary="results/association/association_summary.json",
    output:
        summary="results/notebooks/explore.json",
    log:
        notebook="results/notebooks/explore.ipynb",
    benchmark:
        "results/benchmarks/notebooks/explore.tsv"
    conda:
        "../envs/notebooks.yaml"
    threads: 1
    resources:
        mem_mb=mem(2000),
    params:
        min_call_rate=config["filter"]["min_call_rate"],
    notebook:
        "../notebooks/explore.py.ipynb"


rule notebook_model:
    input:
        metrics="results/model/metrics.json",
        oof="results/model/oof_predictions.tsv",
        importances="results/model/importances.tsv",
        association="results/association/association.tsv",
        genotypes="results/matrix/genotypes.parquet",
        samples="results/matrix/samples.tsv",
        selected="results/features/selected.tsv",
        predictions="results/predict/predictions.tsv",
    output:
        summary="results/notebooks/model.json",
    log:
        notebook="results/notebooks/model.ipynb",
    benchmark:
        "results/benchmarks/notebooks/model.tsv"
    conda:
        "../envs/notebooks.yaml"
    threads: 1
    resources:
        mem_mb=mem(4000),
    params:
        seed=config["model"]["seed"],
    notebook:
        "../notebooks/model.py.ipynb"


# Requested only with sequence_model.enabled (NOTEBOOKS); reads what results/sequence_model/
# holds besides (scripts/explore.py read_sequence_model).
rule notebook_sequence_model:
    input:
        # The training job writes metrics.json with its history and held-out predictions;
        # predictions.tsv of new sequences exists with sequence_model.predict_fasta.
        metrics="results/sequence_model/metrics.json",
        predictions=(
            ["results/sequence_model/predictions.tsv"]
            if config["sequence_model"]["predict_fasta"]
            else []
        ),
    output:
        summary="results/notebooks/sequence_model.json",
    log:
        notebook="results/notebooks/sequence_model.ipynb",
    benchmark:
        "results/benchmarks/notebooks/sequence_model.tsv"
    conda:
        "../envs/notebooks.yaml"
    threads: 1
    resources:
        mem_mb=mem(2000),
    notebook:
        "../notebooks/sequence_model.py.ipynb"


# The notebook rule's output (.json) is an input too: a failed run leaves an empty .ipynb
# (a log), and a missing .json makes the notebook run again instead of converting that.
rule notebook_html:
    input:
        ipynb="results/notebooks/{notebook}.ipynb",
        summary="results/notebooks/{notebook}.json",
    output:
        report(
            "results/notebooks/{notebook}.html",
            caption="../report/notebooks.rst",
            category="7. Notebooks",
            subcategory="{notebook}",
            labels={"notebook": "{notebook}"},
        ),
    log:
        "results/logs/notebooks/{notebook}.html.log",
    benchmark:
        "results/benchmarks/notebooks/{notebook}.html.tsv"
    wildcard_constraints:
        notebook="explore|model|sequence_model",
    conda:
        "../envs/notebooks.yaml"
    threads: 1
    resources:
        mem_mb=mem(1000),
    script:
        "../scripts/notebook_html.py"
