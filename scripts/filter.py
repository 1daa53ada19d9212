"""Site and genotype filters of the joint VCF, streamed with cyvcf2.

Filters, in order; a site is counted once, by the first filter that removes it:

1. `not_biallelic`: more than one ALT, or ALT `.`, `*`, `<*>` or `<NON_REF>` (no real allele).
2. `not_snp`: with `snps_only`, any ALT that is not a single-base substitution; always,
   symbolic (`<DEL>`, `<CN0>`) and breakend ALTs, which are not sequence-resolved. With
   `snps_only: false` indels, MNPs and complex substitutions are kept.
3. `low_qual`: QUAL < `min_qual`. A missing QUAL (`.`, as in truth or merged VCFs) passes:
   the caller gave no evidence against the site, and dropping all sites of a QUAL-less VCF
   would be silent data loss. Sites with missing QUAL are counted in the log.
4. Genotype masking: a called genotype with FORMAT/DP < `min_dp` or FORMAT/GQ < `min_gq`
   becomes missing (`./.`, `.` when haploid), never hom-ref. A genotype failing both is
   counted under DP only. Checks are skipped when the field is not in the header (noted
   in the log) and a missing per-sample value (`.`) passes, as in `bcftools filter`.
5. `low_call_rate`: called genotypes / samples < `min_call_rate`, after masking. A
   genotype with any missing allele (`./1`) is not called.
6. `monomorphic`: MAF 0 over the called genotypes after masking (always removed, also with
   `min_maf: 0`; a site with no called genotype at all counts here too).
7. `low_maf`: MAF < `min_maf`, alleles counted over called genotypes after masking.

Kept sites are written with every header line plus `##filter_params=<json>`; masked
genotypes are written missing and INFO/AC, AN, AF (when present) are recomputed at sites
where a genotype was masked. Output: bgzipped VCF + .tbi.

Counts table (returned; the Snakemake rule writes it as TSV), columns `filter removed
remaining`, rows in filter order:
  input                 removed 0, remaining = input records
  <site filter>         sites removed by it, sites remaining after it
  genotypes_masked_dp   genotypes masked (unit: genotypes), remaining NA
  genotypes_masked_gq   idem
  output                removed = all sites removed, remaining = output records
"""

import json
import time
from pathlib import Path

import cyvcf2
import numpy as np
import pandas as pd
import pysam
from defaults import with_defaults

SITE_FILTERS = ["not_biallelic", "not_snp", "low_qual"]
MASKS = ["genotypes_masked_dp", "genotypes_masked_gq"]
POST_MASK_FILTERS = ["low_call_rate", "monomorphic", "low_maf"]
NO_ALLELE = {".", "*", "<*>", "<NON_REF>"}  # placeholders, not a second allele
BASES = set("ACGTNacgtn")
INT32_VECTOR_END = -2147483647  # htslib bcf_int32_vector_end: shorter-ploidy padding
BLOCK_BYTES = 1 << 22  # genotype arrays of pending sites per vectorised block (4 MiB)


def classify(ref: str, alts: list[str], snps_only: bool) -> str | None:
    """The type filter removing a site (`not_biallelic`, `not_snp`), or None when kept."""
    if len(alts) != 1 or alts[0] in NO_ALLELE:
        return "not_biallelic"
    alt = alts[0]
    if not set(alt) <= BASES or not set(ref) <= BASES:  # symbolic <DEL>, breakend N[chr:1[
        return "not_snp"
    if snps_only and (len(ref) != 1 or len(alt) != 1):
        return "not_snp"
    return None


def genotype_stats(gt: np.ndarray):
    """(called, dosage, n_alleles, has_ref) per sample from `Variant.genotype.array()` of a
    biallelic site.

    gt: (n_samples, k + 1) int16, alleles then the phase flag; -1 = missing allele, -2 =
    padding of a genotype shorter than k (a haploid call in a diploid record). A genotype is
    called when no allele is missing (`./1` is not called). dosage = ALT alleles (int8),
    n_alleles = alleles present, has_ref = a REF allele present; all three ignore `called`.
    """
    n = len(gt)
    missing, has_ref = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    dosage, n_alleles = np.zeros(n, dtype=np.int8), np.zeros(n, dtype=np.int8)
    for j in range(gt.shape[1] - 1):  # per allele column: far faster than axis=1 reductions
        a = gt[:, j]
        missing |= a == -1
        has_ref |= a == 0
        dosage += a > 0
        n_alleles += a >= 0
    return ~missing & (n_alleles > 0), dosage, n_alleles, has_ref


