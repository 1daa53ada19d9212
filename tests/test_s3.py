"""Inputs and results on S3 (README, "Data on S3"), against a local S3 server.

The server is moto's (`python -m moto.server`, from requirements-test.txt) on 127.0.0.1 and
a free port, started and stopped by the `s3` fixture. Its only credentials are made here:
an IAM user's key, after which the server refuses any other. The small demo's sheets,
reads and reference go into a bucket; the calling runs with
`--default-storage-provider s3` (inputs from the bucket, results written to it) and its
VCF must hold the same records as the local run of the same config (`small_demo`). A
missing object and refused credentials must stop the run before any job, with the sheet
row or config key in the message and no result in the bucket.

The unit tests at the end check scripts/remote.py on fake storage objects.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from types import SimpleNamespace

import boto3
import botocore.exceptions
import pandas as pd
import pytest
import yaml
from helpers import REPO, genotypes, snakemake

sys.path.insert(0, str(REPO / "scripts"))
import remote  # noqa: E402
import sheets  # noqa: E402

BUCKET = "reads2pheno"
CALLS = "results/calls/cohort.vcf.gz"
REGION = "us-east-1"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on loopback with one IAM key; authentication on."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                time.sleep(0.2)
        # Any key is accepted until authentication is switched on: make the one key.
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
        )
        iam.create_user(UserName="runner")
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]}
        policy["Statement"][0]["Resource"] = "*"
        iam.put_user_policy(UserName="runner", PolicyName="all", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="runner")["AccessKey"]
        urllib.request.urlopen(
            urllib.request.Request(
                f"{endpoint}/moto-api/reset-auth",
                data=b"0",  # from now on every request is authenticated
                method="POST",
                headers={"Content-Type": "text/plain"},
            )
        )
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        client.create_bucket(Bucket=BUCKET)
        yield SimpleNamespace(
            endpoint=endpoint,
            key=key["AccessKeyId"],
            secret=key["SecretAccessKey"],
            client=client,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def keys(s3, prefix):
    pages = s3.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def upload_demo(s3, demo_dir, prefix, units_text=None):
    """The small demo's sheets, reads and reference under s3://BUCKET/prefix/, at the
    paths its config and sheets give (relative to the run folder)."""
    files = [
        "config/samples.tsv",
        "resources/demo/reference.fa",
        *(
            str(p.relative_to(demo_dir))
            for p in sorted((demo_dir / "resources/demo/reads").glob("*.fastq.gz"))
        ),
    ]
    for name in files:
        s3.client.upload_file(str(demo_dir / name), BUCKET, f"{prefix}/{name}")
    units = units_text or (demo_dir / "config/units.tsv").read_text()
    s3.client.put_object(Bucket=BUCKET, Key=f"{prefix}/config/units.tsv", Body=units.encode())


def s3_workdir(tmp_path, demo_dir):
    """A run folder holding only the config: the small demo's, with the simulator off
    (its reads and reference are in the bucket) and no FastQC."""
    cfg = yaml.safe_load((demo_dir / "config/config.yaml").read_text())
    cfg["demo"]["enabled"] = False
    cfg["fastqc"] = {"enabled": False}  # FastQC is checked on the local small demo run
    assert cfg["samples"] == "config/samples.tsv" and cfg["units"] == "config/units.tsv"
    (tmp_path / "config").mkdir(parents=True)
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return tmp_path


def run_with_key(s3, workdir, *args, secret=None, check=False):
    """The workflow with the test's key in the environment (nothing from ~/.aws)."""
    env = {
        "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL": s3.endpoint,
        "SNAKEMAKE_STORAGE_S3_ACCESS_KEY": s3.key,
        "SNAKEMAKE_STORAGE_S3_SECRET_KEY": secret or s3.secret,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        return snakemake(workdir, *args, check=check)


def run_on_s3(s3, workdir, prefix, *args, secret=None, check=True):
    """The workflow with the default storage on s3://BUCKET/prefix."""
    storage = ["--default-storage-provider", "s3"]
    storage += ["--default-storage-prefix", f"s3://{BUCKET}/{prefix}"]
    return run_with_key(s3, workdir, *storage, *args, secret=secret, check=check)


@pytest.fixture(scope="module")
def s3_run(s3, small_demo, tmp_path_factory):
    """The run folder of the small demo's calling with inputs from and results to the
    bucket (under run/)."""
    demo_dir = small_demo[0]
    upload_demo(s3, demo_dir, "run")
    workdir = s3_workdir(tmp_path_factory.mktemp("s3_run"), demo_dir)
    run_on_s3(s3, workdir, "run", CALLS)
    return workdir


@pytest.mark.e2e
def test_calling_from_s3_matches_local_run(s3, s3_run, small_demo, tmp_path):
    demo_dir = small_demo[0]
    vcf = tmp_path / "cohort.vcf.gz"
    s3.client.download_file(BUCKET, f"run/{CALLS}", str(vcf))
    local = genotypes(demo_dir / CALLS)
    on_s3 = genotypes(vcf)
    assert len(local) > 100
    assert on_s3 == local  # CHROM, POS, REF, ALT and every sample's GT
    stored = keys(s3, "run/results/")
    for name in (CALLS, f"{CALLS}.tbi", "results/map/S001.bam", "results/reference/genome.fa"):
        assert f"run/{name}" in stored
    # Results went to the bucket only; the run folder holds the config and .snakemake.
    assert sorted(p.name for p in s3_run.iterdir()) == [".snakemake", "config"]
    # A second run finds everything up to date in the bucket.
    again = run_on_s3(s3, s3_run, "run", CALLS, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


def no_job_ran(proc):
    out = proc.stdout + proc.stderr
    return proc.returncode != 0 and "Building DAG of jobs" not in out and "rule " not in out


@pytest.mark.e2e
def test_missing_object_stops_before_any_job(s3, small_demo, tmp_path):
    demo_dir = small_demo[0]
    units = (demo_dir / "config/units.tsv").read_text()
    typo = units.replace("S003_L1_R2.fastq.gz", "S003_L1_R3.fastq.gz")
    assert typo != units
    upload_demo(s3, demo_dir, "missing", units_text=typo)
    line = next(n for n, row in enumerate(typo.splitlines(), 1) if "S003_L1_R3" in row)
    proc = run_on_s3(s3, s3_workdir(tmp_path, demo_dir), "missing", CALLS, check=False)
    assert no_job_ran(proc), proc.stderr[-3000:]
    url = f"s3://{BUCKET}/missing/resources/demo/reads/S003_L1_R3.fastq.gz"
    assert f"row {line}, column fq2: " in proc.stderr
    assert f"does not exist on S3 ({url})" in proc.stderr
    assert keys(s3, "missing/results") == []


@pytest.mark.e2e
def test_refused_credentials_stop_before_any_job(s3, small_demo, tmp_path):
    demo_dir = small_demo[0]
    upload_demo(s3, demo_dir, "refused")
    workdir = s3_workdir(tmp_path, demo_dir)
    proc = run_on_s3(s3, workdir, "refused", CALLS, secret="not-the-secret", check=False)
    assert no_job_ran(proc), proc.stderr[-3000:]
    assert "config: samples: 'config/samples.tsv': S3 refused the credentials" in proc.stderr
    assert "SNAKEMAKE_STORAGE_S3_SECRET_KEY" in proc.stderr  # the fix names the variables
    assert keys(s3, "refused/results") == []
    assert not (workdir / "results").exists()


def url_sheets(workdir, demo_dir, prefix):
    """Local sheets whose reads, and a config whose reference, are s3:// URLs into the
    objects `upload_demo` put under prefix; no default storage (results stay local)."""
    cfg = yaml.safe_load((workdir / "config/config.yaml").read_text())
    cfg["reference"]["fasta"] = f"s3://{BUCKET}/{prefix}/{cfg['reference']['fasta']}"
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    units = pd.read_csv(demo_dir / "config/units.tsv", sep="\t", dtype=str)
    for col in ("fq1", "fq2"):
        units[col] = f"s3://{BUCKET}/{prefix}/" + units[col]
    units.to_csv(workdir / "config/units.tsv", sep="\t", index=False)
    (workdir / "config/samples.tsv").write_text((demo_dir / "config/samples.tsv").read_text())


def bam_records(path):
    proc = subprocess.run(["samtools", "view", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@pytest.mark.e2e
def test_urls_in_sheets(s3, small_demo, tmp_path):
    """s3:// URLs in the units sheet and reference.fasta, results local: one sample's
    BAM from the bucket's reads equals the local run's; refused credentials name the
    first sheet row."""
    demo_dir = small_demo[0]
    workdir = s3_workdir(tmp_path, demo_dir)
    upload_demo(s3, demo_dir, "urls")
    url_sheets(workdir, demo_dir, "urls")
    bam = "results/map/S001.bam"
    proc = run_with_key(s3, workdir, bam)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Retrieving from storage: s3://" in proc.stdout + proc.stderr
    records = bam_records(workdir / bam)
    assert len(records) > 1000
    assert records == bam_records(demo_dir / bam)
    refused = run_with_key(s3, workdir, bam, "--forceall", secret="not-the-secret")
    assert no_job_ran(refused), refused.stderr[-3000:]
    url = f"s3://{BUCKET}/urls/resources/demo/reads/S001_L1_R1.fastq.gz"
    assert f"row 2, column fq1: S3 refused the credentials (403) while checking {url}" in (
        refused.stderr
    )


# ------------------------------------------------------------ scripts/remote.py, no server


class FakeObject:
    def __init__(self, store, url):
        self.store, self.url = store, url

    def exists(self):
        answer = self.store[self.url] if self.url in self.store else False
        if isinstance(answer, Exception):
            raise answer
        return answer


def fake_remote(prefix, store):
    return remote.Remote(prefix, lambda url: FakeObject(store, url))


def client_error(code):
    return botocore.exceptions.ClientError({"Error": {"Code": code}}, "HeadObject")


def test_url_maps_paths_as_snakemake_maps_rule_files():
    r = fake_remote("s3://b/run/", {})
    assert r.url("resources/reads/a.fq.gz") == "s3://b/run/resources/reads/a.fq.gz"
    assert r.url("./x/../y.fa") == "s3://b/run/y.fa"
    assert r.url("s3://other/k.fa") == "s3://other/k.fa"
    assert r.url("") is None
    local = fake_remote(None, {})
    assert local.url("resources/reads/a.fq.gz") is None
    assert local.url("s3://other/k.fa") == "s3://other/k.fa"


def test_check_sheets_names_missing_rows_on_s3(tmp_path):
    samples = pd.DataFrame({"sample": ["A", "B"], "phenotype": ["x", "y"]})
    units = pd.DataFrame(
        {
            "sample": ["A", "B"],
            "unit": ["L1", "L1"],
            "fq1": ["reads/A_R1.fq.gz", "reads/B_R1.fq.gz"],
            "fq2": ["reads/A_R2.fq.gz", "s3://elsewhere/B_R2.fq.gz"],
        }
    )
    (tmp_path / "ref.fa").write_text(">c\nACGT\n")
    cfg = {"reference": {"fasta": "ref.fa"}, "demo": {"enabled": False}}
    store = {
        "s3://b/run/reads/A_R1.fq.gz": True,
        "s3://b/run/reads/A_R2.fq.gz": True,
        "s3://b/run/reads/B_R1.fq.gz": False,
        "s3://elsewhere/B_R2.fq.gz": False,
        "s3://b/run/ref.fa": True,
    }
    with pytest.raises(sheets.SheetError) as err:
        sheets.check_sheets(samples, units, cfg, tmp_path, remote=fake_remote("s3://b/run", store))
    msg = str(err.value)
    assert "2 FASTQ file(s) missing" in msg
    assert "row 3, column fq1: 'reads/B_R1.fq.gz' does not exist on S3 (s3://b/run/" in msg
    assert "row 3, column fq2: does not exist on S3 (s3://elsewhere/B_R2.fq.gz)" in msg
    # Everything there: passes without reading any FASTQ or the reference locally.
    store.update({"s3://b/run/reads/B_R1.fq.gz": True, "s3://elsewhere/B_R2.fq.gz": True})
    sheets.check_sheets(samples, units, cfg, tmp_path, remote=fake_remote("s3://b/run", store))
    # Without storage an s3:// URL is an error that says what is needed.
    with pytest.raises(sheets.SheetError, match="runs without S3 storage"):
        sheets.check_sheets(
            samples, units.assign(fq1=["s3://x/A.fq", "s3://x/B.fq"]), cfg, tmp_path
        )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (client_error("403"), "S3 refused the credentials (403)"),
        (client_error("InvalidAccessKeyId"), "S3 refused the credentials (InvalidAccessKeyId)"),
        (botocore.exceptions.NoCredentialsError(), "no S3 credentials were found"),
        (
            botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
            "the S3 endpoint cannot be reached",
        ),
    ],
)
def test_refused_or_unreachable_is_one_clear_error(error, expected):
    store = {"s3://b/run/a.fq": error, "s3://b/run/b.fq": error}
    r = fake_remote("s3://b/run", store)
    items = [("row 2, column fq1", "a.fq", "s3://b/run/a.fq"), ("row 3", "b.fq", "s3://b/run/b.fq")]
    with pytest.raises(remote.RemoteError) as err:
        r.missing(items)
    msg = str(err.value)
    assert msg.startswith(f"row 2, column fq1: 'a.fq': {expected}")
    assert "while checking s3://b/run/a.fq; no job was run.\nFix: " in msg
    assert "row 3" not in msg  # one request is enough to know


def test_remote_config_files(tmp_path):
    cfg = {
        "reference": {"fasta": "ref/genome.fa"},
        "regions": "s3://b/regions.bed",
        "demo": {"enabled": False},
        "bcftools": {"chunk_size": 1000000},
    }
    r = fake_remote("s3://b/run", {"s3://b/run/ref/genome.fa": True})
    with pytest.raises(sheets.SheetError) as err:
        sheets.check_config_files(cfg, tmp_path, r)
    msg = str(err.value)
    assert "config: regions: 's3://b/regions.bed': s3:// URLs are read for the reads" in msg
    assert "config: bcftools.chunk_size: 1000000 needs the reference's length" in msg
    cfg.update(regions="", bcftools={"chunk_size": 0})
    sheets.check_config_files(cfg, tmp_path, r)  # nothing read locally
    r = fake_remote("s3://b/run", {})
    with pytest.raises(sheets.SheetError, match="config: reference.fasta: 'ref/genome.fa' does"):
        sheets.check_config_files(cfg, tmp_path, r)


def test_sheet_as_url_is_refused():
    with pytest.raises(remote.RemoteError, match="a sheet cannot be an s3:// URL"):
        fake_remote("s3://b/run", {}).fetch_sheet("s3://b/run/config/units.tsv", "units")
    assert fake_remote(None, {}).fetch_sheet("config/units.tsv", "units") == "config/units.tsv"


def test_one_listing_per_folder_else_one_request_each():
    store = {
        "s3://b/run/reads/a.fq": True,
        "s3://b/run/reads/b.fq": True,
        "s3://b/run/ref.fa": True,
    }
    listings = []

    def list_keys(bucket, folder):
        listings.append((bucket, folder))
        if folder == "run/refused/":
            raise client_error("AccessDenied")
        return {remote.split(url)[1] for url in store if url.startswith(f"s3://{bucket}/{folder}")}

    heads = []

    def object_of(url):
        heads.append(url)
        return FakeObject(store, url)

    r = remote.Remote("s3://b/run", object_of, list_keys)
    names = ["reads/a.fq", "reads/./b.fq", "reads/c.fq", "ref.fa", "refused/x.fq", "refused/y.fq"]
    items = [(f"row {i}", name, r.url(name)) for i, name in enumerate(names, start=2)]
    problems = r.missing(items)
    assert listings == [("b", "run/reads/"), ("b", "run/refused/")]
    # The lone reference and the folder that could not be listed: one request each.
    assert heads == ["s3://b/run/ref.fa", "s3://b/run/refused/x.fq", "s3://b/run/refused/y.fq"]
    assert [p.split(":")[0] for p in problems] == ["row 4", "row 6", "row 7"]
    assert "row 4: 'reads/c.fq' does not exist on S3 (s3://b/run/reads/c.fq)" in problems
