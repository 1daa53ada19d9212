"""DNA sequence classifier: a small 1D CNN (Keras 3, JAX CPU backend) on one-hot DNA.

Rule sequence_model_train (rules/sequence_model.smk); sequence_model_predict runs
scripts/sequence_predict.py with the functions here.

Data: labelled sequences (FASTA with the label as the second word of each description
line, or a TSV with `sequence` and `label` columns), or genome windows
(scripts/sequence_windows.py: contig, start, block, label, sequence).

No leak between the splits:
- identical sequences are merged before any split (one copy kept; a sequence seen with
  two labels is dropped whole, with its count in metrics.json);
- labelled sequences: stratified random split (test, then validation from training);
- genome windows: whole position blocks go to test, validation or training, never single
  windows, so neighbouring windows are never on both sides.

Network: two Conv1D layers, then flatten (position-aware: aligned sequences such as splice
sites, where the signal sits at the centre) or global max-pooling (position-free: genome
windows); `sequence_model.pooling: auto` picks by the data. Test accuracy, seed 42: UCI
splice 0.967 with flatten, 0.874 with global max; E. coli windows (both strands) 0.850 with
global max, 0.830 with flatten (0.821 with flatten on the forward strand alone).

Strand: labelled sequences are taken in the orientation given. Genome windows are read off
the forward strand, but a gene may lie on either: the CNN is trained on each window and
its reverse complement, and predicts the mean over both strands (model.json `both_strands`).

Encoding: A, C, G, T one-hot; an IUPAC ambiguity code is the mean of the bases it stands
for (N = 0.25 each, R = 0.5 A + 0.5 G); U reads as T. Sequences of other lengths are
centred in the training length (padded with zero rows, longer ones cropped at both ends).

Reproducible on CPU: the seed goes to keras.utils.set_random_seed (Python, NumPy and the
backend's generators); JAX's CPU ops are deterministic and the threads are the rule's.

Saved model, never pickle: `model.weights.h5` (HDF5 arrays only) and `model.json` (the
architecture as plain numbers and the class names). Loading rebuilds the network from
build_model() in this file and reads arrays into it: no Keras config deserialisation, no
custom objects, no code from the files at all (model_io.py's rule for skops, here by
construction); the weights' sha256 in model.json is checked first.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from defaults import with_defaults

IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "U": "T",
    "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}  # fmt: skip
KMER_K = 3  # k-mer counts of the baseline (64 features)
ARCH_VERSION = 1


class SequenceError(ValueError):
    """Bad input data, with file and line and how to fix it."""


# ----------------------------------------------------------------------------- reading


def _check_sequence(seq: str, where: str) -> str:
    seq = seq.strip().upper()
    bad = sorted(set(seq) - set(IUPAC))
    if not seq:
        raise SequenceError(f"{where}: empty sequence")
    if bad:
        raise SequenceError(
            f"{where}: character(s) {''.join(bad)!r} are not nucleotide codes "
            "(A C G T U and IUPAC ambiguity codes R Y S W K M B D H V N)"
        )
    return seq


def read_fasta_records(path, labelled: bool) -> pd.DataFrame:
    """id, sequence (and label: the second word of the description line) of a FASTA."""
    rows, current = [], None
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if line.startswith(">"):
                words = line[1:].split()
                if not words:
                    raise SequenceError(f"{path}, line {lineno}: header without a name")
                if labelled and len(words) < 2:
                    raise SequenceError(
                        f"{path}, line {lineno}: no label; write '>name label' (the label is "
                        "the second word of the description line)"
                    )
                current = [words[0], words[1] if labelled else "", [], lineno]
                rows.append(current)
            elif line:
                if current is None:
                    raise SequenceError(f"{path}, line {lineno}: sequence before any '>' header")
                current[2].append(line)
    if not rows:
        raise SequenceError(f"{path}: no FASTA record")
    out = pd.DataFrame(
        [
            (name, label, _check_sequence("".join(parts), f"{path}, record {name} (line {n})"))
            for name, label, parts, n in rows
        ],
        columns=["id", "label", "sequence"],
    )
    return out if labelled else out.drop(columns="label")


def read_sequences(path) -> pd.DataFrame:
    """Labelled sequences (id, label, sequence) from a FASTA or a TSV (columns sequence
    and label, others ignored); the format is told by the first character ('>')."""
    with open(path) as fh:
        first = next((line for line in fh if line.strip()), "")
    if first.startswith(">"):
        return read_fasta_records(path, labelled=True)
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment=None)
    missing = [c for c in ("sequence", "label") if c not in table.columns]
    if missing:
        raise SequenceError(
            f"{path}, row 1: column(s) {missing} missing; a TSV of labelled sequences needs "
            f"a header with `sequence` and `label` (found {list(table.columns)}), or use a "
            "FASTA with the label as the second word of each header"
        )
    for i, (seq, label) in enumerate(zip(table["sequence"], table["label"], strict=True)):
        where = f"{path}, row {i + 2}"
        if not label.strip():
            raise SequenceError(f"{where}, column label: empty label")
        table.loc[i, "sequence"] = _check_sequence(seq, f"{where}, column sequence")
    table["label"] = table["label"].str.strip()
    ids = table["id"] if "id" in table.columns else [f"row{i + 2}" for i in range(len(table))]
    return pd.DataFrame({"id": ids, "label": table["label"], "sequence": table["sequence"]})


def deduplicate(data: pd.DataFrame):
    """One row per distinct sequence (the first); a sequence seen with two or more labels
    is dropped whole. Returns (table, counts)."""
    labels_per_seq = data.groupby("sequence")["label"].nunique()
    conflicting = set(labels_per_seq.index[labels_per_seq > 1])
    keep = data[~data["sequence"].isin(conflicting)]
    out = keep.drop_duplicates("sequence").reset_index(drop=True)
    counts = {
        "input": len(data),
        "duplicates_removed": int(len(keep) - len(out)),
        "conflicting_sequences_removed": len(conflicting),
        "conflicting_rows_removed": int(len(data) - len(keep)),
        "ambiguous_kept": int((~out["sequence"].str.fullmatch("[ACGT]+")).sum()),
        "distinct": len(out),
    }
    return out, counts


# ----------------------------------------------------------------------------- config


def sequence_only(config: dict) -> bool:
    """True when only the sequence classifier is asked for: it is enabled and no read or
    VCF step is configured (no `input_vcf`, `predict_with` or demo, and the sheets are
    still the template's examples, config/samples.tsv and config/units.tsv). Such a run
    reads no sheet and plans only the sequence-model jobs (rules/common.smk)."""
    from defaults import schema_defaults

    default = schema_defaults()
    return bool(
        config["sequence_model"]["enabled"]
        and not config.get("input_vcf")
        and not config.get("predict_with")
        and not config["demo"]["enabled"]
        and config["samples"] == default["samples"]
        and config["units"] == default["units"]
    )


def no_samples(config: dict) -> pd.DataFrame:
    """An empty samples sheet (sample, the target column): a sequence-only run has none."""
    columns = ["sample", config["model"]["target"]]
    return pd.DataFrame({c: pd.Series(dtype=str) for c in columns}).set_index("sample", drop=False)


def check_config(config: dict, base_dir=".") -> None:
    """The sequence model's inputs are set and exist; SequenceError says which key to fix."""
    p = config["sequence_model"]
    if not p["enabled"]:
        return
    base = Path(base_dir)
    problems = []
    if bool(p["sequences"]) == bool(p["windows_from_gff"]):
        problems.append(
            "sequence_model: set exactly one of `sequences` (a labelled FASTA or TSV) and "
            "`windows_from_gff: true` (windows of reference.fasta labelled by annotation.gff)"
        )
    files = [("sequence_model.sequences", p["sequences"]), ("sequence_model.predict_fasta",
             p["predict_fasta"])]  # fmt: skip
    if p["windows_from_gff"]:
        for key, value in (
            ("reference.fasta", config["reference"]["fasta"]),
            ("annotation.gff", config.get("annotation", {}).get("gff", "")),
        ):
            if not value:
                problems.append(f"config: {key}: not set; sequence_model.windows_from_gff needs it")
            files.append((key, value))
    for key, value in files:
        if value and not (base / value).is_file():
            problems.append(f"config: {key}: {value!r} does not exist (relative to {base})")
    if problems:
        raise SequenceError("\n".join(problems))


# ----------------------------------------------------------------------------- encoding


def _lookup() -> np.ndarray:
    table = np.zeros((256, 4), dtype=np.float32)
    for code, bases in IUPAC.items():
        for base in bases:
            table[ord(code), "ACGT".index(base)] = 1.0 / len(bases)
    return table


LOOKUP = _lookup()


def fit_length(seq: str, length: int) -> str:
    """`seq` centred in `length`: padded with '-' (a zero row) or cropped at both ends."""
    if len(seq) > length:
        cut = (len(seq) - length) // 2
        return seq[cut : cut + length]
    left = (length - len(seq)) // 2
    return "-" * left + seq + "-" * (length - len(seq) - left)


def one_hot(seqs, length: int) -> np.ndarray:
    """(n, length, 4) float32 one-hot of the sequences, each centred in `length`."""
    codes = np.frombuffer("".join(fit_length(s, length) for s in seqs).encode(), np.uint8)
    return LOOKUP[codes].reshape(len(seqs), length, 4)


def kmer_counts(seqs, k: int = KMER_K) -> np.ndarray:
    """(n, 4**k) counts of the ACGT k-mers (a k-mer with another code is skipped)."""
    index = {c: i for i, c in enumerate("ACGT")}
    out = np.zeros((len(seqs), 4**k), dtype=np.float32)
    for row, seq in enumerate(seqs):
        codes = np.array([index.get(c, -1) for c in seq])
        if len(codes) < k:
            continue
        win = np.lib.stride_tricks.sliding_window_view(codes, k)
        ok = (win >= 0).all(axis=1)
        ids = (win[ok] * (4 ** np.arange(k - 1, -1, -1))).sum(axis=1)
        out[row] = np.bincount(ids, minlength=4**k)
    return out


def gc_content(seqs) -> np.ndarray:
    """(n, 1) share of G or C among the A/C/G/T bases of each sequence."""
    out = []
    for s in seqs:
        acgt = sum(s.count(b) for b in "ACGT")
        out.append((s.count("G") + s.count("C")) / acgt if acgt else 0.5)
    return np.array(out, dtype=np.float64)[:, None]


# ----------------------------------------------------------------------------- splits


def split_random(labels, test_fraction: float, val_fraction: float, seed: int) -> np.ndarray:
    """'train' / 'validation' / 'test' per row: stratified random split."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    labels = np.asarray(labels)
    train, test = train_test_split(idx, test_size=test_fraction, stratify=labels, random_state=seed)
    train, val = train_test_split(
        train, test_size=val_fraction, stratify=labels[train], random_state=seed
    )
    out = np.full(len(labels), "train", dtype=object)
    out[test], out[val] = "test", "validation"
    return out


def split_blocks(blocks, test_fraction: float, val_fraction: float, seed: int) -> np.ndarray:
    """'train' / 'validation' / 'test' per row, whole position blocks at a time: blocks in a
    seeded random order fill the test set up to `test_fraction` of the rows, then the
    validation set up to `val_fraction` of the rest."""
    blocks = np.asarray(blocks)
    ids, counts = np.unique(blocks, return_counts=True)
    if len(ids) < 3:
        raise SequenceError(
            f"{len(ids)} position block(s): need at least 3 to split whole blocks into "
            "train, validation and test; lower sequence_model.block_size"
        )
    order = np.random.default_rng(seed).permutation(len(ids))
    n = len(blocks)
    assign, filled = {}, {"test": 0, "validation": 0}
    goal = {"test": test_fraction * n, "validation": val_fraction * (1 - test_fraction) * n}
    for i in order:
        part = next((p for p in ("test", "validation") if filled[p] < goal[p]), "train")
        if part != "train":
            filled[part] += counts[i]
        assign[ids[i]] = part
    return np.array([assign[b] for b in blocks], dtype=object)


# ----------------------------------------------------------------------------- backend


def configure_backend(threads: int) -> None:
    """Keras on JAX's CPU backend with `threads` threads; before the first keras import."""
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    threads = max(int(threads), 1)
    os.environ["XLA_FLAGS"] = (
        f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
        f"intra_op_parallelism_threads={threads}"
    )
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != "jax":
            raise RuntimeError(f"keras was imported with the {keras.backend.backend()} backend")


POOLINGS = ("flatten", "global_max")


def resolve_pooling(pooling: str, windows: bool) -> str:
    """`auto`: global max-pooling for genome windows (a gene signal sits anywhere in the
    window), flatten for labelled sequences (aligned: a splice site sits at the centre)."""
    if pooling == "auto":
        return "global_max" if windows else "flatten"
    if pooling not in POOLINGS:
        raise SequenceError(f"sequence_model.pooling: {pooling!r}; use auto, flatten or global_max")
    return pooling


def build_model(
    length: int,
    n_classes: int,
    filters: int,
    kernel_size: int,
    pooling: str = "flatten",
    seed: int = 0,
):
    """Conv1D (ReLU) -> max-pool 3 -> Conv1D (ReLU) -> flatten (position-aware) or global
    max-pool (position-free) -> dropout 0.3 -> dense 32 -> softmax over the classes. Only
    built-in layers, built here; nothing is deserialised."""
    import keras
    from keras import layers

    if pooling not in POOLINGS:
        raise SequenceError(f"pooling {pooling!r}: not one of {POOLINGS}")
    model = keras.Sequential(
        [
            keras.Input((length, 4)),
            layers.Conv1D(filters, kernel_size, activation="relu", padding="same"),
            layers.MaxPooling1D(3),
            layers.Conv1D(filters, 5, activation="relu", padding="same"),
            layers.Flatten() if pooling == "flatten" else layers.GlobalMaxPooling1D(),
            layers.Dropout(0.3, seed=seed),
            layers.Dense(32, activation="relu"),
            layers.Dense(n_classes, activation="softmax"),
        ]
    )
    return model


def reverse_complement(x: np.ndarray) -> np.ndarray:
    """One-hot (n, length, 4) of the reverse complements (ACGT order: reversing the
    channels complements)."""
    return x[:, ::-1, ::-1]


def train_cnn(x, y, split, classes, params: dict, threads: int = 2):
    """Fit on 'train' with early stopping on 'validation'; returns (model, history)."""
    configure_backend(threads)
    import keras

    keras.utils.set_random_seed(params["seed"])
    arch = architecture(x.shape[1], classes, params)
    model = build_model(
        **{k: arch[k] for k in ("length", "n_classes", "filters", "kernel_size", "pooling")},
        seed=params["seed"],
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    tr, va = split == "train", split == "validation"
    xt, yt, xv, yv = x[tr], y[tr], x[va], y[va]
    if arch["both_strands"]:  # genome windows: either strand may be the gene's
        xt, yt = np.concatenate([xt, reverse_complement(xt)]), np.concatenate([yt, yt])
        xv, yv = np.concatenate([xv, reverse_complement(xv)]), np.concatenate([yv, yv])
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=params["patience"], restore_best_weights=True
    )
    fit = model.fit(
        xt,
        yt,
        validation_data=(xv, yv),
        epochs=params["epochs"],
        batch_size=params["batch_size"],
        callbacks=[stop],
        shuffle=True,
        verbose=0,
    )
    history = pd.DataFrame(fit.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    history["best"] = history["val_loss"] == history["val_loss"].min()
    return model, history


def architecture(length: int, classes, params: dict) -> dict:
    """What load_model() needs to rebuild the network: numbers and names only."""
    return {
        "format": "reads2pheno sequence CNN",
        "version": ARCH_VERSION,
        "length": int(length),
        "n_classes": len(classes),
        "classes": [str(c) for c in classes],
        "filters": int(params["filters"]),
        "kernel_size": int(params["kernel_size"]),
        "pooling": params["pooling"],
        "both_strands": bool(params["both_strands"]),
    }


def predict_proba(model, x, both_strands: bool = False) -> np.ndarray:
    """Class probabilities; with `both_strands`, the mean over each sequence and its
    reverse complement (the same answer for either strand)."""
    proba = np.asarray(model.predict(x, batch_size=256, verbose=0), dtype=np.float64)
    if both_strands:
        rc = model.predict(reverse_complement(x), batch_size=256, verbose=0)
        proba = (proba + np.asarray(rc, dtype=np.float64)) / 2
    return proba


# ----------------------------------------------------------------------------- metrics


def classification_metrics(y_true, proba, classes) -> dict:
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    pred = proba.argmax(axis=1)
    labels = np.arange(len(classes))
    p, r, f, n = precision_recall_fscore_support(y_true, pred, labels=labels, zero_division=0)
    if len(classes) == 2:
        auc = roc_auc_score(y_true, proba[:, 1])
    else:
        auc = roc_auc_score(y_true, proba, multi_class="ovr", average="macro", labels=labels)
    return {
        "accuracy": round(float(accuracy_score(y_true, pred)), 4),
        "roc_auc": round(float(auc), 4),
        "roc_auc_method": "binary" if len(classes) == 2 else "one-vs-rest, macro average",
        "per_class": {
            str(c): {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(n[i]),
            }
            for i, c in enumerate(classes)
        },
        "confusion_matrix": {
            "labels": [str(c) for c in classes],
            "rows_true_columns_predicted": confusion_matrix(y_true, pred, labels=labels).tolist(),
        },
    }


def baseline_accuracy(features, y, split) -> float:
    """Standardised logistic regression fitted on train + validation, scored on test."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    fit = split != "test"
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    clf.fit(features[fit], y[fit])
    return round(float(clf.score(features[~fit], y[~fit])), 4)


# ----------------------------------------------------------------------------- whole step


def run(data: pd.DataFrame, params: dict, windows: bool, threads: int = 2):
    """Deduplicate, split, train the CNN and the baselines, score on test.

    `data`: id/label/sequence (labelled sequences) or the windows table (with `block`).
    Returns dict(metrics, history, test_predictions, model, architecture)."""
    params = with_defaults("sequence_model", params)
    # Genome windows come from either strand of a gene: trained on both strands and
    # predicted as the mean of both; labelled sequences keep the orientation they have.
    params = dict(params, pooling=resolve_pooling(params["pooling"], windows), both_strands=windows)
    start = time.perf_counter()
    data, counts = deduplicate(data)
    classes = sorted(data["label"].unique())
    if len(classes) < 2:
        raise SequenceError(f"labelled sequences: one class only ({classes}); need two or more")
    small = data["label"].value_counts()
    if small.min() < 5:
        raise SequenceError(
            f"labelled sequences: class {small.idxmin()!r} has {small.min()} distinct "
            "sequence(s); each class needs at least 5 to reach train, validation and test"
        )
    y = data["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    vf, tf, seed = params["validation_fraction"], params["test_fraction"], params["seed"]
    if windows:
        split = split_blocks(data["block"], tf, vf, seed)
    else:
        split = split_random(data["label"], tf, vf, seed)
    seqs = data["sequence"].tolist()
    length = max(len(s) for s in seqs)
    x = one_hot(seqs, length)
    model, history = train_cnn(x, y, split, classes, params, threads)
    test = split == "test"
    proba = predict_proba(model, x[test], windows)
    metrics = classification_metrics(y[test], proba, classes)
    baselines = {
        f"kmer{KMER_K}_logistic": baseline_accuracy(kmer_counts(seqs), y, split),
        "gc_logistic": baseline_accuracy(gc_content(seqs), y, split),
    }
    main_baseline = "gc_logistic" if windows else f"kmer{KMER_K}_logistic"
    metrics = {
        "accuracy": metrics.pop("accuracy"),
        "baseline_accuracy": baselines[main_baseline],
        "baseline": main_baseline,
        "baselines": baselines,
        "majority_accuracy": round(float(np.mean(y[test] == np.bincount(y[~test]).argmax())), 4),
        **metrics,
        "classes": [str(c) for c in classes],
        "sequence_length": int(length),
        "data": counts,
        "split": {
            "method": "whole position blocks" if windows else "stratified random",
            **{part: int((split == part).sum()) for part in ("train", "validation", "test")},
            "test_class_counts": {str(c): int((y[test] == i).sum()) for i, c in enumerate(classes)},
        },
        "epochs_trained": len(history),
        "best_epoch": int(history.loc[history["best"], "epoch"].iloc[0]),
        "seed": seed,
        "pooling": params["pooling"],
        "both_strands": windows,
        "train_seconds": round(time.perf_counter() - start, 1),
    }
    if windows:
        blocks = {p: sorted(set(data.loc[split == p, "block"])) for p in ("train", "test")}
        assert not set(blocks["train"]) & set(blocks["test"])
        metrics["split"]["test_blocks"] = len(blocks["test"])
    test_predictions = data.loc[test, [c for c in ("id", "contig", "start") if c in data]]
    test_predictions = test_predictions.assign(
        true=data.loc[test, "label"].to_numpy(),
        predicted=np.asarray(classes)[proba.argmax(axis=1)],
        **{f"p_{c}": proba[:, i].round(6) for i, c in enumerate(classes)},
    )
    return {
        "metrics": metrics,
        "history": history,
        "test_predictions": test_predictions.reset_index(drop=True),
        "model": model,
        "architecture": architecture(length, classes, params),
    }


# ----------------------------------------------------------------------------- model files


def save_model(model, arch: dict, weights_path, arch_path) -> None:
    """Weights as HDF5 arrays (`.weights.h5`), the architecture as JSON numbers."""
    from model_io import sha256  # in the job only: common.smk imports this module

    model.save_weights(str(weights_path))
    out = dict(arch, weights_sha256=sha256(weights_path))
    Path(arch_path).write_text(json.dumps(out, indent=2) + "\n")


def load_model(weights_path, arch_path, threads: int = 2):
    """Rebuild the network with build_model() from the JSON's numbers and read the weights
    into it. Runs no code from either file (module docstring)."""
    from model_io import sha256

    arch = json.loads(Path(arch_path).read_text())
    if arch.get("format") != "reads2pheno sequence CNN" or arch.get("version") != ARCH_VERSION:
        raise SequenceError(f"{arch_path}: not a sequence model file of this workflow")
    if sha256(weights_path) != arch["weights_sha256"]:
        raise SequenceError(
            f"{weights_path}: sha256 differs from {arch_path}; the weights were changed or "
            "belong to another model"
        )
    configure_backend(threads)
    model = build_model(
        length=int(arch["length"]),
        n_classes=int(arch["n_classes"]),
        filters=int(arch["filters"]),
        kernel_size=int(arch["kernel_size"]),
        pooling=str(arch["pooling"]),
    )
    model.load_weights(str(weights_path))
    return model, arch


def predict_sequences(model, arch: dict, records: pd.DataFrame) -> pd.DataFrame:
    """id, length, fitted (as is / padded / cropped), predicted class, class probabilities."""
    length = arch["length"]
    seqs = records["sequence"].tolist()
    x = one_hot(seqs, length)
    proba = predict_proba(model, x, bool(arch["both_strands"])) if seqs else np.zeros((0, 1))
    lengths = np.array([len(s) for s in seqs], dtype=int)
    classes = arch["classes"]
    return pd.DataFrame(
        {
            "id": records["id"].to_numpy(),
            "length": lengths,
            "fitted": np.where(
                lengths == length, "as_is", np.where(lengths < length, "padded", "cropped")
            ),
            "predicted": np.asarray(classes)[proba.argmax(axis=1)] if seqs else [],
            **{f"p_{c}": proba[:, i].round(6) for i, c in enumerate(classes)},
        }
    )


# ----------------------------------------------------------------------------- rule edge


def _main_train(smk):
    params = smk.params.sequence_model
    windows = bool(params["windows_from_gff"])
    if windows:
        data = pd.read_csv(smk.input.data, sep="\t", dtype={"contig": str})
    else:
        data = read_sequences(smk.input.data)
    out = run(data, params, windows=windows, threads=smk.threads)
    Path(smk.output.metrics).write_text(json.dumps(out["metrics"], indent=2) + "\n")
    out["history"].to_csv(smk.output.history, sep="\t", index=False)
    out["test_predictions"].to_csv(smk.output.test_predictions, sep="\t", index=False)
    save_model(out["model"], out["architecture"], smk.output.weights, smk.output.architecture)
    m = out["metrics"]
    Path(smk.log[0]).write_text(
        f"data: {m['data']}\nsplit: {m['split']}\n"
        f"test accuracy {m['accuracy']} (baseline {m['baseline']} {m['baseline_accuracy']}), "
        f"ROC AUC {m['roc_auc']}, epochs {m['epochs_trained']}, {m['train_seconds']} s\n"
    )


if "snakemake" in globals():
    try:
        _main_train(snakemake)  # noqa: F821
    except (SequenceError, ValueError) as e:
        Path(snakemake.log[0]).write_text(f"ERROR: {e}\n")  # noqa: F821
        raise