def called_sum(values: np.ndarray, called: np.ndarray) -> int:
    """Sum of int8 `values` over called genotypes, in int64 (int8 sums overflow at 127)."""
    return int(values.sum(where=called, dtype=np.int64))


def check_ploidy(gt: np.ndarray, ploidy: int, where: str):
    """Raise when a genotype has more allele slots (missing included) than `ploidy`."""
    if gt.shape[1] - 1 > ploidy and ((gt[:, :-1] != -2).sum(axis=1) > ploidy).any():
        raise ValueError(
            f"{where} has genotypes with more than ploidy={ploidy} alleles. "
            "Fix: set `ploidy` in the config to the organism's ploidy."
        )


def encode_gt(gt: np.ndarray, masked: np.ndarray) -> np.ndarray:
    """htslib int32 GT encoding of `gt` (as from `genotype.array()`) with `masked` samples
    set to all-missing; unmasked genotypes round-trip exactly, including phase."""
    alleles = gt[:, :-1].astype(np.int32)
    alleles[masked] = np.where(alleles[masked] == -2, -2, -1)  # keep the sample's ploidy
    phase = np.where(masked, 0, gt[:, -1]).astype(np.int32)
    enc = np.where(alleles >= 0, (alleles + 1) << 1, 0)
    enc[:, 1:] |= phase[:, None]  # VCF stores phase on the 2nd+ alleles
    enc[alleles == -2] = INT32_VECTOR_END
    return enc.astype(np.int32)


def _fails(variant, field: str, threshold) -> np.ndarray | None:
    """Per-sample `field < threshold`; None when the record lacks the field.

    Missing values (int32 minimum, NaN) and padding compare as not failing."""
    values = variant.format(field)
    if values is None:
        return None
    v = values[:, 0]
    return (v >= 0) & (v < threshold)


def _block_fails(pending, field: str, threshold, n_samples: int) -> np.ndarray:
    """`_fails` of each pending (variant, gt) stacked: sites x samples; a record without
    the field fails nowhere."""
    cols = []
    for v, _ in pending:
        values = v.format(field)
        cols.append(np.full(n_samples, -1, np.int32) if values is None else values[:, 0])
    v = np.stack(cols)
    return (v >= 0) & (v < threshold)


def _header_has(reader, kind: str, field: str) -> bool:
    return any(h.type == kind and h.info().get("ID") == field for h in reader.header_iter())


def _update_info(variant, called, dosage, n_alleles):
    ac, an = called_sum(dosage, called), called_sum(n_alleles, called)
    info = dict(variant.INFO)
    if "AC" in info:
        variant.INFO["AC"] = ac
    if "AN" in info:
        variant.INFO["AN"] = an
    if "AF" in info and an:
        variant.INFO["AF"] = ac / an


class UnsortedError(ValueError):
    def __init__(self, path, n, v, last, why):
        super().__init__(
            f"{path}: not sorted: record {n} ({v.CHROM}:{v.POS}) comes after "
            f"{last[0]}:{last[1]} ({why}). Fix: sort and index it, e.g. "
            "`bcftools sort -Oz -o sorted.vcf.gz in.vcf && bcftools index -t sorted.vcf.gz`, "
            "and set input_vcf to the sorted file."
        )


