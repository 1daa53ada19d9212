"""Split a reference (its .fai) into chunks of near-equal length for scattered calling.

The number of chunks is `bcftools.chunks`, or, when `bcftools.chunk_size` (bp) is set,
the fewest chunks of at most that size. A chunk may span contig ends, so one chunk is a
BED of one or more intervals.
"""

import gzip
import math
from pathlib import Path


def read_fai(path):
    """[(contig, length), ...] in reference order."""
    with open(path) as fh:
        return [(f[0], int(f[1])) for f in (line.rstrip("\n").split("\t") for line in fh) if f[0]]


def fasta_lengths(path):
    """[(contig, length), ...] of a FASTA (plain or gzip), streamed line by line."""
    opener = gzip.open if str(path).endswith(".gz") else open
    contigs, name, length = [], None, 0
    with opener(path, "rt") as fh:
        for line in fh:
            if line.startswith(">"):
                if name is not None:
                    contigs.append((name, length))
                name, length = line[1:].split(None, 1)[0], 0
            else:
                length += len(line.strip())
    if name is not None:
        contigs.append((name, length))
    return contigs


def genome_length(config, base_dir="."):
    """Total reference length in bp, known before any job runs.

    From an index beside the reference or the workflow's own copy
    (results/reference/genome.fa.fai), else by reading the FASTA once (only until the
    first run has indexed it). The demo's reference, before the simulator has written
    it, from the simulator's settings.
    """
    base = Path(base_dir)
    fasta = base / config["reference"]["fasta"]
    demo = config["demo"]
    if demo["enabled"] and not fasta.exists() and fasta == base / demo["outdir"] / "reference.fa":
        return demo["contigs"] * demo["contig_length"]
    for fai in (Path(f"{fasta}.fai"), base / "results/reference/genome.fa.fai"):
        if fai.exists() and fai.stat().st_mtime >= fasta.stat().st_mtime:
            return sum(length for _, length in read_fai(fai))
    return sum(length for _, length in fasta_lengths(fasta))


def n_chunks(config, base_dir="."):
    """Number of calling chunks: `bcftools.chunk_size` (bp, 0 = off) or `bcftools.chunks`."""
    size = config["bcftools"].get("chunk_size", 0)
    if not size:
        return config["bcftools"]["chunks"]
    return max(1, math.ceil(genome_length(config, base_dir) / size))


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
