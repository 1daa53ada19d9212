"""Keep the VCF records inside the regions of a BED file (pybedtools) and name their regions.

The BED is checked against the reference .fai first (check_bed). A record is inside a
region when its reference span (POS .. POS+len(REF)-1, or to INFO/END for symbolic
alleles: htslib's rlen) overlaps the region (`bedtools intersect`). A region's name is the
BED 4th column when present (and not `.`), else `chrom:start-end` with the BED's own
(0-based start) coordinates. A site in several regions gets their names joined by `,`, in
BED order.

Outputs: the kept records (original header; BCF + .csi or bgzipped VCF + .tbi, by name)
and a TSV with columns `site_id` (`chrom:pos:ref:alt`, ALTs comma-joined when several) and
`region`. Scattered as the filter is (rules/regions.smk): a `regions_chunk` job reads the
records of one chunk through the filtered BCF's index, `gather` joins the chunks.
"""

import subprocess
import tempfile
import time
from pathlib import Path

import cyvcf2
import pybedtools
from calls import chunk_records, read_chunk, read_fai
from filter import index_vcf, writer_mode

MAX_LISTED = 10  # BED problems listed in one error; the rest are counted


def _contig_hint(contig: str, contigs: dict) -> str:
    other = contig[3:] if contig.startswith("chr") else f"chr{contig}"
    if other in contigs:
        return f" (the reference calls it '{other}': add or remove the 'chr' prefix)"
    return ""


def check_bed(bed, fai) -> list[tuple[str, int, int, str, int]]:
    """Check `bed` against the reference; returns its intervals as (chrom, start, end, name,
    line number). Raises ValueError naming the file, lines and intervals of every problem:
    fewer than 3 columns, coordinates not integers, start < 0, start > end, a contig not in
    the reference, end beyond the contig. Header (`track`, `browser`, `#`) and blank lines
    are skipped."""
    contigs = dict(read_fai(fai))  # {contig: length}, reference order
    intervals, problems = [], []
    with open(bed) as fh:
        for n, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.split("\t")
            if len(f) < 3:
                tabs = " (BED columns must be tab-separated)" if " " in line else ""
                problems.append(f"line {n}: fewer than 3 columns{tabs}: {line!r}")
                continue
            chrom, start, end = f[0], f[1].strip(), f[2].strip()
            where = f"line {n}: {chrom}:{start}-{end}"
            try:
                start, end = int(start), int(end)
            except ValueError:
                problems.append(f"{where}: start and end must be integers")
                continue
            if start < 0:
                problems.append(f"{where}: negative start")
            elif start > end:
                problems.append(f"{where}: start > end")
            elif chrom not in contigs:
                hint = _contig_hint(chrom, contigs)
                problems.append(f"{where}: contig '{chrom}' is not in the reference{hint}")
            elif end > contigs[chrom]:
                problems.append(f"{where}: end beyond the length of {chrom} ({contigs[chrom]})")
            else:
                name = f[3].strip() if len(f) > 3 and f[3].strip() not in ("", ".") else ""
                intervals.append((chrom, start, end, name or f"{chrom}:{start}-{end}", n))
    if problems:
        listed = problems[:MAX_LISTED]
        if len(problems) > MAX_LISTED:
            listed.append(f"... and {len(problems) - MAX_LISTED} more")
        shown = ", ".join(list(contigs)[:20]) + (", ..." if len(contigs) > 20 else "")
        raise ValueError(
            f"{bed}: {len(problems)} invalid BED line(s) (0-based start, end exclusive; "
            f"checked against {fai}):\n  " + "\n  ".join(listed) + f"\nReference contigs: {shown}"
        )
    if not intervals:
        raise ValueError(f"{bed}: no intervals (every line is blank or a header)")
    return intervals


def site_id(variant) -> str:
    return f"{variant.CHROM}:{variant.POS}:{variant.REF}:{','.join(variant.ALT) or '.'}"


def _sites_bed(in_vcf, path, chunk=None):
    """BED of the records' reference spans (POS-1, POS-1+rlen; rlen = len(REF), or from
    INFO/END), the record number as name. Genotype columns stay out of bedtools' way."""
    reader = cyvcf2.VCF(str(in_vcf), lazy=True, samples=[])
    with open(path, "w") as out:
        for i, v in enumerate(chunk_records(reader, chunk)):
            out.write(f"{v.CHROM}\t{v.start}\t{max(v.end, v.start + 1)}\t{i}\n")
    reader.close()


