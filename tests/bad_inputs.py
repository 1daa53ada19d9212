"""Catalogue of bad inputs (issue 6): each case breaks one thing in a tiny valid base.

The base (`make_base`): a 2-contig, 4 kb reference, four paired-end samples (two `case`,
two `control`) of 80 read pairs each, both sheets and a config with the demo off and
`model.cv_folds: 2`, so that a dry run of the base passes every parse-time check.

A case is (id, build, messages, stage, targets, absent):

- build(workdir) breaks the copy of the base in `workdir`;
- messages: regular expressions that must all appear in Snakemake's output (the file, the
  row/line/read, and the fix);
- stage "parse": the error comes before any job runs, checked with a dry run (`-n`);
  stage "job": a real run of `targets` (only the jobs needed, e.g. one trim job), the
  failing job's log shown by the profile's show-failed-logs;
- absent: outputs of the failing job that must not be left behind (besides FINAL).
"""

from __future__ import annotations

import gzip
import random
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from helpers import deep_update, setup_workdir
from sheets import REF_SCAN_BYTES  # scripts/ (on sys.path via conftest)

SAMPLES = [("A1", "case"), ("A2", "case"), ("B1", "control"), ("B2", "control")]
CONTIGS = {"chr1": 2000, "chr2": 2000}
N_PAIRS, READ_LEN, INSERT = 80, 60, 180  # 80 pairs: small enough to be read whole at parse time
DEEP_PAIRS = 6000  # files larger than the parse-time window (sheets.HEAD_BYTES)

# Outputs that would make a run look complete; none may exist after a failure.
FINAL = [
    "results/calls/cohort.vcf.gz",
    "results/filter/filtered.bcf",
    "results/matrix/genotypes.parquet",
    "results/model/metrics.json",
    "results/model/model.skops",
    "results/predict/predictions.tsv",
]
TRIM_A1 = "results/trim/A1/L1.json"
FILTER = "results/filter/filter_counts.tsv"
REF = "results/reference/genome.fa.fai"


# ---------------------------------------------------------------- the valid base


def _reference() -> dict:
    rng = random.Random(6)
    return {c: "".join(rng.choice("ACGT") for _ in range(n)) for c, n in CONTIGS.items()}


