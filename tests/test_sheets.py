"""Config and sheet validation (scripts/sheets.py) on tiny sheets written to tmp_path."""

import gzip
import re
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from defaults import schema_defaults  # noqa: E402
from helpers import deep_update  # noqa: E402
from sheets import (  # noqa: E402
    SheetError,
    check_config_files,
    check_sheets,
    is_paired,
    load_samples,
    load_units,
    validate_config,
)

SCHEMAS = REPO / "config" / "schemas"
UNITS_HEADER = "sample\tunit\tfq1\tfq2"


def _yaml(path):
    with open(path) as fh:
        return yaml.safe_load(fh)


def repo_config():
    """The demo's config as `./run demo` merges it: .test/demo over config/config.yaml."""
    return deep_update(_yaml(REPO / "config/config.yaml"), _yaml(REPO / ".test/demo/config.yaml"))


def write(path, *lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def fastq(path, content="@r\nACGT\n+\nIIII\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz") and content:
        path.write_bytes(gzip.compress(content.encode()))
    else:
        path.write_text(content)
    return path


def config(tmp_path, demo=False, **extra):
    """A validated config whose reference exists in tmp_path."""
    ref = "resources/demo/reference.fa" if demo else fastq(tmp_path / "ref.fa", ">c\nACGT\n")
    cfg = {"reference": {"fasta": str(ref)}, "demo": {"enabled": demo}, **extra}
    validate_config(cfg, SCHEMAS)
    return cfg


def sheets(tmp_path, sample_lines, unit_lines):
    s = write(tmp_path / "samples.tsv", *sample_lines)
    u = write(tmp_path / "units.tsv", *unit_lines)
    return load_samples(s, SCHEMAS), load_units(u, SCHEMAS)


def raises(pattern):
    return pytest.raises(SheetError, match=re.compile(pattern, re.S))


# ---------------------------------------------------------------- config


def test_user_template_sets_nothing_but_schema_defaults():
    """config/config.yaml is merged under every run: a value of its own there would be a
    second home for a default (and leak into every user's run)."""
    template = _yaml(REPO / "config/config.yaml")
    defaults = schema_defaults()

    def check(node, default, where):
        for key, value in node.items():
            assert key in default, f"{where}{key}: not a config key"
            if isinstance(value, dict):
                check(value, default[key], f"{where}{key}.")
            else:
                assert value == default[key], f"{where}{key}: {value!r} != {default[key]!r}"

    check(template, defaults, "")
    assert "demo" not in template and "filter" not in template


def test_demo_config_validates_and_its_sheets_pass():
    cfg = repo_config()
    validate_config(cfg, SCHEMAS / "config.schema.yaml")
    assert cfg["demo"]["enabled"] and cfg["samples"] == ".test/demo/samples.tsv"
    samples = load_samples(REPO / cfg["samples"], SCHEMAS)
    units = load_units(REPO / cfg["units"], SCHEMAS)
    check_sheets(samples, units, cfg, base_dir=REPO)


def test_demo_needs_its_own_reference(tmp_path):
    cfg = repo_config()
    cfg["reference"]["fasta"] = ""
    with raises(r"^config: reference\.fasta: '', but demo\.enabled is true.*Fix: set"):
        validate_config(cfg, SCHEMAS)
    cfg = repo_config()
    cfg["reference"]["fasta"] = str(fastq(tmp_path / "mine.fa", ">c\nACGT\n"))
    with raises(r"demo's reads are simulated from resources/demo/reference\.fa"):
        validate_config(cfg, SCHEMAS)


def test_defaults_filled():
    cfg = {"reference": {"fasta": "ref.fa"}}
    validate_config(cfg, SCHEMAS)
    assert cfg["ploidy"] == 2 and cfg["regions"] == ""
    assert cfg["demo"]["enabled"] is False and cfg["demo"]["outdir"] == "resources/demo"
    assert cfg["bcftools"]["chunks"] == 4 and cfg["cutadapt"]["quality"] == 20


@pytest.mark.parametrize(
    "change, pattern",
    [
        ({"plody": 2}, r"^config: plody: unknown key\. Fix: did you mean 'ploidy'\?"),
        ({"demo": {"sed": 1}}, r"config: demo\.sed: unknown key\. Fix: did you mean 'seed'"),
        ({"ploidy": 1.5}, r"config: ploidy: 1\.5 is not of type 'integer', 'string'\. Fix:"),
        ({"ploidy": 3}, r"config: ploidy: 3 is greater than the maximum of 2\. Fix:"),
        ({"cutadapt": {"quality": -1}}, r"config: cutadapt\.quality: -1 is less than .*Fix:"),
        ({"demo": {"heritability": 1.5}}, r"config: demo\.heritability: .*Fix:"),
        ({"regions": None}, r"config: regions: None is not of type 'string'"),
        ({"reference": {"fasta": 5}}, r"config: reference\.fasta: 5 is not of type 'string'"),
    ],
)
def test_bad_config_rejected(change, pattern):
    cfg = repo_config()
    for key, value in change.items():
        if isinstance(value, dict) and value:
            cfg.setdefault(key, {}).update(value)
        else:
            cfg[key] = value
    with raises(pattern):
        validate_config(cfg, SCHEMAS)


def test_all_config_problems_reported_together():
    cfg = repo_config()
    cfg["ploidy"], cfg["bwa"] = 3, {"extr": ""}
    with raises(r"^config: ploidy: 3 .*\nconfig: bwa\.extr: unknown key"):
        validate_config(cfg, SCHEMAS)


def test_regions_may_be_a_path(tmp_path):
    bed = fastq(tmp_path / "roi.bed", "c\t0\t4\n")
    cfg = config(tmp_path, regions=str(bed))
    s, u = sheets(tmp_path, ["sample", "A"], [UNITS_HEADER, f"A\tL1\t{fastq(tmp_path / 'a.fq')}\t"])
    check_sheets(s, u, cfg, base_dir=tmp_path)
    cfg["regions"] = "missing.bed"
    with raises(r"^config: regions: 'missing.bed' does not exist.*Fix:"):
        check_sheets(s, u, cfg, base_dir=tmp_path)


# ---------------------------------------------------------------- samples.tsv


def test_samples_loaded(tmp_path):
    s = write(
        tmp_path / "samples.tsv",
        "# cohort 1",
        "sample\tphenotype\tpopulation ",
        " A \tcase\tpop1",
        "",
        "B\t\tpop2",
    )
    df = load_samples(s, SCHEMAS)
    assert list(df.index) == ["A", "B"]
    assert list(df["phenotype"]) == ["case", ""]  # empty = unlabelled, not NaN
    assert list(df["population"]) == ["pop1", "pop2"]
    assert df.attrs["lines"] == [3, 5]


def test_phenotype_column_optional(tmp_path):
    df = load_samples(write(tmp_path / "samples.tsv", "sample", "A"), SCHEMAS)
    assert list(df["phenotype"]) == [""]


def test_samples_missing_column(tmp_path):
    s = write(tmp_path / "samples.tsv", "name\tphenotype", "A\tcase")
    with raises(rf"^{re.escape(str(s))}: row 1: missing required column 'sample'.*Fix:"):
        load_samples(s, SCHEMAS)


@pytest.mark.parametrize("lines", [[], ["# only a comment", ""], ["sample\tphenotype"]])
def test_samples_empty(tmp_path, lines):
    s = write(tmp_path / "samples.tsv", *lines)
    with raises(rf"^{re.escape(str(s))}: sheet is empty.*Fix:"):
        load_samples(s, SCHEMAS)


@pytest.mark.parametrize("sep, kind", [(",", "comma"), (";", "semicolon")])
def test_samples_wrong_delimiter(tmp_path, sep, kind):
    s = write(tmp_path / "samples.tsv", f"sample{sep}phenotype", f"A{sep}case")
    with raises(rf"^{re.escape(str(s))}: row 1: .*looks {kind}-separated; use tabs.*Fix:"):
        load_samples(s, SCHEMAS)


@pytest.mark.parametrize("bad", ["../x", "a b", "a/b", ".hidden", "-x"])
def test_samples_unsafe_names(tmp_path, bad):
    s = write(tmp_path / "samples.tsv", "sample\tphenotype", "ok\tcase", f"{bad}\tcase")
    with raises(rf"^{re.escape(str(s))}: .*row 3, column sample: .*Fix:"):
        load_samples(s, SCHEMAS)


def test_samples_all_bad_rows_listed(tmp_path):
    s = write(tmp_path / "samples.tsv", "sample", "# comment", "x y", "ok", "../z")
    with raises(r"2 invalid value.*row 3, column sample.*row 5, column sample"):
        load_samples(s, SCHEMAS)


def test_samples_ragged_row(tmp_path):
    s = write(tmp_path / "samples.tsv", "sample\tphenotype", "# c", "A\tcase\textra")
    with raises(rf"^{re.escape(str(s))}: row\(s\) with more cells.*\n  row 3: has 3 .*Fix:"):
        load_samples(s, SCHEMAS)


def test_duplicate_sample(tmp_path):
    s, u = sheets(
        tmp_path,
        ["sample\tphenotype", "A\tcase", "B\tcontrol", "A\tcase"],
        [UNITS_HEADER, f"A\tL1\t{fastq(tmp_path / 'a.fq')}\t"],
    )
    with raises(rf"^{re.escape(str(s.attrs['sheet']))}: duplicate sample.*row 4, column sample: "):
        check_sheets(s, u, config(tmp_path), base_dir=tmp_path)


def test_conflicting_labels(tmp_path):
    s, u = sheets(
        tmp_path,
        ["sample\tphenotype", "A\tcase", "A\tcontrol"],
        [UNITS_HEADER, f"A\tL1\t{fastq(tmp_path / 'a.fq')}\t"],
    )
    with raises(r"samples\.tsv: conflicting labels.*row 3, column phenotype: .*row 2.*Fix:"):
        check_sheets(s, u, config(tmp_path), base_dir=tmp_path)


def test_sample_without_units(tmp_path):
    s, u = sheets(
        tmp_path,
        ["sample", "A", "B"],
        [UNITS_HEADER, f"A\tL1\t{fastq(tmp_path / 'a.fq')}\t"],
    )
    with raises(r"samples\.tsv: sample\(s\) without reads\n  row 3, column sample: 'B'.*Fix:"):
        check_sheets(s, u, config(tmp_path), base_dir=tmp_path)


# ---------------------------------------------------------------- units.tsv


def test_units_single_and_paired(tmp_path):
    a1, a2, b = (fastq(tmp_path / f"{n}.fq.gz") for n in ("a1", "a2", "b"))
    s, u = sheets(
        tmp_path,
        ["sample", "A", "B"],
        [UNITS_HEADER, "A\tL1\ta1.fq.gz\ta2.fq.gz", "A\tL2\ta1.fq.gz\t", "B\tL1\tb.fq.gz\t"],
    )
    check_sheets(s, u, config(tmp_path), base_dir=tmp_path)  # relative to base_dir
    assert is_paired(u, "A", "L1") and not is_paired(u, "A", "L2")
    assert not is_paired(u, "B", "L1")
    assert list(u.loc["A"].index) == ["L1", "L2"]


def test_units_missing_column(tmp_path):
    u = write(tmp_path / "units.tsv", "sample\tunit\tfq1", "A\tL1\ta.fq")
    with raises(rf"^{re.escape(str(u))}: row 1: missing required column 'fq2'"):
        load_units(u, SCHEMAS)


def test_duplicate_unit(tmp_path):
    fq = fastq(tmp_path / "a.fq")
    s, u = sheets(tmp_path, ["sample", "A"], [UNITS_HEADER, f"A\tL1\t{fq}\t", f"A\tL1\t{fq}\t"])
    with raises(r"units\.tsv: duplicate \(sample, unit\).*row 3, column unit: .*row 2.*Fix:"):
        check_sheets(s, u, config(tmp_path), base_dir=tmp_path)


def test_unknown_sample(tmp_path):
    fq = fastq(tmp_path / "a.fq")
    s, u = sheets(tmp_path, ["sample", "A"], [UNITS_HEADER, f"A\tL1\t{fq}\t", f"Z\tL1\t{fq}\t"])
    with raises(r"units\.tsv: unit\(s\) of unknown samples\n  row 3, column sample: 'Z'.*Fix:"):
        check_sheets(s, u, config(tmp_path), base_dir=tmp_path)


def test_missing_and_empty_fastqs_reported_together(tmp_path):
    fastq(tmp_path / "ok.fq")
    fastq(tmp_path / "empty.fq", "")
    s, u = sheets(
        tmp_path,
        ["sample", "A", "B"],
        # B before A: units are sorted by index, yet rows are reported in file order.
        [UNITS_HEADER, "B\tL1\tempty.fq\t", "A\tL1\tok.fq\tnope_R2.fq"],
    )
    with raises(
        r"units\.tsv: 2 FASTQ file\(s\) missing or empty\n"
        r"  row 2, column fq1: 'empty.fq' is empty.*\n"
        r"  row 3, column fq2: 'nope_R2.fq' does not exist.*Fix:"
    ):
        check_sheets(s, u, config(tmp_path), base_dir=tmp_path)


def test_fq1_equals_fq2(tmp_path):
    fq = fastq(tmp_path / "a.fq")
    s, u = sheets(tmp_path, ["sample", "A"], [UNITS_HEADER, f"A\tL1\t{fq}\t./a.fq"])
    with raises(r"units\.tsv: read 1 and read 2 are the same.*row 2, columns fq1 and fq2.*Fix:"):
        check_sheets(s, u, config(tmp_path), base_dir=tmp_path)


def test_demo_outdir_paths_skipped_only_when_demo_enabled(tmp_path):
    s, u = sheets(
        tmp_path,
        ["sample", "A"],
        [UNITS_HEADER, "A\tL1\tdemo/reads/A_L1_R1.fq.gz\tdemo/reads/A_L1_R2.fq.gz"],
    )
    cfg = config(tmp_path, demo=True)
    cfg["demo"]["outdir"] = "demo"
    cfg["reference"]["fasta"] = "demo/reference.fa"  # also written by the workflow
    check_sheets(s, u, cfg, base_dir=tmp_path)

    cfg["demo"]["enabled"] = False
    with raises(r"units\.tsv: 2 FASTQ.*row 2, column fq1: 'demo/reads/A_L1_R1.fq.gz' does not"):
        check_sheets(s, u, cfg, base_dir=tmp_path)


def test_outside_demo_outdir_still_checked(tmp_path):
    s, u = sheets(tmp_path, ["sample", "A"], [UNITS_HEADER, "A\tL1\tother/A.fq\t"])
    cfg = config(tmp_path, demo=True)
    with raises(r"units\.tsv: 1 FASTQ.*row 2, column fq1: 'other/A.fq' does not exist"):
        check_sheets(s, u, cfg, base_dir=tmp_path)


def test_missing_reference(tmp_path):
    s, u = sheets(tmp_path, ["sample", "A"], [UNITS_HEADER, f"A\tL1\t{fastq(tmp_path / 'a.fq')}\t"])
    cfg = config(tmp_path)
    cfg["reference"]["fasta"] = "nope.fa"
    with raises(r"^config: reference\.fasta: 'nope.fa' does not exist.*Fix:"):
        check_sheets(s, u, cfg, base_dir=tmp_path)


def test_reference_needed_unless_input_vcf(tmp_path):
    cfg = repo_config()
    cfg["reference"]["fasta"] = ""
    with raises(r"^config: reference\.fasta: not set\. Fix: .*input_vcf"):
        check_config_files(cfg, tmp_path)
    vcf = tmp_path / "in.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\n"
    )
    cfg["input_vcf"] = str(vcf)
    check_config_files(cfg, tmp_path)
    cfg["predict_with"] = "missing.skops"
    with raises(r"^config: predict_with: 'missing.skops' does not exist"):
        check_config_files(cfg, tmp_path)


