"""Split a reference (its .fai) into chunks of near-equal length for scattered calling.

The number of chunks is `bcftools.chunks`, or, when `bcftools.chunk_size` (bp) is set,
the fewest chunks of at most that size. A chunk may span contig ends, so one chunk is a
BED of one or more intervals. The ML half (filter, regions, matrix) is scattered over the
same chunks. From an `input_vcf`, the chunks split the contigs of its header, when every
contig there has a length and the VCF is indexed (else one chunk streams the whole VCF).
"""

import gzip
import math
import re
from pathlib import Path

CONTIG_FIELD = re.compile(r'([A-Za-z_]+)=("[^"]*"|[^,]*)')


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


def n_chunks(config, base_dir=".", length=None):
    """Number of calling chunks: `bcftools.chunk_size` (bp, 0 = off) or `bcftools.chunks`;
    `length` = the genome length when known (else from the reference)."""
    size = config["bcftools"].get("chunk_size", 0)
    if not size:
        return config["bcftools"]["chunks"]
    return max(1, math.ceil((length or genome_length(config, base_dir)) / size))


def vcf_contigs(vcf):
    """[(contig, length or None), ...] of a VCF/BCF header's ##contig lines, in order."""
    import cyvcf2  # only for input_vcf runs: keeps the import off every parse

    reader = cyvcf2.VCF(str(vcf), lazy=True)
    try:
        header = reader.raw_header
    finally:
        reader.close()
    contigs = []
    for line in header.splitlines():
        if line.startswith("##contig=<"):
            fields = dict(CONTIG_FIELD.findall(line[len("##contig=<") : -1]))
            length = fields.get("length", "")
            contigs.append((fields.get("ID"), int(length) if length.isdigit() else None))
    return contigs


def vcf_n_chunks(config, vcf, indexed: bool, base_dir=".") -> int:
    """Chunks of an `input_vcf`: as configured when it is indexed (or will be: `indexed`)
    and its header gives every contig a length; else 1 (streamed whole)."""
    path = Path(base_dir) / vcf
    if not indexed and not any(Path(f"{path}.{e}").exists() for e in ("tbi", "csi")):
        return 1
    contigs = vcf_contigs(path)
    if not contigs or any(length is None for _, length in contigs):
        return 1
    return n_chunks(config, base_dir, sum(length for _, length in contigs))


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


def read_chunk(bed) -> list[tuple[str, int, int]]:
    """(contig, start, end) intervals of a chunk BED written by write_chunks."""
    with open(bed) as fh:
        return [(c, int(s), int(e)) for c, s, e in (line.split("\t")[:3] for line in fh)]


def chunk_records(reader, intervals):
    """Records of an indexed cyvcf2 `reader` whose POS lies in `intervals` (BED: 0-based,
    end exclusive), in order; every record is in exactly one chunk, an indel that starts
    before an interval is not in it. `intervals` None = every record."""
    if intervals is None:
        yield from reader
        return
    for contig, start, end in intervals:
        for v in reader(f"{contig}:{start + 1}-{end}"):
            if start < v.POS <= end:
                yield v


def write_chunks(source, outputs):
    """Chunk BEDs of a reference .fai, or of a VCF's header contigs (those with a length)."""
    if str(source).endswith(".fai"):
        contigs = read_fai(source)
    else:
        contigs = [(c, n) for c, n in vcf_contigs(source) if n]
    for path, intervals in zip(outputs, make_chunks(contigs, len(outputs)), strict=True):
        Path(path).write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in intervals))


if "snakemake" in globals():
    write_chunks(snakemake.input[0], list(snakemake.output))  # noqa: F821
