"""Privacy: keyed sample pseudonyms in every output, the key and the name mapping kept
outside results/, and owner-only permissions with `privacy.umask`.

Unit tests of scripts/privacy.py, config errors through a dry run, and one real run of
the small demo's reads with pseudonyms and umask 077 in which no real sample name is
found in any file under results/ (BAM headers, read groups and read names, VCF,
parquet, zipped FastQC and skops files opened and searched).
"""

import gzip
import io
import re
import shutil
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pysam
import pytest
import yaml
from conftest import from_small_demo_vcf
from helpers import REPO, planned_jobs, snakemake
from PIL import Image

sys.path.insert(0, str(REPO / "scripts"))
import privacy  # noqa: E402

KEY = b"0123456789abcdef0123456789abcdef"


def test_pseudonym_is_stable_keyed_and_well_formed():
    a = privacy.pseudonym("S001", KEY)
    assert a == privacy.pseudonym("S001", KEY)  # stable
    assert re.fullmatch(r"P-[0-9a-f]{12}", a)
    assert a != privacy.pseudonym("S002", KEY)
    assert a != privacy.pseudonym("S001", KEY[::-1])  # another key, another pseudonym
    names = [f"S{i:04d}" for i in range(5000)]
    assert len(set(privacy.pseudonyms(names, KEY).values())) == 5000


def test_key_and_mapping_must_be_outside_results(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results/k.key").write_bytes(KEY)
    (tmp_path / "k.key").write_bytes(KEY + b"\n")
    (tmp_path / "short.key").write_bytes(b"abc")
    assert privacy.read_key("k.key", tmp_path) == KEY  # trailing newline stripped
    for path, match in [
        ("", "key_file is empty"),
        ("results/k.key", "inside results/"),
        ("missing.key", "does not exist"),
        ("short.key", "at least 16"),
    ]:
        with pytest.raises(privacy.PrivacyError, match=match):
            privacy.read_key(path, tmp_path)
    with pytest.raises(privacy.PrivacyError, match="inside results/"):
        privacy.check_mapping_path("results/../results/map.tsv", tmp_path)
    assert privacy.check_mapping_path("private/map.tsv", tmp_path).name == "map.tsv"


def test_sheets_renamed_and_mapping_private(tmp_path):
    samples = pd.DataFrame({"sample": ["B", "A"], "phenotype": ["case", ""]})
    samples = samples.set_index("sample", drop=False)
    units = pd.DataFrame(
        {"sample": ["A", "B", "B"], "unit": ["L1", "L1", "L2"], "fq1": ["a", "b1", "b2"]}
    ).set_index(["sample", "unit"], drop=False)
    new_samples, new_units, table = privacy.pseudonymise_sheets(samples, units, KEY)
    pa, pb = privacy.pseudonym("A", KEY), privacy.pseudonym("B", KEY)
    assert list(new_samples.index) == [pb, pa] and list(new_samples["sample"]) == [pb, pa]
    assert new_samples.loc[pb, "phenotype"] == "case"
    assert sorted(new_units.loc[pb].index) == ["L1", "L2"]
    assert new_units.loc[(pa, "L1"), "fq1"] == "a"  # FASTQ paths stay as they are
    assert set(new_units["sample"]) == {pa, pb}
    assert dict(zip(table["sample"], table["pseudonym"], strict=True)) == {"B": pb, "A": pa}
    mapping = tmp_path / "private/map.tsv"
    assert privacy.write_mapping(table, mapping)
    assert mapping.stat().st_mode & 0o777 == 0o600
    mtime = mapping.stat().st_mtime_ns
    assert not privacy.write_mapping(table, mapping)  # unchanged: not rewritten
    assert mapping.stat().st_mtime_ns == mtime


def test_vcf_header_keeps_structure_drops_names():
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=10>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "##bcftools_mpileupCommand=mpileup results/map/S001.bam results/map/S002.bam\n"
        "##SAMPLE=<ID=S001>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS001\tS002\n"
    )
    text, mapping = privacy.pseudonymised_header(header, KEY)
    assert "S00" not in text and text.count("\n") == 4
    assert text.splitlines()[-1].split("\t")[9:] == [mapping["S001"], mapping["S002"]]