def test_training_needs_the_target_column(tmp_path):
    from sheets import check_target

    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample\tphenotype\tpop\nA\tcase\tEUR\n")
    samples = load_samples(sheet)
    cfg = repo_config()
    cfg["model"]["target"] = "super_population"
    with raises(r"samples\.tsv: row 1: no column 'super_population' \(model\.target\).*Fix:"):
        check_target(samples, cfg)
    cfg["predict_with"] = "model.skops"  # predicting needs no labels
    check_target(samples, cfg)


# ---------------------------------------------------------------- FASTQ heads


def pair_sheets(tmp_path, r1, r2):
    a1, a2 = fastq(tmp_path / "a_R1.fq.gz", r1), fastq(tmp_path / "a_R2.fq.gz", r2)
    return sheets(tmp_path, ["sample", "A"], [UNITS_HEADER, f"A\tL1\t{a1.name}\t{a2.name}"])


def reads(n, mate, qual="IIII", seq="ACGT", start=1):
    return "".join(f"@r{i}/{mate} x\n{seq}\n+\n{qual}\n" for i in range(start, n + 1))


def test_fastq_heads_valid_pairs_pass(tmp_path):
    s, u = pair_sheets(tmp_path, reads(6, 1), reads(6, 2))  # /1 /2 suffixes pair up
    check_sheets(s, u, config(tmp_path), base_dir=tmp_path)