def overlapping_regions(in_vcf, intervals, tmpdir, chunk=None) -> dict:
    """{record number: [region names in BED order]} of records overlapping `intervals`
    (records of `chunk` only, numbered within it, when given)."""
    sites = Path(tmpdir) / "sites.bed"
    _sites_bed(in_vcf, sites, chunk)
    bed = pybedtools.BedTool(
        "".join(f"{c}\t{s}\t{e}\t{n}\n" for n, (c, s, e, _, _) in enumerate(intervals)),
        from_string=True,
    )
    hits = {}
    for f in pybedtools.BedTool(str(sites)).intersect(bed, wa=True, wb=True):
        hits.setdefault(int(f.fields[3]), set()).add(int(f.fields[-1]))
    names = [iv[3] for iv in intervals]
    out = {}
    for rec, bed_idx in hits.items():  # unique names, in BED order
        out[rec] = list(dict.fromkeys(names[j] for j in sorted(bed_idx)))
    return out


def restrict_to_regions(in_vcf, bed, fai, out_vcf, out_tsv, chunk_bed=None) -> dict:
    """Write the records of `in_vcf` (those with POS in `chunk_bed`, when given: the VCF
    must be indexed) inside `bed` to `out_vcf` (+ index) and their regions to `out_tsv`;
    returns counts for the log."""
    intervals = check_bed(bed, fai)
    chunk = read_chunk(chunk_bed) if chunk_bed is not None else None
    old_tmp = pybedtools.helpers.get_tempdir()
    with tempfile.TemporaryDirectory(prefix="regions.") as tmp:
        pybedtools.helpers.set_tempdir(tmp)
        try:
            hits = overlapping_regions(in_vcf, intervals, tmp, chunk)
        finally:
            pybedtools.helpers.cleanup()
            pybedtools.helpers.set_tempdir(old_tmp)

    reader = cyvcf2.VCF(str(in_vcf))
    writer = cyvcf2.Writer(str(out_vcf), reader, mode=writer_mode(out_vcf))
    n_in = n_out = 0
    with open(out_tsv, "w") as tsv:
        tsv.write("site_id\tregion\n")
        for i, v in enumerate(chunk_records(reader, chunk)):
            n_in += 1
            if i in hits:
                writer.write_record(v)
                tsv.write(f"{site_id(v)}\t{','.join(hits[i])}\n")
                n_out += 1
    writer.close()
    reader.close()
    index_vcf(out_vcf)
    return {"intervals": len(intervals), "records_in": n_in, "records_out": n_out}


def gather(chunks, tsvs, out_bcf, out_tsv) -> dict:
    """Join the chunks' BCFs in order into `out_bcf` (+ .csi) without re-encoding, and their
    region tables into `out_tsv`; returns counts for the log."""
    cmd = ["bcftools", "concat", "--naive", "--no-version", "-Ob", "-o", str(out_bcf)]
    subprocess.run(cmd + [str(c) for c in chunks], check=True, capture_output=True)
    index_vcf(out_bcf)
    n = 0
    with open(out_tsv, "w") as out:
        out.write("site_id\tregion\n")
        for path in tsvs:
            with open(path) as fh:
                lines = fh.readlines()[1:]
            out.writelines(lines)
            n += len(lines)
    return {"chunks": len(chunks), "records_out": n}


def _main(smk):
    start = time.time()
    if "chunk" in smk.wildcards.keys():  # regions_chunk (not by name: a module may prefix it)
        chunk = smk.input.chunk if smk.params.scatter else None
        counts = restrict_to_regions(
            smk.input.vcf, smk.input.bed, smk.input.fai, smk.output.bcf, smk.output.tsv, chunk
        )
    else:
        counts = gather(smk.input.chunks, smk.input.tsvs, smk.output.bcf, smk.output.tsv)
    with open(smk.log[0], "w") as log:
        log.write("".join(f"{k}: {v}\n" for k, v in counts.items()))
        log.write(f"seconds: {time.time() - start:.1f}\n")


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
