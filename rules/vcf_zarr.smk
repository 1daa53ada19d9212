# Optional VCF Zarr copy (matrix.zarr) of the VCF the matrix is built from, by bio2zarr:
# the same samples and variants as genotypes.parquet, in the same order, with every FORMAT
# and INFO field of the VCF (config/README.md, "VCF Zarr export"; tests/test_zarr.py).
rule vcf_zarr:
    input:
        vcf=lambda wildcards: get_matrix_inputs(wildcards)["vcf"],
        csi=lambda wildcards: get_matrix_inputs(wildcards)["csi"],
    output:
        directory("results/matrix/genotypes.vcz"),
    log:
        "results/logs/matrix/vcf_zarr.log",
    benchmark:
        "results/benchmarks/matrix/vcf_zarr.tsv"
    conda:
        "../envs/zarr.yaml"
    # bio2zarr worker processes: one per thread (one thread: in the job's own process).
    threads: 2
    resources:
        mem_mb=mem(2000),
    script:
        "../scripts/vcf_zarr.py"
