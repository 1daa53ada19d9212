"""Load and check the config, samples.tsv and units.tsv (importable without Snakemake).

Every problem raises SheetError. Messages start with the file (or `config:`),
name the row and column, and end with a "Fix:" hint. "row N" is the line
number an editor shows (header = line 1; comment and blank lines count).
"""

from __future__ import annotations

import difflib
import io
import os
import re
import zlib
from pathlib import Path

import labels
import pandas as pd
import yaml
from quick_jsonschema import jsonschema  # before anything imports jsonschema
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "config" / "schemas"
MAX_LISTED = 10  # problems listed per message; the rest are counted
# Parse-time FASTQ look: the first HEAD_READS reads within the first HEAD_BYTES of each
# file (compressed bytes for gzip), so that a sheet of 10,000 samples still parses fast.
# Whole files are checked by the jobs (cutadapt: truncated gzip, pair counts).
HEAD_BYTES = 16384
HEAD_READS = 4
# References up to this size are checked (scripts/reference.py) at parse time; larger
# ones by the reference rule.
REF_SCAN_BYTES = 8 * 1024 * 1024
QUAL_CHARS = frozenset(range(33, 127))  # Phred+33 '!'..'~'


class SheetError(ValueError):
    """A problem in the config or a sheet; the message says where and how to fix it."""


# ---------------------------------------------------------------- helpers


def _schema_file(schema, name: str) -> Path:
    """Accept a schema file, a directory holding `name`, or None (bundled)."""
    path = Path(schema) if schema is not None else SCHEMA_DIR
    return path / name if path.is_dir() else path


