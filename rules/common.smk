# Sheet loading, validation and the get_* input functions shared by all rules.
import gc
import math
import os
import sys
from pathlib import Path

# Python's cyclic garbage collector, in this Snakemake process: a young collection every
# 50,000 new objects instead of 700, and the full one 10x rarer. Building the DAG of many
# samples makes millions of objects (jobs, files, wildcards) that live to the end, and
# collections that free nothing took ~10 % of the dry run of 2,000 samples
# (bench/results/dag.md). Jobs run in processes of their own; cycles are still collected.
gc.set_threshold(50_000, 20, 100)

# The workflow's own folder, found from this file: in a Snakemake module (README, Deploy)
# workflow.basedir is the user's folder. Its scripts are imported without writing
# __pycache__ there, here and in the jobs (the folder may be read-only).
if not isinstance(workflow.current_basedir, os.PathLike):  # github(...), git+file:...
    raise WorkflowError(
        f"reads2pheno imports its scripts/ while parsing, so it needs its files on disk, not "
        f"{workflow.current_basedir}. Fix: clone the release (git clone --branch vX.Y.Z) and "
        "point the module's snakefile: at that clone's Snakefile (README, Deploy)."
    )
WORKFLOW_DIR = Path(workflow.current_basedir).parent
sys.dont_write_bytecode = True
os.environ.update(PYTHONDONTWRITEBYTECODE="1")
sys.path.insert(0, str(WORKFLOW_DIR / "scripts"))
import sheets  # noqa: E402  (scripts/sheets.py: importable, unit-tested)
import sequence_model  # noqa: E402  (scripts/sequence_model.py: the sequence-only switch)
import remote  # noqa: E402  (scripts/remote.py: inputs on S3, README "Data on S3")
from snakemake.logging import logger  # noqa: E402
from snakemake.settings.types import SharedFSUsage  # noqa: E402

SCHEMAS = WORKFLOW_DIR / "config" / "schemas"

# Validate before any job runs: a bad config or sheet stops the DAG here.
try:
    sheets.validate_config(config, SCHEMAS / "config.schema.yaml")
    # The sequence classifier alone (scripts/sequence_model.py sequence_only): no sheet is
    # read and only its jobs are planned.
    SEQUENCE_ONLY = sequence_model.sequence_only(config)
    # Starting from a VCF needs no reads: the units sheet is not read at all.
    FROM_READS = not config["input_vcf"] and not SEQUENCE_ONLY
    # With --default-storage-provider s3 the sheets are read from the bucket, and every
    # file they and the config name is looked up there (credentials too) before any job.
    REMOTE = remote.Remote.from_workflow(workflow, storage)
    if SEQUENCE_ONLY:
        samples = sequence_model.no_samples(config)
    else:
        samples = sheets.load_samples(
            REMOTE.fetch_sheet(config["samples"], "samples"),
            SCHEMAS / "samples.schema.yaml",
            name=REMOTE.url(config["samples"]),
        )
        sheets.check_target(samples, config)
    if FROM_READS:
        units = sheets.load_units(
            REMOTE.fetch_sheet(config["units"], "units"),
            SCHEMAS / "units.schema.yaml",
            name=REMOTE.url(config["units"]),
        )
        sheets.check_sheets(samples, units, config, base_dir=Path.cwd(), remote=REMOTE)
    elif not SEQUENCE_ONLY:
        sheets.check_config_files(config, base_dir=Path.cwd(), remote=REMOTE)
except (sheets.SheetError, remote.RemoteError) as e:
    raise WorkflowError(str(e)) from None


def stored(path):
    """A FASTQ or reference path as an input of a job (an s3:// URL through the storage
    plugin, README: Data on S3), any other path as it is."""
    return storage.s3(path) if remote.is_url(path) else path


# Privacy (config `privacy`, scripts/privacy.py): a umask that every job inherits, and
# sample pseudonyms applied to the sheets here, so that every path, read group, VCF
# sample, matrix row and prediction carries them by construction. Nothing is written
# while parsing: rule pseudonymise_sheet writes the renamed sheet and the mapping.
import privacy  # noqa: E402

