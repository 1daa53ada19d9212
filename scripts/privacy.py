"""Sample pseudonyms and restrictive permissions (config `privacy.*`).

With `privacy.pseudonymise: true` every sample is renamed, right after the sheets are
validated (rules/common.smk), to a stable keyed hash of its name:

    P-<first 12 hex digits of HMAC-SHA256(key, sample name)>

so every path, read group, VCF sample, matrix row and prediction carries the pseudonym
by construction. The key (a file outside `results/`, never copied) makes the pseudonyms
stable across runs and unguessable from the names alone; another key gives other
pseudonyms. The real name -> pseudonym table is written apart, to `privacy.mapping`
(outside `results/`, mode 0600). FASTQ paths are left as they are.

`privacy.umask` ("077") is applied at workflow start, so that jobs inherit it and the
files they create are not readable by group or others.

Rule `pseudonymise_vcf` (input_vcf mode): renames every sample of the input VCF to its
pseudonym with `bcftools reheader`, keeping only the structural header lines (commands
and other meta lines can carry names, e.g. BAM paths).
"""

import hashlib
import hmac
import os
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

PREFIX = "P-"
LENGTH = 12  # hex digits: 48 bits, no collision in any realistic cohort (checked anyway)
MIN_KEY_BYTES = 16


class PrivacyError(ValueError):
    """A privacy setting that cannot be honoured; the message says how to fix it."""


def pseudonym(name: str, key: bytes, prefix: str = PREFIX, length: int = LENGTH) -> str:
    """Stable keyed pseudonym of a sample name: prefix + truncated HMAC-SHA256 hex."""
    digest = hmac.new(key, str(name).encode("utf-8"), hashlib.sha256).hexdigest()
    return prefix + digest[:length]


def pseudonyms(names, key: bytes) -> dict:
    """{name: pseudonym} of unique names; an (astronomically unlikely) collision is an error."""
    out = {n: pseudonym(n, key) for n in names}
    if len(set(out.values())) != len(out):
        raise PrivacyError("privacy: two samples got the same pseudonym; use another key")
    return out


def _inside(path: Path, directory: Path) -> bool:
    path, directory = path.resolve(), directory.resolve()
    return path == directory or directory in path.parents


def read_key(path, base_dir=".", results="results") -> bytes:
    """The secret key: a file outside `results/` with at least 16 bytes (newline stripped)."""
    if not path:
        raise PrivacyError(
            "privacy.pseudonymise is true but privacy.key_file is empty: create a secret key "
            "outside results/, e.g. `mkdir -p private && head -c 32 /dev/urandom | "
            "base64 > private/pseudonym.key`, and set privacy.key_file to it"
        )
    file = Path(base_dir, path)
    if _inside(file, Path(base_dir, results)):
        raise PrivacyError(
            f"privacy.key_file {path} is inside {results}/: keep the key apart from the "
            "results you share (e.g. private/pseudonym.key)"
        )
    if not file.is_file():
        raise PrivacyError(
            f"privacy.key_file {path} does not exist: create it, e.g. `head -c 32 "
            f"/dev/urandom | base64 > {path}`, and keep it (the same key gives the same "
            "pseudonyms)"
        )
    key = file.read_bytes().strip()
    if len(key) < MIN_KEY_BYTES:
        raise PrivacyError(
            f"privacy.key_file {path} holds {len(key)} bytes; a key needs at least "
            f"{MIN_KEY_BYTES} (e.g. `head -c 32 /dev/urandom | base64 > {path}`)"
        )
    return key


def check_mapping_path(path, base_dir=".", results="results") -> Path:
    if not path:
        raise PrivacyError("privacy.mapping is empty: give a path outside results/")
    file = Path(base_dir, path)
    if _inside(file, Path(base_dir, results)):
        raise PrivacyError(
            f"privacy.mapping {path} is inside {results}/: the real names must stay apart "
            "from the results (e.g. private/sample_map.tsv)"
        )
    return file


