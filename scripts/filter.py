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
   haploid call (`0`, `1`) is called. A half call (`0/.`, `./1`) is called, as the haploid
   call of the allele it has, on the contigs that hold haploid genotypes (X, Y and
   mitochondria by name, and the ploidy file's ploidy-1 contigs: scripts/ploidy.py), as
   exports of males' X write them; elsewhere it is not called. MAF and INFO/AC, AN count
   the alleles that exist: a male's X call is one allele.
6. `monomorphic`: MAF 0 over the called genotypes after masking (always removed, also with
   `min_maf: 0`; a site with no called genotype at all counts here too).
7. `low_maf`: MAF < `min_maf`, alleles counted over called genotypes after masking.

Kept sites are written with every header line plus `##filter_params=<json>`; masked
genotypes are written missing and INFO/AC, AN, AF (when present) are recomputed at sites
where a genotype was masked. Output: BCF (`.bcf`, + .csi) or bgzipped VCF (`.vcf.gz`, + .tbi).

Scatter (rules/filter.smk): one `filter_chunk` job per calling chunk filters the records
whose POS is in the chunk's BED (`bcftools view -R BED --regions-overlap 0`, through the
index, so each record is in exactly one chunk); `gather` joins the chunks' BCFs block by
block (`bcftools concat --naive`, no re-encoding) and sums their counts. bcftools decodes
the text VCF into uncompressed BCF on a pipe; cyvcf2 then unpacks the genotypes of kept
sites only (records a site filter removes cost ~4 us each), and chunks are written as
BCF at compression level 1: writing bgzipped VCF text cost 24 of the 43 CPU seconds of
the 2,000 x 100,000 benchmark (bench/results/vcf2matrix.md).

Counts table (returned; the Snakemake rule writes it as TSV), columns `filter removed
remaining`, rows in filter order:
  input                 removed 0, remaining = input records
  <site filter>         sites removed by it, sites remaining after it
  genotypes_masked_dp   genotypes masked (unit: genotypes), remaining NA
  genotypes_masked_gq   idem
  output                removed = all sites removed, remaining = output records
"""

import json
import shlex
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import cyvcf2
import numpy as np
import pandas as pd
import pysam
from calls import read_chunk
from defaults import with_defaults
from ploidy import half_call_haploid

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


def genotype_stats(gt: np.ndarray, half_haploid=False):
    """(called, dosage, n_alleles, has_ref) per sample from `Variant.genotype.array()` of a
    biallelic site.

    gt: (n_samples, k + 1) int16, alleles then the phase flag; -1 = missing allele, -2 =
    padding of a genotype shorter than k (a haploid call in a diploid record). A haploid
    call (`0`, `1`) is called, with one allele. A half call (`0/.`, `./1`: some allele
    missing) is called only where `half_haploid` (bool, or per genotype): on contigs that
    hold haploid genotypes (X, Y, mitochondria: scripts/ploidy.py) it is the haploid call
    of the allele it has, as exports of males' X write them; elsewhere it is missing.
    dosage = ALT alleles (int8), n_alleles = alleles present, has_ref = a REF allele
    present; all three ignore `called`.
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
    return (~missing | half_haploid) & (n_alleles > 0), dosage, n_alleles, has_ref


def matrix_dosage(dosage: np.ndarray, n_alleles: np.ndarray, ploidy: int) -> np.ndarray:
    """The matrix's int8 dosage: ALT alleles on the cohort's scale. With `ploidy` 2, a
    haploid call (one allele: males' X outside the PARs and Y, mitochondria, a half call
    read as haploid) counts 0 or 2, as PLINK's `--xchr-model 2`: a male's single active X
    stands for a female's two (dosage compensation), and dosage 1 keeps meaning
    heterozygous. With `ploidy` 1 every call is 0/1. AC/AN, call rate and MAF are counted
    over the alleles that exist (a male has one X allele), not over this scale."""
    if ploidy < 2:
        return dosage
    return np.where(n_alleles == 1, dosage * 2, dosage).astype(np.int8)


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
    """.csi beside a BCF, .tbi beside a bgzipped VCF."""
    if str(path).endswith(".bcf"):
        subprocess.run(["bcftools", "index", "-f", str(path)], check=True, capture_output=True)
    else:
        pysam.tabix_index(str(path), preset="vcf", force=True)


def writer_mode(path) -> str:
    """cyvcf2 write mode from the file name: BCF at compression level 1 (level 6 tripled the
    job's CPU for a 24 % smaller file), else bgzipped VCF."""
    return "wb1" if str(path).endswith(".bcf") else "wz"