def _revcomp(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGT", "TGCA"))


def write_fasta(path: Path, contigs: dict, width: int = 60):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        for name, seq in contigs.items():
            fh.write(f">{name}\n")
            fh.writelines(seq[i : i + width] + "\n" for i in range(0, len(seq), width))


def pairs(sample: str, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """n read pairs of `sample` from the reference as (R1 record, R2 record) FASTQ text."""
    ref, rng = _reference(), random.Random(f"{sample}{seed}")
    out = []
    for i in range(1, n + 1):
        chrom = rng.choice(list(ref))
        start = rng.randrange(0, len(ref[chrom]) - INSERT)
        frag = ref[chrom][start : start + INSERT]
        r1, r2 = frag[:READ_LEN], _revcomp(frag)[:READ_LEN]
        qual = "I" * READ_LEN
        out.append(
            (
                f"@{sample}:{i} 1:N:0:1\n{r1}\n+\n{qual}\n",
                f"@{sample}:{i} 2:N:0:1\n{r2}\n+\n{qual}\n",
            )
        )
    return out


def write_fastq(path: Path, records, compress=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(records).encode()
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)


def write_reads(workdir: Path, sample: str, n: int = N_PAIRS):
    rs = pairs(sample, n)
    write_fastq(workdir / f"data/{sample}_R1.fastq.gz", [a for a, _ in rs])
    write_fastq(workdir / f"data/{sample}_R2.fastq.gz", [b for _, b in rs])
    return rs


def make_base(workdir: Path) -> Path:
    """Write the valid tiny base into `workdir`."""
    write_fasta(workdir / "data/ref.fa", _reference())
    for sample, _ in SAMPLES:
        write_reads(workdir, sample)
    setup_workdir(
        workdir,
        {
            "reference": {"fasta": "data/ref.fa"},
            "bcftools": {"chunks": 1},
            "model": {"cv_folds": 2, "cv_repeats": 1, "n_estimators": 20, "n_shuffles": 1},
        },
        samples=[{"sample": s, "phenotype": p} for s, p in SAMPLES],
        units=[
            {
                "sample": s,
                "unit": "L1",
                "fq1": f"data/{s}_R1.fastq.gz",
                "fq2": f"data/{s}_R2.fastq.gz",
            }
            for s, _ in SAMPLES
        ],
    )
    return workdir


# ---------------------------------------------------------------- editing helpers


def edit_config(workdir: Path, overrides: dict):
    path = workdir / "config/config.yaml"
    cfg = deep_update(yaml.safe_load(path.read_text()), overrides)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def raw_config(workdir: Path, fn: Callable[[dict], None]):
    """Change the config dict in place with `fn` (no deep merge: may add any key)."""
    path = workdir / "config/config.yaml"
    cfg = yaml.safe_load(path.read_text())
    fn(cfg)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def write_text(workdir: Path, rel: str, text: str):
    path = workdir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def samples_sheet(workdir: Path, *rows: str, header: str = "sample\tphenotype"):
    write_text(workdir, "config/samples.tsv", "\n".join([header, *rows]) + "\n")


def units_sheet(workdir: Path, *rows: str, header: str = "sample\tunit\tfq1\tfq2"):
    write_text(workdir, "config/units.tsv", "\n".join([header, *rows]) + "\n")


def unit_row(sample: str, unit: str = "L1", fq_sample: str | None = None) -> str:
    s = fq_sample or sample
    return f"{sample}\t{unit}\tdata/{s}_R1.fastq.gz\tdata/{s}_R2.fastq.gz"


ALL_UNITS = [unit_row(s) for s, _ in SAMPLES]
ALL_SAMPLES = [f"{s}\t{p}" for s, p in SAMPLES]


def edit_r1(workdir: Path, fn: Callable[[list[str]], list[str]], sample="A1", n=N_PAIRS):
    """Rewrite A1's read-1 file as fn(records) (records: FASTQ text of each read)."""
    rs = pairs(sample, n)
    write_reads(workdir, sample, n)
    write_fastq(workdir / f"data/{sample}_R1.fastq.gz", fn([a for a, _ in rs]))


def replace_read(i: int, old: str, new: str, count: int = 1):
    """fn for edit_r1: in read i (1-based), replace `old` by `new`."""

    def fn(records):
        assert old in records[i - 1], (old, records[i - 1])
        records[i - 1] = records[i - 1].replace(old, new, count)
        return records

    return fn


def qual_of(rec: str) -> str:
    return rec.split("\n")[3]


def vcf_text(samples, records, sorted_=True) -> str:
    head = [
        "##fileformat=VCFv4.2",
        *(f"##contig=<ID={c},length={n}>" for c, n in CONTIGS.items()),
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"])
        + ("\tFORMAT\t" + "\t".join(samples) if samples else ""),
    ]
    return "\n".join(head + records) + "\n"


def vcf_record(chrom, pos, ref, alt, gts, qual=60):
    cols = [chrom, str(pos), ".", ref, alt, str(qual), "PASS", "."]
    return "\t".join(cols + (["GT", *gts] if gts else []))


GTS = ["0/1", "1/1", "0/0", "0/1"]


def from_vcf(workdir: Path, text: str):
    """Start from data/in.vcf (input_vcf) instead of reads."""
    write_text(workdir, "data/in.vcf", text)
    edit_config(workdir, {"input_vcf": "data/in.vcf", "reference": {"fasta": ""}})


# ---------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], None]
    messages: tuple[str, ...]
    stage: str = "parse"  # or "job"
    targets: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


FIX = r"Fix:"
S, U, C = r"config/samples\.tsv", r"config/units\.tsv", r"config: "

CASES = [
    # ------------------------------------------------------------ sheets
    Case(
        "samples_missing_column",
        lambda w: samples_sheet(w, *ALL_SAMPLES, header="name\tphenotype"),
        (rf"{S}: row 1: missing required column 'sample'", FIX),
    ),
    Case(
        "units_missing_column",
        lambda w: units_sheet(
            w, *(r.rsplit("\t", 1)[0] for r in ALL_UNITS), header="sample\tunit\tfq1"
        ),
        (rf"{U}: row 1: missing required column 'fq2'", FIX),
    ),
    Case(
        "samples_duplicate",
        lambda w: samples_sheet(w, *ALL_SAMPLES, "A2\tcase"),
        (rf"{S}: duplicate sample", r"row 6, column sample: sample 'A2' repeats row 3", FIX),
    ),
    Case(
        "samples_conflicting_labels",
        lambda w: samples_sheet(w, *ALL_SAMPLES, "A2\tcontrol"),
        (rf"{S}: conflicting labels", r"row 6, column phenotype: .*'case' vs 'control'", FIX),
    ),
    Case(
        "units_duplicate",
        lambda w: units_sheet(w, *ALL_UNITS, unit_row("B1")),
        (rf"{U}: duplicate \(sample, unit\)", r"row 6, column unit: .*repeats row 4", FIX),
    ),
    Case(
        "units_unknown_sample",
        lambda w: units_sheet(w, *ALL_UNITS, unit_row("Z9", fq_sample="A1")),
        (rf"{U}: unit\(s\) of unknown samples", r"row 6, column sample: 'Z9' is not in", FIX),
    ),
    Case(
        "samples_without_units",
        lambda w: units_sheet(w, *ALL_UNITS[:3]),
        (rf"{S}: sample\(s\) without reads", r"row 5, column sample: 'B2' has no unit", FIX),
    ),
    Case(
        "samples_unsafe_dotdot",
        lambda w: samples_sheet(w, *ALL_SAMPLES, "../x\tcase"),
        (rf"{S}: 1 invalid value", r"row 6, column sample: '\.\./x' is not allowed", FIX),
    ),
    Case(
        "samples_unsafe_space",
        lambda w: samples_sheet(w, "A 1\tcase", *ALL_SAMPLES[1:]),
        (rf"{S}: 1 invalid value", r"row 2, column sample: 'A 1' is not allowed", FIX),
    ),
    Case(
        "units_unsafe_unit",
        lambda w: units_sheet(w, ALL_UNITS[0].replace("\tL1\t", "\tL1/../x\t"), *ALL_UNITS[1:]),
        (rf"{U}: 1 invalid value", r"row 2, column unit: 'L1/\.\./x' is not allowed", FIX),
    ),
    Case(
        "samples_empty",
        lambda w: samples_sheet(w),
        (rf"{S}: sheet is empty \(header only\)", FIX),
    ),
    Case(
        "units_empty_file",
        lambda w: write_text(w, "config/units.tsv", ""),
        (rf"{U}: sheet is empty", FIX),
    ),
    Case(
        "samples_comma_csv",
        lambda w: samples_sheet(
            w, *(r.replace("\t", ",") for r in ALL_SAMPLES), header="sample,phenotype"
        ),
        (rf"{S}: row 1: header 'sample,phenotype' looks comma-separated; use tabs", FIX),
    ),
    Case(
        "samples_ragged_row",
        lambda w: samples_sheet(w, *ALL_SAMPLES[:3], "B2\tcontrol\tpop1"),
        (rf"{S}: row\(s\) with more cells than the header", r"row 5: has 3", FIX),
    ),
    # ------------------------------------------------------------ FASTQ, parse time
    Case(
        "fastq_missing",
        lambda w: (w / "data/B1_R2.fastq.gz").unlink(),
        (
            rf"{U}: 1 FASTQ file\(s\) missing",
            r"row 4, column fq2: 'data/B1_R2.fastq.gz' does not exist",
            FIX,
        ),
    ),
    Case(
        "fastq_empty",
        lambda w: write_text(w, "data/B1_R1.fastq.gz", ""),
        (r"row 4, column fq1: 'data/B1_R1.fastq.gz' is empty", FIX),
    ),
    Case(
        "fastq_gz_not_gzip",
        lambda w: write_fastq(
            w / "data/A2_R1.fastq.gz", [a for a, _ in pairs("A2", N_PAIRS)], compress=False
        ),
        (
            r"row 3, column fq1: 'data/A2_R1.fastq.gz': ends in \.gz but is not gzip-compressed",
            r"compress it with gzip",
        ),
    ),
    Case(
        "fastq_truncated_gzip_head",
        lambda w: (w / "data/A1_R2.fastq.gz").write_bytes(
            (w / "data/A1_R2.fastq.gz").read_bytes()[:1500]
        ),
        (r"row 2, column fq2: 'data/A1_R2.fastq.gz': is a truncated gzip file", FIX),
    ),
    Case(
        "fastq_not_fastq",
        lambda w: write_fastq(w / "data/A1_R1.fastq.gz", [">A1:1\nACGT\n"] * 8),
        (r"row 2, column fq1: 'data/A1_R1.fastq.gz': read 1 \(line 1\): header .* '@'",),
    ),
    Case(
        "fastq_pair_names_differ",  # R2 of another sample
        lambda w: shutil.copy(w / "data/B1_R2.fastq.gz", w / "data/A1_R2.fastq.gz"),
        (
            r"row 2, columns fq1 and fq2: read 1 is named 'A1:1' in 'data/A1_R1\.fastq\.gz' "
            r"but 'B1:1' in 'data/A1_R2\.fastq\.gz'",
            r"not mates",
            FIX,
        ),
    ),
    Case(
        "fastq_pair_counts_differ_small",
        lambda w: write_fastq(w / "data/B2_R2.fastq.gz", [b for _, b in pairs("B2", N_PAIRS)][:-5]),
        (r"row 5, columns fq1 and fq2: 'data/B2_R1\.fastq\.gz' has 80 reads, .* 75", FIX),
    ),
    Case(
        "fastq_bad_quality_char",
        lambda w: edit_r1(w, replace_read(3, "+\nIIII", "+\nII I")),
        (r"'data/A1_R1\.fastq\.gz': read 3 \(line 9\): quality has invalid character ' '", FIX),
    ),
    Case(
        "fastq_seq_qual_length",
        lambda w: edit_r1(w, replace_read(2, "+\nI", "+\n")),
        (r"'data/A1_R1\.fastq\.gz': read 2 \(line 5\): sequence has 60 characters, quality 59",),
    ),
    # ------------------------------------------------------------ FASTQ, deep in the file
    Case(
        "fastq_truncated_gzip_deep",
        lambda w: (
            write_reads(w, "A1", DEEP_PAIRS),
            (w / "data/A1_R1.fastq.gz").write_bytes(
                (w / "data/A1_R1.fastq.gz").read_bytes()[:30000]
            ),
        ),
        (r"data/A1_R1\.fastq\.gz: truncated or corrupt gzip", r"download it again"),
        stage="job",
        targets=(TRIM_A1,),
        absent=(TRIM_A1,),
    ),
    Case(
        "fastq_pair_counts_differ_deep",
        lambda w: (
            write_reads(w, "A1", DEEP_PAIRS),
            write_fastq(w / "data/A1_R2.fastq.gz", [b for _, b in pairs("A1", DEEP_PAIRS)][:-7]),
        ),
        (
            r"data/A1_R1\.fastq\.gz has more reads than its mate file data/A1_R2\.fastq\.gz",
            FIX,
        ),
        stage="job",
        targets=(TRIM_A1,),
        absent=(TRIM_A1,),
    ),
    Case(
        "fastq_bad_read_deep",
        lambda w: edit_r1(w, replace_read(5000, "+\nI", "+\n"), n=DEEP_PAIRS),
        (
            r"data/A1_R1\.fastq\.gz",
            r"read 5000 \(lines 19997-20000\): sequence has 60 characters, quality 59",
            FIX,
        ),
        stage="job",
        targets=(TRIM_A1,),
        absent=(TRIM_A1,),
    ),
    # ------------------------------------------------------------ reference
    Case(
        "reference_missing",
        lambda w: (w / "data/ref.fa").unlink(),
        (rf"{C}reference\.fasta: 'data/ref\.fa' does not exist", FIX),
    ),
    Case(
        "reference_empty",
        lambda w: write_text(w, "data/ref.fa", ""),
        (rf"{C}reference\.fasta: 'data/ref\.fa' is empty", FIX),
    ),
    Case(
        "reference_duplicate_contig",
        lambda w: write_text(
            w, "data/ref.fa", (w / "data/ref.fa").read_text().replace(">chr2", ">chr1")
        ),
        (
            rf"{C}reference\.fasta: .*data/ref\.fa: 1 problem",
            r"line 36: contig 'chr1' appears again \(first at line 1\)",
            FIX,
        ),
    ),
    Case(
        "reference_bad_chars",
        lambda w: write_text(
            w, "data/ref.fa", re.sub(r"\n.", "\nX", (w / "data/ref.fa").read_text(), count=1)
        ),
        (
            r"data/ref\.fa: 1 problem",
            r"line 2, column 1: contig 'chr1': character 'X' is not a nucleotide",
            FIX,
        ),
    ),
    Case(
        "reference_bad_chars_large",  # too big for the parse-time look: the rule checks it
        lambda w: write_fasta(
            w / "data/ref.fa",
            {**_reference(), "chr3": "ACGT" * (REF_SCAN_BYTES // 4) + "ACGT1ACGT"},
        ),
        (
            r"data/ref\.fa: 1 problem",
            r"line \d+, column \d+: contig 'chr3': character '1' is not a nucleotide",
            FIX,
        ),
        stage="job",
        targets=(REF,),
        absent=("results/reference/genome.fa", REF),
    ),
    # ------------------------------------------------------------ regions BED
    Case(
        "bed_unknown_contig",
        lambda w: (
            write_text(w, "data/roi.bed", "chr1\t10\t100\nchr9\t10\t100\n"),
            edit_config(w, {"regions": "data/roi.bed"}),
        ),
        (
            rf"{C}regions: .*data/roi\.bed: 1 invalid BED line",
            r"line 2: chr9:10-100: contig 'chr9' is not in the reference",
            FIX,
        ),
    ),
    Case(
        "bed_start_after_end",
        lambda w: (
            write_text(w, "data/roi.bed", "chr1\t500\t100\n"),
            edit_config(w, {"regions": "data/roi.bed"}),
        ),
        (rf"{C}regions: .*data/roi\.bed", r"line 1: chr1:500-100: start > end", FIX),
    ),
    Case(
        "bed_negative_start",
        lambda w: (
            write_text(w, "data/roi.bed", "# roi\nchr2\t-5\t100\n"),
            edit_config(w, {"regions": "data/roi.bed"}),
        ),
        (rf"{C}regions: .*data/roi\.bed", r"line 2: chr2:-5-100: negative start", FIX),
    ),
    Case(
        "bed_beyond_contig",
        lambda w: (
            write_text(w, "data/roi.bed", "chr2\t100\t5000\n"),
            edit_config(w, {"regions": "data/roi.bed"}),
        ),
        (rf"{C}regions: .*data/roi\.bed", r"line 1: .*end beyond the length of chr2", FIX),
    ),
    # ------------------------------------------------------------ input VCF
    Case(
        "vcf_no_samples",
        lambda w: from_vcf(w, vcf_text([], [vcf_record("chr1", 10, "A", "G", [])])),
        (rf"{C}input_vcf: '.*data/in\.vcf' has no samples", FIX),
    ),
    Case(
        "vcf_unsorted",
        lambda w: from_vcf(
            w,
            vcf_text(
                [s for s, _ in SAMPLES],
                [
                    vcf_record("chr1", 50, "A", "G", GTS),
                    vcf_record("chr1", 20, "C", "T", GTS),
                ],
            ),
        ),
        (r"data/in\.vcf", r"record 2 \(chr1:20\) comes after chr1:50", r"(?i)not sorted", FIX),
        stage="job",
        targets=(FILTER,),
        absent=(FILTER, "results/filter/filtered.bcf.csi"),
    ),
    Case(
        "vcf_no_snp_left",
        lambda w: from_vcf(
            w,
            vcf_text(
                [s for s, _ in SAMPLES],
                [
                    vcf_record("chr1", 20, "C", "T", GTS, qual=5),
                    vcf_record("chr1", 50, "A", "G", GTS, qual=10),
                    vcf_record("chr2", 50, "AT", "A", GTS),
                ],
            ),
        ),
        (r"data/in\.vcf", r"no site left", r"low_qual: 2", r"not_snp: 1", FIX),
        stage="job",
        targets=(FILTER,),
        absent=(FILTER, "results/filter/filtered.bcf.csi"),
    ),
    # ------------------------------------------------------------ labels
    Case(
        "labels_one_class",
        lambda w: samples_sheet(w, *(f"{s}\tcase" for s, _ in SAMPLES)),
        (rf"{S}: column phenotype: only one class \('case', 4 samples\)", FIX),
    ),
    Case(
        "labels_class_below_folds",
        lambda w: edit_config(w, {"model": {"cv_folds": 3}}),
        (
            rf"{S}: column phenotype: class 'case' has 2, 'control' has 2 labelled sample",
            r"model\.cv_folds=3",
            r"lower model\.cv_folds to 2",
        ),
    ),
    Case(
        "labels_none",
        lambda w: samples_sheet(w, *(f"{s}\t" for s, _ in SAMPLES)),
        (rf"{S}: column phenotype: no labelled sample", FIX),
    ),
    Case(
        "labels_target_column_missing",
        lambda w: edit_config(w, {"model": {"target": "disease"}}),
        (rf"{S}: row 1: no column 'disease' \(model\.target\)", FIX),
    ),
    # ------------------------------------------------------------ config
    Case(
        "config_unknown_key",
        lambda w: raw_config(w, lambda c: c.setdefault("filter", {}).update(min_qaul=20)),
        (rf"{C}filter\.min_qaul: unknown key\. Fix: did you mean 'min_qual'\?",),
    ),
    Case(
        "config_wrong_type",
        lambda w: edit_config(w, {"bcftools": {"chunks": "four"}}),
        (rf"{C}bcftools\.chunks: 'four' is not of type 'integer'\. Fix:",),
    ),
    Case(
        "config_out_of_range",
        lambda w: edit_config(w, {"filter": {"min_call_rate": 1.5}}),
        (rf"{C}filter\.min_call_rate: 1\.5 is greater than the maximum of 1\. Fix:",),
    ),
]
