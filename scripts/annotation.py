"""Variant consequences: GFF3 check and conversion, `bcftools csq`, and its calls as a table.

GFF3 styles (read_gff, to_ensembl)
----------------------------------
`bcftools csq` reads Ensembl-style GFF3 only: a gene `ID=gene:G;biotype=B`, a transcript
`ID=transcript:T;Parent=gene:G;biotype=B`, and CDS/exon/UTR lines `Parent=transcript:T`.
An Ensembl file (any `ID=gene:...`) is passed through as it is. Anything else is read as
NCBI RefSeq style and converted:

* genes (`gene`, `pseudogene`, ...; `ID=gene-b0001`, `gene_biotype=`) become
  `ID=gene:b0001;Name=<Name>;biotype=<gene_biotype>`;
* transcripts (mRNA, tRNA, rRNA, ncRNA, ... whose Parent is a gene) become
  `ID=transcript:<ID without rna->`, with the gene's biotype (mRNA: protein_coding);
* CDS and exons hanging directly under a gene (bacteria: no mRNA level) get one implicit
  transcript per gene, `transcript:<gene ID>`, spanning them;
* NCBI biotypes csq does not know are mapped to ones it does (BIOTYPES: tRNA -> misc_RNA,
  ncRNA -> sRNA, other_RNA -> misc_RNA); every such variant is `non_coding` anyway.

Checks (GffError, naming the file and line): lines without 9 tab-separated columns,
unparseable coordinates, strand, phase or attributes, a contig not in the reference or a
feature past its end, a CDS whose Parent is unknown, no CDS at all, and one contig with
CDS of two genetic codes.

Genetic code
------------
Debian's bcftools 1.16 has no genetic-code option: it translates every CDS with the
standard code. The bcftools that pysam bundles (1.22 in pysam 0.24) has `csq -C`, one
code per run, so this module runs csq with it (pysam.bcftools), once per code, each run
restricted to the contigs of that code (`transl_table=` of their CDS, else the config's
`annotation.genetic_code`), and concatenates the runs. Code 11 differs from the standard
code only in its start codons (GTG, TTG, CTG, ATT, ATC, ATA besides ATG); code 2 also
in AGA/AGG (stop), ATA (Met) and TGA (Trp). csq's tables translate a start codon as its
own amino acid (`1V` for GTG), not as the initiator Met; the consequence class is still
right: a change of a start codon to another start codon is `start_retained`, to any other
codon `start_lost`.

Consequence table (read_csq)
----------------------------
`bcftools csq -l -s -` (local: every record alone, genotypes ignored) writes INFO/BCSQ
`consequence|gene|transcript|biotype|strand|amino_acid_change|dna_change`. One row per
record and ALT: gene, consequence (bcftools' names, `&` joins those of one transcript),
protein_change (e.g. `340R>340H`; synonymous `340R`), biotype, transcript; several
transcripts are joined with `,` in BCSQ order. Sites outside every gene have no row.
"""

import gzip
import json
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
from ploidy import read_fai  # {contig: length} of a samtools .fai

PARSE_TIME_BYTES = 2 * 1024 * 1024  # GFF3 files up to this size are read at parse time
DEFAULT_CODE = 1  # NCBI's standard code; `annotation.genetic_code` overrides it
CSQ_CODES = frozenset({1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16, 21, 22, 23, 24, 25, 26})
CHILD_TYPES = frozenset({"CDS", "exon", "five_prime_UTR", "three_prime_UTR"})
# NCBI gene_biotype -> a biotype bcftools csq reads (its list: gff.c gf_strings_noncoding).
BIOTYPES = {"tRNA": "misc_RNA", "ncRNA": "sRNA", "other": "misc_RNA", "other_RNA": "misc_RNA"}
CSQ_COLUMNS = ["chrom", "pos", "ref", "alt", "gene", "consequence", "protein_change", "biotype",
               "transcript"]  # fmt: skip
SITE_COLUMNS = ["gene", "consequence", "protein_change"]  # added to results/matrix/sites.tsv


class GffError(ValueError):
    """A problem in the GFF3; the message names the file and line and how to fix it."""


