"""Parsers of the read, mapping and variant QC files the workflow writes (Cutadapt JSON,
samtools flagstat/stats/idxstats, VCF sites) into tables, for the report figures
(scripts/report_qc.py, scripts/report_variants.py) and the summary (scripts/summary.py).
No plotting here."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd


def read_cutadapt(paths) -> pd.DataFrame:
    """One row per unit from Cutadapt JSON reports `results/trim/<sample>/<unit>.<pe|se>.json`.

    reads_in/reads_out are read pairs for paired-end units (reads for single-end);
    with_adapter counts reads (R1 + R2) with an adapter; bp_in/bp_out base pairs."""
    rows = []
    for path in paths:
        path = Path(path)
        data = json.loads(path.read_text())
        rc, bp = data["read_counts"], data["basepair_counts"]
        rows.append(
            {
                "sample": path.parent.name,
                "unit": path.name.rsplit(".", 2)[0],
                "reads_in": int(rc["input"]),
                "reads_out": int(rc["output"]),
                "with_adapter": int(rc.get("read1_with_adapter") or 0)
                + int(rc.get("read2_with_adapter") or 0),
                "bp_in": int(bp["input"]),
                "bp_out": int(bp["output"]),
                "paired": path.name.endswith(".pe.json"),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "sample",
            "unit",
            "reads_in",
            "reads_out",
            "with_adapter",
            "bp_in",
            "bp_out",
            "paired",
        ],
    )


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


FLAGSTAT_KEYS = {
    "in total": "total",
    "primary": "primary",
    "secondary": "secondary",
    "supplementary": "supplementary",
    "duplicates": "duplicates",
    "primary duplicates": "primary_duplicates",
    "mapped": "mapped",
    "primary mapped": "primary_mapped",
    "paired in sequencing": "paired",
    "properly paired": "properly_paired",
}


def read_flagstat(path) -> dict:
    """QC-passed counts of `samtools flagstat` (default text format), by FLAGSTAT_KEYS."""
    out = {}
    for line in Path(path).read_text().splitlines():
        m = re.match(r"(\d+) \+ (\d+) (.+?)(?: \(.*)?$", line.strip())
        if not m:
            continue
        desc = m.group(3).strip()
        if desc.startswith("in total"):
            desc = "in total"
        if desc in FLAGSTAT_KEYS:
            out[FLAGSTAT_KEYS[desc]] = int(m.group(1))
    return out


def read_samtools_stats(path):
    """(SN dict name -> number, COV DataFrame depth/bases) of `samtools stats`."""
    sn, cov = {}, []
    for line in Path(path).read_text().splitlines():
        if line.startswith("SN\t"):
            _, key, value, *_ = line.split("\t")
            try:
                sn[key.rstrip(":")] = float(value)
            except ValueError:
                pass
        elif line.startswith("COV\t"):
            _, _, depth, count = line.split("\t")[:4]
            cov.append((int(depth), int(count)))
    return sn, pd.DataFrame(cov, columns=["depth", "bases"])


def read_genome_length(idxstats) -> int:
    """Reference length: sum of the sequence lengths of `samtools idxstats`."""
    table = pd.read_csv(idxstats, sep="\t", header=None, usecols=[0, 1])
    return int(table.loc[table[0] != "*", 1].sum())


def depth_histogram(cov: pd.DataFrame, genome_length: int) -> pd.DataFrame:
    """Bases per depth, with the uncovered bases (depth 0) that `samtools stats` omits."""
    zero = max(genome_length - int(cov["bases"].sum()), 0)
    hist = pd.concat([pd.DataFrame({"depth": [0], "bases": [zero]}), cov], ignore_index=True)
    return hist.groupby("depth", as_index=False)["bases"].sum()


def mapping_table(samples, flagstats, stats, idxstats) -> tuple:
    """(per-sample mapping table, {sample: depth histogram}).

    mapping_rate = mapped / total, properly_paired_rate = properly paired / paired in
    sequencing, duplicate_rate = primary duplicates / primary mapped (all from flagstat,
    QC-passed reads); mean_depth = sum(depth × bases) / reference length from the
    `samtools stats` coverage histogram (capped at its top bin)."""
    rows, hists = [], {}
    for sample, fs_path, st_path, idx_path in zip(samples, flagstats, stats, idxstats, strict=True):
        fs = read_flagstat(fs_path)
        _, cov = read_samtools_stats(st_path)
        hist = depth_histogram(cov, read_genome_length(idx_path))
        hists[sample] = hist
        dup = fs.get("primary_duplicates", fs.get("duplicates", 0))
        prim_mapped = fs.get("primary_mapped", fs.get("mapped", 0))
        rows.append(
            {
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
        )
    return pd.DataFrame(rows), hists


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
