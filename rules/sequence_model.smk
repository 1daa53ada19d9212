# DNA sequence classifier (config `sequence_model`): a small 1D CNN (Keras 3, JAX CPU)
# on one-hot DNA, trained on labelled sequences or on gene / non-gene windows of the
# reference, with k-mer and GC-content baselines on the same held-out split; predictions
# for new sequences. Runs on its own when no read or VCF step is configured
# (sequence_model.sequence_only, rules/common.smk, which imports scripts/sequence_model.py).
# Needs requirements-sequence.txt.


include: "sequence_model_inputs.smk"


rule sequence_windows:
    input:
        fasta=config["reference"]["fasta"] or [],
        gff=config["annotation"]["gff"] or [],
    output:
        f"{SEQ_DIR}/windows.tsv",
    log:
        "results/logs/sequence_model/windows.log",
    benchmark:
        "results/benchmarks/sequence_model/windows.tsv"
    conda:
        "../envs/sequence_model.yaml"
    threads: 1
    resources:
        mem_mb=mem(2000),
    params:
        sequence_model={k: SEQ[k] for k in ("window", "block_size", "max_per_class", "seed")},
    script:
        "../scripts/sequence_windows.py"


rule sequence_model_train:
    input:
        data=sequence_model_data,
    output:
        metrics=f"{SEQ_DIR}/metrics.json",
        history=f"{SEQ_DIR}/history.tsv",
        test_predictions=f"{SEQ_DIR}/test_predictions.tsv",
        weights=f"{SEQ_DIR}/model.weights.h5",
        architecture=f"{SEQ_DIR}/model.json",
    log:
        "results/logs/sequence_model/train.log",
    benchmark:
        "results/benchmarks/sequence_model/train.tsv"
    conda:
        "../envs/sequence_model.yaml"
    threads: 2
    resources:
        mem_mb=mem(3000),
    params:
        sequence_model=SEQ_TRAIN_PARAMS,
    script:
        "../scripts/sequence_model.py"


rule sequence_model_predict:
    input:
        weights=f"{SEQ_DIR}/model.weights.h5",
        architecture=f"{SEQ_DIR}/model.json",
        fasta=SEQ["predict_fasta"] or [],
    output:
        f"{SEQ_DIR}/predictions.tsv",
    log:
        "results/logs/sequence_model/predict.log",
    benchmark:
        "results/benchmarks/sequence_model/predict.tsv"
    conda:
        "../envs/sequence_model.yaml"
    threads: 2
    resources:
        mem_mb=mem(2000),
    script:
        "../scripts/sequence_predict.py"


rule report_sequence_model:
    input:
        metrics=f"{SEQ_DIR}/metrics.json",
        history=f"{SEQ_DIR}/history.tsv",
    output:
        training=report(
            "results/report/sequence_model/training.png",
            caption="../report/sequence_model.rst",
            category="7. Sequence model",
            labels={"figure": "training curves"},
        ),
        confusion=report(
            "results/report/sequence_model/confusion.png",
            caption="../report/sequence_model.rst",
            category="7. Sequence model",
            labels={"figure": "test confusion matrix, accuracy against the baselines"},
        ),
    log:
        "results/logs/report/sequence_model.log",
    benchmark:
        "results/benchmarks/report/sequence_model.tsv"
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=mem(1000),
    script:
        "../scripts/report_sequence_model.py"


rule report_sequence_predictions:
    input:
        predictions=f"{SEQ_DIR}/predictions.tsv",
        architecture=f"{SEQ_DIR}/model.json",
    output:
        predictions=report(
            "results/report/sequence_model/predictions.png",
            caption="../report/sequence_model.rst",
            category="7. Sequence model",
            labels={"figure": "predictions for new sequences"},
        ),
    log:
        "results/logs/report/sequence_predictions.log",
    benchmark:
        "results/benchmarks/report/sequence_predictions.tsv"
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=mem(1000),
    script:
        "../scripts/report_sequence_predictions.py"
