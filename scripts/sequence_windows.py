"""Labelled genome windows for the sequence classifier (scripts/sequence_model.py).

The reference is cut into non-overlapping windows of `window` bp (from position 1 of
each contig; a last piece shorter than `window` is dropped). A window is

- `gene` when every base lies inside a CDS feature of the GFF,
- `non_gene` when no base lies inside any gene-like feature (gene, pseudogene, CDS,
  exon, any *RNA or transcript; `region`, `repeat_region`, `mobile_genetic_element`,
  `sequence_feature`, `origin_of_replication` and other non-gene types do not count),
- dropped otherwise (partly coding, or inside a non-coding gene).

Strand: windows are read off the reference's forward strand as they are, whatever the
strand of the gene; the classifier trains on both strands of each window and predicts the
mean over both (scripts/sequence_model.py), so a gene on either strand looks the same.

Sampling: the classes are balanced by sampling the same number of windows from each,
`min(smallest class, max_per_class)`, with the seed (E. coli: ~88 % of the genome is CDS).

Each window keeps its contig and start, and the position `block` (start // block_size) it
falls in: scripts/sequence_model.py splits by whole blocks, never window by window, so
neighbouring (correlated) windows never sit on both sides of the split.

The GFF is parsed here on purpose (column 3 type, 1-based inclusive coordinates); a
malformed line stops with the file and line number.
"""

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

GENE_TYPES = {"gene", "pseudogene", "cds", "exon", "transcript", "mrna", "primary_transcript"}
NOT_GENE_TYPES = {
    "region",
    "repeat_region",
    "mobile_genetic_element",
    "sequence_feature",
    "origin_of_replication",
    "chromosome",
    "source",
}


class WindowError(ValueError):
    """A problem with the reference or the GFF, with file and line."""


def _open(path):
    path = str(path)
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt") if gz else open(path)


def is_gene_type(feature_type: str) -> bool:
    t = feature_type.lower()
    if t in NOT_GENE_TYPES:
        return False
    return t in GENE_TYPES or t.endswith("rna") or t.endswith("_gene_segment")


def read_gff_intervals(path) -> dict:
    """{contig: {"cds": [(start0, end0)], "gene": [(start0, end0)]}} half-open 0-based
    intervals of the CDS and of every gene-like feature (CDS included) of a GFF3/GTF."""
    out = {}
    with _open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("##FASTA"):
                break
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 8:
                raise WindowError(
                    f"{path}, line {lineno}: {len(fields)} tab-separated columns, a GFF line "
                    "has 9 (seqid, source, type, start, end, score, strand, phase, "
                    "attributes); fix or remove the line"
                )
            contig, ftype = fields[0], fields[2]
            try:
                start, end = int(fields[3]), int(fields[4])
            except ValueError:
                raise WindowError(
                    f"{path}, line {lineno}, columns 4-5: start/end {fields[3]!r}, "
                    f"{fields[4]!r} are not integers (1-based, inclusive)"
                ) from None
            if start < 1 or end < start:
                raise WindowError(
                    f"{path}, line {lineno}: start {start} / end {end}: need 1 <= start <= end"
                )
            if not is_gene_type(ftype):
                continue
            iv = out.setdefault(contig, {"cds": [], "gene": []})
            iv["gene"].append((start - 1, end))
            if ftype.lower() == "cds":
                iv["cds"].append((start - 1, end))
    return out


def read_fasta(path) -> dict:
    """{name: upper-case sequence} of a (gzip) FASTA; the name is the first word."""
    seqs, name, parts = {}, None, []
    with _open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if line.startswith(">"):
                if name is not None:
                    seqs[name] = "".join(parts)
                name, parts = (line[1:].split() or [""])[0], []
                if not name or name in seqs:
                    raise WindowError(f"{path}, line {lineno}: empty or repeated record name")
            elif line:
                if name is None:
                    raise WindowError(f"{path}, line {lineno}: sequence before any '>' header")
                parts.append(line.upper())
    if name is not None:
        seqs[name] = "".join(parts)
    if not seqs:
        raise WindowError(f"{path}: no FASTA record")
    return seqs


def _mask(length: int, intervals) -> np.ndarray:
    """Boolean coverage of [0, length) by half-open intervals (clipped to the contig)."""
    diff = np.zeros(length + 1, dtype=np.int32)
    for s, e in intervals:
        s, e = min(s, length), min(e, length)
        diff[s] += 1
        diff[e] -= 1
    return np.cumsum(diff[:-1]) > 0


def label_windows(genome: dict, intervals: dict, window: int, block_size: int) -> pd.DataFrame:
    """Every labelled window: contig, start (0-based), block, label, sequence."""
    rows = []
    for contig, seq in genome.items():
        n = len(seq) // window
        if n == 0:
            continue
        iv = intervals.get(contig, {"cds": [], "gene": []})
        cds = _mask(len(seq), iv["cds"])[: n * window].reshape(n, window).all(axis=1)
        gene = _mask(len(seq), iv["gene"])[: n * window].reshape(n, window).any(axis=1)
        for i in np.flatnonzero(cds | ~gene):
            start = int(i) * window
            rows.append(
                (contig, start, start // block_size, "gene" if cds[i] else "non_gene",
                 seq[start : start + window])
            )  # fmt: skip
    return pd.DataFrame(rows, columns=["contig", "start", "block", "label", "sequence"])


def balance(windows: pd.DataFrame, max_per_class: int, seed: int) -> pd.DataFrame:
    """The same number of windows of each class (the smallest class, at most
    `max_per_class`), drawn with `seed`; returned in genome order."""
    counts = windows["label"].value_counts()
    n = int(min(counts.min(), max_per_class))
    rng = np.random.default_rng(seed)
    keep = [
        rng.choice(np.flatnonzero(windows["label"].to_numpy() == label), n, replace=False)
        for label in sorted(counts.index)
    ]
    return windows.iloc[np.sort(np.concatenate(keep))].reset_index(drop=True)


def genome_windows(
    fasta, gff, window: int, block_size: int, max_per_class: int, seed: int
) -> pd.DataFrame:
    """Balanced labelled windows of `fasta` by the features of `gff` (module docstring)."""
    genome = read_fasta(fasta)
    intervals = read_gff_intervals(gff)
    unknown = sorted(set(intervals) - set(genome))
    if intervals and not set(intervals) & set(genome):
        raise WindowError(
            f"{gff}: no contig of the GFF ({', '.join(unknown[:3])}) is in {fasta} "
            f"({', '.join(list(genome)[:3])}); use the annotation of this reference"
        )
    windows = label_windows(genome, intervals, window, block_size)
    found = set(windows["label"])
    if found != {"gene", "non_gene"}:
        raise WindowError(
            f"{fasta} + {gff}: windows of {window} bp give only {sorted(found) or 'no'} "
            "class(es); need both gene (inside a CDS) and non_gene (outside any gene): "
            "lower sequence_model.window or check the annotation"
        )
    return balance(windows, max_per_class, seed)


def _main(smk):
    p = smk.params.sequence_model
    try:
        windows = genome_windows(
            smk.input.fasta,
            smk.input.gff,
            p["window"],
            p["block_size"],
            p["max_per_class"],
            p["seed"],
        )
    except WindowError as e:
        Path(smk.log[0]).write_text(f"ERROR: {e}\n")
        raise
    windows.to_csv(smk.output[0], sep="\t", index=False)
    Path(smk.log[0]).write_text(
        f"{len(windows)} windows of {p['window']} bp: {windows['label'].value_counts().to_dict()}"
        f" in {windows['block'].nunique()} blocks of {p['block_size']} bp\n"
    )


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