@pytest.mark.parametrize(
    "r1, r2, pattern",
    [
        (reads(3, 1), reads(3, 2, start=2), r"read 1 is named 'r1/1' in .* but 'r2/2'.*not mates"),
        (reads(3, 1), reads(2, 2), r"'a_R1.fq.gz' has 3 reads, 'a_R2.fq.gz' 2"),
        (reads(2, 1, qual="II I"), reads(2, 2), r"fq1: 'a_R1.fq.gz': read 1 \(line 1\): quality"),
        (reads(2, 1), reads(2, 2, qual="III"), r"fq2: .*read 1 \(line 1\): sequence has 4 .*3"),
        (reads(2, 1).replace("@", ">"), reads(2, 2), r"does not start with '@'"),
        (reads(2, 1) + "@r3\nAC\n", reads(2, 2), r"read 3 \(line 9\): the file ends within"),
    ],
)
def test_fastq_heads_problems(tmp_path, r1, r2, pattern):
    s, u = pair_sheets(tmp_path, r1, r2)
    with raises(rf"units\.tsv: 1 FASTQ problem.*row 2, column.*{pattern}.*Fix:"):
        check_sheets(s, u, config(tmp_path), base_dir=tmp_path)


def test_fastq_heads_gzip_problems(tmp_path):
    s, u = pair_sheets(tmp_path, reads(50, 1), reads(50, 2))
    (tmp_path / "a_R2.fq.gz").write_bytes((tmp_path / "a_R2.fq.gz").read_bytes()[:-12])
    with raises(r"row 2, column fq2: 'a_R2.fq.gz': is a truncated gzip file"):
        check_sheets(s, u, config(tmp_path), base_dir=tmp_path)
    (tmp_path / "a_R1.fq.gz").write_text(reads(2, 1))
    with raises(r"row 2, column fq1: 'a_R1.fq.gz': ends in \.gz but is not gzip"):
        check_sheets(s, u, config(tmp_path), base_dir=tmp_path)


