"""Whether cross-validation is possible with a set of labels: two or more classes, each
with at least cv_folds labelled samples. One check for the DAG (scripts/sheets.py, from
the samples sheet) and for the model step (scripts/model.py, from its labels); it imports
neither snakemake nor scikit-learn, so both can use it."""

from collections import Counter


class LabelError(ValueError):
    """The labels allow no cross-validation; the message says what to change."""


def check_labels(labels, cv_folds: int, target: str, where: str) -> None:
    """Raise LabelError when `labels` (class names, "" = unlabelled) allow no
    `cv_folds`-fold stratified CV. `target`: the column (model.target); `where`: the
    message's prefix (file and column)."""
    counts = sorted(Counter(str(x) for x in labels if str(x) != "").items())
    folds = cv_folds
    if not counts:
        raise LabelError(
            f"{where}: no labelled sample (every cell is empty). Fix: give at least "
            f"cv_folds={folds} samples of each of two or more classes a label in column "
            f"'{target}' (model.target), or set predict_with to predict with a saved model."
        )
    if len(counts) < 2:
        raise LabelError(
            f"{where}: only one class ({counts[0][0]!r}, {counts[0][1]} samples); a "
            f"classifier needs two or more. Fix: label samples of another class in "
            f"'{target}', or set model.target to a column with several classes."
        )
    small = [(c, n) for c, n in counts if n < folds]
    if small:
        which = ", ".join(f"{c!r} has {n}" for c, n in small)
        fewest = min(n for _, n in counts)
        raise LabelError(
            f"{where}: class {which} labelled sample(s), fewer than model.cv_folds={folds}. "
            f"Fix: label more samples of that class, or lower model.cv_folds to "
            f"{max(2, fewest)} or less (at least 2)."
            if fewest >= 2
            else f"{where}: class {which} labelled sample(s), fewer than "
            f"model.cv_folds={folds}. Fix: label at least 2 (and cv_folds) samples of "
            "every class, or remove the label of the rare class."
        )