def test_parse_umask():
    assert privacy.parse_umask("077") == 0o077 and privacy.parse_umask("") is None
    with pytest.raises(privacy.PrivacyError, match="octal"):
        privacy.parse_umask("abc")


# ----------------------------------------------------------------------------- workflow


def _privacy_config(workdir, key_file, mapping="private/sample_map.tsv", umask="077"):
    cfg_path = workdir / "config/config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["privacy"] = {
        "pseudonymise": True,
        "key_file": key_file,
        "mapping": mapping,
        "umask": umask,
    }
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def _neutral_inputs(reference, workdir):
    """The small demo's config, reference and reads, the reads renamed and their read
    names rewritten so that no FASTQ carries a sample name (as real reads do not)."""
    shutil.copytree(reference / "config", workdir / "config")
    (workdir / "ref").mkdir()
    shutil.copy(reference / "resources/demo/reference.fa", workdir / "ref/genome.fa")
    units = pd.read_csv(workdir / "config/units.tsv", sep="\t", keep_default_na=False)
    (workdir / "reads").mkdir()
    for i, row in enumerate(units.itertuples()):
        for col in ("fq1", "fq2"):
            src = reference / getattr(row, col)
            dst = f"reads/u{i:02d}_{col}.fastq.gz"
            with gzip.open(src, "rt") as fin, gzip.open(workdir / dst, "wt") as fout:
                for n, line in enumerate(fin):
                    fout.write(f"@r{i}_{n // 4}/{col[-1]}\n" if n % 4 == 0 else line)
            units.loc[row.Index, col] = dst
    units.to_csv(workdir / "config/units.tsv", sep="\t", index=False)
    cfg_path = workdir / "config/config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["demo"] = {"enabled": False}
    cfg["reference"]["fasta"] = "ref/genome.fa"
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def _texts(path: Path):
    """(where, bytes) to search in a file: decompressed, unzipped, or its parsed text."""
    name = path.name
    if name.endswith((".bai", ".tbi", ".csi")):
        return  # offsets only
    if name.endswith(".bam"):
        with pysam.AlignmentFile(str(path), check_sq=False) as bam:
            yield f"{path} header", str(bam.header).encode()
            names = [
                f"{r.query_name} {r.get_tag('RG') if r.has_tag('RG') else ''}"
                for r in bam.fetch(until_eof=True)
            ]
        yield f"{path} reads", "\n".join(names).encode()
        return
    if name.endswith(".parquet"):
        df = pd.read_parquet(path)
        text = [*map(str, df.index), *map(str, df.columns)]
        text += [str(v) for c in df.columns if df[c].dtype == object for v in df[c]]
        yield f"{path} table", "\n".join(text).encode()
        return
    if name.endswith(".png"):
        # Its text chunks (title, software, ...): names drawn in the figure are pixels, and
        # the compressed pixel bytes match a 4-letter name by chance (S011 in two figures).
        with Image.open(path) as img:
            yield f"{path} text", "\n".join(f"{k} {v}" for k, v in img.text.items()).encode()
        return
    data = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for member in zf.namelist():
                yield f"{path}:{member}", zf.read(member)
        return
    if data[:2] == b"\x1f\x8b":
        with gzip.open(io.BytesIO(data)) as fh:
            data = fh.read()
    yield str(path), data


def _leaks(results: Path, names):
    alternatives = b"|".join(n.encode() for n in names)
    pattern = re.compile(rb"(?<![A-Za-z0-9])(" + alternatives + rb")(?![0-9])")
    found = []
    for path in sorted(results.rglob("*")):
        if pattern.search(str(path.relative_to(results)).encode()):
            found.append(f"{path} (path)")
        if path.is_file():
            for where, data in _texts(path):
                if m := pattern.search(data):
                    found.append(f"{where}: {m.group().decode()}")
    return found