def test_fastq_heads_bounded(tmp_path):
    """Only the first reads are looked at: a bad read far into a big file passes here
    (cutadapt finds it in the trim job)."""
    bad = "".join(f"@r{i}\nACGT\n+\n{'IIII' if i < 5000 else 'II'}\n" for i in range(1, 5001))
    s, u = pair_sheets(tmp_path, bad, bad.replace("\nII\n", "\nIIII\n"))
    check_sheets(s, u, config(tmp_path), base_dir=tmp_path)


# ---------------------------------------------------------------- file contents


def test_small_reference_checked_at_parse_time(tmp_path):
    cfg = config(tmp_path)
    (tmp_path / "ref.fa").write_text(">c\nACGT\n>c\nACXT\n")
    with raises(
        r"^config: reference\.fasta: .*ref\.fa: 2 problem.*line 3: contig 'c' appears again"
        r".*line 4, column 3: .*'X' is not a nucleotide.*Fix:"
    ):
        check_config_files(cfg, tmp_path)


@pytest.mark.parametrize(
    "bed, pattern",
    [
        ("chrX\t0\t2\n", r"line 1: chrX:0-2: contig 'chrX' is not in the reference"),
        ("c\t3\t1\n", r"line 1: c:3-1: start > end"),
        ("c\t-1\t2\n", r"line 1: c:-1-2: negative start"),
    ],
)
def test_regions_checked_against_small_reference(tmp_path, bed, pattern):
    cfg = config(tmp_path, regions="roi.bed")
    (tmp_path / "roi.bed").write_text(bed)
    with raises(rf"^config: regions: .*roi\.bed: 1 invalid BED line.*{pattern}.*Fix:"):
        check_config_files(cfg, tmp_path)


