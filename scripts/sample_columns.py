"""Column names of the matrix step's samples table (results/matrix/samples.tsv,
scripts/matrix.py), for every reader of it, also at parse time (rules/report_inputs.smk):
no imports."""

# Computed by scripts/matrix.py; `label` = the samples sheet's target column.
SAMPLE_COLUMNS = ["sample", "call_rate", "heterozygosity", "label"]


def sheet_column(col: str, target: str) -> str:
    """The name the samples sheet's column `col` has in the samples table: its own,
    or `sheet_<col>` when it clashes with a computed column (the target named `label`
    is the label itself)."""
    if col == target == "label":
        return "label"
    return f"sheet_{col}" if col in SAMPLE_COLUMNS else col
