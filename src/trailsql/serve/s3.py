"""A read-only S3 facade over the result files, on the server's own port.

PyAthena's pandas cursor and awswrangler read ``<id>.csv`` from the OutputLocation with an
S3 client; pointed at this port (``AWS_ENDPOINT_URL_S3``, path-style as botocore uses for an
IP address) they find it here: HeadObject, GetObject (with Range), ListObjectsV2. Nothing
else is served, and no key reaches outside ``<workspace>/serve/s3``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote
from xml.sax.saxutils import escape

#: A bucket name as S3 allows it; a key's segments may not be ``.``/``..`` or empty.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def split_location(location: str) -> tuple[str, str] | None:
    """``s3://bucket/key`` as (bucket, key), or None when it is not an S3 location.

    >>> split_location("s3://my-athena-results/security/abc.csv")
    ('my-athena-results', 'security/abc.csv')
    """
    if not location.startswith("s3://"):
        return None
    bucket, _, key = location[5:].partition("/")
    return (bucket, key) if _BUCKET.fullmatch(bucket) else None


def object_path(root: Path, location: str) -> Path | None:
    """Where the object at ``location`` (``s3://bucket/key``) is kept under ``root``, or None
    for a location that is not one or whose key would leave its bucket's folder.

    >>> object_path(Path("/ws/s3"), "s3://bk1/a/x.csv"), object_path(Path("/ws/s3"), "s3://bk1/../x")
    (PosixPath('/ws/s3/bk1/a/x.csv'), None)
    """
    split = split_location(location)
    if split is None:
        return None
    bucket, key = split
    parts = key.split("/")
    if any(part in (".", "..") for part in parts) or "\x00" in key or "\\" in key:
        return None
    return root / bucket / key if key else None


class S3Error(Exception):
    """An S3 error answer: its HTTP status, S3's code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def xml(self, resource: str) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>"
            f"<Resource>{escape(resource)}</Resource></Error>"
        )


def _object(root: Path, bucket: str, key: str) -> Path:
    path = object_path(root, f"s3://{bucket}/{key}")
    if path is None or not path.is_file():
        raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
    return path


def _etag(path: Path) -> str:
    stat = path.stat()
    return '"' + hashlib.md5(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest() + '"'


def object_headers(root: Path, bucket: str, key: str) -> tuple[Path, dict[str, str]]:
    """HeadObject: the file and its headers (size, ETag, Last-Modified)."""
    path = _object(root, bucket, key)
    stat = path.stat()
    return path, {
        "Content-Length": str(stat.st_size),
        "Content-Type": "application/octet-stream",
        "ETag": _etag(path),
        "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
        "Accept-Ranges": "bytes",
    }


def read_range(path: Path, header: str | None) -> tuple[int, bytes, dict[str, str]]:
    """GetObject's status, body and extra headers for an optional ``Range: bytes=a-b``."""
    size = path.stat().st_size
    if header is None:
        return 200, path.read_bytes(), {}
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(0) == "bytes=-":
        return 200, path.read_bytes(), {}
    first, last = match.groups()
    if first == "":  # the last N bytes
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise S3Error(416, "InvalidRange", "The requested range is not satisfiable")
    with path.open("rb") as handle:
        handle.seek(start)
        body = handle.read(end - start + 1)
    return 206, body, {"Content-Range": f"bytes {start}-{end}/{size}"}


def list_objects(root: Path, bucket: str, prefix: str, max_keys: int, start_after: str) -> str:
    """ListObjectsV2's XML: the bucket's keys under ``prefix`` in order (no delimiter folding)."""
    if not _BUCKET.fullmatch(bucket) or not (root / bucket).is_dir():
        raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist")
    base = root / bucket
    keys = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() and not p.name.endswith(".partial"))
    chosen = [k for k in keys if k.startswith(prefix) and k > start_after]
    page, truncated = chosen[:max_keys], len(chosen) > max_keys
    contents = "".join(
        f"<Contents><Key>{escape(k)}</Key><LastModified>{_iso((base / k).stat().st_mtime)}</LastModified>"
        f"<ETag>{escape(_etag(base / k))}</ETag><Size>{(base / k).stat().st_size}</Size>"
        "<StorageClass>STANDARD</StorageClass></Contents>"
        for k in page
    )
    following = f"<NextContinuationToken>{escape(page[-1])}</NextContinuationToken>" if truncated else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{len(page)}</KeyCount>"
        f"<MaxKeys>{max_keys}</MaxKeys><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
        f"{contents}{following}</ListBucketResult>"
    )


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def bucket_and_key(raw_path: str) -> tuple[str, str]:
    """A path-style request's bucket and key (the key decoded once, as S3 does)."""
    bucket, _, key = raw_path.lstrip("/").partition("/")
    return unquote(bucket), unquote(key)