def test_missing_key_is_a_clear_error(small_demo, tmp_path):
    reference, _, _ = small_demo
    shutil.copytree(reference / "config", tmp_path / "config")
    shutil.copytree(reference / "resources", tmp_path / "resources")
    _privacy_config(tmp_path, "private/none.key")
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0 and "privacy.key_file private/none.key does not exist" in (
        proc.stdout + proc.stderr
    )
    (tmp_path / "results").mkdir()
    (tmp_path / "results/in.key").write_bytes(KEY)
    _privacy_config(tmp_path, "results/in.key")
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0 and "is inside results/" in proc.stdout + proc.stderr


def test_pseudonymised_run_has_no_real_names(small_demo, tmp_path):
    reference, samples, _ = small_demo
    work = tmp_path / "run"
    _neutral_inputs(reference, work)
    (work / "private").mkdir()
    (work / "private/pseudonym.key").write_bytes(KEY)
    _privacy_config(work, "private/pseudonym.key")
    snakemake(work)

    mapping = pd.read_csv(work / "private/sample_map.tsv", sep="\t")
    assert sorted(mapping["sample"]) == sorted(samples)
    assert list(mapping["pseudonym"]) == [privacy.pseudonym(s, KEY) for s in mapping["sample"]]
    assert (work / "private/sample_map.tsv").stat().st_mode & 0o077 == 0
    # Every output carries the pseudonyms ...
    pred = pd.read_csv(work / "results/predict/predictions.tsv", sep="\t")
    assert pred["sample"].str.fullmatch(r"P-[0-9a-f]{12}").all() and len(pred) >= 1
    with pysam.VariantFile(str(work / "results/calls/cohort.vcf.gz")) as vcf:
        assert sorted(vcf.header.samples) == sorted(mapping["pseudonym"])
    # ... and no real name appears anywhere under results/ (all 12 demo names searched).
    names = [f"S{i:03d}" for i in range(1, 13)]
    assert _leaks(work / "results", names) == []
    # Nothing under results/ is readable by group or others (umask 077).
    loose = [
        f"{p} {oct(p.stat().st_mode & 0o777)}"
        for p in (work / "results").rglob("*")
        if not p.is_symlink() and p.stat().st_mode & 0o077
    ]
    assert loose == []

    # Stable: the same key again changes nothing and reruns nothing.
    assert planned_jobs(work) == {}
    # Another key gives other pseudonyms. A dry run writes nothing; the mapping is a
    # job's output.
    (work / "private/other.key").write_bytes(KEY[::-1])
    _privacy_config(work, "private/other.key", mapping="private/other_map.tsv")
    snakemake(work, "-n")
    assert not (work / "private/other_map.tsv").exists()
    snakemake(work, "private/other_map.tsv")
    other = pd.read_csv(work / "private/other_map.tsv", sep="\t")
    assert list(other["sample"]) == list(mapping["sample"])
    assert not set(other["pseudonym"]) & set(mapping["pseudonym"])


def test_pseudonymised_input_vcf(small_demo, tmp_path):
    """From a VCF with real names: the ML steps see a reheadered copy, nothing leaks."""
    reference, samples, _ = small_demo
    # Notebooks off: they read only the ML tables searched here, and the run from reads
    # (test_pseudonymised_run_has_no_real_names) searches their pages for names too.
    from_small_demo_vcf(
        tmp_path,
        reference,
        {"report": {"multiqc": False}, "notebooks": {"enabled": False}},
    )
    (tmp_path / "private").mkdir()
    (tmp_path / "private/pseudonym.key").write_bytes(KEY)
    _privacy_config(tmp_path, "private/pseudonym.key", umask="")
    snakemake(tmp_path)
    with pysam.VariantFile(str(tmp_path / "results/privacy/input.vcf.gz")) as vcf:
        assert sorted(vcf.header.samples) == sorted(privacy.pseudonym(s, KEY) for s in samples)
    pred = pd.read_csv(tmp_path / "results/predict/predictions.tsv", sep="\t")
    assert pred["sample"].str.fullmatch(r"P-[0-9a-f]{12}").all() and len(pred) >= 1
    assert _leaks(tmp_path / "results", [f"S{i:03d}" for i in range(1, 13)]) == []