def test_input_vcf_without_samples(tmp_path):
    cfg = repo_config()
    cfg["reference"]["fasta"] = ""
    cfg["input_vcf"] = "sites.vcf"
    (tmp_path / "sites.vcf").write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    )
    with raises(r"^config: input_vcf: '.*sites\.vcf' has no samples.*Fix:"):
        check_config_files(cfg, tmp_path)


@pytest.mark.parametrize(
    "labels, folds, pattern",
    [
        (["", ""], 2, r"no labelled sample"),
        (["a", "a", ""], 2, r"only one class \('a', 2 samples\)"),
        (["a", "a", "b", "b", "b"], 3, r"class 'a' has 2 labelled .*model\.cv_folds=3.*to 2"),
        (["a", "a", "b"], 2, r"class 'b' has 1 labelled .*Fix: label at least 2"),
    ],
)
def test_labels_checked(tmp_path, labels, folds, pattern):
    from sheets import check_labels

    rows = [f"S{i}\t{label}" for i, label in enumerate(labels)]
    samples = load_samples(write(tmp_path / "samples.tsv", "sample\tphenotype", *rows))
    cfg = repo_config()
    cfg["model"]["cv_folds"] = folds
    with raises(rf"samples\.tsv: column phenotype: {pattern}.*"):
        check_labels(samples, cfg)
    cfg["predict_with"] = "model.skops"
    check_labels(samples, cfg)


