"""The sex check: each sample's sex inferred from its data, against the samples sheet.

Evidence, by what the run has:
- **Depth** (from reads; `samtools idxstats` of the BAM, in the sample's QC record):
  x_ratio = (reads on X / X length) / (reads on the autosomes / their length), y_ratio
  the same for Y. A female has x_ratio ~1 and y_ratio ~0 (reads mismapped to Y), a male
  x_ratio ~0.5 (a little more with the PARs) and y_ratio well above 0. Male when
  x_ratio < X_RATIO_MALE and (no Y contig, or y_ratio >= Y_RATIO_MALE); female when
  x_ratio >= X_RATIO_MALE and y_ratio < Y_RATIO_MALE; otherwise `unknown` (X0, XXY,
  contamination, too few reads: look at the figure).
- **Calls** (from the filtered VCF; also from `input_vcf` alone): on X, the share of
  haploid calls among the sample's called genotypes and the heterozygosity of its diploid
  calls relative to its autosomal heterozygosity. Male when most X calls are haploid
  (`0`, `1`, a half call) or x_het_ratio < HET_RATIO_MALE; female when x_het_ratio >=
  HET_RATIO_FEMALE; `unknown` between, or with fewer than MIN_X_CALLS calls on X.
  Calls made with the sample's sex (`bcftools call -S`) are haploid for a male by
  construction: the calls then confirm the sex used, the depth tests it.
The inferred sex is the depth's when it is male or female, else the calls'.

Calling needs a sex per sample before the calls exist (`calling_sexes`): the sheet's, or
for `unknown`/empty the depth's (stated in the log), or female (diploid X, no Y calls)
when the depth cannot tell either. A mismatch (sheet male or female, inferred the other)
is logged and flagged; `sex_check.mismatch_error: true` makes it an error.

Top level: the standard library only (scripts/sample_qc.py calls `depth_ratios` in the
samtools environment); cyvcf2 and pandas are imported where the calls are read.
"""

import json
from pathlib import Path

from ploidy import is_autosome, is_x, is_y

X_RATIO_MALE = 0.75  # x_ratio below: one X
Y_RATIO_MALE = 0.1  # y_ratio at or above: a Y
HET_RATIO_MALE = 0.3  # X heterozygosity / autosomal heterozygosity below: one X
HET_RATIO_FEMALE = 0.5
MIN_X_CALLS = 20
SEXES = ("male", "female")
UNPLACED = ("_", "chrUn", "GL", "KI", "HLA", "EBV", "chrEBV", "hs37d5", "NC_007605")


def is_main_autosome(name: str) -> bool:
    """An autosome for the depth ratios: not X, Y, mitochondria, nor an unplaced, alt or
    decoy contig (their read counts say little)."""
    return is_autosome(name) and not any(
        name.startswith(p) or (p == "_" and "_" in name) for p in UNPLACED
    )


def depth_ratios(idxstats) -> dict:
    """{x_ratio, y_ratio, depth_sex} from `samtools idxstats` (ratios None without the
    contigs or reads)."""
    reads = {"x": 0, "y": 0, "a": 0}
    length = {"x": 0, "y": 0, "a": 0}
    for line in Path(idxstats).read_text().splitlines():
        f = line.split("\t")
        if len(f) < 3 or f[0] == "*":
            continue
        key = "x" if is_x(f[0]) else "y" if is_y(f[0]) else "a" if is_main_autosome(f[0]) else None
        if key:
            reads[key] += int(f[2])
            length[key] += int(f[1])
    auto = reads["a"] / length["a"] if length["a"] and reads["a"] else None

    def ratio(k):
        return round(reads[k] / length[k] / auto, 4) if auto and length[k] else None

    x, y = ratio("x"), ratio("y")
    return {"x_ratio": x, "y_ratio": y, "depth_sex": depth_sex(x, y)}


def depth_sex(x_ratio, y_ratio) -> str:
    if x_ratio is None:
        return "unknown"
    if y_ratio is None:
        return "male" if x_ratio < X_RATIO_MALE else "female"
    if x_ratio < X_RATIO_MALE and y_ratio >= Y_RATIO_MALE:
        return "male"
    if x_ratio >= X_RATIO_MALE and y_ratio < Y_RATIO_MALE:
        return "female"
    return "unknown"