PRIVACY = config["privacy"]
PSEUDONYM_OF = {}  # real name -> pseudonym (demo reads keep the real name)
try:
    if (umask := privacy.parse_umask(PRIVACY["umask"])) is not None:
        os.umask(umask)
    if PRIVACY["pseudonymise"]:
        privacy.check_mapping_path(PRIVACY["mapping"], Path.cwd())
        samples, new_units, table = privacy.pseudonymise_sheets(
            samples,
            units if FROM_READS else None,
            privacy.read_key(PRIVACY["key_file"], Path.cwd()),
        )
        units = new_units if FROM_READS else None
        # The rules read the pseudonymised copy of the user's samples sheet.
        SAMPLES_SHEET_REAL, config["samples"] = config["samples"], "results/privacy/samples.tsv"
        PSEUDONYM_OF = dict(zip(table["sample"], table["pseudonym"]))
except privacy.PrivacyError as e:
    raise WorkflowError(str(e)) from None

# The sheets' file line numbers serve the checks above only. pandas deep-copies
# DataFrame.attrs on every .loc, so keeping them made each per-sample lookup O(samples)
# and the DAG O(samples^2) (bench/dag.py: 1,000 samples, most of the dry run).
for _sheet in (samples, units) if FROM_READS else (samples,):
    _sheet.attrs.pop("lines", None)

SAMPLES = sorted(samples.index)

# Ploidy by sex and region (config `ploidy`, scripts/ploidy.py): the matrix's dosage scale
# (1 or 2) and the contigs where half calls (0/., ./1) are haploid calls.
import ploidy as ploidy_defs  # noqa: E402

try:
    MAX_PLOIDY = ploidy_defs.max_ploidy(config["ploidy"], Path.cwd())
    HAPLOID_CONTIGS = ploidy_defs.haploid_contigs(config["ploidy"], Path.cwd())
except ploidy_defs.PloidyError as e:
    raise WorkflowError(str(e)) from None
# The sheet's sexes, where the ploidy depends on sex (rules/sex_check.smk sex_calling
# params: editing another column of the sheet reruns no calling job).
SHEET_SEX = {}
if ploidy_defs.kind(config["ploidy"]) != "int" and "sex" in samples:
    SHEET_SEX = {s: x for s, x in zip(samples.index, samples["sex"]) if x in ("male", "female")}
# The calling jobs' ploidy file and `bcftools call -S` sexes (rules/sex_check.smk).
PLOIDY_INPUTS = {
    "ploidy": "results/sex_check/ploidy.txt",
    "sexes": "results/sex_check/calling_sexes.txt",
}
# The units sheet as plain dicts: input functions run once per job, and a pandas .loc per
# call made the DAG of 10,000 samples take minutes (bench/results/dag.md).
FASTQS_OF = {}  # (sample, unit) -> [fq1] or [fq1, fq2]
UNITS_OF = {}  # sample -> its units, sorted
if FROM_READS:
    for (_s, _u), _fq1, _fq2 in zip(units.index, units["fq1"], units["fq2"]):
        FASTQS_OF[(_s, _u)] = [stored(_fq1), stored(_fq2)] if _fq2 else [stored(_fq1)]
        UNITS_OF.setdefault(_s, []).append(_u)
    UNITS_OF = {_s: sorted(_us) for _s, _us in UNITS_OF.items()}
NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
DEMO = config["demo"]["outdir"] if config["demo"]["enabled"] else None
PREDICT_WITH = config["predict_with"]
# The reference every step maps to and calls against (rules/reference.smk).
GENOME = "results/reference/genome.fa"
GENOME_FAI = f"{GENOME}.fai"
# The bwa index as an input of a mapping job. Where jobs see only the files they declare
# (a default storage provider such as S3, or no shared file system for inputs/outputs),
# all five files, so that all are staged (.bwt alone made bwa fail on S3). On a shared
# file system one file is enough to order the jobs (rule bwa_index writes all five), and
# four fewer inputs per mapping job make the DAG of 10,000 samples faster
# (bench/results/dag.md).
_staged = workflow.storage_settings.default_storage_provider is not None or (
    SharedFSUsage.INPUT_OUTPUT not in workflow.storage_settings.shared_fs_usage
)
BWA_INDEX = [
    f"{GENOME}{ext}" for ext in ((".amb", ".ann", ".bwt", ".pac", ".sa") if _staged else (".bwt",))
]
BAMSTATS_EXTS = ["stats.txt", "flagstat.txt", "idxstats.txt"]  # rules/map.smk markdup


