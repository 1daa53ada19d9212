# Reads -> joint VCF -> ML-ready variants. See README.md; every config key is
# documented in config/README.md.
from snakemake.utils import min_version

min_version("9.0")


# The run folder's config, as a clone or snakedeploy's layout has it. In a module (README,
# Deploy) the importing Snakefile passes its config and Snakemake skips this line; the
# workflow's own files are found from the rule files (rules/common.smk WORKFLOW_DIR).
configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/privacy.smk"
include: "rules/demo.smk"
include: "rules/reference.smk"
include: "rules/map.smk"
include: "rules/sex_check.smk"
include: "rules/calls.smk"
include: "rules/filter.smk"
include: "rules/regions.smk"
include: "rules/annotation.smk"
include: "rules/matrix.smk"
include: "rules/vcf_zarr.smk"
include: "rules/features.smk"
include: "rules/association.smk"
include: "rules/model.smk"
include: "rules/predict.smk"
include: "rules/report.smk"
include: "rules/notebooks.smk"
include: "rules/sequence_model.smk"


# The release (VERSION, CHANGELOG.md), once per run and not in each job's process.
from workflow_version import workflow_version  # noqa: E402 (scripts/, rules/common.smk)

if workflow.is_main_process:
    logger.info(f"reads2pheno {workflow_version()} ({WORKFLOW_DIR})")


rule all:
    default_target: True
    input:
        get_final_outputs(),