def calls_sex(x_called, x_het, x_haploid, auto_called, auto_het) -> str:
    if x_called < MIN_X_CALLS:
        return "unknown"
    if x_haploid > x_called / 2:
        return "male"
    diploid = x_called - x_haploid
    if not diploid or not auto_called or not auto_het:
        return "unknown"
    ratio = (x_het / diploid) / (auto_het / auto_called)
    if ratio < HET_RATIO_MALE:
        return "male"
    return "female" if ratio >= HET_RATIO_FEMALE else "unknown"


def sheet_sex(value) -> str:
    return value if value in SEXES else "unknown"


def calling_sexes(sheet: dict, depth: dict) -> tuple[dict, list[str]]:
    """({sample: male|female} for `bcftools call -S`, log lines): the sheet's sex, else the
    depth's, else female."""
    used, lines = {}, []
    for sample, value in sheet.items():
        s = sheet_sex(value)
        if s in SEXES:
            used[sample] = s
            continue
        d = depth.get(sample, "unknown")
        used[sample] = d if d in SEXES else "female"
        why = "inferred from depth" if d in SEXES else "depth inconclusive, diploid X assumed"
        lines.append(f"{sample}: no male/female in the sheet: called as {used[sample]} ({why})")
    return used, lines


def x_call_counts(vcf, samples=None, max_autosomal=20000) -> dict:
    """{sample: (x_called, x_het, x_haploid, auto_called, auto_het)} from a VCF/BCF: every
    record on X, and the first `max_autosomal` autosomal records. A half call on X counts
    as haploid (filter.genotype_stats)."""
    import cyvcf2
    import numpy as np
    from filter import genotype_stats

    reader = cyvcf2.VCF(str(vcf))
    names = list(reader.samples)
    n = len(names)
    acc = np.zeros((5, n), dtype=np.int64)
    n_auto = 0
    for v in reader:
        x = is_x(v.CHROM)
        if not x and (not is_main_autosome(v.CHROM) or n_auto >= max_autosomal):
            continue
        if len(v.ALT) != 1:
            continue
        gt = v.genotype.array()
        called, dosage, n_alleles, has_ref = genotype_stats(gt, x)
        het = called & has_ref & (dosage > 0) & (n_alleles > 1)
        if x:
            acc[0] += called
            acc[1] += het
            acc[2] += called & (n_alleles == 1)
        else:
            n_auto += 1
            acc[3] += called
            acc[4] += het
    reader.close()
    keep = names if samples is None else [s for s in samples if s in names]
    return {s: tuple(int(c) for c in acc[:, names.index(s)]) for s in keep}


def check(samples: list, sheet: dict, depth: dict, counts: dict, used: dict | None = None):
    """The sex check table (a pandas DataFrame), one row per sample: sheet_sex,
    inferred_sex, mismatch, called_as, x_ratio, y_ratio, depth_sex, x_calls, x_het_rate,
    x_haploid_share, x_het_ratio, calls_sex."""
    import pandas as pd

    rows = []
    for s in samples:
        d = depth.get(s) or {}
        c = counts.get(s)
        row = {"sample": s, "sheet_sex": sheet_sex(sheet.get(s, ""))}
        row.update(x_ratio=d.get("x_ratio"), y_ratio=d.get("y_ratio"))
        row["depth_sex"] = d.get("depth_sex", "unknown") if d else "unknown"
        if c:
            x_called, x_het, x_hap, a_called, a_het = c
            diploid = x_called - x_hap
            row["x_calls"] = x_called
            row["x_het_rate"] = x_het / diploid if diploid else None
            row["x_haploid_share"] = x_hap / x_called if x_called else None
            auto = a_het / a_called if a_called else None
            rate = row["x_het_rate"]
            row["x_het_ratio"] = rate / auto if rate is not None and auto else None
            row["calls_sex"] = calls_sex(*c)
        else:
            row.update(x_calls=0, x_het_rate=None, x_haploid_share=None, x_het_ratio=None)
            row["calls_sex"] = "unknown"
        inferred = row["depth_sex"] if row["depth_sex"] in SEXES else row["calls_sex"]
        row["inferred_sex"] = inferred
        row["mismatch"] = (
            row["sheet_sex"] in SEXES and inferred in SEXES and row["sheet_sex"] != inferred
        )
        row["called_as"] = (used or {}).get(s, "")
        rows.append(row)
    columns = ["sample", "sheet_sex", "inferred_sex", "mismatch", "called_as", "x_ratio",
               "y_ratio", "depth_sex", "x_calls", "x_het_rate", "x_haploid_share",
               "x_het_ratio", "calls_sex"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _num(v) -> str:
    return "NA" if v is None or v != v else f"{v:.3g}"


def mismatch_lines(table) -> list[str]:
    return [
        f"sex mismatch: {r.sample}: sheet {r.sheet_sex}, data {r.inferred_sex} "
        f"(x_ratio {_num(r.x_ratio)}, y_ratio {_num(r.y_ratio)}, X het ratio "
        f"{_num(r.x_het_ratio)}, X haploid share {_num(r.x_haploid_share)}). "
        "Fix: check the sheet's sex and for a sample swap."
        for r in table.itertuples()
        if r.mismatch
    ]


def read_sheet_sex(path) -> dict:
    import pandas as pd

    t = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment="#")
    col = t["sex"] if "sex" in t.columns else [""] * len(t)
    return dict(zip(t["sample"], col, strict=True))