@contextmanager
def bcf_stream(in_vcf, chunk_bed=None):
    """cyvcf2 reader of `in_vcf` decoded by `bcftools view` into uncompressed BCF on a pipe;
    with `chunk_bed`, only records whose POS lies in its intervals (index needed). bcftools'
    parse of the text is half cyvcf2's cost, and cyvcf2 unpacks BCF genotypes lazily."""
    cmd = ["bcftools", "view", "--no-version", "-Ou"]
    if chunk_bed is not None and not read_chunk(chunk_bed):
        cmd.append("-h")  # a chunk past the genome's end: the header alone (bcftools -R fails)
    elif chunk_bed is not None:
        cmd += ["-R", str(chunk_bed), "--regions-overlap", "0"]
    cmd.append(str(in_vcf))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        reader = cyvcf2.VCF(f"/dev/fd/{proc.stdout.fileno()}")
    except OSError:
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        proc.wait()
        raise ValueError(f"{in_vcf}: cannot be read as VCF/BCF ({err or 'no header'})") from None
    try:
        yield reader
    finally:
        reader.close()
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        if proc.wait():
            raise ValueError(f"{in_vcf}: `{shlex.join(cmd)}` failed: {err}")


class ChunkGenotypes:
    """The int8 ALT dosages of the sites a filter job keeps, written for the matrix step
    (scripts/matrix.py `gather_chunks`), so that the genotypes are decoded once.

    Exactly what `matrix.build_matrix` makes of the filtered VCF: the dosage of
    `matrix_dosage` (haploid calls 0/2 when `ploidy` is 2), -1 = not called (no allele,
    a half call off the haploid contigs, or masked), a repeated site ID keeps its first
    record. Files:
      .npz  mat (sites x samples int8), names (samples), not_het (2 x k: site, sample of
            the dosage-1 calls without a REF allele, i.e. haploid ALT calls, which the
            dosage alone would count as heterozygous), duplicates (site IDs of the
            repeated records skipped)
      .tsv  site_id chrom pos ref alt called ac an (called genotypes, ALT and all alleles)
    """

    def __init__(self, ploidy: int = 2):
        self.ploidy = ploidy
        self.names = []  # set by filter_vcf from the VCF
        self.blocks, self.rows, self.not_het = [], [], []
        self.seen, self.duplicates, self.n = set(), [], 0

    def add(self, variants, dosage, called, has_ref, counts, n_alleles=None):
        keep = []
        for j, v in enumerate(variants):
            site_id = f"{v.CHROM}:{v.POS}:{v.REF}:{v.ALT[0]}"
            if site_id in self.seen:  # a repeated column name would break the parquet
                self.duplicates.append(site_id)
                continue
            self.seen.add(site_id)
            keep.append(j)
            self.rows.append((site_id, v.CHROM, v.POS, v.REF, v.ALT[0], *counts[j]))
        d = (
            dosage[keep]
            if n_alleles is None
            else matrix_dosage(dosage[keep], n_alleles[keep], self.ploidy)
        )
        d[~called[keep]] = -1
        rows, cols = np.nonzero((d == 1) & ~has_ref[keep])
        self.not_het.append(np.stack([rows + self.n, cols]))
        self.blocks.append(d)
        self.n += len(d)

    def write(self, out_npz, out_tsv):
        n = len(self.names)
        mat = np.concatenate(self.blocks) if self.blocks else np.empty((0, n), np.int8)
        not_het = np.concatenate(self.not_het, axis=1) if self.not_het else np.empty((2, 0))
        np.savez(
            out_npz,
            mat=mat,
            names=np.asarray(self.names, dtype=str),
            not_het=not_het.astype(np.int64),
            duplicates=np.asarray(self.duplicates, dtype=str),
        )
        columns = ["site_id", "chrom", "pos", "ref", "alt", "called", "ac", "an"]
        pd.DataFrame(self.rows, columns=columns).to_csv(out_tsv, sep="\t", index=False)


def filter_vcf(
    in_vcf,
    out_vcf,
    params: dict,
    ploidy: int,
    chunk_bed=None,
    genotypes=None,
    index=True,
    haploid_contigs=(),
) -> pd.DataFrame:
    """Filter `in_vcf` (or its records with POS in `chunk_bed`) into `out_vcf` (BCF + .csi
    or bgzipped VCF + .tbi, by name); returns the counts table.

    params = config["filter"] (missing keys take the schema defaults); ploidy = the
    workflow's ploidy, checked against the genotypes (a call with more alleles is an
    error). Notes for the log (skipped checks, missing QUAL) are in the table's
    `attrs["notes"]`. `genotypes` (a ChunkGenotypes) collects the kept sites' dosages;
    `index=False` leaves out the index (a chunk's BCF is only joined by `gather`).
    Half calls on `haploid_contigs` (and X, Y, mitochondria by name) are haploid calls
    (`genotype_stats`); their count is in `attrs["half_calls"]`.
    """
    with bcf_stream(in_vcf, chunk_bed) as reader:
        counts = _filter(reader, in_vcf, out_vcf, params, ploidy, genotypes, set(haploid_contigs))
    if index:
        index_vcf(out_vcf)
    return counts