wildcard_constraints:
    sample=NAME,
    unit=NAME,
    chunk=r"\d+",


def mem(base_mb, per_1000_samples_mb=0, per_input_mb=0, inputs=None):
    """mem_mb of a rule's jobs, grown with each retry (1x, 2x, 3x, ...):

        (base_mb + per_1000_samples_mb x samples / 1,000 + per_input_mb x input MB) x attempt

    The samples term is known when the DAG is built; the input term (MB of the job's
    input files, or of its `inputs` only: names of input entries) when the job is about to
    run, for steps whose memory follows the sites x samples of the data, which no count
    gives in advance (missing files count 0). The cohort steps' slopes are measured by
    bench/cohort_steps.py (bench/results/cohort_steps.md, README: Large cohorts)."""
    fixed = base_mb + per_1000_samples_mb * len(SAMPLES) / 1000
    if not per_input_mb:
        need = math.ceil(fixed)
        return lambda wildcards, attempt: need * attempt

    def scaled(wildcards, input, attempt):
        files = list(input)
        if inputs is not None:
            named = [getattr(input, name) for name in inputs]
            files = [f for v in named for f in ([v] if isinstance(v, str) else v)]
        size = sum(os.path.getsize(f) for f in files if os.path.exists(f)) / 2**20
        return math.ceil(fixed + per_input_mb * size) * attempt

    return scaled


def sample_units(sample):
    return UNITS_OF[PSEUDONYM_OF.get(sample, sample)]


def unit_pairs():
    """(sample, unit) of every unit of every sample, in sample order."""
    return [(s, u) for s in SAMPLES for u in sample_units(s)]


def trim_report(sample, unit):
    """Cutadapt's JSON report of one unit (rules/map.smk trim_map)."""
    return f"results/trim/{sample}/{unit}.json"


def trim_log(sample, unit):
    """Cutadapt's log of one unit (rules/map.smk trim_map)."""
    return f"results/logs/trim/{sample}/{unit}.log"


def fastqc_reports():
    """FastQC reports of every unit (rules/map.smk trim_map): one folder per unit; none
    with fastqc.enabled false."""
    if not config["fastqc"]["enabled"]:
        return []
    return [f"results/fastqc/{s}/{u}" for s, u in unit_pairs()]


def bamstats_files(exts=BAMSTATS_EXTS):
    """samtools stats/flagstat/idxstats files of all samples (rules/map.smk markdup)."""
    return [f"results/bamstats/{s}.{ext}" for s in SAMPLES for ext in exts]


_JOINT_WARNED = []  # joint_bams warns once


def joint_bams(wildcards):
    """Every BAM, for one bcftools mpileup (rules/calls.smk call_chunk, joint mode).

    Evaluated while the DAG is built, when the executor is known: where the jobs run on
    this machine, a hard open-file limit too low for all BAMs at once stops the run here,
    before any job; where they run on other nodes (a cluster), this is a warning and each
    job checks its node's limit (scripts/calls.py joint_open_files_error)."""
    error = calls.joint_open_files_error(len(SAMPLES), calls.open_files_limit())
    if error and workflow.local_exec and not workflow.dryrun:
        raise WorkflowError(error)
    if error and not _JOINT_WARNED:
        _JOINT_WARNED.append(True)
        logger.warning(f"{error} (A calling job on a node whose limit is too low stops.)")
    return expand("results/map/{sample}.bam", sample=SAMPLES)


def get_fastqs(wildcards):
    """Raw FASTQ(s) of one unit: [fq1] or [fq1, fq2]."""
    return FASTQS_OF[(wildcards.sample, wildcards.unit)]


def labels_checked(wildcards):
    """No file (an input of the model step): fails the DAG, before any job, when the labels
    allow no cross-validation; runs that need no model need no labels."""
    try:
        sheets.check_labels(samples, config)
    except sheets.SheetError as e:
        raise WorkflowError(str(e)) from None
    return []


def qc_records():
    """Per-sample QC records of all samples (rules/map.smk markdup, scripts/sample_qc.py)."""
    return [f"results/qc/{s}.json" for s in SAMPLES]