def pseudonymise_sheets(samples: pd.DataFrame, units, key: bytes):
    """(samples, units, mapping) with every sample renamed to its pseudonym.

    `samples` is indexed by sample (with a `sample` column), `units` (or None) by
    (sample, unit) with a `sample` column, as scripts/sheets.py loads them."""
    mapping = pseudonyms(list(samples.index), key)
    new_samples = samples.rename(index=mapping)
    new_samples["sample"] = new_samples.index
    new_samples.index.name = samples.index.name
    new_units = None
    if units is not None:
        new_units = units.rename(index=mapping, level=0)
        new_units["sample"] = new_units.index.get_level_values(0)
        new_units = new_units.sort_index()
    table = pd.DataFrame({"sample": list(mapping), "pseudonym": list(mapping.values())})
    return new_samples, new_units, table


def _write_private(path: Path, text: str) -> bool:
    """Write `text` with mode 0600, atomically; leave the file alone (mtime too) when it
    already holds exactly that. Returns whether it was written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_text() == text:
        return False
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def write_mapping(table: pd.DataFrame, path) -> bool:
    """sample -> pseudonym TSV (mode 0600)."""
    return _write_private(Path(path), table.to_csv(sep="\t", index=False))


def write_sheet(samples: pd.DataFrame, path) -> bool:
    """The pseudonymised samples sheet (only rewritten when its content changes, so that
    an unchanged sheet reruns nothing)."""
    cols = ["sample"] + [c for c in samples.columns if c != "sample"]
    return _write_private(Path(path), samples[cols].to_csv(sep="\t", index=False))


def parse_umask(value) -> int | None:
    """'077' -> 0o077; '' or None -> None (leave the umask alone)."""
    if value in (None, ""):
        return None
    text = str(value)
    if not (1 <= len(text) <= 4 and set(text) <= set("01234567")):
        raise PrivacyError(f"privacy.umask {value!r} is not an octal mask like '077' or '027'")
    return int(text, 8)


# Header lines kept in a pseudonymised VCF: the structure only. Command, source, sample
# and pedigree lines may carry real names (e.g. the BAM paths of a bcftools command).
KEEP_HEADER = ("##fileformat=", "##INFO=", "##FORMAT=", "##FILTER=", "##ALT=", "##contig=")


def pseudonymised_header(header: str, key: bytes) -> tuple[str, dict]:
    """(header text with structural lines only and pseudonymised samples, {name: pseudonym})."""
    lines = header.splitlines()
    chrom = [line for line in lines if line.startswith("#CHROM")]
    if len(chrom) != 1:
        raise ValueError("VCF header without a #CHROM line")
    fields = chrom[0].split("\t")
    names = fields[9:]
    mapping = pseudonyms(names, key)
    kept = [line for line in lines if line.startswith(KEEP_HEADER)]
    new_chrom = "\t".join(fields[:9] + [mapping[n] for n in names])
    return "\n".join([*kept, new_chrom]) + "\n", mapping


def reheader_vcf(vcf, out, key: bytes, bcftools="bcftools") -> dict:
    """Copy `vcf` to `out` (bgzipped, indexed) with every sample renamed to its pseudonym
    and only the structural header lines kept."""
    header = subprocess.run(
        [bcftools, "view", "-h", str(vcf)], check=True, capture_output=True, text=True
    ).stdout
    text, mapping = pseudonymised_header(header, key)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write(text)
    tmp = f"{out}.reheader.tmp"
    try:
        # reheader keeps the input's format (VCF, VCF.gz or BCF); view writes bgzip.
        subprocess.run([bcftools, "reheader", "-h", fh.name, "-o", tmp, str(vcf)], check=True)
        subprocess.run(
            [bcftools, "view", "--no-version", "-Oz", "-o", f"{out}.tmp.vcf.gz", tmp], check=True
        )
        os.replace(f"{out}.tmp.vcf.gz", out)
        subprocess.run([bcftools, "index", "-f", "-t", str(out)], check=True)
    finally:
        os.unlink(fh.name)
        Path(tmp).unlink(missing_ok=True)
    return mapping


def _main(smk):
    key = read_key(smk.params.key_file)
    with open(smk.log[0], "w") as log:
        mapping = reheader_vcf(smk.input.vcf, smk.output.vcf, key)
        log.write(f"samples renamed to pseudonyms: {len(mapping)}\n")


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
