"""One sample's read and mapping QC in one small file, `results/qc/<sample>.json`, written by
its markdup job (scripts/markdup.py) from the Cutadapt JSON reports of its units and its
samtools flagstat / stats / idxstats. The QC figures (scripts/report_qc.py) and the summary
(scripts/summary.py) read these records, one file per sample instead of four or more: in a
cohort of 10,000 samples every input file of those two jobs costs Snakemake time in every
dry run (bench/results/dag.md). MultiQC still reads the raw tool outputs.

The standard library only: the markdup job runs in the samtools environment. scripts/qc.py
turns records into the tables (and parses the raw files with the same functions).

A record: {"sample", "units": [one dict per unit, cutadapt_units()], "flagstat": {key:
count, read_flagstat()}, "coverage": [[depth, bases], ...] (samtools stats COV),
"genome_length": reference length (idxstats), "sex": {x_ratio, y_ratio, depth_sex}: X
and Y depth against the autosomes' and the sex they show (scripts/sex_check.py)}.
"""

import json
import re
from pathlib import Path

from sex_check import depth_ratios

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


def cutadapt_units(paths) -> list[dict]:
    """One dict per unit from Cutadapt JSON reports `results/trim/<sample>/<unit>.json`.

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
                "unit": path.name.removesuffix(".json"),
                "reads_in": int(rc["input"]),
                "reads_out": int(rc["output"]),
                "with_adapter": int(rc.get("read1_with_adapter") or 0)
                + int(rc.get("read2_with_adapter") or 0),
                "bp_in": int(bp["input"]),
                "bp_out": int(bp["output"]),
                "paired": bool(data["input"]["paired"]),
            }
        )
    return rows


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


def read_stats(path) -> tuple[dict, list[tuple[int, int]]]:
    """(SN name -> number, COV [(depth, bases), ...]) of `samtools stats`."""
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
    return sn, cov


def genome_length(idxstats) -> int:
    """Reference length: sum of the sequence lengths of `samtools idxstats`."""
    total = 0
    for line in Path(idxstats).read_text().splitlines():
        fields = line.split("\t")
        if len(fields) > 1 and fields[0] != "*":
            total += int(fields[1])
    return total


def record(sample, trim_reports, flagstat, stats, idxstats) -> dict:
    """The QC record of one sample from its raw QC files."""
    _, cov = read_stats(stats)
    return {
        "sample": sample,
        "units": cutadapt_units(trim_reports),
        "flagstat": read_flagstat(flagstat),
        "coverage": [list(c) for c in cov],
        "genome_length": genome_length(idxstats),
        "sex": depth_ratios(idxstats),
    }


def write(path, rec: dict) -> None:
    Path(path).write_text(json.dumps(rec, separators=(",", ":")) + "\n")


def read(paths) -> list[dict]:
    return [json.loads(Path(p).read_text()) for p in paths]