def _report(where: str, problem: str, items: list[str], fix: str | None) -> SheetError:
    lines = [f"{where}: {problem}"]
    lines += [f"  {item}" for item in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        lines.append(f"  ... and {len(items) - MAX_LISTED} more")
    if fix:
        lines.append(f"Fix: {fix}")
    return SheetError("\n".join(lines))


def _schema_problems(instance: dict, schema: dict) -> list[tuple[str, str, str]]:
    """All schema violations as (key path, problem, fix), not just the first."""
    out = {}
    for e in jsonschema.Draft202012Validator(schema).iter_errors(instance):
        path = [str(p) for p in e.absolute_path]
        sub = e.schema if isinstance(e.schema, dict) else {}
        if e.validator == "additionalProperties":
            allowed = list(sub.get("properties", {}))
            for key in sorted(set(e.instance) - set(allowed), key=str):
                close = difflib.get_close_matches(str(key), allowed, n=1)
                guess = f"did you mean '{close[0]}'? " if close else ""
                out[".".join([*path, str(key)])] = (
                    "unknown key",
                    f"{guess}Remove it or correct the spelling; "
                    f"allowed keys here: {', '.join(allowed)}.",
                )
        elif e.validator == "required":
            key = re.match(r"'(.+)' is a required property", e.message)
            key = key.group(1) if key else str(e.validator_value)
            desc = sub.get("properties", {}).get(key, {}).get("description", "")
            out[".".join([*path, key])] = ("missing", f"add it ({desc}).")
        else:
            if e.validator == "pattern" and e.instance == "":
                problem = "is empty"
            elif e.validator == "pattern":
                problem = f"{e.instance!r} is not allowed (pattern {e.validator_value})"
            else:
                problem = e.message
            desc = sub.get("description")
            fix = f"set a valid value ({desc.strip()})." if desc else "set a valid value."
            out.setdefault(".".join(path), (problem, fix))
    return [(key, problem, fix) for key, (problem, fix) in out.items()]


def _load_schema(path: Path) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def _rows(df: pd.DataFrame, *cols: str) -> list[tuple]:
    """(file line, *values) per row in file order (units are sorted by index).

    Lines come from load_*; for frames built by hand, row i is line i + 2.
    """
    lines = df.attrs.get("lines") or range(2, len(df) + 2)
    return sorted(zip(lines, *(df[c] for c in cols), strict=True))


def _resolve(base_dir, path: str) -> Path:
    # normpath, not resolve(): keep symlinked data dirs as the user wrote them. os.path,
    # then one Path: this runs for every FASTQ of the sheet.
    return Path(os.path.normpath(os.path.join(base_dir, os.path.expanduser(path))))


def _made_by_workflow(path: Path, config: dict, base_dir) -> bool:
    """Paths under the demo outdir are written by the workflow itself."""
    demo = config.get("demo") or {}
    if not demo.get("enabled"):
        return False
    return path.is_relative_to(_resolve(base_dir, demo.get("outdir", "resources/demo")))


def _file_problem(path: Path) -> str | None:
    if not path.exists():
        return f"does not exist (looked for {path})"
    if not path.is_file():
        return f"is not a file ({path})"
    if path.stat().st_size == 0:
        return f"is empty ({path})"
    return None


# ---------------------------------------------------------------- config


def validate_config(config: dict, schema=None) -> None:
    """Check config against config.schema.yaml and fill in defaults (in place).

    `schema` is the schema file or the directory holding config.schema.yaml.
    """
    schema_file = _schema_file(schema, "config.schema.yaml")
    if not isinstance(config, dict):
        raise SheetError(
            "config: the config file is empty or not a mapping. "
            "Fix: start from the committed config/config.yaml."
        )
    problems = _schema_problems(config, _load_schema(schema_file))
    if problems:
        raise SheetError(
            "\n".join(f"config: {k or '(top level)'}: {p}. Fix: {f}" for k, p, f in problems)
        )
    try:
        validate(config, str(schema_file))  # the Snakemake check; fills defaults
    except WorkflowError as e:
        raise SheetError(f"config: {e}. Fix: see {schema_file}.") from None

    # Cross-key constraints a per-key schema cannot express.
    demo = config["demo"]
    demo_ref = os.path.normpath(os.path.join(demo["outdir"], "reference.fa"))
    if demo["enabled"] and os.path.normpath(config["reference"]["fasta"]) != demo_ref:
        raise SheetError(
            f"config: reference.fasta: {config['reference']['fasta']!r}, but demo.enabled is "
            f"true and the demo's reads are simulated from {demo_ref}. Fix: set "
            f"reference.fasta: {demo_ref} for the demo (as .test/demo/config.yaml does), or "
            "demo.enabled: false for your own data."
        )
    if demo["enabled"] and demo["n_unlabelled"] >= demo["n_samples"]:
        raise SheetError(
            f"config: demo.n_unlabelled: {demo['n_unlabelled']} leaves no labelled "
            f"sample out of demo.n_samples={demo['n_samples']}. "
            "Fix: make demo.n_unlabelled smaller than demo.n_samples."
        )
    if demo["enabled"] and demo["populations"] > demo["n_samples"]:
        raise SheetError(
            f"config: demo.populations: {demo['populations']} exceeds "
            f"demo.n_samples={demo['n_samples']}. "
            "Fix: use at most as many populations as samples."
        )


# ---------------------------------------------------------------- sheets


def _read_sheet(path, schema_file: Path, what: str, name=None) -> pd.DataFrame:
    """Read a TSV sheet, check its shape and validate every row against the schema."""
    name = str(name or path)  # name: where the sheet came from (its S3 URL), for messages
    schema = _load_schema(schema_file)
    required = schema.get("required", [])
    tsv = f"a tab-separated header ({', '.join(required)}) and one row per {what}"
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SheetError(f"{name}: file not found. Fix: create it with {tsv}.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SheetError(
            f"{name}: cannot be read ({e}). Fix: save it as UTF-8 tab-separated text."
        ) from None

    # Drop comments (as pandas' comment="#" would), trailing whitespace (incl.
    # spreadsheet trailing tabs) and blank lines ourselves, so that every data
    # row keeps its file line number and its cells can be counted.
    kept = [(n, line.split("#", 1)[0].rstrip()) for n, line in enumerate(text.splitlines(), 1)]
    kept = [(n, line) for n, line in kept if line.strip()]
    if not kept:
        raise SheetError(f"{name}: sheet is empty. Fix: write {tsv}.")
    header_line, header = kept[0]
    lines = [n for n, _ in kept[1:]]

    cols = [c.strip() for c in header.split("\t")]
    if len(cols) == 1 and cols[0] not in required:
        for sep, kind in ((",", "comma"), (";", "semicolon"), (" ", "space")):
            if sep in cols[0]:
                raise SheetError(
                    f"{name}: row {header_line}: header {header.strip()!r} looks "
                    f"{kind}-separated; use tabs. Fix: save the sheet as "
                    "tab-separated values (TSV), one tab between columns."
                )
    dups = sorted({c for c in cols if c and cols.count(c) > 1})
    if dups:
        raise SheetError(
            f"{name}: row {header_line}: column {', '.join(dups)} appears more than "
            "once in the header. Fix: keep one column of each name."
        )
    # Extra cells would silently shift columns (pandas makes them an index);
    # missing trailing cells are fine (read as empty).
    items = []
    for n, line in kept[1:]:
        if (cells := line.count("\t") + 1) > len(cols):
            items.append(f"row {n}: has {cells} tab-separated cells, the header {len(cols)}")
    if items:
        raise _report(
            name,
            "row(s) with more cells than the header",
            items,
            "remove the extra cells or add a column name for them to the header.",
        )
    try:
        df = pd.read_csv(
            io.StringIO("\n".join(line for _, line in kept)),
            sep="\t",
            dtype=str,
            keep_default_na=False,
            comment="#",
            index_col=False,
        )
    except pd.errors.ParserError as e:
        raise SheetError(
            f"{name}: cannot be parsed as tab-separated values ({e}). "
            'Fix: check for unbalanced quotes (").'
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    df = df.fillna("").apply(lambda col: col.str.strip())
    # Trailing tabs (e.g. from spreadsheets) give nameless, empty columns.
    df = df.drop(columns=[c for c in df if c.startswith("Unnamed:") and (df[c] == "").all()])

    missing = [c for c in required if c not in df.columns]
    if missing:
        raise SheetError(
            f"{name}: row {header_line}: missing required column "
            f"{', '.join(repr(c) for c in missing)} (header has "
            f"{', '.join(repr(c) for c in df.columns)}). Fix: add the column to "
            "the tab-separated header (column names are case-sensitive)."
        )
    if df.empty:
        raise SheetError(f"{name}: sheet is empty (header only). Fix: add one row per {what}.")

    # Every row against the schema: one validator for the sheet, and the messages worked
    # out only for the rows it rejects (a sheet of 10,000 samples, bench/results/dag.md).
    validator = jsonschema.Draft202012Validator(schema)
    items = [
        f"row {line}, column {key or '?'}: {problem}. Fix: {fix}"
        for line, record in zip(lines, df.to_dict("records"), strict=True)
        if not validator.is_valid(record)
        for key, problem, fix in _schema_problems(record, schema)
    ]
    if items:
        raise _report(name, f"{len(items)} invalid value(s)", items, None)
    # The schema's defaults as columns, as snakemake.utils.validate(df) adds them (every
    # row passed the same schema above, and no cell is NA: empty cells are "").
    for col, sub in schema.get("properties", {}).items():
        if "default" in sub and col not in df.columns:
            df[col] = sub["default"]
    df.attrs["sheet"] = name
    df["_line"] = lines
    return df


def _finish(df: pd.DataFrame, index) -> pd.DataFrame:
    # Keep index columns too (snakemake-workflows convention). Line numbers ride
    # along as a column through sort_index, then move to attrs, out of the data.
    df = df.set_index(index, drop=False)
    if isinstance(index, list):
        df = df.sort_index()  # lexsorted MultiIndex: fast, warning-free units.loc[sample]
    df.attrs["lines"] = df.pop("_line").tolist()
    return df


def load_samples(path, schema=None, name=None) -> pd.DataFrame:
    """samples.tsv indexed by `sample` (column kept); `phenotype` "" = unlabelled."""
    df = _read_sheet(path, _schema_file(schema, "samples.schema.yaml"), "sample", name)
    return _finish(df, "sample")


def load_units(path, schema=None, name=None) -> pd.DataFrame:
    """units.tsv indexed by (`sample`, `unit`) (columns kept); `fq2` "" = single-end."""
    df = _read_sheet(path, _schema_file(schema, "units.schema.yaml"), "sequencing unit", name)
    return _finish(df, ["sample", "unit"])


# ---------------------------------------------------------------- cross-checks


def _remote_url(remote, value: str) -> str | None:
    """The s3:// URL of a sheet or config path (scripts/remote.py), None when local."""
    if remote is None:
        if isinstance(value, str) and value.startswith("s3://"):
            return value  # no storage here: reported as missing below
        return None
    return remote.url(value)


def _check_remote(remote, items: list[tuple[str, str, str]]) -> list[str]:
    """Problems of (where, value, url) items on S3; refused credentials raise at once."""
    if not items:
        return []
    if remote is None:
        return [
            f"{where}: {value!r} is on S3, but Snakemake runs without S3 storage (see "
            "README: Data on S3: snakemake-storage-plugin-s3, --default-storage-provider s3)"
            for where, value, _ in items
        ]
    import remote as remote_mod  # scripts/remote.py

    try:
        return remote.missing(items)
    except remote_mod.RemoteError as e:
        raise SheetError(str(e)) from None


def check_sheets(
    samples: pd.DataFrame, units: pd.DataFrame, config: dict, base_dir=".", remote=None
) -> None:
    """Checks no schema can do. Relative paths are resolved against base_dir; paths on
    S3 (`remote`, a scripts/remote.py Remote) are looked up there instead."""
    s_name = samples.attrs.get("sheet", config.get("samples", "samples.tsv"))
    u_name = units.attrs.get("sheet", config.get("units", "units.tsv"))
    if "phenotype" not in samples:  # hand-made frame: phenotype is optional
        samples = samples.assign(phenotype="")

    # Duplicate samples; differing phenotypes mean the labels conflict.
    first, items, conflict = {}, [], False
    for line, sample, label in _rows(samples, "sample", "phenotype"):
        if sample not in first:
            first[sample] = (line, label)
        elif label != first[sample][1]:
            conflict = True
            items.append(
                f"row {line}, column phenotype: sample '{sample}' repeats row "
                f"{first[sample][0]} with conflicting labels ({first[sample][1]!r} vs {label!r})"
            )
        else:
            items.append(
                f"row {line}, column sample: sample '{sample}' repeats row {first[sample][0]}"
            )
    if items:
        raise _report(
            s_name,
            "conflicting labels for repeated samples" if conflict else "duplicate sample(s)",
            items,
            "list each sample once with one phenotype (empty = unlabelled); several "
            f"sequencing runs of one sample go into {u_name} as separate units.",
        )

    seen, items = {}, []
    for line, sample, unit in _rows(units, "sample", "unit"):
        if (sample, unit) in seen:
            items.append(
                f"row {line}, column unit: sample '{sample}' unit '{unit}' "
                f"repeats row {seen[sample, unit]}"
            )
        seen.setdefault((sample, unit), line)
    if items:
        raise _report(
            u_name,
            "duplicate (sample, unit) pair(s)",
            items,
            "give every unit of a sample its own name (e.g. L001, L002), or remove the copy.",
        )

    known = set(samples["sample"])
    items = [
        f"row {line}, column sample: '{s}' is not in {s_name}"
        for line, s in _rows(units, "sample")
        if s not in known
    ]
    if items:
        raise _report(
            u_name,
            "unit(s) of unknown samples",
            items,
            f"add the sample to {s_name} or correct its spelling here.",
        )

    with_units = set(units["sample"])
    items = [
        f"row {line}, column sample: '{s}' has no unit in {u_name}"
        for line, s in _rows(samples, "sample")
        if s not in with_units
    ]
    if items:
        raise _report(
            s_name,
            "sample(s) without reads",
            items,
            f"add a row with its FASTQ files to {u_name}, or remove the sample.",
        )

    items = [
        f"row {line}, columns fq1 and fq2: both are {fq1!r}"
        for line, fq1, fq2 in _rows(units, "fq1", "fq2")
        if fq2 and _resolve(base_dir, fq1) == _resolve(base_dir, fq2)
    ]
    if items:
        raise _report(
            u_name,
            "read 1 and read 2 are the same file",
            items,
            "set fq2 to the read-2 (mate) file, or leave it empty for single-end reads.",
        )

    items, on_s3 = [], []
    for line, fq1, fq2 in _rows(units, "fq1", "fq2"):
        for col, fq in (("fq1", fq1), ("fq2", fq2)):
            path = _resolve(base_dir, fq) if fq else None
            if path and not _made_by_workflow(path, config, base_dir):
                if url := _remote_url(remote, fq):
                    on_s3.append((f"row {line}, column {col}", fq, url))
                elif problem := _file_problem(path):
                    items.append(f"row {line}, column {col}: {fq!r} {problem}")
    items += _check_remote(remote, on_s3)
    if items:
        base = f"{Path(base_dir).resolve()}, the directory Snakemake runs in"
        if getattr(remote, "prefix", None):
            base = f"{remote.prefix}/, the --default-storage-prefix"
        raise _report(
            u_name,
            f"{len(items)} FASTQ file(s) missing or empty",
            items,
            f"correct the paths (relative ones are resolved against {base}) or provide the files.",
        )

    check_fastq_heads(units, config, base_dir, u_name, remote)
    check_config_files(config, base_dir, remote)


# ---------------------------------------------------------------- FASTQ heads


def _read_head(path: Path) -> tuple[bytes, bool, str | None]:
    """(first bytes of the content, whole file read, problem) of a plain or gzip FASTQ."""
    with open(path, "rb") as fh:
        raw = fh.read(HEAD_BYTES)
        whole = not fh.read(1)
    if raw[:2] != b"\x1f\x8b":
        if path.name.endswith((".gz", ".gzip")):
            return (
                b"",
                whole,
                (
                    f"ends in .gz but is not gzip-compressed (starts with {raw[:8]!r}); "
                    "compress it with gzip or drop the .gz from its name"
                ),
            )
        return raw, whole, None
    out, data = [], raw
    try:
        while data:  # multi-member gzip (bgzip) within the window
            d = zlib.decompressobj(wbits=31)
            out.append(d.decompress(data, HEAD_BYTES))
            if sum(map(len, out)) >= HEAD_BYTES or d.unconsumed_tail:
                return b"".join(out), False, None
            if not d.eof:
                if whole:
                    return (
                        b"".join(out),
                        whole,
                        (
                            "is a truncated gzip file (the compressed stream ends early: an "
                            "incomplete download or copy?); copy or download it again"
                        ),
                    )
                break
            data = d.unused_data
    except zlib.error as e:
        return b"", whole, f"is not a valid gzip file ({e}); copy or download it again"
    return b"".join(out), whole, None


def _fastq_head(path: Path) -> tuple[list[tuple[bytes, bytes]], bool, str | None]:
    """((pairing key, name) of the first reads, whole file read, first problem) of a FASTQ."""
    data, whole, problem = _read_head(path)
    if problem:
        return [], whole, problem
    if not whole:  # the first reads only; the last line may be cut by the window
        lines = data.split(b"\n", 4 * HEAD_READS)
        lines = lines[: 4 * HEAD_READS] if len(lines) > 4 * HEAD_READS else lines[:-1]
    else:
        lines = data.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
    names = []
    for i in range(0, len(lines), 4):
        rec = [line.rstrip(b"\r") for line in lines[i : i + 4]]
        n, where = len(names) + 1, f"read {len(names) + 1} (line {i + 1})"
        if len(rec) < 4:
            if whole:
                return names, whole, f"{where}: the file ends within the read (truncated?)"
            break
        head, seq, plus, qual = rec
        if not head.startswith(b"@"):
            return names, whole, f"{where}: header {head[:40]!r} does not start with '@'"
        if not plus.startswith(b"+"):
            return names, whole, f"{where}: line {i + 3} {plus[:40]!r} is not the '+' line"
        if len(seq) != len(qual):
            return (
                names,
                whole,
                (f"{where}: sequence has {len(seq)} characters, quality {len(qual)}"),
            )
        if bad := sorted(set(qual) - QUAL_CHARS):
            return (
                names,
                whole,
                (
                    f"{where}: quality has invalid character {chr(bad[0])!r} "
                    "(Phred+33 uses '!'..'~')"
                ),
            )
        # As cutadapt (dnaio) pairs them: first word, a last character 1 or 2 ignored.
        name = (head[1:].split() or [b""])[0]
        names.append((name[:-1] if name[-1:] in (b"1", b"2") else name, name))
        if n >= HEAD_READS and not whole:
            break
    return names, whole, None


def check_fastq_heads(
    units: pd.DataFrame, config: dict, base_dir=".", name="units.tsv", remote=None
):
    """A bounded look at the first reads of every FASTQ: gzip magic, record structure,
    sequence and quality lengths, quality characters, and that read names of R1 and R2
    pair up (and, for files small enough to be read whole, their read counts). Files on
    S3 are checked by the jobs that read them."""
    items = []
    for line, fq1, fq2 in _rows(units, "fq1", "fq2"):
        heads = {}
        for col, fq in (("fq1", fq1), ("fq2", fq2)):
            path = _resolve(base_dir, fq) if fq else None
            if not path or _made_by_workflow(path, config, base_dir) or _remote_url(remote, fq):
                continue
            names, whole, problem = _fastq_head(path)
            if problem:
                items.append(f"row {line}, column {col}: {fq!r}: {problem}")
            else:
                heads[col] = (names, whole)
        if len(heads) == 2:
            (n1, w1), (n2, w2) = heads["fq1"], heads["fq2"]
            for i, ((key1, a), (key2, b)) in enumerate(zip(n1, n2, strict=False), start=1):
                if key1 != key2:
                    items.append(
                        f"row {line}, columns fq1 and fq2: read {i} is named "
                        f"{a.decode(errors='replace')!r} in {fq1!r} but "
                        f"{b.decode(errors='replace')!r} in {fq2!r}: the files are not mates"
                    )
                    break
            else:
                if w1 and w2 and len(n1) != len(n2):
                    items.append(
                        f"row {line}, columns fq1 and fq2: {fq1!r} has {len(n1)} reads, "
                        f"{fq2!r} {len(n2)}: the files are not complete mates"
                    )
    if items:
        raise _report(
            name,
            f"{len(items)} FASTQ problem(s) in the first reads",
            items,
            "give the read-1 and read-2 files of the same run (same read names, in the "
            "same order), complete and uncorrupted; re-download or re-export them.",
        )


def check_config_files(config: dict, base_dir=".", remote=None) -> None:
    """The files the config names (reference, regions, input VCF, saved model) exist,
    locally or on S3 (`remote`)."""
    checks = []
    if config["reference"].get("fasta"):
        checks.append(("reference.fasta", config["reference"]["fasta"], "the reference FASTA"))
    elif not config.get("input_vcf"):
        raise SheetError(
            "config: reference.fasta: not set. Fix: point it to the reference FASTA "
            "(it may only be left out when input_vcf is set)."
        )
    for key, what in (
        ("regions", 'a BED file, or "" for the whole genome'),
        ("input_vcf", 'a multi-sample VCF/BCF, or "" to call variants from the reads'),
        ("predict_with", 'a model saved by this workflow (.skops), or "" to train one'),
    ):
        if config.get(key):
            checks.append((key, config[key], what))
    items = []
    for key, value, what in checks:
        path = _resolve(base_dir, value)
        if _made_by_workflow(path, config, base_dir):
            continue
        if key != "reference.fasta" and value.startswith("s3://"):
            items.append(
                f"config: {key}: {value!r}: s3:// URLs are read for the reads and the "
                "reference only. Fix: give a path relative to --default-storage-prefix "
                "(README: Data on S3), or a local file."
            )
        elif url := _remote_url(remote, value):
            problems = _check_remote(remote, [(f"config: {key}", value, url)])
            items += [f"{problem}. Fix: point it to {what}." for problem in problems]
            size = (config.get("bcftools") or {}).get("chunk_size")
            if key == "reference.fasta" and size and not config.get("input_vcf"):
                items.append(
                    f"config: bcftools.chunk_size: {size} needs the reference's length before "
                    f"any job, but the reference is on S3 ({url}). Fix: set "
                    "bcftools.chunk_size: 0 and the number of pieces in bcftools.chunks."
                )
        elif problem := _file_problem(path):
            items.append(f"config: {key}: {value!r} {problem}. Fix: point it to {what}.")
    if items:
        raise SheetError("\n".join(items))
    check_file_contents(config, base_dir, remote)


def _own(config: dict, key: str, base_dir, remote=None) -> Path | None:
    """The user's local file a config key names (None when unset, on S3 or written by the
    workflow)."""
    value = config.get(key) if key != "reference" else config["reference"].get("fasta")
    if not value or _remote_url(remote, value):
        return None
    path = _resolve(base_dir, value)
    return None if _made_by_workflow(path, config, base_dir) else path


def _reference_fai(config: dict, base_dir, ref: Path | None) -> tuple[Path | None, dict | None]:
    """(fai path, contigs) of the reference when cheap: a small FASTA is checked in full
    (scripts/reference.py), else an up-to-date .fai is used; (None, None) otherwise."""
    import reference  # scripts/reference.py

    if ref is None:
        return None, None
    if ref.stat().st_size <= REF_SCAN_BYTES:
        try:
            return None, reference.check_fasta(ref)
        except reference.FastaError as e:
            raise SheetError(
                f"config: reference.fasta: {e}".replace("\nFix:", "\nFix: in the reference,", 1)
            ) from None
    for fai in (_resolve(base_dir, "results/reference/genome.fa.fai"), Path(f"{ref}.fai")):
        if fai.is_file() and fai.stat().st_mtime >= ref.stat().st_mtime:
            return fai, None
    return None, None


def check_file_contents(config: dict, base_dir=".", remote=None) -> None:
    """Cheap looks inside the files the config names: a small reference in full, the
    regions BED against the reference contigs (when known without indexing), the header of
    input_vcf (it must have samples). Bigger files are checked by their rules."""
    ref = _own(config, "reference", base_dir, remote) if config.get("reference") else None
    bed = _own(config, "regions", base_dir, remote)
    fai, contigs = _reference_fai(config, base_dir, ref)
    if bed is not None and (fai or contigs):
        import tempfile

        import regions  # scripts/regions.py: the check the regions rule runs

        with tempfile.TemporaryDirectory(prefix="sheets.") as tmp:
            if fai is None:
                fai = Path(tmp) / "reference.fa.fai"
                fai.write_text("".join(f"{c}\t{n}\n" for c, n in contigs.items()))
            try:
                regions.check_bed(bed, fai)
            except ValueError as e:
                msg = str(e).replace(str(fai), f"the contigs of {config['reference']['fasta']}")
                raise SheetError(
                    f"config: regions: {msg}\nFix: correct these BED lines (tab-separated "
                    "chrom, 0-based start >= 0, end >= start, contig names as in the "
                    "reference), or remove them."
                ) from None
    vcf = _own(config, "input_vcf", base_dir, remote)
    if vcf is not None:
        import pysam

        try:
            with pysam.VariantFile(str(vcf)) as fh:
                n_samples = len(fh.header.samples)
        except (OSError, ValueError) as e:
            raise SheetError(
                f"config: input_vcf: {str(vcf)!r} cannot be read as VCF/BCF ({e}). "
                "Fix: point it to a VCF (plain or bgzip) or BCF file."
            ) from None
        if not n_samples:
            raise SheetError(
                f"config: input_vcf: {str(vcf)!r} has no samples (no genotype columns after "
                "FORMAT in its #CHROM line). Fix: give a multi-sample VCF with genotypes, "
                "not a sites-only VCF."
            )


def check_target(samples: pd.DataFrame, config: dict) -> None:
    """Training needs the target column in the samples sheet (predicting does not)."""
    target = config["model"]["target"]
    if config.get("predict_with"):
        return
    name = samples.attrs.get("sheet", config.get("samples", "samples.tsv"))
    if target not in samples.columns:
        raise SheetError(
            f"{name}: row 1: no column '{target}' (model.target) to train on; columns are "
            f"{[c for c in samples.columns]}. Fix: add the column (empty cells = samples to "
            "predict), set model.target to one of the columns, or set predict_with."
        )


def check_labels(samples: pd.DataFrame, config: dict) -> None:
    """Cross-validation is possible with the sheet's labels (scripts/labels.py, the check
    scripts/model.py makes too). Called when the DAG needs a model (rules/model.smk), so
    that runs up to the calls need no labels."""
    target = config["model"]["target"]
    if config.get("predict_with") or target not in samples.columns:
        return
    name = samples.attrs.get("sheet", config.get("samples", "samples.tsv"))
    try:
        labels.check_labels(
            samples.drop_duplicates("sample")[target],
            config["model"].get("cv_folds", 5),
            target,
            f"{name}: column {target}",
        )
    except labels.LabelError as e:
        raise SheetError(str(e)) from None


def is_paired(units: pd.DataFrame, sample: str, unit: str) -> bool:
    """True if the unit has a read-2 file (fq2 not empty)."""
    return bool(units.loc[(sample, unit), "fq2"])