def _filter(reader, in_vcf, out_vcf, params, ploidy, genotypes, haploid_contigs) -> pd.DataFrame:
    p = with_defaults("filter", params)
    n_samples = len(reader.samples)
    if genotypes is not None:
        genotypes.names = list(reader.samples)
    notes = []
    check_dp = bool(p["min_dp"]) and _header_has(reader, "FORMAT", "DP")
    check_gq = bool(p["min_gq"]) and _header_has(reader, "FORMAT", "GQ")
    for field, on, key in (("DP", check_dp, "min_dp"), ("GQ", check_gq, "min_gq")):
        if p[key] and not on:
            notes.append(f"FORMAT/{field} not in the header: {key} check skipped")
    reader.add_to_header(
        "##filter_params=" + json.dumps({**p, "ploidy": ploidy}, separators=(",", ":"))
    )
    writer = cyvcf2.Writer(str(out_vcf), reader, mode=writer_mode(out_vcf))

    removed = dict.fromkeys(SITE_FILTERS + POST_MASK_FILTERS, 0)
    masked_counts = dict.fromkeys(MASKS, 0)
    n_in = n_out = qual_missing = 0
    half_calls = [0]
    half_of = {}  # contig -> half calls read as haploid there
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
        b = len(pending)
        gts = np.stack([gt for _, gt in pending])  # sites x samples x (k + 1)
        half = np.array([half_of.setdefault(v.CHROM, half_call_haploid(v.CHROM, haploid_contigs))
                         for v, _ in pending])  # fmt: skip
        flat = gts.reshape(b * n_samples, gts.shape[2])
        stats = genotype_stats(flat, np.repeat(half, n_samples) if half.any() else False)
        called, dosage, n_alleles, has_ref = (x.reshape(b, n_samples) for x in stats)
        if half.any() and gts.shape[2] > 2:  # called genotypes with a missing allele
            half_calls[0] += int((called & (gts[:, :, :-1] == -1).any(axis=2)).sum())
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
        kept = []
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
                kept.append(j)
        if genotypes is not None and kept:
            k = np.array(kept)
            genotypes.add([pending[j][0] for j in kept], dosage[k], called[k], has_ref[k],
                          [(n_called[j], ac[j], an[j]) for j in kept], n_alleles[k])  # fmt: skip
        pending.clear()
        return len(kept)

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

    counts = counts_table(n_in, removed, masked_counts)
    assert counts["remaining"].iloc[-1] == n_out, (counts, n_out)
    counts.attrs.update(samples=n_samples, skipped=notes, qual_missing=qual_missing)
    counts.attrs.update(half_calls=half_calls[0])
    counts.attrs["notes"] = _notes(notes, qual_missing, half_calls[0])
    return counts


def _notes(skipped: list[str], qual_missing: int, half_calls: int = 0) -> list[str]:
    missing = [f"{qual_missing} sites with missing QUAL passed low_qual"] if qual_missing else []
    half = [
        f"{half_calls} half calls (0/., ./1) on X/Y/mitochondrial or ploidy-1 contigs read "
        "as haploid calls"
    ] if half_calls else []  # fmt: skip
    return skipped + missing + half


def counts_table(n_in: int, removed: dict, masked: dict) -> pd.DataFrame:
    """The counts table (module docstring) from the input records and the removals."""
    rows, remaining = [("input", 0, n_in)], n_in
    for name in SITE_FILTERS:
        remaining -= removed[name]
        rows.append((name, removed[name], remaining))
    rows += [(name, masked[name], pd.NA) for name in MASKS]
    for name in POST_MASK_FILTERS:
        remaining -= removed[name]
        rows.append((name, removed[name], remaining))
    rows.append(("output", n_in - remaining, remaining))
    counts = pd.DataFrame(rows, columns=["filter", "removed", "remaining"])
    return counts.astype({"removed": "int64", "remaining": "Int64"})


def write_counts(counts: pd.DataFrame, path, meta: bool = False):
    """TSV (NA written as `NA`); with `meta`, a chunk's samples, skipped checks and
    missing-QUAL count first as `#` lines, for `gather`."""
    with open(path, "w") as fh:
        if meta:
            a = counts.attrs
            fh.write(f"# samples: {a['samples']}\n# qual_missing: {a['qual_missing']}\n")
            fh.write(f"# half_calls: {a.get('half_calls', 0)}\n")
            fh.writelines(f"# skipped: {n}\n" for n in a["skipped"])
        counts.to_csv(fh, sep="\t", index=False, na_rep="NA")


