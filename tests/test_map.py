"""scripts/map.py: the mapping pipeline of the trim + map job (rules/map.smk), on a tiny
reference with reads cut from it (known positions); scripts/markdup.py (the markdup job and
its QC record) on the BAM it gives."""

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import pysam
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import markdup  # noqa: E402
from map import fastqc_mb, map_command, map_reads, read_group, sort_mem_mb  # noqa: E402

RG = r"@RG\tID:S1.L1\tSM:S1\tLB:S1\tPL:ILLUMINA\tPU:S1.L1"
COMP = str.maketrans("ACGT", "TGCA")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 3 kb reference (bwa-indexed) and 20 read pairs of 2 x 70 bp from known places."""
    d = tmp_path_factory.mktemp("map")
    rng = random.Random(5)
    ref = "".join(rng.choice("ACGT") for _ in range(3000))
    (d / "ref.fa").write_text(f">chr1\n{ref}\n")
    subprocess.run(["bwa", "index", str(d / "ref.fa")], capture_output=True, check=True)
    starts = sorted(rng.randrange(0, 3000 - 300) for _ in range(20))
    r1, r2 = [], []
    for i, s in enumerate(starts):
        frag = ref[s : s + 250]
        r1 += [f"@p{i}/1", frag[:70], "+", "I" * 70]
        r2 += [f"@p{i}/2", frag[-70:].translate(COMP)[::-1], "+", "I" * 70]
    reads = []
    for name, lines in (("R1", r1), ("R2", r2)):
        with gzip.open(d / f"{name}.fastq.gz", "wt") as fh:
            fh.write("\n".join(lines) + "\n")
        reads.append(d / f"{name}.fastq.gz")
    return d, reads, starts


def test_read_group_and_sort_memory():
    assert read_group("S1", "L1") == RG
    assert sort_mem_mb(2000, 2) == 500 and sort_mem_mb(4000, 2) == 1000  # retry: 2x memory
    assert sort_mem_mb(100, 8) == 100  # never below 100 MB
    assert sort_mem_mb(3000, 2, fastqc_mb(4)) == 450  # FastQC's JVM beside it


def test_map_command_quotes_paths_and_keeps_the_read_group_tabs():
    cmd = map_command(["a b.fq.gz"], "ref/genome.fa", "out dir/x.bam", RG, "-M", 2, 500)
    assert r"-R '@RG\tID:S1.L1\tSM:S1" in cmd  # literal \t for bwa, inside quotes
    assert "'a b.fq.gz'" in cmd and "-o 'out dir/x.bam'" in cmd
    assert " -M " in cmd and "-K 10000000" in cmd and "-m 500M" in cmd
    assert cmd.startswith("set -o pipefail;")


def test_map_reads_gives_a_sorted_bam_with_mate_tags_and_read_group(tiny, tmp_path):
    d, reads, starts = tiny
    bam, log = tmp_path / "u.bam", tmp_path / "map.log"
    assert map_reads(reads, d / "ref.fa", bam, RG, "", 2, 100, log) == 0
    with pysam.AlignmentFile(str(bam)) as fh:
        assert fh.header.to_dict()["HD"]["SO"] == "coordinate"
        assert fh.header.to_dict()["RG"][0] == {
            "ID": "S1.L1", "SM": "S1", "LB": "S1", "PL": "ILLUMINA", "PU": "S1.L1"
        }  # fmt: skip
        recs = list(fh)
    assert len(recs) == 40
    assert all(r.has_tag("MC") and r.has_tag("ms") for r in recs)  # samtools fixmate -m
    assert sorted(r.reference_start for r in recs if r.is_read1) == starts
    assert [r.reference_start for r in recs] == sorted(r.reference_start for r in recs)


def test_map_reads_fails_with_the_error_in_its_log(tiny, tmp_path):
    d, _, _ = tiny
    log = tmp_path / "map.log"
    code = map_reads([tmp_path / "missing.fq.gz"], d / "ref.fa", tmp_path / "u.bam", RG, "", 1,
                     100, log)  # fmt: skip
    assert code != 0
    assert "missing.fq.gz" in log.read_text()


class Named(dict):
    """A dict read by key or attribute, as the scripts read Snakemake's `snakemake` object."""

    __getattr__ = dict.__getitem__


def test_markdup_job_writes_the_bam_statistics_and_the_qc_record(tiny, tmp_path):
    d, reads, _ = tiny
    bam = tmp_path / "u.bam"
    assert map_reads(reads, d / "ref.fa", bam, RG, "", 2, 100, tmp_path / "map.log") == 0
    trim = tmp_path / "trim/S1/L1.json"
    trim.parent.mkdir(parents=True)
    counts = {"input": 20, "output": 20, "read1_with_adapter": 1, "read2_with_adapter": 0}
    bp = {"input": 2800, "output": 2790}
    trim.write_text(
        json.dumps({"input": {"paired": True}, "read_counts": counts, "basepair_counts": bp})
    )
    out = Named({k: tmp_path / f"S1.{k}" for k in ("metrics", "stats", "flagstat", "idxstats")})
    out |= {"bam": tmp_path / "S1.bam", "qc": tmp_path / "qc/S1.json"}
    out["qc"].parent.mkdir()
    smk = Named(
        input=Named(bams=[bam], ref=d / "ref.fa", trim=[trim]),
        output=out,
        params=Named(extra=""),
        threads=1,
        log=[tmp_path / "markdup.log"],
        wildcards=Named(sample="S1"),
    )
    markdup._main(smk)
    assert (tmp_path / "S1.bam.bai").exists() and "pipefail" in smk.log[0].read_text()
    rec = json.loads(out["qc"].read_text())
    assert rec["sample"] == "S1" and rec["genome_length"] == 3000
    assert rec["flagstat"]["total"] == 40 and rec["flagstat"]["properly_paired"] > 0
    assert rec["units"] == [
        {"sample": "S1", "unit": "L1", "reads_in": 20, "reads_out": 20, "with_adapter": 1,
         "bp_in": 2800, "bp_out": 2790, "paired": True}
    ]  # fmt: skip
    assert sum(bases for _, bases in rec["coverage"]) > 0