def markdup_inputs(wildcards):
    """Lane BAMs of one sample (rules/map.smk trim_map) and their Cutadapt JSON reports
    (for the QC record): one input function, not two (each costs Snakemake signature
    inspections per job, bench/results/dag.md)."""
    s = wildcards.sample
    units = sample_units(s)
    return {
        "bams": [f"results/map/units/{s}/{u}.bam" for u in units],
        "trim": [trim_report(s, u) for u in units],
    }


# The VCF the ML steps start from: the joint calls, or `input_vcf` (its pseudonymised
# copy, rules/privacy.smk, when samples are pseudonymised).
if config["input_vcf"] and PRIVACY["pseudonymise"]:
    COHORT_VCF = "results/privacy/input.vcf.gz"
else:
    COHORT_VCF = config["input_vcf"] or "results/calls/cohort.vcf.gz"
# Its index, which the scattered filter reads chunks through: the workflow's own (.tbi),
# or whichever a user's input_vcf has (rules/calls.smk scatters only an indexed one).
if config["input_vcf"] and not PRIVACY["pseudonymise"]:
    COHORT_INDEX = next(
        (f"{COHORT_VCF}.{e}" for e in ("csi", "tbi") if Path(f"{COHORT_VCF}.{e}").exists()),
        [],
    )
else:
    COHORT_INDEX = f"{COHORT_VCF}.tbi"
# New samples' genotypes at the model's sites: `input_vcf`, or called from their BAMs.
PREDICT_VCF = COHORT_VCF if config["input_vcf"] else "results/predict/model_sites.vcf.gz"


# The region names of the matrix sites (rules/regions.smk), when `regions` is set.
REGIONS_TABLE = "results/regions/site_regions.tsv"


def get_matrix_inputs(wildcards):
    """The VCF the matrix is built from (+ its index), and the sites' region names."""
    if config["regions"]:
        vcf = "results/regions/regions.bcf"
        return {"vcf": vcf, "csi": f"{vcf}.csi", "regions": REGIONS_TABLE}
    vcf = "results/filter/filtered.bcf"
    return {"vcf": vcf, "csi": f"{vcf}.csi"}


def get_predict_inputs(wildcards):
    if not PREDICT_WITH:
        return {
            "model": "results/model/model.skops",
            "genotypes": "results/matrix/genotypes.parquet",
        }
    inputs = {"model": PREDICT_WITH, "genotypes": "results/predict/genotypes.parquet"}
    if FROM_READS:
        inputs["covered"] = "results/predict/covered.tsv"
    return inputs


def get_final_outputs():
    if SEQUENCE_ONLY:
        # rules/sequence_model.smk; its notebook (rules/notebooks.smk) when enabled
        return sequence_model_outputs() + NOTEBOOK_OUTPUTS
    outputs = ["results/predict/predictions.tsv"]
    if PRIVACY["pseudonymise"]:
        outputs.append(PRIVACY["mapping"])  # rules/privacy.smk
    if not PREDICT_WITH:
        outputs += [
            "results/model/metrics.json",
            "results/association/association.tsv",
            "results/filter/filter_counts.tsv",
        ]
    if config["matrix"]["plink"]:
        outputs.append("results/matrix/genotypes.pgen")
    if config["matrix"]["zarr"]:
        outputs.append("results/matrix/genotypes.vcz")  # rules/vcf_zarr.smk
    if FROM_READS:
        outputs += ["results/calls/cohort.vcf.gz", "results/calls/cohort.stats.txt"]
    if not PREDICT_WITH:
        outputs += ["results/sex_check/sex_check.tsv", "results/report/sex_check/sex.png"]
    outputs += report_outputs()  # rules/report.smk: figures, summary.tsv, MultiQC
    outputs += NOTEBOOK_OUTPUTS  # rules/notebooks.smk: executed notebooks as HTML
    outputs += sequence_model_outputs()  # rules/sequence_model.smk ([] unless enabled)
    return outputs


def sex_check_inputs(wildcards):
    """rules/sex_check.smk sex_check: the filtered calls, the sheet; from reads also the
    QC records (depth) and the sexes the calling used."""
    inputs = {"vcf": "results/filter/filtered.bcf", "samples": config["samples"]}
    if FROM_READS:
        inputs["qc"] = expand("results/qc/{sample}.json", sample=SAMPLES)
        inputs["sexes"] = "results/sex_check/calling_sexes.txt"
    return inputs