def no_site_left(in_vcf, counts: pd.DataFrame) -> str | None:
    """The error message when no site passed the filters (None when some did)."""
    c = counts.set_index("filter")["removed"]
    if counts["remaining"].iloc[-1] > 0:
        return None
    if c["input"] == 0 and counts["remaining"].iloc[0] == 0:
        return f"{in_vcf}: no site left after the filters: the VCF has no records. Fix: check it."
    removed = ", ".join(f"{f}: {c[f]}" for f in SITE_FILTERS + POST_MASK_FILTERS if c[f])
    return (
        f"{in_vcf}: no site left after the filters (of {counts['remaining'].iloc[0]} records, "
        f"removed by {removed}). Fix: relax the thresholds of the filters that removed them "
        "(filter.min_qual, min_dp, min_gq, min_call_rate, min_maf; filter.snps_only: false "
        "keeps indels), or check that the VCF is the intended one."
    )


def index_vcf(path):
    pysam.tabix_index(str(path), preset="vcf", force=True)


def filter_vcf(in_vcf, out_vcf, params: dict, ploidy: int) -> pd.DataFrame:
    """Filter `in_vcf` into `out_vcf` (bgzipped + .tbi); returns the counts table.

    params = config["filter"] (missing keys take the schema defaults); ploidy = the
    workflow's ploidy, checked against the genotypes (a call with more alleles is an
    error). Notes for the log (skipped checks, missing QUAL) are in the table's
    `attrs["notes"]`.
    """
    p = with_defaults("filter", params)
    reader = cyvcf2.VCF(str(in_vcf))
    n_samples = len(reader.samples)
    notes = []
    check_dp = bool(p["min_dp"]) and _header_has(reader, "FORMAT", "DP")
    check_gq = bool(p["min_gq"]) and _header_has(reader, "FORMAT", "GQ")
    for field, on, key in (("DP", check_dp, "min_dp"), ("GQ", check_gq, "min_gq")):
        if p[key] and not on:
            notes.append(f"FORMAT/{field} not in the header: {key} check skipped")
    reader.add_to_header(
        "##filter_params=" + json.dumps({**p, "ploidy": ploidy}, separators=(",", ":"))
    )
    writer = cyvcf2.Writer(str(out_vcf), reader, mode="wz")

    removed = dict.fromkeys(SITE_FILTERS + POST_MASK_FILTERS, 0)
    masked_counts = dict.fromkeys(MASKS, 0)
    n_in = n_out = qual_missing = 0
    min_qual, min_cr, min_maf = p["min_qual"] or 0, p["min_call_rate"] or 0, p["min_maf"] or 0
    done_contigs, last = set(), (None, 0)
    # Sites passing the site filters wait in `pending` and get their genotype filters a
    # block at a time: per-site numpy calls cost more than parsing (profiled, bench/).
    pending = []  # (variant, genotype array)
    checks = (("DP", "min_dp", check_dp), ("GQ", "min_gq", check_gq))
    fields = [(field, p[key]) for field, key, on in checks if on]

    def flush() -> int:
        """Genotype masks and post-mask filters of the pending sites; writes the kept
        ones in order; returns how many were written."""
        if not pending:
            return 0
        b, written = len(pending), 0
        gts = np.stack([gt for _, gt in pending])  # sites x samples x (k + 1)
        stats = genotype_stats(gts.reshape(b * n_samples, gts.shape[2]))
        called, dosage, n_alleles = (x.reshape(b, n_samples) for x in stats[:3])
        mask = np.zeros((b, n_samples), dtype=bool)
        for field, threshold in fields:  # DP first: a genotype failing both counts there
            m = called & _block_fails(pending, field, threshold, n_samples) & ~mask
            masked_counts[f"genotypes_masked_{field.lower()}"] += int(m.sum())
            mask |= m
        called &= ~mask
        n_called = np.count_nonzero(called, axis=1).tolist()
        an = n_alleles.sum(axis=1, where=called, dtype=np.int64).tolist()
        ac = dosage.sum(axis=1, where=called, dtype=np.int64).tolist()
        any_masked = mask.any(axis=1).tolist()
        for j, (v, gt) in enumerate(pending):
            call_rate = n_called[j] / n_samples if n_samples else 0.0
            af = ac[j] / an[j] if an[j] else 0.0
            maf = min(af, 1 - af)
            if call_rate < min_cr:
                removed["low_call_rate"] += 1
            elif maf == 0:
                removed["monomorphic"] += 1
            elif maf < min_maf:
                removed["low_maf"] += 1
            else:
                if any_masked[j]:
                    v.set_format("GT", encode_gt(gt, mask[j]))
                    _update_info(v, called[j], dosage[j], n_alleles[j])
                writer.write_record(v)
                written += 1
        pending.clear()
        return written

    for v in reader:
        n_in += 1
        if v.CHROM != last[0]:
            if v.CHROM in done_contigs:
                raise UnsortedError(in_vcf, n_in, v, last, "its contig's records are not together")
            done_contigs.add(last[0])
        elif v.POS < last[1]:
            raise UnsortedError(in_vcf, n_in, v, last, "positions decrease")
        last = (v.CHROM, v.POS)
        why = classify(v.REF, v.ALT, p["snps_only"])
        if why is None and v.QUAL is None:
            qual_missing += 1
        elif why is None and v.QUAL < min_qual:
            why = "low_qual"
        if why:
            removed[why] += 1
            continue

        gt = v.genotype.array()
        if gt.shape[1] - 1 > ploidy:
            check_ploidy(gt, ploidy, f"{in_vcf}: {v.CHROM}:{v.POS}")
        if pending and pending[0][1].shape != gt.shape:  # a block holds one width
            n_out += flush()
        pending.append((v, gt))
        if len(pending) * gt.nbytes >= BLOCK_BYTES:
            n_out += flush()
    n_out += flush()
    writer.close()
    reader.close()
    index_vcf(out_vcf)

    if qual_missing:
        notes.append(f"{qual_missing} sites with missing QUAL passed low_qual")
    rows, remaining = [("input", 0, n_in)], n_in
    for name in SITE_FILTERS:
        remaining -= removed[name]
        rows.append((name, removed[name], remaining))
    rows += [(name, masked_counts[name], pd.NA) for name in MASKS]
    for name in POST_MASK_FILTERS:
        remaining -= removed[name]
        rows.append((name, removed[name], remaining))
    assert remaining == n_out, (remaining, n_out)
    rows.append(("output", n_in - n_out, n_out))
    counts = pd.DataFrame(rows, columns=["filter", "removed", "remaining"])
    counts = counts.astype({"removed": "int64", "remaining": "Int64"})
    counts.attrs["notes"] = notes
    counts.attrs["samples"] = n_samples
    return counts


