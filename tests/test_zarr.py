"""VCF Zarr export (`matrix.zarr: true`, rules/vcf_zarr.smk, scripts/vcf_zarr.py).

The store is read back three ways, none of them the code that wrote it: with vcztools
(`vcztools query`, a bcftools-like reader of VCF Zarr), with xarray + Dask as
config/README.md tells a user to, and with scripts/vcf_zarr.py `dosage()`. Each must give
the samples, variants (chrom, pos, REF, ALT) and genotypes of `genotypes.parquet`, in the
same order, a missing call (`./.`, a half call `./1`) missing (-1), never 0.
"""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import copy_run
from helpers import REPO, SHARED, job_counts, planned_jobs, setup_workdir, snakemake

sys.path.insert(0, str(REPO / "scripts"))
pytest.importorskip("bio2zarr", reason="bio2zarr not installed (requirements.txt)")
import matrix  # noqa: E402
import vcf_zarr  # noqa: E402

DATA = SHARED / "1000g_phase3_chr1_140kb_2504samples"
STORE = "results/matrix/genotypes.vcz"


def vcztools(*args) -> str:
    proc = subprocess.run([sys.executable, "-m", "vcztools", *map(str, args)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, f"vcztools {args} failed:\n{proc.stderr[-3000:]}"
    return proc.stdout


def gt_dosage(gt: str) -> int:
    """ALT dosage of a VCF GT string; -1 when any allele is missing (as the matrix)."""
    alleles = gt.replace("|", "/").split("/")
    return -1 if "." in alleles else sum(a != "0" for a in alleles)


def read_vcztools(store) -> pd.DataFrame:
    """samples x `chrom:pos:ref:alt`, int8 dosage, from `vcztools query`."""
    samples = vcztools("query", "-l", store).split()
    rows, ids, lut = [], [], {}
    for line in vcztools("query", "-f", r"%CHROM\t%POS\t%REF\t%ALT[\t%GT]\n", store).splitlines():
        chrom, pos, ref, alt, *gts = line.split("\t")
        ids.append(f"{chrom}:{pos}:{ref}:{alt}")
        rows.append([lut[g] if g in lut else lut.setdefault(g, gt_dosage(g)) for g in gts])
    values = np.array(rows, dtype=np.int8).reshape(len(ids), len(samples))
    return pd.DataFrame(values.T, index=pd.Index(samples, name="sample"), columns=ids)


def read_xarray(store) -> pd.DataFrame:
    """The store through xarray + Dask, as config/README.md ("VCF Zarr export") shows."""
    import dask.array
    import xarray as xr

    ds = xr.open_zarr(store, chunks={})  # the stored chunks, as Dask arrays
    gt = ds["call_genotype"]  # variants x samples x ploidy, int8: -1 missing, -2 padding
    dosage = (gt > 0).sum("ploidy").where((gt != -1).all("ploidy"), -1).astype("int8")
    assert isinstance(dosage.data, dask.array.Array)  # lazy, chunked: computed below
    contigs = ds["contig_id"].values.tolist()
    alleles = ds["variant_allele"].values.tolist()
    ids = [
        f"{contigs[c]}:{p}:{a[0]}:{a[1]}"
        for c, p, a in zip(
            ds["variant_contig"].values, ds["variant_position"].values, alleles, strict=True
        )
    ]
    samples = pd.Index(ds["sample_id"].values.tolist(), name="sample")
    return pd.DataFrame(dosage.values.T, index=samples, columns=ids)


def assert_same(got: pd.DataFrame, want: pd.DataFrame, how: str) -> dict:
    assert list(got.index) == list(want.index), f"{how}: samples differ"
    assert list(got.columns) == list(want.columns), f"{how}: variants differ"
    same = got.to_numpy() == want.to_numpy()
    figures = {
        "shape": want.shape,
        "equal": f"{int(same.sum())}/{same.size}",
        "missing_matrix": int((want.to_numpy() == -1).sum()),
        "missing_read_as_0": int(((want.to_numpy() == -1) & (got.to_numpy() == 0)).sum()),
    }
    print(f"VCF Zarr via {how}:", figures)
    assert same.all(), f"{how}: {int((~same).sum())} genotypes differ"
    return figures


def check_round_trip(workdir) -> dict:
    """Every reader of the store gives genotypes.parquet; returns the figures."""
    want = pd.read_parquet(workdir / "results/matrix/genotypes.parquet")
    store = workdir / STORE
    figures = {}
    for how, reader in (("vcztools", read_vcztools), ("xarray", read_xarray),
                        ("dosage", vcf_zarr.dosage)):  # fmt: skip
        figures[how] = assert_same(reader(store), want, how)
    return figures["vcztools"]


TINY_VCF = """\
##fileformat=VCFv4.2
##contig=<ID=chr1,length=1000>
##contig=<ID=scaffold_7,length=1000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\td
chr1\t10\trs1\tA\tG\t50\tPASS\t.\tGT:DP\t0/1:7\t./.:.\t1/1:9\t0/0:3
chr1\t15\t.\tA\tG,T\t50\tPASS\t.\tGT:DP\t0/1:5\t./.:.\t1/2:8\t0/0:4
chr1\t20\t.\tC\tT\t50\tPASS\t.\tGT:DP\t./1:2\t0|1:6\t1|1:8\t0/.:1
chr1\t20\t.\tC\tT\t50\tPASS\t.\tGT:DP\t0/1:5\t1/1:5\t0/0:5\t0/0:5
chr1\t30\t.\tG\t<DEL>\t50\tPASS\t.\tGT:DP\t0/1:5\t1/1:5\t0/0:5\t0/0:5
scaffold_7\t5\t.\tG\tA\t50\tPASS\t.\tGT:DP\t0/0:4\t1/1:4\t0/1:4\t.:.
"""


def test_convert_keeps_the_matrix_sites(tmp_path):
    """Straight from a VCF the matrix would not take as it is: a multiallelic and a
    symbolic record and a repeated site ID are dropped (the store is converted again
    without them), half calls (./1, 0/.) stay in the store as written and read back
    missing, a haploid missing call in diploid records too, and DP is kept."""
    vcf = bgzip_indexed(TINY_VCF, tmp_path / "in.vcf.gz")
    store = tmp_path / "out.vcz"
    figures = vcf_zarr.convert(vcf, store, threads=1, tmpdir=tmp_path)
    assert figures["dropped_records"] == 3 and figures["variants"] == 3, figures
    assert {"call_genotype", "call_DP", "sample_id", "variant_allele"} <= set(figures["arrays"])
    want, _, _ = matrix.build_matrix(vcf, None, "phenotype", 2)
    assert list(want.columns) == ["chr1:10:A:G", "chr1:20:C:T", "scaffold_7:5:G:A"]
    for how, reader in (("vcztools", read_vcztools), ("xarray", read_xarray),
                        ("dosage", vcf_zarr.dosage)):  # fmt: skip
        assert_same(reader(store), want, how)
    root = vcf_zarr.open_store(store)
    assert root["call_genotype"][1].tolist() == [[-1, 1], [0, 1], [1, 1], [0, -1]]
    assert root["call_DP"][:, 0].tolist() == [7, 2, 4]  # the first of the repeats kept
    assert root.attrs["vcf_zarr_version"] == "0.5"


HAPLOID_VCF = """\
##fileformat=VCFv4.2
##contig=<ID=NC_000913.3,length=5000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc
NC_000913.3\t100\t.\tA\tG\t50\tPASS\t.\tGT\t0\t1\t.
NC_000913.3\t200\t.\tC\tT\t50\tPASS\t.\tGT\t1\t.\t0
"""


def bgzip_indexed(text, path):
    with open(path, "wb") as fh:
        subprocess.run(["bgzip", "-c"], input=text.encode(), stdout=fh, check=True)
    subprocess.run(["tabix", "-p", "vcf", path], check=True)
    return path


def test_haploid(tmp_path):
    """`ploidy: 1` (bacteria): a ploidy dimension of 1, dosage 0/1, missing -1."""
    vcf = bgzip_indexed(HAPLOID_VCF, tmp_path / "in.vcf.gz")
    store = tmp_path / "out.vcz"
    vcf_zarr.convert(vcf, store, threads=1, tmpdir=tmp_path)
    assert vcf_zarr.open_store(store)["call_genotype"].shape == (2, 3, 1)
    want, _, _ = matrix.build_matrix(vcf, None, "phenotype", 1)
    assert want.to_numpy().tolist() == [[0, 1], [1, -1], [-1, 0]]
    for how, reader in (("vcztools", read_vcztools), ("xarray", read_xarray),
                        ("dosage", vcf_zarr.dosage)):  # fmt: skip
        assert_same(reader(store), want, how)


def test_worker_processes():
    assert [vcf_zarr.worker_processes(t) for t in (1, 2, 4)] == [0, 2, 4]


@pytest.fixture(scope="module")
def demo_zarr(small_demo, tmp_path_factory):
    """A copy of the small demo run with matrix.zarr: the default target plans the export
    (get_final_outputs), and making the store runs that job alone."""
    workdir = copy_run(small_demo[0], tmp_path_factory.mktemp("zarr_demo") / "run")
    extra = workdir / "zarr.yaml"
    extra.write_text(yaml.safe_dump({"matrix": {"zarr": True}}))
    planned = planned_jobs(workdir, "--configfile", extra)
    proc = snakemake(workdir, STORE, "--configfile", extra)
    return workdir, planned, proc.stdout + proc.stderr


@pytest.mark.e2e
def test_demo_store_equals_matrix(demo_zarr):
    workdir, planned, log = demo_zarr
    assert planned.get("vcf_zarr") == 1, planned
    assert job_counts(log) == {"vcf_zarr": 1}, log[-3000:]
    figures = check_round_trip(workdir)
    assert figures["missing_matrix"] > 0  # the filter masked some genotypes
    root = vcf_zarr.open_store(workdir / STORE)
    assert {"call_DP", "call_GQ", "call_AD"} <= set(root.array_keys())  # the VCF's fields
    assert "variants: " in (workdir / "results/logs/matrix/vcf_zarr.log").read_text()


@pytest.mark.e2e
@pytest.mark.realdata
def test_1000g_store_equals_matrix(tmp_path):
    """The 1000 Genomes panel from its VCF: 2,504 phased samples, VCF -> matrix and store."""
    if not DATA.is_dir():
        pytest.skip(f"{DATA} not present")
    (tmp_path / "config").mkdir()
    overrides = {
        "samples": str(DATA / "labels.tsv"),
        "input_vcf": str(DATA / "1000G_phase3.chr1_11697036-11836540.vcf.gz"),
        "model": {"target": "super_population"},
        "matrix": {"zarr": True},
    }
    setup_workdir(tmp_path, overrides)
    snakemake(tmp_path, STORE, "results/matrix/genotypes.parquet")
    figures = check_round_trip(tmp_path)
    assert figures["shape"][0] == 2504 and figures["shape"][1] > 500, figures
