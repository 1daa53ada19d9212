"""Inputs and results on S3 (snakemake-storage-plugin-s3), checked before any job runs.

Two ways to put data on S3 (README, "Data on S3"):

- `--default-storage-provider s3 --default-storage-prefix s3://bucket/run`: every path
  the config and the sheets give (reads, reference, the sheets themselves) and every
  result is an object under the prefix: `resources/reads/a.fq.gz` is
  `s3://bucket/run/resources/reads/a.fq.gz`, exactly as Snakemake maps a rule's files.
- `s3://bucket/key` URLs in the units sheet (fq1, fq2) or in `reference.fasta`, read
  through the storage plugin; everything else stays local.

Remote(...).url(path) says where a path lives (None: local). check() asks S3 whether
the objects exist, before the DAG is built, so that a typo or refused credentials stop
the run with the sheet row and the URL instead of a "missing input" for some rule.
"""

from __future__ import annotations

import os
import posixpath
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

SCHEME = "s3://"
# S3 error codes of credentials that are wrong, expired or not allowed to read.
REFUSED = {
    "403",
    "AccessDenied",
    "Forbidden",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
}
CREDENTIALS_FIX = (
    "set the S3 credentials in the environment (SNAKEMAKE_STORAGE_S3_ACCESS_KEY and "
    "SNAKEMAKE_STORAGE_S3_SECRET_KEY, or boto3's AWS_ACCESS_KEY_ID / "
    "AWS_SECRET_ACCESS_KEY / AWS_PROFILE) to keys that may read and write the bucket, and "
    "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL for a store other than AWS."
)


class RemoteError(ValueError):
    """S3 cannot be used at all (credentials refused, endpoint unreachable)."""


def is_url(path) -> bool:
    return isinstance(path, str) and path.startswith(SCHEME)


def split(url: str) -> tuple[str, str]:
    """(bucket, key) of an s3:// URL, the key normalised as the storage plugin does."""
    parsed = urlparse(url)
    return parsed.netloc, posixpath.normpath(parsed.path.lstrip("/"))


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class Remote:
    """Where the config's and sheets' paths live, and whether the remote ones exist.

    `prefix`: the default storage prefix (None without --default-storage-provider s3);
    `object_of`: callable(url) -> the storage plugin's object (its `exists()` raises on
    refused credentials or an unreachable endpoint; `retrieve_object()` downloads it to
    `local_path()`); `list_keys`: callable(bucket, prefix) -> the keys under a prefix,
    so that a folder of many FASTQs costs one listing per 1,000 objects instead of one
    request per file.
    """

    def __init__(
        self,
        prefix: str | None = None,
        object_of: Callable | None = None,
        list_keys: Callable | None = None,
    ):
        self.prefix = prefix.rstrip("/") if prefix else None
        self._object_of = object_of
        self._list_keys = list_keys

    @classmethod
    def from_workflow(cls, workflow, storage) -> Remote:
        """From Snakemake's storage settings; `storage` is the Snakefile's `storage`."""
        from snakemake.io import get_flag_value

        settings = workflow.storage_settings
        provider = settings.default_storage_provider
        if provider not in (None, "s3"):
            raise RemoteError(
                f"--default-storage-provider {provider}: this workflow checks inputs on s3 "
                "only. Fix: use --default-storage-provider s3 (any S3-compatible store)."
            )
        prefix = settings.default_storage_prefix if provider else None
        if provider and not is_url(prefix or ""):
            raise RemoteError(
                f"--default-storage-prefix {prefix!r}: not an s3:// URL. Fix: give the "
                "bucket and folder the run reads and writes, e.g. s3://my-bucket/run1."
            )

        def object_of(url):
            return get_flag_value(storage.s3(url), "storage_object")

        def list_keys(bucket, folder):
            objects = object_of(f"{SCHEME}{bucket}/{folder}").s3bucket().objects
            return {obj.key for obj in objects.filter(Prefix=folder)}

        return cls(prefix, object_of, list_keys)

    def url(self, path: str) -> str | None:
        """The s3:// URL of a config or sheet path, or None for a local file."""
        if not path:
            return None
        if is_url(path):
            return path
        if self.prefix:  # as Snakemake maps a rule's files to the default storage
            return f"{self.prefix}/{os.path.normpath(path)}"
        return None

    def missing(self, items: list[tuple[str, str, str]]) -> list[str]:
        """Problems of (where, value, url) items whose object does not exist.

        Objects of one folder are looked up in one listing of it when there are several
        (one request per 1,000 keys), else, or when listing is refused (no
        s3:ListBucket), with one request each. Raises RemoteError at the first refused
        or failed request: it would fail for every item alike."""
        folders = defaultdict(list)
        for item in items:
            bucket, key = split(item[2])
            folders[bucket, posixpath.dirname(key)].append(key)
        listed = {}
        for (bucket, folder), keys in folders.items():
            if self._list_keys is not None and len(keys) > 1:
                try:
                    found = self._list_keys(bucket, f"{folder}/" if folder else "")
                except Exception:  # refused, no such bucket: the requests below say
                    continue
                listed.update({(bucket, key): key in found for key in keys})
        out = []
        for where, value, url in items:
            try:
                found = listed.get(split(url))
                if found is None:
                    found = self._object_of(url).exists()
            except Exception as e:  # botocore, or the plugin's WorkflowError on HTTP 400
                raise RemoteError(explain(e, where, value, url)) from None
            if not found:
                shown = "" if value == url else f"{value!r} "
                out.append(f"{where}: {shown}does not exist on S3 ({url})")
        return out

    def fetch_sheet(self, path: str, key: str) -> str:
        """A sheet the config names: its path when local, else the local copy of its
        object (downloaded while the workflow is parsed, where Snakemake stages it)."""
        url = self.url(path)
        if url is None:
            return path
        where = f"config: {key}"
        if is_url(path):
            raise RemoteError(
                f"{where}: {path!r}: a sheet cannot be an s3:// URL (rules read it too). "
                "Fix: give it as a path relative to --default-storage-prefix (it is then "
                "read from the bucket), or keep the sheet local."
            )
        if problems := self.missing([(where, path, url)]):
            raise RemoteError(f"{problems[0]}. Fix: upload the sheet there, or correct {key}.")
        obj = self._object_of(url)
        try:
            Path(obj.local_path()).parent.mkdir(parents=True, exist_ok=True)
            obj.retrieve_object()
        except Exception as e:
            raise RemoteError(explain(e, where, path, url)) from None
        return str(obj.local_path())


def explain(exc: Exception, where: str, value: str, url: str) -> str:
    """A failed S3 request as a message: what S3 said, where the path came from, the fix."""
    code = _code(exc)
    name = type(exc).__name__
    if code in REFUSED:
        what = f"S3 refused the credentials ({code})"
        fix = CREDENTIALS_FIX + " (Without s3:ListBucket on the bucket, S3 also answers "
        fix += "403 for an object that does not exist.)"
    elif name in ("NoCredentialsError", "PartialCredentialsError"):
        what, fix = "no S3 credentials were found", CREDENTIALS_FIX
    elif name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
        what = f"the S3 endpoint cannot be reached ({exc})"
        fix = "check SNAKEMAKE_STORAGE_S3_ENDPOINT_URL (or --storage-s3-endpoint-url)."
    else:
        what = f"S3 request failed ({name}: {exc})"
        fix = "check the URL (bucket name, no '..'), then " + CREDENTIALS_FIX
    shown = f"{value!r}: " if value != url else ""
    return f"{where}: {shown}{what} while checking {url}; no job was run.\nFix: {fix}"