def write_counts(counts: pd.DataFrame, path):
    counts.to_csv(path, sep="\t", index=False, na_rep="NA")


def summary(counts: pd.DataFrame) -> str:
    """A few log lines: sites in/out, removals per filter, masked genotypes, notes."""
    c = counts.set_index("filter")
    lines = [
        f"samples: {counts.attrs.get('samples', '?')}",
        f"sites in: {c.loc['input', 'remaining']}, out: {c.loc['output', 'remaining']}",
    ]
    lines += [f"  {name}: {c.loc[name, 'removed']}" for name in SITE_FILTERS + POST_MASK_FILTERS]
    lines += [f"{name}: {c.loc[name, 'removed']}" for name in MASKS]
    lines += [f"note: {n}" for n in counts.attrs.get("notes", [])]
    return "\n".join(lines) + "\n"


def _main(smk):
    start = time.time()
    try:
        counts = filter_vcf(
            smk.input.vcf, smk.output.vcf, dict(smk.params.filter), int(smk.params.ploidy)
        )
    except UnsortedError as e:
        Path(smk.log[0]).write_text(f"{e}\n")
        raise SystemExit(str(e)) from None
    Path(smk.output.counts).parent.mkdir(parents=True, exist_ok=True)
    write_counts(counts, smk.output.counts)
    with open(smk.log[0], "w") as log:
        log.write(summary(counts) + f"seconds: {time.time() - start:.1f}\n")
        if error := no_site_left(smk.input.vcf, counts):
            log.write(error + "\n")
            raise SystemExit(error)


if "snakemake" in globals():
    _main(snakemake)  # noqa: F821