@dataclass
class Feature:
    line: int
    seqid: str
    source: str
    type: str
    start: int
    end: int
    strand: str
    phase: str
    attrs: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- reading


def _open(path):
    path = Path(path)
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt") if gz else open(path)


def _error(path, line, problem, fix):
    return GffError(f"{path}, line {line}: {problem}\nFix: {fix}")


def parse_attributes(text: str, path, line: int) -> dict:
    attrs = {}
    for part in filter(None, (p.strip() for p in text.strip().split(";"))):
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise _error(
                path, line, f"attribute {part!r} is not key=value (column 9: {text[:80]!r})",
                "GFF3 attributes are `key=value` pairs separated by `;`.",
            )  # fmt: skip
        attrs[key.strip()] = unquote(value)
    return attrs


def read_gff(path) -> list[Feature]:
    """Features of a GFF3 (plain or gzip), checked line by line; stops at `##FASTA`."""
    features = []
    with _open(path) as fh:
        for n, raw in enumerate(fh, start=1):
            text = raw.rstrip("\n\r")
            if text.startswith("##FASTA"):
                break
            if not text.strip() or text.startswith("#"):
                continue
            cols = text.split("\t")
            if len(cols) != 9:
                raise _error(
                    path, n, f"{len(cols)} tab-separated columns, GFF3 has 9: {text[:80]!r}",
                    "separate the 9 columns with tabs (spaces are not separators).",
                )  # fmt: skip
            seqid, source, ftype, start, end, _score, strand, phase, attrs = cols
            try:
                start, end = int(start), int(end)
            except ValueError:
                raise _error(
                    path, n, f"start/end {cols[3]!r}/{cols[4]!r} are not integers",
                    "columns 4 and 5 are 1-based positions.",
                ) from None  # fmt: skip
            if start < 1 or end < start:
                raise _error(path, n, f"start {start} > end {end} or < 1", "1 <= start <= end.")
            if strand not in ("+", "-", ".", "?"):
                raise _error(path, n, f"strand {strand!r}", "column 7 is +, - or '.'.")
            if phase not in ("0", "1", "2", "."):
                raise _error(path, n, f"phase {phase!r}", "column 8 is 0, 1, 2 or '.'.")
            if ftype == "CDS" and (phase == "." or strand not in "+-"):
                raise _error(
                    path, n, "a CDS without strand or phase", "a CDS needs strand + or - and phase."
                )
            features.append(
                Feature(n, seqid, source, ftype, start, end, strand, phase,
                        parse_attributes(attrs, path, n))
            )  # fmt: skip
    return features


def check_features(features: list[Feature], contigs: dict, path) -> None:
    """Contigs and extents against the reference, and at least one CDS."""
    for f in features:
        if f.seqid not in contigs:
            shown = ", ".join(list(contigs)[:5]) + (" ..." if len(contigs) > 5 else "")
            raise _error(
                path, f.line, f"contig {f.seqid!r} is not in the reference ({shown})",
                "use the GFF3 of this reference assembly (contig names must match the FASTA).",
            )  # fmt: skip
        if f.end > contigs[f.seqid]:
            raise _error(
                path, f.line, f"{f.type} ends at {f.end}, past the end of {f.seqid} "
                f"({contigs[f.seqid]} bp)", "use the GFF3 of this reference assembly.",
            )  # fmt: skip
    if not any(f.type == "CDS" for f in features):
        raise GffError(
            f"{path}: no CDS feature in {len(features)} features: no protein-coding gene to "
            "annotate.\nFix: give a GFF3 with CDS lines (the gene annotation, not a region list)."
        )


