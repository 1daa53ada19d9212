"""Split a reference (its .fai) into N chunks of near-equal length for scattered calling.

A chunk may span contig ends, so one chunk is a BED of one or more intervals.
"""

from pathlib import Path


def read_fai(path):
    """[(contig, length), ...] in reference order."""
    with open(path) as fh:
        return [(f[0], int(f[1])) for f in (line.split("\t") for line in fh) if f[0]]


def make_chunks(contigs, n):
    """Split contigs into n lists of (contig, start, end) BED intervals of near-equal total length.

    Chunks are in reference order and tile the genome exactly; with more
    chunks than bases the extra chunks are empty.
    """
    total = sum(length for _, length in contigs)
    bounds = [round(total * i / n) for i in range(n + 1)]
    chunks = [[] for _ in range(n)]
    offset = 0  # genome coordinate of the current contig's start
    for name, length in contigs:
        for i in range(n):
            start = max(bounds[i], offset) - offset
            end = min(bounds[i + 1], offset + length) - offset
            if start < end:
                chunks[i].append((name, start, end))
        offset += length
    return chunks


def write_chunks(fai, outputs):
    for path, intervals in zip(outputs, make_chunks(read_fai(fai), len(outputs)), strict=True):
        Path(path).write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in intervals))


if "snakemake" in globals():
    write_chunks(snakemake.input[0], list(snakemake.output))  # noqa: F821
