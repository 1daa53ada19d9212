# Constants and input functions of rules/sequence_model.smk (the sequence classifier).
SEQ = config["sequence_model"]
SEQ_DIR = "results/sequence_model"
# The values the training reads (paths are inputs; `window` etc. reach it through the windows).
SEQ_TRAIN_PARAMS = {
    k: SEQ[k]
    for k in (
        "windows_from_gff",
        "test_fraction",
        "validation_fraction",
        "epochs",
        "patience",
        "batch_size",
        "filters",
        "kernel_size",
        "pooling",
        "seed",
    )
}

try:
    sequence_model.check_config(config, base_dir=Path.cwd())
except sequence_model.SequenceError as e:
    raise WorkflowError(str(e)) from None


def sequence_model_outputs():
    """The branch's final files ([] unless sequence_model.enabled)."""
    if not SEQ["enabled"]:
        return []
    out = [
        f"{SEQ_DIR}/metrics.json",
        "results/report/sequence_model/training.png",
        "results/report/sequence_model/confusion.png",
    ]
    if SEQ["predict_fasta"]:
        out += [
            f"{SEQ_DIR}/predictions.tsv",
            "results/report/sequence_model/predictions.png",
        ]
    return out


def sequence_model_data(wildcards):
    if SEQ["windows_from_gff"]:
        return f"{SEQ_DIR}/windows.tsv"
    return SEQ["sequences"]