def check_gff_early(path, max_bytes=PARSE_TIME_BYTES) -> None:
    """Parse-time look at a small GFF3 (rules/annotation.smk): its lines and that it has a
    CDS. Contigs are checked against the reference by the job (it needs the .fai)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size > max_bytes:
        return
    features = read_gff(path)
    if not any(f.type == "CDS" for f in features):
        check_features(features, {f.seqid: f.end for f in features}, path)  # raises: no CDS
    contig_codes(features, DEFAULT_CODE, path)


def is_ensembl(features: list[Feature]) -> bool:
    return any(f.attrs.get("ID", "").startswith("gene:") for f in features)


# ----------------------------------------------------------------------------- conversion


def _strip(identifier: str, prefixes=("gene-", "rna-", "cds-", "id-")) -> str:
    for p in prefixes:
        if identifier.startswith(p):
            return identifier[len(p) :]
    return identifier


def _biotype(attrs: dict, ftype: str) -> str:
    bt = attrs.get("gene_biotype") or attrs.get("biotype") or attrs.get("transcript_biotype")
    if not bt:
        bt = "pseudogene" if ftype == "pseudogene" else "misc_RNA"
    return BIOTYPES.get(bt, bt)


def _line(f: Feature, ftype: str, attrs: dict, phase=".") -> str:
    col9 = ";".join(f"{k}={v}" for k, v in attrs.items() if v not in (None, ""))
    return "\t".join(
        [f.seqid, f.source, ftype, str(f.start), str(f.end), ".", f.strand, phase, col9]
    )


def to_ensembl(features: list[Feature], path) -> tuple[list[str], dict]:
    """Ensembl-style GFF3 lines of NCBI-style features, and counts for the log."""
    by_id = {}
    for f in features:
        if "ID" in f.attrs:
            by_id.setdefault(f.attrs["ID"], f)
    # A gene: a parent-less feature that some feature names as its Parent.
    parents = {p for f in features for p in f.attrs.get("Parent", "").split(",") if p}
    genes = {i: f for i, f in by_id.items() if "Parent" not in f.attrs and i in parents}
    transcripts = {
        i: f
        for i, f in by_id.items()
        if f.type not in CHILD_TYPES and f.attrs.get("Parent") in genes
    }
    out_genes, out_tr, children = {}, {}, defaultdict(list)
    counts = Counter()
    for f in features:
        if f.type not in CHILD_TYPES:
            continue
        parent = f.attrs.get("Parent", "").split(",")[0]
        if parent in transcripts:
            tr_id, gene_id = parent, transcripts[parent].attrs["Parent"]
        elif parent in genes:  # bacterial style: CDS/exon straight under the gene
            tr_id, gene_id = parent, parent
        else:
            if f.type == "CDS":
                raise _error(
                    path, f.line, f"CDS Parent {parent!r} is neither a gene nor a transcript "
                    "of a gene in this file", "give every CDS a Parent ID defined in the file.",
                )  # fmt: skip
            counts["orphan_" + f.type] += 1
            continue
        children[tr_id].append(f)
        out_tr.setdefault(tr_id, gene_id)
        out_genes.setdefault(gene_id, genes[gene_id])
    lines = ["##gff-version 3"]
    for gene_id, g in sorted(out_genes.items(), key=lambda kv: kv[1].line):
        biotype = _biotype(g.attrs, g.type)
        name = g.attrs.get("Name") or g.attrs.get("gene") or _strip(gene_id)
        lines.append(
            _line(g, "gene", {"ID": f"gene:{_strip(gene_id)}", "Name": name, "biotype": biotype})
        )
        counts["genes"] += 1
        counts[f"biotype_{biotype}"] += 1
        for tr_id in [t for t, gid in out_tr.items() if gid == gene_id]:
            kids = children[tr_id]
            tr = transcripts.get(tr_id)
            if tr is not None:
                tr_biotype = "protein_coding" if tr.type == "mRNA" else biotype
                tr_name = _strip(tr_id)
            else:  # implicit transcript of a bacterial gene
                tr = Feature(g.line, g.seqid, g.source, "transcript", min(k.start for k in kids),
                             max(k.end for k in kids), g.strand, ".")  # fmt: skip
                tr_biotype, tr_name = biotype, _strip(gene_id)
            if any(k.type == "CDS" for k in kids) and tr_biotype != "protein_coding":
                counts[f"cds_in_{tr_biotype}"] += 1  # pseudogenes with CDS stay non-coding
            lines.append(
                _line(tr, "transcript", {"ID": f"transcript:{tr_name}",
                      "Parent": f"gene:{_strip(gene_id)}", "biotype": tr_biotype})
            )  # fmt: skip
            counts["transcripts"] += 1
            for k in sorted(kids, key=lambda k: (k.start, k.type)):
                phase = k.phase if k.type == "CDS" else "."
                lines.append(_line(k, k.type, {"Parent": f"transcript:{tr_name}"}, phase))
                counts[k.type] += 1
    return lines, dict(counts)


def contig_codes(features: list[Feature], default: int, path) -> dict:
    """{contig: genetic code} of every contig with a CDS: `transl_table=` or `default`."""
    codes, where = {}, {}
    for f in features:
        if f.type != "CDS":
            continue
        table = f.attrs.get("transl_table")
        try:
            code = int(table) if table else default
        except ValueError:
            raise _error(path, f.line, f"transl_table={table!r}", "an NCBI table number.") from None
        if code not in CSQ_CODES:
            raise _error(path, f.line, f"genetic code {code} is not one bcftools csq knows",
                         f"one of {sorted(CSQ_CODES)}.")  # fmt: skip
        if codes.setdefault(f.seqid, code) != code:
            raise _error(
                path, f.line, f"{f.seqid} has CDS of genetic code {codes[f.seqid]} (line "
                f"{where[f.seqid]}) and {code}", "one genetic code per contig.",
            )  # fmt: skip
        where.setdefault(f.seqid, f.line)
    return codes


def prepare_gff(gff, fai, out_gff, default_code=None) -> dict:
    """Check `gff` against the reference's .fai and write the Ensembl-style GFF3 csq reads.

    Returns a summary: style, counts, {contig: genetic code}."""
    default = DEFAULT_CODE if default_code in (None, 0) else int(default_code)
    features = read_gff(gff)
    check_features(features, read_fai(fai), gff)
    codes = contig_codes(features, default, gff)
    if is_ensembl(features):
        with _open(gff) as src, open(out_gff, "w") as dst:
            for text in src:
                if text.startswith("##FASTA"):
                    break
                dst.write(text)
        style = "ensembl"
        counts = dict(Counter(f.type for f in features))
    else:
        lines, counts = to_ensembl(features, gff)
        Path(out_gff).write_text("\n".join(lines) + "\n")
        style = "ncbi"
    return {"gff": str(gff), "style": style, "default_code": default, "codes": codes,
            "counts": counts}  # fmt: skip


# ----------------------------------------------------------------------------- bcftools csq


def _bcftools(command, *args):
    """Run a bcftools command from pysam's bundled bcftools (csq with -C); returns stderr."""
    from pysam import bcftools
    from pysam.utils import SamtoolsError

    try:
        return getattr(bcftools, command)(*map(str, args), catch_stdout=False) or ""
    except SamtoolsError as e:
        raise RuntimeError(f"bcftools {command} {' '.join(map(str, args))}: {e}") from None


