"""Cutadapt on one sequencing unit (rules/trim.smk); when it fails, the log says which
input file is broken, where, and what to do.

Cutadapt's own errors name a line ("Error in FASTQ file at line 10000") or "file 1" /
"file 2", never the file, so after a failure every input is looked at: a truncated gzip,
the read at the line cutadapt names, mates of different lengths or names.
"""

import gzip
import re
import shlex
import subprocess
import sys
import zlib
from itertools import islice
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"
FIX_DOWNLOAD = (
    "Fix: the file is incomplete (interrupted download or copy): copy or download it again."
)
FIX_READ = (
    "Fix: repair or re-export the file (each read is 4 lines: @name, sequence, +, quality "
    "of the same length)."
)
FIX_PAIR = (
    "Fix: give complete read-1 and read-2 files of the same run (e.g. re-download the shorter one)."
)
RULE = "-" * 80


def cutadapt_command(fastqs, outputs, report, params, threads) -> list[str]:
    """cutadapt arguments: adapters (-a, and -A when paired), quality trimming of both
    ends, minimum length, `extra`, the JSON report; outputs [R1, R2] or [SE]."""
    q = params["quality"]
    cmd = ["cutadapt", "--cores", str(threads), "-a", params["adapter_r1"]]
    if len(fastqs) == 2:
        cmd += ["-A", params["adapter_r2"]]
    cmd += ["-q", f"{q},{q}", "--minimum-length", str(params["min_length"])]
    cmd += shlex.split(params["extra"] or "")
    cmd += ["--json", str(report), "-o", str(outputs[0])]
    if len(outputs) == 2:
        cmd += ["-p", str(outputs[1])]
    return cmd + [str(f) for f in fastqs]


def is_gzip(path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def gzip_problem(path) -> str | None:
    """The decompression error of a gzip file that does not read to its end, else None."""
    if not is_gzip(path):
        return None
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    except (OSError, EOFError, zlib.error) as e:
        return str(e) or type(e).__name__
    return None


def read_problem(path, line: int) -> tuple[int, str] | None:
    """(first line of the read holding `line`, what is wrong with that read) or None."""
    start = (line - 1) // 4 * 4 + 1
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rt", errors="replace") as fh:
        read = [x.rstrip("\n") for x in islice(fh, start - 1, start + 3)]
    if not read:
        return None
    if not read[0].startswith("@"):
        return start, "header does not start with @"
    if len(read) < 4:
        return start, "the file ends within the read (truncated?)"
    if not read[2].startswith("+"):
        return start, f"line {start + 2} is not the + line"
    if len(read[3]) != len(read[1]):
        return start, f"sequence has {len(read[1])} characters, quality {len(read[3])}"
    if any(not 33 <= ord(c) <= 126 for c in read[3]):
        return start, "quality has characters outside !..~"
    return None


def explain_failure(log_text: str, where: str, fastqs) -> list[str]:
    """Lines for the log of a failed cutadapt run on `fastqs` (the reads of `where`)."""
    out = [RULE, f"cutadapt failed on the reads of {where}; checking the input files:"]
    found = False
    at = re.search(r"Error in FASTQ file at line (\d+)", log_text)
    for fq in fastqs:
        if problem := gzip_problem(fq):
            out += [f"{fq}: truncated or corrupt gzip ({problem}).", FIX_DOWNLOAD]
            found = True
        elif at and (bad := read_problem(fq, int(at.group(1)))):
            start, problem = bad
            read_no = (start + 3) // 4
            out += [f"{fq}: read {read_no} (lines {start}-{start + 3}): {problem}.", FIX_READ]
            found = True
    pair = [str(f) for f in fastqs] + ["", ""]
    if "more reads in file 1 than in file 2" in log_text:
        out += [f"{pair[0]} has more reads than its mate file {pair[1]}: the pair is incomplete."]
        out.append(FIX_PAIR)
    elif "more reads in file 2 than in file 1" in log_text:
        out += [f"{pair[1]} has more reads than its mate file {pair[0]}: the pair is incomplete."]
        out.append(FIX_PAIR)
    elif re.search(r"not properly paired|Read names .* do not match|improperly paired", log_text):
        out += [
            f"{pair[0]} and {pair[1]} are not mates (read names differ or reads are out of order).",
            "Fix: give the read-1 and read-2 files of the same run, in the same read order.",
        ]
    elif not found:
        out.append(
            "no file problem found; see cutadapt's error above (options: config cutadapt.*)."
        )
    return out


def trim(fastqs, outputs, report, params, threads, log, where) -> int:
    """Run cutadapt with its output in `log`; on failure append the explanation."""
    cmd = cutadapt_command(fastqs, outputs, report, params, threads)
    with open(log, "w") as fh:
        code = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT).returncode
    if code:
        lines = explain_failure(Path(log).read_text(errors="replace"), where, fastqs)
        with open(log, "a") as fh:
            fh.write("\n".join(lines) + "\n")
    return code


def _main(smk):
    outputs = [smk.output.r1, smk.output.r2] if "r1" in smk.output.keys() else [smk.output.se]
    code = trim(
        list(smk.input),
        outputs,
        smk.output.report,
        dict(smk.params.cutadapt),
        smk.threads,
        smk.log[0],
        smk.params.where,
    )
    if code:
        sys.exit(1)


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
