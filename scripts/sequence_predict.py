"""Rule sequence_model_predict (rules/sequence_model.smk): classify the sequences of
`sequence_model.predict_fasta` with the saved model (scripts/sequence_model.py
load_model: rebuilt from its numbers, no code from the files)."""

from pathlib import Path

from sequence_model import SequenceError, load_model, predict_sequences, read_fasta_records


def _main_predict(smk):
    model, arch = load_model(smk.input.weights, smk.input.architecture, smk.threads)
    records = read_fasta_records(smk.input.fasta, labelled=False)
    table = predict_sequences(model, arch, records)
    table.to_csv(smk.output[0], sep="\t", index=False)
    Path(smk.log[0]).write_text(
        f"{len(table)} sequences: {table['predicted'].value_counts().to_dict()}; "
        f"{table['fitted'].value_counts().to_dict()} (training length {arch['length']})\n"
    )


if "snakemake" in globals():
    try:
        _main_predict(snakemake)  # noqa: F821
    except SequenceError as e:
        Path(snakemake.log[0]).write_text(f"ERROR: {e}\n")  # noqa: F821
        raise