def run_csq(vcf, fasta, gff, out_vcf, codes: dict, default_code: int, threads=1) -> list:
    """`bcftools csq -l -s -` of `vcf` into bgzipped `out_vcf` (+ .tbi), one run per genetic
    code, each on its contigs (contigs without CDS go with `default_code`). Returns the runs
    [(code, contigs or None, stderr)]."""
    import pysam

    by_code = defaultdict(list)
    for contig, code in codes.items():
        by_code[code].append(contig)
    common = ["-f", fasta, "-g", gff, "-l", "-s", "-", "--threads", max(threads - 1, 0)]
    runs = []
    if len(by_code) <= 1:
        code = next(iter(by_code), default_code)
        err = _bcftools("csq", *common, "-C", csq_code(code), "-Oz", "-o", out_vcf, vcf)
        runs.append((code, None, err))
    else:
        with pysam.VariantFile(str(vcf)) as v:
            all_contigs = list(v.header.contigs)
        rest = [c for c in all_contigs if c not in codes]
        if rest:
            by_code[default_code] += rest
        tmp = Path(tempfile.mkdtemp(prefix="csq.", dir=Path(out_vcf).parent))
        try:
            parts = []
            for i, (code, contigs) in enumerate(sorted(by_code.items())):
                part = tmp / f"part{i}.vcf.gz"
                targets = ["-t", ",".join(contigs)]
                err = _bcftools(
                    "csq", *common, "-C", csq_code(code), *targets, "-Oz", "-o", part, vcf
                )
                _bcftools("index", "-t", part)
                parts.append(part)
                runs.append((code, contigs, err))
            _bcftools("concat", "-a", "-Oz", "-o", out_vcf, *parts)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    pysam.tabix_index(str(out_vcf), preset="vcf", force=True)
    return runs