def _depths(records) -> dict:
    """{sample: {x_ratio, y_ratio, depth_sex}} of QC records (every record's sample; a
    record written before the sex check existed gives `unknown`)."""
    out = {}
    for path in records:
        rec = json.loads(Path(path).read_text())
        out[rec["sample"]] = rec.get("sex") or {"depth_sex": "unknown"}
    return out


def _main_calling(smk):
    """Rule sex_calling: the ploidy file and `-S` sexes of the calling jobs."""
    from ploidy import kind, ploidy_file_text, read_fai, sex_file_text

    Path(smk.output.ploidy).write_text(
        ploidy_file_text(smk.params.ploidy, read_fai(smk.input.fai), Path.cwd())
    )
    # bcftools call -S also orders the output's samples: the calling jobs' order (sorted).
    records = _depths(smk.input.qc)
    sexes = dict(smk.params.sexes)
    sheet = {s: sexes.get(s, "") for s in sorted(records)}
    depth = {s: d["depth_sex"] for s, d in records.items()}
    used, lines = calling_sexes(sheet, depth)
    Path(smk.output.sexes).write_text(sex_file_text(used))
    with open(smk.log[0], "w") as log:
        log.write(f"ploidy: {smk.params.ploidy}\n")
        if kind(smk.params.ploidy) == "int":  # the sexes change no call: no line per sample
            log.write("the same ploidy for both sexes: the sex does not change the calls\n")
        else:
            log.writelines(line + "\n" for line in lines)
        n = {s: sum(1 for v in used.values() if v == s) for s in SEXES}
        log.write(f"called as male: {n['male']}, female: {n['female']}\n")


def _main_check(smk):
    """Rule sex_check: the table, mismatches in the log (an error when configured)."""
    sheet = read_sheet_sex(smk.input.samples)
    depth = _depths(smk.input.get("qc", []))
    counts = x_call_counts(smk.input.vcf)  # every sample of the VCF, in its order
    samples = list(counts) + [s for s in depth if s not in counts]
    used = {}
    if smk.input.get("sexes"):
        for line in Path(smk.input.sexes).read_text().splitlines():
            s, code = line.split("\t")
            used[s] = "male" if code == "M" else "female"
    table = check(samples, sheet, depth, counts, used)
    table.to_csv(smk.output.tsv, sep="\t", index=False, na_rep="NA", float_format="%.4g")
    lines = mismatch_lines(table)
    with open(smk.log[0], "w") as log:
        inferred = table["inferred_sex"].value_counts().to_dict()
        log.write(f"samples: {len(table)}, inferred: {inferred}\n")
        log.write(f"mismatches with the sheet: {len(lines)}\n")
        log.writelines(line + "\n" for line in lines)
        if lines and smk.params.mismatch_error:
            msg = (
                f"{len(lines)} sample(s) with a sheet sex the data contradicts (see "
                f"{smk.output.tsv}); sex_check.mismatch_error is true. Fix: correct the "
                "samples sheet's `sex`, or set sex_check.mismatch_error: false to go on."
            )
            log.write(msg + "\n")
            Path(smk.output.tsv).unlink()
            raise SystemExit(msg)


if "snakemake" in globals():
    # Which rule by its outputs, not its name: a module may prefix it (README, Deploy).
    (_main_calling if "sexes" in snakemake.output.keys() else _main_check)(snakemake)  # noqa: F821