def read_chunk_counts(path) -> pd.DataFrame:
    """A chunk's counts table with its `#` lines back in `attrs`."""
    attrs = {"samples": 0, "qual_missing": 0, "half_calls": 0, "skipped": []}
    with open(path) as fh:
        for line in fh:
            if not line.startswith("# "):
                break
            key, value = line[2:].rstrip("\n").split(": ", 1)
            if key == "skipped":
                attrs["skipped"].append(value)
            else:
                attrs[key] = int(value)
    counts = pd.read_csv(path, sep="\t", comment="#", dtype={"remaining": "Int64"})
    counts.attrs.update(attrs)
    return counts


def gather(chunks, chunk_counts, out_bcf, in_vcf, expected: int | None = None) -> pd.DataFrame:
    """Join the chunks' BCFs in order into `out_bcf` (+ .csi) without re-encoding and sum
    their counts; returns the cohort's counts table. `expected` = the input's record count
    (from its index): every record must have been seen by exactly one chunk."""
    tables = [read_chunk_counts(c) for c in chunk_counts]
    removed = {f: sum(int(t.set_index("filter").loc[f, "removed"]) for t in tables) for f in
               SITE_FILTERS + POST_MASK_FILTERS + MASKS}  # fmt: skip
    n_in = sum(int(t["remaining"].iloc[0]) for t in tables)
    if expected is not None and n_in != expected:
        raise ValueError(
            f"{in_vcf}: the chunks saw {n_in} records, its index counts {expected}. Fix: "
            "re-index it (`bcftools index -f`); if that does not help, report this as a bug."
        )
    counts = counts_table(n_in, removed, removed)
    skipped = list(dict.fromkeys(n for t in tables for n in t.attrs["skipped"]))
    qual_missing = sum(t.attrs["qual_missing"] for t in tables)
    half_calls = sum(t.attrs["half_calls"] for t in tables)
    counts.attrs.update(samples=tables[0].attrs["samples"], skipped=skipped)
    counts.attrs.update(half_calls=half_calls)
    counts.attrs.update(qual_missing=qual_missing, notes=_notes(skipped, qual_missing, half_calls))
    cmd = ["bcftools", "concat", "--naive", "--no-version", "-Ob", "-o", str(out_bcf)]
    subprocess.run(cmd + [str(c) for c in chunks], check=True, capture_output=True)
    index_vcf(out_bcf)
    return counts


def indexed_records(vcf) -> int | None:
    """Records in `vcf` by its .tbi/.csi index (None without an index)."""
    if not any(Path(f"{vcf}.{ext}").exists() for ext in ("tbi", "csi")):
        return None
    out = subprocess.run(["bcftools", "index", "-n", str(vcf)], capture_output=True, text=True)
    return int(out.stdout) if out.returncode == 0 else None


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


def _main_chunk(smk):
    start = time.time()
    bed = smk.input.bed if smk.params.scatter else None
    genotypes = ChunkGenotypes(int(smk.params.ploidy))
    try:
        counts = filter_vcf(
            smk.input.vcf,
            smk.output.bcf,
            dict(smk.params.filter),
            int(smk.params.ploidy),
            bed,
            genotypes,
            index=False,
            haploid_contigs=smk.params.get("haploid_contigs", ()),
        )
    except (UnsortedError, ValueError) as e:
        Path(smk.log[0]).write_text(f"{e}\n")
        raise SystemExit(str(e)) from None
    write_counts(counts, smk.output.counts, meta=True)
    genotypes.write(smk.output.npz, smk.output.sites)
    Path(smk.log[0]).write_text(summary(counts) + f"seconds: {time.time() - start:.1f}\n")


def _main_gather(smk):
    start = time.time()
    expected = indexed_records(smk.input.vcf) if smk.params.scatter else None
    counts = gather(smk.input.chunks, smk.input.counts, smk.output.bcf, smk.input.vcf, expected)
    write_counts(counts, smk.output.counts)
    with open(smk.log[0], "w") as log:
        log.write(summary(counts) + f"chunks: {len(smk.input.chunks)}\n")
        log.write(f"seconds: {time.time() - start:.1f}\n")
        if error := no_site_left(smk.input.vcf, counts):
            log.write(error + "\n")
            for path in (smk.output.bcf, f"{smk.output.bcf}.csi", smk.output.counts):
                Path(path).unlink(missing_ok=True)  # no partial output that looks complete
            raise SystemExit(error)


if "snakemake" in globals():
    # Which rule by its wildcards, not its name: a module may prefix it (README, Deploy).
    chunk_job = "chunk" in snakemake.wildcards.keys()  # noqa: F821
    (_main_chunk if chunk_job else _main_gather)(snakemake)  # noqa: F821