def start_codons(code: int) -> frozenset:
    """Start codons of NCBI table `code`; ATG alone for the standard code (1), as bcftools'
    default table and Ensembl/VEP treat it (its rare CTG/TTG starts are not counted)."""
    from Bio.Data import CodonTable

    if code == 1:
        return frozenset({"ATG"})
    return frozenset(CodonTable.unambiguous_dna_by_id[code].start_codons)


def csq_code(code: int) -> int:
    """The table number given to `bcftools csq -C`: 0 (its standard table with ATG as the only
    start) for the standard code, else the NCBI number."""
    return 0 if code == 1 else code


_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def first_codons(gff, fasta) -> dict:
    """{transcript name: (chrom, [3 positions in codon order], strand, codon)} of every
    protein-coding transcript of an Ensembl-style GFF3 whose CDS starts in phase 0."""
    import pysam

    cds = defaultdict(list)
    coding = set()
    for f in read_gff(gff):
        if f.type in ("transcript", "mRNA") and f.attrs.get("biotype") == "protein_coding":
            coding.add(f.attrs.get("ID", "").removeprefix("transcript:"))
        elif f.type == "CDS":
            cds[f.attrs.get("Parent", "").removeprefix("transcript:")].append(f)
    out = {}
    with pysam.FastaFile(str(fasta)) as fa:
        for name, parts in cds.items():
            if name not in coding:
                continue
            if parts[0].strand == "+":
                first = min(parts, key=lambda f: f.start)
                pos = [first.start, first.start + 1, first.start + 2]
            else:
                first = max(parts, key=lambda f: f.end)
                pos = [first.end, first.end - 1, first.end - 2]
            if first.phase != "0" or first.end - first.start < 2:
                continue
            bases = "".join(fa.fetch(first.seqid, p - 1, p).upper() for p in pos)
            if first.strand == "-":
                bases = bases.translate(_COMPLEMENT)
            out[name] = (first.seqid, pos, first.strand, bases)
    return out


def fix_start_codons(table: pd.DataFrame, starts: dict, codes: dict, default_code: int):
    """csq flags every change of a first codon as `start_lost`, also when the new codon is
    another start codon of the organism's code (ATG->GTG, TTG->ATG in code 11). Such SNVs
    become `start_retained` with protein change `1M` (the initiator is Met either way).
    Returns (table, number of entries changed)."""
    if not len(table):
        return table, 0
    table = table.copy()
    changed = 0
    for i, row in table.iterrows():
        if "start_lost" not in row["consequence"] or len(row["ref"]) != 1 or len(row["alt"]) != 1:
            continue
        fields = {c: row[c].split(",") for c in ("consequence", "protein_change", "transcript")}
        for j, tr in enumerate(fields["transcript"]):
            if "start_lost" not in fields["consequence"][j] or tr not in starts:
                continue
            chrom, pos, strand, codon = starts[tr]
            if chrom != row["chrom"] or row["pos"] not in pos:
                continue
            alt = row["alt"].upper().translate(_COMPLEMENT) if strand == "-" else row["alt"]
            k = pos.index(row["pos"])
            new = codon[:k] + alt.upper() + codon[k + 1 :]
            okay = start_codons(codes.get(chrom, default_code))
            if codon in okay and new in okay:
                fields["consequence"][j] = "start_retained"
                fields["protein_change"][j] = "1M"
                changed += 1
        for c in ("consequence", "protein_change"):
            table.at[i, c] = ",".join(fields[c])
    return table, changed


