"""Rule report_sequence_predictions (rules/sequence_model.smk): the predicted classes of
`sequence_model.predict_fasta` and the probability of each prediction."""

import json
from pathlib import Path

from report_sequence_model import plot_predictions
from table_io import read_tsv


def _main(smk):
    arch = json.loads(Path(smk.input.architecture).read_text())
    plot_predictions(read_tsv(smk.input.predictions), arch["classes"], smk.output.predictions)
    Path(smk.log[0]).write_text("done\n")


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