def test_documented_defaults_are_the_schema_defaults():
    """config/README.md's key table states each default as the schema has it."""
    defaults = schema_defaults()
    text = (REPO / "config/README.md").read_text()
    checked = 0
    for keys, values in re.findall(
        r"^\| ((?:`[^`]+`(?:, )?)+) \| ((?:`[^`]*`(?:, )?)+) \|", text, re.M
    ):
        keys, values = re.findall(r"`([^`]+)`", keys), re.findall(r"`([^`]*)`", values)
        if len(keys) != len(values):
            continue
        prefix = keys[0].rsplit(".", 1)[0] + "." if "." in keys[0] else ""
        for key, value in zip(keys, values, strict=True):
            path = key if "." in key or not prefix else prefix + key
            node = defaults
            for part in path.split("."):
                node = node[part]
            assert yaml.safe_load(value or '""') == node, f"config/README.md: {path}: {value!r}"
            checked += 1
    assert checked >= 40


def test_sheets_import_leaves_out_rfc3987_syntax():
    """scripts/sheets.py (read by every Snakemake start) imports jsonschema without
    rfc3987_syntax, whose grammars take seconds to compile (scripts/quick_jsonschema.py),
    and jsonschema still checks formats and types."""
    import subprocess

    code = (
        "import sys; sys.path.insert(0, 'scripts'); import sheets; "
        "assert sys.modules['rfc3987_syntax'] is None, 'rfc3987_syntax imported'; "
        "v = sheets.jsonschema.Draft202012Validator({'type': 'integer', 'minimum': 1}); "
        "assert [e.message for e in v.iter_errors(0)] == ['0 is less than the minimum of 1']"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