_DNA = re.compile(r"^\d+([ACGTN]+)>([ACGTN]+)$", re.I)


def read_csq(vcf, tag="BCSQ") -> pd.DataFrame:
    """One row per (record, ALT) with a consequence: CSQ_COLUMNS (see the module docstring)."""
    import pysam

    rows = []
    with pysam.VariantFile(str(vcf)) as v:
        for rec in v:
            entries = rec.info.get(tag) if tag in rec.header.info else None
            if not entries:
                continue
            alts = rec.alts or ()
            per_alt = defaultdict(list)
            for entry in entries:
                if entry.startswith("@"):  # a pointer to a compound record (not with -l)
                    continue
                parts = (entry.split("|") + [""] * 7)[:7]
                if len(alts) > 1 and (m := _DNA.match(parts[6])):
                    targets = [m.group(2).upper()]
                else:
                    targets = list(alts)
                for alt in targets:
                    per_alt[alt].append(parts)
            for alt, items in per_alt.items():
                rows.append(
                    {"chrom": rec.chrom, "pos": rec.pos, "ref": rec.ref, "alt": alt,
                     "gene": ",".join(p[1] for p in items),
                     "consequence": ",".join(p[0] for p in items),
                     "protein_change": ",".join(p[5] for p in items),
                     "biotype": ",".join(p[3] for p in items),
                     "transcript": ",".join(p[2] for p in items)}
                )  # fmt: skip
    return pd.DataFrame(rows, columns=CSQ_COLUMNS).astype({"pos": "int64"})


def consequence_terms(values) -> list[set]:
    """The consequence names of each value of a `consequence` column (split on , and &)."""
    return [
        set(filter(None, re.split(r"[,&]", str(v) if isinstance(v, str) else ""))) for v in values
    ]


def join_sites(sites: pd.DataFrame, table: pd.DataFrame | None) -> pd.DataFrame:
    """`sites` (chrom, pos, ref, alt) with SITE_COLUMNS from a read_csq table; empty strings
    where a site has no consequence or no table is given."""
    out = sites.copy()
    if table is None or not len(table) or not len(out):
        for c in SITE_COLUMNS:
            out[c] = ""
        return out
    t = table[["chrom", "pos", "ref", "alt", *SITE_COLUMNS]].drop_duplicates(
        ["chrom", "pos", "ref", "alt"]
    )
    t = t.astype({"chrom": str, "pos": "int64", "ref": str, "alt": str})
    keys = out[["chrom", "pos", "ref", "alt"]].astype({"chrom": str, "pos": "int64"})
    merged = keys.merge(t, on=["chrom", "pos", "ref", "alt"], how="left")
    for c in SITE_COLUMNS:
        out[c] = merged[c].fillna("").astype(str).to_numpy()
    return out


def read_table(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False).astype({"pos": "int64"})


def summarise(table: pd.DataFrame) -> dict:
    """Sites per consequence name (a site counts once per name it carries)."""
    counts = Counter(t for terms in consequence_terms(table["consequence"]) for t in terms)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


# ----------------------------------------------------------------------------- entry point


def _main(smk):
    with open(smk.log[0], "w") as log:
        summary = json.loads(Path(smk.input.summary).read_text())
        codes = {c: int(k) for c, k in summary["codes"].items()}
        runs = run_csq(smk.input.vcf, smk.input.ref, smk.input.gff, smk.output.vcf, codes,
                       summary["default_code"], smk.threads)  # fmt: skip
        for code, contigs, err in runs:
            log.write(f"csq genetic code {code} on {contigs or 'all contigs'}\n{err}\n")
        table, fixed = fix_start_codons(
            read_csq(smk.output.vcf), first_codons(smk.input.gff, smk.input.ref), codes,
            summary["default_code"],
        )  # fmt: skip
        log.write(f"start codon changes to another start codon (start_retained): {fixed}\n")
        table.to_csv(smk.output.table, sep="\t", index=False)
        log.write(f"annotated records: {len(table)}\nconsequences: {summarise(table)}\n")


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
