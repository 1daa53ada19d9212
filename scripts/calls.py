"""Split a reference (its .fai) into chunks of near-equal length for scattered calling.

The number of chunks is `bcftools.chunks`, or, when `bcftools.chunk_size` (bp) is set,
the fewest chunks of at most that size. A chunk may span contig ends, so one chunk is a
BED of one or more intervals. The ML half (filter, regions, matrix) is scattered over the
same chunks. From an `input_vcf`, the chunks split the contigs of its header, when every
contig there has a length and the VCF is indexed (else one chunk streams the whole VCF).

Calling opens one file per sample at once (README "Large cohorts"): the jobs that do
raise their soft open-file limit to the hard one. Joint mode needs one file per BAM in one
`bcftools mpileup` and is refused beyond that (joint_open_files_error); gvcf mode merges
in groups through intermediate multi-sample gVCFs, a tree of merges (merge_chunk).
"""

import gzip
import math
import re
import resource
import shlex
import shutil
import subprocess
import sys
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


# ----------------------------------------------------------------------- open files
# Files a bcftools mpileup or merge holds open besides one per input (BAM or gVCF):
# measured 6 (stdin, stdout, stderr, the reference, its index and the regions file: 11
# or 40 BAMs or gVCFs need 17 or 46), with room to spare.
OPEN_FILES_BESIDES_INPUTS = 16


