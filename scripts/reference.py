"""Check a reference FASTA while copying (decompressing) it, then index the copy.

check_fasta() streams the FASTA (plain or gzip) once, optionally writing a plain copy
with Unix line endings, and raises FastaError naming the file, line and contig of
every problem (up to MAX_LISTED, the rest counted):

- text before the first `>` header, a header without a name;
- a contig name (first word of the header, as samtools uses) seen before;
- a character that is not an IUPAC nucleotide code (ACGTUNRYKMSWBDHV, either case);
- a sequence line longer than the contig's first line, or a short line that is not the
  contig's last (samtools faidx needs equal line lengths);
- a contig without sequence, a file without contigs, a truncated gzip.

It returns {contig: length} in file order. The Snakemake rule (rules/reference.smk) writes
the copy and its .fai (pysam.faidx); scripts/sheets.py runs the same check at parse time
on small references.
"""

import gzip
import time
import zlib
from pathlib import Path

IUPAC = b"ACGTUNRYKMSWBDHVacgtunrykmswbdhv"
MAX_LISTED = 10


class FastaError(ValueError):
    """A problem in the reference FASTA; the message names file, line and fix."""


def _open(path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def check_fasta(path, out=None) -> dict:
    """{contig: length} of the FASTA `path`; writes a plain copy to `out` when given."""
    contigs, first_line, problems = {}, {}, []
    name, width, short_at, n = None, 0, 0, 0

    def problem(text):
        problems.append(text)

    def end_contig():
        if name is not None and contigs[name] == 0:
            problem(f"line {first_line[name]}: contig '{name}' has no sequence")

    sink = open(out, "wb") if out else None
    try:
        with _open(path) as fh:
            for n, raw in enumerate(fh, start=1):
                line = raw.rstrip(b"\r\n")
                if line.startswith(b">"):
                    end_contig()
                    words = line[1:].split()
                    new = words[0].decode("utf-8", "replace") if words else ""
                    if not new:
                        problem(f"line {n}: header {line.decode('utf-8', 'replace')!r} has no name")
                        new = f"(unnamed, line {n})"
                    if new in contigs:
                        problem(
                            f"line {n}: contig '{new}' appears again "
                            f"(first at line {first_line[new]})"
                        )
                        new = f"{new} (line {n})"
                    name, width, short_at = new, 0, 0
                    contigs[name], first_line[name] = 0, n
                elif not line.strip():
                    continue  # blank lines: samtools tolerates them at the end of a contig
                elif name is None:
                    problem(f"line {n}: sequence before the first '>' header")
                    name = "(before the first header)"
                    contigs[name], first_line[name] = 1, n
                else:
                    if bad := line.translate(None, IUPAC):
                        col = next(i for i, b in enumerate(line, 1) if b not in IUPAC)
                        problem(
                            f"line {n}, column {col}: contig '{name}': character "
                            f"{chr(bad[0])!r} is not a nucleotide (IUPAC) code"
                        )
                    if short_at:
                        problem(
                            f"line {short_at}: contig '{name}': a line shorter than the "
                            "others that is not the contig's last line"
                        )
                        short_at = 0
                    if not width:
                        width = len(line)
                    elif len(line) > width:
                        problem(
                            f"line {n}: contig '{name}': line of {len(line)} bases, "
                            f"the contig's first line has {width}"
                        )
                    elif len(line) < width:
                        short_at = n
                    contigs[name] += len(line)
                if sink:
                    sink.write(line + b"\n")
                if len(problems) > 100 * MAX_LISTED and not sink:
                    break  # enough to show; a parse-time check stops early
            end_contig()
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        problem(f"after line {n}: the gzip file is truncated or corrupt ({e})")
    finally:
        if sink:
            sink.close()
    if not contigs and not problems:
        problem("no '>' header: not a FASTA file")
    if problems:
        listed = problems[:MAX_LISTED]
        if len(problems) > MAX_LISTED:
            listed.append(f"... and {len(problems) - MAX_LISTED} more")
        raise FastaError(
            f"{path}: {len(problems)} problem(s) in the reference FASTA:\n  "
            + "\n  ".join(listed)
            + "\nFix: give every contig a unique name on its '>' line and only nucleotide "
            "letters (ACGTN or IUPAC codes) in its sequence lines, wrapped at one width; "
            "then rerun."
        )
    return contigs


def _main(smk):
    import pysam

    start = time.time()
    try:
        contigs = check_fasta(smk.input[0], smk.output.fa)
    except FastaError as e:
        Path(smk.log[0]).write_text(f"{e}\n")
        raise SystemExit(str(e)) from None
    pysam.faidx(str(smk.output.fa))
    with open(smk.log[0], "w") as log:
        log.write(f"contigs: {len(contigs)}\nbases: {sum(contigs.values())}\n")
        log.write(f"seconds: {time.time() - start:.1f}\n")


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
