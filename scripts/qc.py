"""Parsers of the read, mapping and variant QC files the workflow writes (Cutadapt JSON,
samtools flagstat/stats/idxstats, VCF sites) into tables, for the report figures
(scripts/report_qc.py, scripts/report_variants.py) and the summary (scripts/summary.py).
No plotting here."""

import numpy as np
import pandas as pd
import sample_qc

# Columns of the units table (sample_qc.cutadapt_units).
UNIT_COLUMNS = [
    "sample",
    "unit",
    "reads_in",
    "reads_out",
    "with_adapter",
    "bp_in",
    "bp_out",
    "paired",
]


def read_cutadapt(paths) -> pd.DataFrame:
    """One row per unit from Cutadapt JSON reports (sample_qc.cutadapt_units)."""
    return pd.DataFrame(sample_qc.cutadapt_units(paths), columns=UNIT_COLUMNS)


def trimming_table(units: pd.DataFrame) -> pd.DataFrame:
    """Per sample (units summed): reads in/out, share of reads removed, share of reads with
    an adapter (of R1 + R2 reads), share of bases trimmed or removed."""
    cols = ["reads_in", "reads_out", "with_adapter", "bp_in", "bp_out"]
    units = units.assign(reads_seen=units["reads_in"] * np.where(units["paired"], 2, 1))
    per = units.groupby("sample", sort=True)[[*cols, "reads_seen"]].sum()
    out = per[cols].copy()
    out["reads_removed_share"] = 1 - per["reads_out"] / per["reads_in"]
    out["adapter_share"] = per["with_adapter"] / per["reads_seen"]
    out["bases_trimmed_share"] = 1 - per["bp_out"] / per["bp_in"]
    return out.reset_index()


FLAGSTAT_KEYS = sample_qc.FLAGSTAT_KEYS
read_flagstat = sample_qc.read_flagstat  # QC-passed counts of `samtools flagstat`


def read_samtools_stats(path):
    """(SN dict name -> number, COV DataFrame depth/bases) of `samtools stats`."""
    sn, cov = sample_qc.read_stats(path)
    return sn, pd.DataFrame(cov, columns=["depth", "bases"])


def read_genome_length(idxstats) -> int:
    """Reference length: sum of the sequence lengths of `samtools idxstats`."""
    return sample_qc.genome_length(idxstats)


def depth_histogram(cov: pd.DataFrame, genome_length: int) -> pd.DataFrame:
    """Bases per depth, with the uncovered bases (depth 0) that `samtools stats` omits."""
    zero = max(genome_length - int(cov["bases"].sum()), 0)
    hist = pd.concat([pd.DataFrame({"depth": [0], "bases": [zero]}), cov], ignore_index=True)
    return hist.groupby("depth", as_index=False)["bases"].sum()


def _mapping_row(sample, fs: dict, hist: pd.DataFrame) -> dict:
    dup = fs.get("primary_duplicates", fs.get("duplicates", 0))
    prim_mapped = fs.get("primary_mapped", fs.get("mapped", 0))
    return {
        "sample": sample,
        "total_reads": fs["total"],
        "mapped_reads": fs["mapped"],
        "mapping_rate": fs["mapped"] / fs["total"] if fs["total"] else np.nan,
        "properly_paired_rate": fs["properly_paired"] / fs["paired"]
        if fs.get("paired")
        else np.nan,
        "duplicate_rate": dup / prim_mapped if prim_mapped else np.nan,
        "mean_depth": float((hist["depth"] * hist["bases"]).sum() / hist["bases"].sum())
        if hist["bases"].sum()
        else np.nan,
    }


def mapping_table(samples, flagstats, stats, idxstats) -> tuple:
    """(per-sample mapping table, {sample: depth histogram}).

    mapping_rate = mapped / total, properly_paired_rate = properly paired / paired in
    sequencing, duplicate_rate = primary duplicates / primary mapped (all from flagstat,
    QC-passed reads); mean_depth = sum(depth × bases) / reference length from the
    `samtools stats` coverage histogram (capped at its top bin)."""
    rows, hists = [], {}
    for sample, fs_path, st_path, idx_path in zip(samples, flagstats, stats, idxstats, strict=True):
        _, cov = read_samtools_stats(st_path)
        hists[sample] = depth_histogram(cov, read_genome_length(idx_path))
        rows.append(_mapping_row(sample, read_flagstat(fs_path), hists[sample]))
    return pd.DataFrame(rows), hists


def read_sample_qc(paths) -> tuple:
    """(units table as read_cutadapt, mapping table and depth histograms as mapping_table)
    from the per-sample QC records `results/qc/<sample>.json` (scripts/sample_qc.py)."""
    units, rows, hists = [], [], {}
    for rec in sample_qc.read(paths):
        sample = rec["sample"]
        units += rec["units"]
        cov = pd.DataFrame(rec["coverage"], columns=["depth", "bases"], dtype="int64")
        hists[sample] = depth_histogram(cov, rec["genome_length"])
        rows.append(_mapping_row(sample, rec["flagstat"], hists[sample]))
    return pd.DataFrame(units, columns=UNIT_COLUMNS), pd.DataFrame(rows), hists


def read_vcf_sites(path) -> pd.DataFrame:
    """Site table of a VCF (no genotypes): chrom, pos, ref, alt, qual, dp (INFO/DP),
    snp (biallelic SNP), transition (of SNPs)."""
    import cyvcf2

    rows = []
    reader = cyvcf2.VCF(str(path), lazy=True, samples=[])
    has_dp = any(h.info().get("ID") == "DP" and h.type == "INFO" for h in reader.header_iter())
    for v in reader:
        alt = v.ALT[0] if len(v.ALT) == 1 else ""
        snp = len(v.REF) == 1 and len(alt) == 1 and alt != "*"
        dp = v.INFO.get("DP") if has_dp else None
        rows.append(
            (
                v.CHROM,
                v.POS,
                v.REF,
                ",".join(v.ALT),
                np.nan if v.QUAL is None else float(v.QUAL),
                np.nan if dp is None else float(dp),
                snp,
                snp and {v.REF.upper(), alt.upper()} in ({"A", "G"}, {"C", "T"}),
            )
        )
    reader.close()
    return pd.DataFrame(
        rows, columns=["chrom", "pos", "ref", "alt", "qual", "dp", "snp", "transition"]
    )


def ts_tv(sites: pd.DataFrame) -> float:
    """Transitions / transversions of the biallelic SNPs (NaN without transversions)."""
    snps = sites[sites["snp"]]
    tv = int((~snps["transition"]).sum())
    return float(snps["transition"].sum() / tv) if tv else float("nan")