def open_files_limit(raise_soft=False):
    """This process's hard open-file limit (RLIMIT_NOFILE), None when unlimited; with
    `raise_soft`, its soft limit is first raised to it (as `ulimit -Sn $(ulimit -Hn)`),
    and so is every process it starts."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if raise_soft and soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return None if hard == resource.RLIM_INFINITY else hard


def open_files_needed(n_inputs):
    """Open files of one bcftools process over `n_inputs` BAMs or gVCFs."""
    return n_inputs + OPEN_FILES_BESIDES_INPUTS


def joint_open_files_error(n_samples, limit, where="on this machine"):
    """Why joint calling of `n_samples` BAMs cannot run under the hard open-file `limit`
    (None: unlimited), with the fixes; None when it can."""
    need = open_files_needed(n_samples)
    if limit is None or need <= limit:
        return None
    return (
        f"bcftools.mode joint: bcftools mpileup opens all {n_samples} BAMs at once and needs "
        f"{need} open files, but the hard open-file limit {where} is {limit} (`ulimit -Hn`; "
        "calling jobs raise their soft limit to it). Either set bcftools.mode: gvcf, which "
        "merges the samples' gVCFs in groups that fit any limit (README: Large cohorts), or "
        f"raise the hard limit to at least {need} (`ulimit -Hn {need}` as root, nofile in "
        "/etc/security/limits.conf, or LimitNOFILE for a service; on a cluster, ask for "
        "nodes that allow it)."
    )


def fan_in(limit):
    """How many gVCFs one merge may open under the open-file `limit` (None: all)."""
    if limit is None:
        return None
    if limit - OPEN_FILES_BESIDES_INPUTS < 2:
        raise SystemExit(
            f"open-file limit {limit}: too low to merge even two gVCFs at once (needs "
            f"{open_files_needed(2)}); raise it with `ulimit -n`"
        )
    return limit - OPEN_FILES_BESIDES_INPUTS


def groups(items, size):
    """`items` in order, cut into the fewest runs of at most `size`, of near-equal length."""
    n = math.ceil(len(items) / size)
    bounds = [round(len(items) * i / n) for i in range(n + 1)]
    return [items[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


# ----------------------------------------------------------------------- gVCF merge
# bcftools merge -g of the pysam in requirements.txt (htslib 1.2x): Debian's and the
# conda env's 1.16 leave a sample missing at the last base of its hom-ref block when
# another input splits the block there (bcftools issue #1910, fixed after 1.17); in a
# merge of multi-sample gVCFs that made 2 genotypes of the small demo (175 sites x 11
# samples) ./. instead of 0/0.
PYSAM_MERGE = (
    "import sys; from pysam import bcftools; bcftools.merge(*sys.argv[1:], catch_stdout=False)"
)


def merge_cmd(ref, bed, inputs_list, out_args):
    """`bcftools merge -g` (pysam's) of the gVCFs listed in the file `inputs_list`,
    reading the blocks that overlap the chunk `bed` (one gVCF too: a cohort of one)."""
    q = shlex.quote
    return (
        f"{q(sys.executable)} -c {q(PYSAM_MERGE)} --force-single -g {q(str(ref))} -R {q(str(bed))}"
        f" -l {q(str(inputs_list))} {out_args}"
    )


def merge_tree(gvcfs, ref, bed, scratch, width, run):
    """Merge `gvcfs` in groups of at most `width` into intermediate multi-sample gVCFs
    under `scratch`, level by level, until at most `width` files remain; returns them.
    Samples keep their order; the blocks are kept, so the final merge + call sees the
    same likelihoods as one merge of all gVCFs."""
    files, level = [str(g) for g in gvcfs], 0
    while width is not None and len(files) > width:
        merged = []
        for i, group in enumerate(groups(files, width)):
            if len(group) == 1:  # nothing to merge: to the next level as it is
                merged.append(group[0])
                continue
            out = Path(scratch) / f"level{level}.{i}.bcf"
            listed = out.with_suffix(".list")
            listed.write_text("".join(f"{g}\n" for g in group))
            run(merge_cmd(ref, bed, listed, f"-Ob --write-index -o {shlex.quote(str(out))}"))
            merged.append(str(out))
        files, level = merged, level + 1
    return files


def merge_chunk(gvcfs, ref, bed, out, ploidy_file, sexes, call_args, log, limit):
    """One chunk of gvcf mode: merge -g of all `gvcfs` (through a tree of merges when
    they need more open files than `limit` allows) | bcftools call with the ploidy of each
    sample's sex (`ploidy_file`, `sexes`: rules/sex_check.smk) | view -T, into `out`
    (BCF + .csi). Intermediate files live in `<out>.tmp.d`, removed at start and end."""
    scratch = Path(f"{out}.tmp.d")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    width = fan_in(limit)

    def run(cmd):
        print(f"$ {cmd}", file=log, flush=True)
        subprocess.run(["bash", "-o", "pipefail", "-c", cmd], stderr=log, check=True)

    files = merge_tree(gvcfs, ref, bed, scratch, width, run)
    print(
        f"{len(gvcfs)} gVCFs, open-file limit {limit or 'unlimited'}: "
        + (
            f"merged in groups of at most {width} into {len(files)} files"
            if len(files) < len(gvcfs)
            else "one merge"
        ),
        file=log,
        flush=True,
    )
    listed = scratch / "final.list"
    listed.write_text("".join(f"{f}\n" for f in files))
    q = shlex.quote
    # merge -g fills a sample's hom-ref block into the other samples' variant sites; call
    # then genotypes all samples together from the merged likelihoods. Blocks overlapping
    # the chunk start are read (-R), records are kept by POS (-T) so that no site is
    # emitted by two chunks.
    run(
        merge_cmd(ref, bed, listed, "-Ou")
        + f" | bcftools call --ploidy-file {q(str(ploidy_file))} -S {q(str(sexes))}"
        + f" -a FORMAT/GQ {call_args} -Ou"
        + f" | bcftools view -T {q(str(bed))} -Ob -o {q(str(out))}"
        + f" && bcftools index -f {q(str(out))}"
    )
    shutil.rmtree(scratch)


def _main(snakemake):
    # Which rule by its wildcards, not its name: a module may prefix it (README, Deploy).
    if "chunk" in snakemake.wildcards.keys():  # merge_gvcf_chunk
        with open(snakemake.log[0], "w") as log:
            merge_chunk(
                list(snakemake.input.gvcfs),
                snakemake.input.ref,
                snakemake.input.bed,
                snakemake.output[0],
                snakemake.input.ploidy,
                snakemake.input.sexes,
                snakemake.params.call,
                log,
                open_files_limit(raise_soft=True),
            )
    else:
        write_chunks(snakemake.input[0], list(snakemake.output))


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
