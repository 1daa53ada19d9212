# Reads -> joint VCF -> ML-ready variants. See README.md; every config key is
# documented in config/README.md.
from snakemake.utils import min_version

min_version("9.0")


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


rule all:
    default_target: True
    input:
        get_final_outputs(),