def _trim_map_job(d, reads, out):
    """The `snakemake` object of one trim_map job on the tiny reads, writing under `out`."""
    for sub in ("trim", "units", "logs"):
        (out / sub).mkdir(parents=True)
    cutadapt = {"adapter_r1": "AGATCGGAAGAGC", "adapter_r2": "AGATCGGAAGAGC", "quality": 20,
                "min_length": 30, "extra": ""}  # fmt: skip
    return Named(
        input=Named(reads=[str(r) for r in reads], idx=[str(d / "ref.fa.bwt")]),
        output=Named(
            report=out / "trim/L1.json", bam=out / "units/L1.bam", fastqc=out / "fastqc/S1/L1"
        ),  # fmt: skip
        log=Named({k: out / f"logs/{k}.log" for k in ("trim", "map", "fastqc")}),
        params=Named(cutadapt=cutadapt, extra="", units_sheet="config/units.tsv"),
        resources=Named(mem_mb=3000),
        threads=2,
        wildcards=Named(sample="S1", unit="L1"),
    )


def test_trim_map_job_maps_and_writes_fastqc_of_raw_and_trimmed_reads(tiny, tmp_path):
    from map import trim_map_unit

    d, reads, starts = tiny
    smk = _trim_map_job(d, reads, tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert trim_map_unit(smk, str(scratch)) is None
    with pysam.AlignmentFile(str(smk.output.bam)) as fh:
        assert sorted(r.reference_start for r in fh if r.is_read1) == starts
    assert json.loads(smk.output.report.read_text())["input"]["paired"] is True
    names = sorted(p.name for p in smk.output.fastqc.iterdir())
    assert names == sorted(
        f"S1.L1.{kind}.{mate}_fastqc.{ext}"
        for kind in ("raw", "trimmed") for mate in ("R1", "R2") for ext in ("html", "zip")
    )  # fmt: skip
    # FastQC counted the reads of each file (20 pairs, none shorter than 30 bp after trimming).
    html = (smk.output.fastqc / "S1.L1.trimmed.R2_fastqc.html").read_text()
    assert "Total Sequences</td><td>20</td>" in html
    assert (scratch / "L1.R1.fastq.gz").exists()  # the trimmed reads stay in the scratch folder


def test_trim_map_job_stops_at_broken_reads_before_mapping(tiny, tmp_path):
    from map import trim_map_unit

    d, reads, _ = tiny
    broken = tmp_path / "R2.fastq.gz"
    broken.write_bytes(reads[1].read_bytes()[:-20])  # a truncated download
    smk = _trim_map_job(d, [reads[0], broken], tmp_path / "job")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    error = trim_map_unit(smk, str(scratch))
    assert error.startswith("cutadapt failed") and "logs/trim.log" in error
    assert str(broken) in smk.log.trim.read_text()
    assert not smk.output.bam.exists() and not smk.output.fastqc.exists()


def test_trim_map_job_without_fastqc(tiny, tmp_path):
    """fastqc.enabled false: the rule declares no FastQC output and the job starts none."""
    from map import trim_map_unit

    d, reads, starts = tiny
    smk = _trim_map_job(d, reads, tmp_path)
    del smk.output["fastqc"]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert trim_map_unit(smk, str(scratch)) is None
    with pysam.AlignmentFile(str(smk.output.bam)) as fh:
        assert sorted(r.reference_start for r in fh if r.is_read1) == starts
    assert not (scratch / "fastqc").exists() and not (tmp_path / "fastqc").exists()
    assert smk.log.fastqc.read_text() == "FastQC not run: fastqc.enabled is false\n"


def test_trim_map_job_clears_what_a_killed_run_left(tiny, tmp_path):
    """A killed job leaves its scratch folder (trimmed reads); the rerun removes it first
    and its own at the end: nothing but the outputs stays."""
    import map as map_script

    d, reads, _ = tiny
    smk = _trim_map_job(d, reads, tmp_path)
    left = Path(f"{smk.output.bam}.tmp.d")
    left.mkdir()
    (left / "L1.R1.fastq.gz").write_bytes(b"half a file")
    map_script._main(smk)
    assert sorted(p.name for p in (tmp_path / "units").iterdir()) == ["L1.bam"]
    assert len(list(smk.output.fastqc.glob("*.zip"))) == 4
