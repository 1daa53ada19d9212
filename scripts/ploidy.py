"""Ploidy by sex and region (config `ploidy`), and the names of sex and mitochondrial contigs.

`ploidy` is one of:
  1, 2          every contig haploid / diploid, for everyone (mitochondrial contigs aside);
  GRCh37, GRCh38, X, Y
                bcftools' predefined ploidy files (`bcftools call --ploidy GRCh38?` prints
                them; copied in PRESETS): males haploid on X outside the PARs and on Y,
                females without Y; X and Y: the whole genome behaves as an X / a Y;
  a path        a bcftools `--ploidy-file` (CHROM FROM TO SEX PLOIDY, 1-based inclusive,
                `*` for any; sexes are the file's own letters, M and F here).

The calling jobs get a ploidy file written from it (`ploidy_file_text`, rule ploidy in
rules/sex_check.smk) and each sample's sex (`bcftools call -S`). Every contig named as a
mitochondrion (chrM, MT, M, chrMT, any case) is haploid for everyone, whatever the
setting (lines added ahead of the definition unless it names the contig itself).
"""

from pathlib import Path

PRESETS = {
    "GRCh37": """\
X 1 60000 M 1
X 2699521 154931043 M 1
Y 1 59373566 M 1
Y 1 59373566 F 0
MT 1 16569 M 1
MT 1 16569 F 1
chrX 1 60000 M 1
chrX 2699521 154931043 M 1
chrY 1 59373566 M 1
chrY 1 59373566 F 0
chrM 1 16569 M 1
chrM 1 16569 F 1
* * * M 2
* * * F 2
""",
    "GRCh38": """\
X 1 9999 M 1
X 2781480 155701381 M 1
Y 1 57227415 M 1
Y 1 57227415 F 0
MT 1 16569 M 1
MT 1 16569 F 1
chrX 1 9999 M 1
chrX 2781480 155701381 M 1
chrY 1 57227415 M 1
chrY 1 57227415 F 0
chrM 1 16569 M 1
chrM 1 16569 F 1
* * * M 2
* * * F 2
""",
    "X": "* * * M 1\n* * * F 2\n",
    "Y": "* * * M 1\n* * * F 0\n",
}
MITO_NAMES = {"chrm", "mt", "m", "chrmt"}
X_NAMES = {"x", "chrx"}
Y_NAMES = {"y", "chry"}
SEX_CODES = {"male": "M", "female": "F"}


class PloidyError(ValueError):
    pass


def is_mito(name: str) -> bool:
    return name.lower() in MITO_NAMES


def is_x(name: str) -> bool:
    return name.lower() in X_NAMES


def is_y(name: str) -> bool:
    return name.lower() in Y_NAMES


def is_autosome(name: str) -> bool:
    return not (is_mito(name) or is_x(name) or is_y(name))


def kind(value) -> str:
    """`int`, `preset` or `file` for a config `ploidy` value (validated by the schema)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return "int"
    return "preset" if str(value) in PRESETS else "file"


def parse_ploidy_file(text: str, name) -> list[tuple]:
    """[(chrom, start, end, sex, ploidy)] of a bcftools ploidy file (start/end None for
    `*`); a bad line raises PloidyError naming it."""
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        f = line.split()
        try:
            if len(f) != 5:
                raise ValueError(f"{len(f)} columns, not 5")
            start = None if f[1] == "*" else int(f[1])
            end = None if f[2] == "*" else int(f[2])
            p = int(f[4])
            if not 0 <= p <= 2:
                raise ValueError(f"ploidy {p} (0, 1 or 2 here)")
        except ValueError as e:
            raise PloidyError(
                f"ploidy file {name}, line {n} ({line.strip()!r}): {e}. Fix: write "
                "`CHROM FROM TO SEX PLOIDY` (bcftools --ploidy-file format), e.g. "
                "`chrX 2781480 155701381 M 1` or `* * * F 2`."
            ) from None
        rows.append((f[0], start, end, f[3], p))
    if not rows:
        raise PloidyError(f"ploidy file {name} defines nothing. Fix: add lines, e.g. `* * * M 2`.")
    return rows


def definition(value, base_dir=".") -> str:
    """The ploidy-file text of a config `ploidy` value (without the mitochondrial lines)."""
    k = kind(value)
    if k == "int":
        return f"* * * M {value}\n* * * F {value}\n"
    if k == "preset":
        return PRESETS[str(value)]
    path = Path(base_dir) / str(value)
    if not path.is_file():
        raise PloidyError(
            f"config ploidy: {value!r} is neither 1, 2, a bcftools preset "
            f"({', '.join(PRESETS)}) nor an existing ploidy file (looked for {path}). "
            "Fix: set one of them."
        )
    text = path.read_text()
    parse_ploidy_file(text, path)
    return text


def max_ploidy(value, base_dir=".") -> int:
    """The largest ploidy of any genotype: the matrix's dosage scale (1 or 2)."""
    if kind(value) == "int":
        return int(value)
    rows = parse_ploidy_file(definition(value, base_dir), value)
    return max(2 if kind(value) == "preset" else 1, *(r[4] for r in rows))


def haploid_contigs(value, base_dir=".") -> list[str]:
    """Contigs that hold haploid genotypes for someone: where a half call (`0/.`, `./1`)
    is read as the haploid call it is. The X, Y and mitochondrial names, plus every contig
    a ploidy file or preset gives ploidy 1 (sorted); `*` when a default line (`* * *`) is
    haploid for some sex (presets X and Y): then every contig."""
    names = {n for group in (X_NAMES, Y_NAMES, MITO_NAMES) for n in group}
    names |= {n.upper() for n in names} | {"chrX", "chrY", "chrM", "chrMT"}
    if kind(value) != "int":
        rows = parse_ploidy_file(definition(value, base_dir), value)
        names |= {r[0] for r in rows if r[4] == 1}
    return sorted(names)


def half_call_haploid(chrom: str, contigs) -> bool:
    """Whether half calls on `chrom` are haploid calls (see haploid_contigs)."""
    return "*" in contigs or chrom in contigs or chrom.lower() in X_NAMES | Y_NAMES | MITO_NAMES


def ploidy_file_text(value, contigs: dict, base_dir=".") -> str:
    """The ploidy file the calling jobs get: mitochondrial contigs of the reference
    (`contigs`: name -> length) haploid for both sexes, then the configured definition."""
    text = definition(value, base_dir)
    defined = {line.split()[0] for line in text.splitlines() if line.split()}
    mito = "".join(
        f"{name} 1 {length} {sex} 1\n"
        for name, length in contigs.items()
        if is_mito(name) and name not in defined
        for sex in ("M", "F")
    )
    return mito + text


def sex_file_text(sexes: dict) -> str:
    """`bcftools call -S` lines `sample<TAB>M|F` (sex: male/female; anything else F)."""
    return "".join(f"{s}\t{SEX_CODES.get(x, 'F')}\n" for s, x in sexes.items())


def read_fai(path) -> dict:
    """{contig: length} of a samtools .fai (the standard library only: also at parse time)."""
    out = {}
    with open(path) as fh:
        for line in fh:
            f = line.split("\t")
            out[f[0]] = int(f[1])
    return out
