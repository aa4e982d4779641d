"""CloudTrail logs in S3: list only the prefixes a query needs, fetch the objects to the cache.

The client comes from boto3's standard credential chain (environment, shared config and
profiles, SSO, container and instance roles), with an optional profile, region and
endpoint (S3-compatible stores). The default table's logs root is walked level by level
(``Delimiter='/'``), pruning prefixes with the same partition test as local folders, so
a query over one day of one account lists only that day's prefix. The objects are then
fetched in a bounded pool into :class:`~trailsql.sources.cache.ObjectCache`; the engine
reads the cached copies and ``"$path"`` shows the ``s3://`` URI.

Throttling, timeouts and dropped connections are retried (botocore's standard retries,
and our own exponential backoff with jitter around the body read); an object that still
cannot be read fails the query under ``strict``, else it is skipped and named.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from trailsql.errors import BadInputError, SourceError
from trailsql.sources import local
from trailsql.sources.cache import DEFAULT_MAX_BYTES, ObjectCache, VerificationError, default_folder
from trailsql.sources.files import Listing, LogFile

Partial = local.Partial

#: Error codes that mean the credentials (not the permissions) are wrong.
_CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired"}
)
_DENIED_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "403"})
_RETRYABLE_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError", "ServiceUnavailable", "503"}
)


@dataclass
class S3Options:
    """How to reach S3 and where to cache what is fetched."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    no_cache: bool = False
    cache_dir: str | None = None
    cache_max_bytes: int = DEFAULT_MAX_BYTES
    max_attempts: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    workers: int = 16
    backoff_base: float = 0.2
    backoff_cap: float = 10.0

    @classmethod
    def from_config(cls, config: dict[str, Any], **given: Any) -> S3Options:
        """Options from a workspace's ``[s3]`` table, overridden by those ``given`` (not None)."""
        known = {f for f in cls.__dataclass_fields__}
        values = {k.replace("-", "_"): v for k, v in config.items() if k.replace("-", "_") in known}
        if "cache_size_mb" in config:
            values["cache_max_bytes"] = int(config["cache_size_mb"]) << 20
        values.update({k: v for k, v in given.items() if v is not None})
        return cls(**values)


def split_uri(uri: str) -> tuple[str, str]:
    """Bucket and key of an ``s3://`` URI.

    >>> split_uri("s3://bucket/AWSLogs/o-abc/")
    ('bucket', 'AWSLogs/o-abc/')
    """
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


@dataclass(frozen=True)
class _Object:
    bucket: str
    key: str
    etag: str
    size: int
    partition: tuple[tuple[str, str | None], ...]

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass
class _Counters:
    lock: threading.Lock = field(default_factory=threading.Lock)
    values: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, count: int = 1) -> None:
        with self.lock:
            self.values[name] = self.values.get(name, 0) + count

    def take(self) -> dict[str, int]:
        with self.lock:
            taken, self.values = self.values, {}
        return taken


class S3Source:
    """Lists and fetches the objects of ``s3://`` locations for the planner."""

    def __init__(self, options: S3Options | None = None, strict: bool = False) -> None:
        self.options = options or S3Options()
        self.strict = strict
        self._client: Any = None
        self._counters = _Counters()
        self._cache: ObjectCache | None = None

    @property
    def cache(self) -> ObjectCache:
        if self._cache is None:
            if self.options.no_cache:
                self._cache = ObjectCache.temporary()
            else:
                folder = self.options.cache_dir or default_folder()
                self._cache = ObjectCache(folder, self.options.cache_max_bytes)
        return self._cache

    @property
    def client(self) -> Any:
        """The boto3 S3 client, made on first use; its events count LIST and GET requests."""
        if self._client is None:
            import boto3
            import botocore.config
            import botocore.exceptions

            try:
                session = boto3.Session(profile_name=self.options.profile, region_name=self.options.region)
                config = botocore.config.Config(
                    retries={"mode": "standard", "max_attempts": self.options.max_attempts},
                    connect_timeout=self.options.connect_timeout,
                    read_timeout=self.options.read_timeout,
                    max_pool_connections=max(10, self.options.workers),
                )
                client = session.client("s3", endpoint_url=self.options.endpoint_url, config=config)
            except botocore.exceptions.BotoCoreError as error:
                raise SourceError(f"S3: {error}") from None
            client.meta.events.register("before-send.s3.ListObjectsV2", lambda **_: self._counters.add("list"))
            client.meta.events.register("before-send.s3.GetObject", lambda **_: self._counters.add("get"))
            self._client = client
        return self._client

    def close(self) -> None:
        if self._cache is not None and self._cache.ephemeral:
            self._cache.remove_folder()
            self._cache = None

    # --- listing ------------------------------------------------------------------------------

    def _list(self, bucket: str, prefix: str, delimiter: bool) -> Iterator[dict[str, Any]]:
        """The pages of ``ListObjectsV2`` for a prefix; errors become one clear line."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = "/"
        try:
            yield from self.client.get_paginator("list_objects_v2").paginate(**kwargs)
        except Exception as error:
            raise _error(error, f"s3://{bucket}/{prefix}", "listing") from None

    def list_awslogs(self, uri: str, may_match: Callable[[Partial], bool]) -> Listing:
        """The log files below a logs root, listing only prefixes whose partition may match."""
        bucket, key = split_uri(uri)
        root = key if not key or key.endswith("/") else key + "/"
        objects: list[_Object] = []
        listing = Listing()
        level = [root]
        with ThreadPoolExecutor(self.options.workers) as pool:
            while level:
                pages = list(pool.map(lambda p: list(self._list(bucket, p, delimiter=True)), level))
                level = []
                for page in (page for group in pages for page in group):
                    for common in page.get("CommonPrefixes", []):
                        sub = common["Prefix"]
                        if local.keep_folder(PurePosixPath("/", bucket, sub.rstrip("/")), may_match):
                            level.append(sub)
                    for item in page.get("Contents", []):
                        path = PurePosixPath("/", bucket, item["Key"])
                        if item["Key"].endswith("/") or local.is_hidden(path.name) or path.name.endswith(".tmp"):
                            continue
                        listing.listed += 1
                        partition = local.file_partition(path, may_match)
                        if partition is None:
                            listing.pruned += 1
                            continue
                        objects.append(_Object(bucket, item["Key"], item.get("ETag", ""), item["Size"], partition))
        return self._unfetched(objects, listing)

    def list_prefix(self, uri: str, partition: tuple[tuple[str, str | None], ...]) -> Listing:
        """Every object below a table or partition location (recursively, as Athena reads it)."""
        return self.list_prefixes([(uri, partition)])

    def list_prefixes(self, locations: Sequence[tuple[str, tuple[tuple[str, str | None], ...]]]) -> Listing:
        """The objects below many partition locations, listed in parallel, then fetched."""
        with ThreadPoolExecutor(self.options.workers) as pool:
            found = list(pool.map(lambda location: self._objects_below(*location), locations))
        objects = [obj for group in found for obj in group]
        return self._unfetched(objects, Listing(listed=len(objects)))

    def _objects_below(self, uri: str, partition: tuple[tuple[str, str | None], ...]) -> list[_Object]:
        bucket, key = split_uri(uri)
        prefix = key if not key or key.endswith("/") else key + "/"
        objects = []
        for page in self._list(bucket, prefix, delimiter=False):
            for item in page.get("Contents", []):
                below = item["Key"][len(prefix) :].split("/")
                if item["Key"].endswith("/") or any(local.is_hidden(part) for part in below):
                    continue
                if below[-1].endswith(".tmp") or any(part in local.NON_EVENT_FOLDERS for part in below):
                    continue
                objects.append(_Object(bucket, item["Key"], item.get("ETag", ""), item["Size"], partition))
        return objects

    def objects(self, uri: str) -> Iterator[dict[str, Any]]:
        """Every object below ``uri`` (``ListObjectsV2`` entries: ``Key``, ``ETag``, ``Size``),
        digests and hidden files included (``trailsql verify`` reads the digests)."""
        bucket, key = split_uri(uri)
        prefix = key if not key or key.endswith("/") else key + "/"
        for page in self._list(bucket, prefix, delimiter=False):
            yield from page.get("Contents", [])

    def metadata(self, uri: str) -> dict[str, str]:
        """An object's user metadata (``x-amz-meta-<name>`` by ``<name>``: a CloudTrail digest's signature)."""
        bucket, key = split_uri(uri)
        try:
            response = self.client.head_object(Bucket=bucket, Key=key)
        except Exception as error:
            raise _error(error, uri, "reading") from None
        return {str(k): str(v) for k, v in response.get("Metadata", {}).items()}

    # --- fetching -----------------------------------------------------------------------------

    def _unfetched(self, objects: list[_Object], listing: Listing) -> Listing:
        """The listing of ``objects``, not fetched yet: :meth:`fetch` fetches what is still needed."""
        listing.files = [LogFile("", o.uri, o.size, o.partition, o.etag, remote=True) for o in objects]
        self._count_requests(listing)
        return listing

    def _count_requests(self, listing: Listing) -> None:
        taken = self._counters.take()
        for name, key in (
            ("list_requests", "list"),
            ("get_requests", "get"),
            ("bytes_fetched", "bytes"),
            ("cache_hits", "hits"),
        ):
            listing.requests[name] = listing.requests.get(name, 0) + taken.get(key, 0)

    def fetch(self, listing: Listing) -> Listing:
        """The listing with its objects fetched (or found in the cache): a new listing, whose
        objects that cannot be fetched are skipped files (or an error under ``strict``)."""
        pending = [f for f in listing.files if f.remote and not f.path]
        if not pending:
            return listing
        objects = [_Object(*split_uri(f.uri), f.version, f.size, f.partition) for f in pending]
        with ThreadPoolExecutor(self.options.workers) as pool:
            results = list(pool.map(self._fetch_one, objects))
        fetched: dict[str, str] = {}
        skipped = list(listing.skipped)
        for obj, (path, problem) in zip(objects, results, strict=True):
            if path is None:
                if self.strict:
                    raise BadInputError(f"{obj.uri}: {problem}")
                skipped.append((obj.uri, problem or "not fetched"))
            else:
                fetched[obj.uri] = path
        kept = [f for f in listing.files if f.path or not f.remote or f.uri in fetched]
        files = [f._replace(path=fetched[f.uri]) if not f.path else f for f in kept]
        self.cache.evict(keep={f.path for f in files})
        done = Listing(files, listing.listed, listing.pruned, skipped, dict(listing.requests))
        self._count_requests(done)
        return done

    def _fetch_one(self, obj: _Object) -> tuple[str | None, str | None]:
        """The local path of an object's copy, or None and why it could not be fetched."""
        cached = self.cache.get(obj.bucket, obj.key, obj.etag)
        if cached is not None:
            self._counters.add("hits")
            return str(cached), None
        problem = "not fetched"
        for attempt in range(self.options.max_attempts):
            if attempt:
                time.sleep(random.uniform(0, min(self.options.backoff_cap, self.options.backoff_base * 2**attempt)))
            try:
                return self._download(obj), None
            except Exception as error:
                if not _retryable(error):
                    raise _error(error, obj.uri, "reading") from None
                problem = f"{type(error).__name__}: {error}"
        return None, f"gave up after {self.options.max_attempts} attempts ({problem})"

    def _download(self, obj: _Object) -> str:
        response = self.client.get_object(Bucket=obj.bucket, Key=obj.key)
        etag = response.get("ETag", obj.etag)
        size = int(response.get("ContentLength", obj.size))
        fd, temp = self.cache.temp_file()
        md5 = hashlib.md5(usedforsecurity=False)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in response["Body"].iter_chunks(1 << 20):
                    out.write(chunk)
                    md5.update(chunk)
                    self._counters.add("bytes", len(chunk))
        except BaseException:
            os.unlink(temp)
            raise
        return str(self.cache.put(obj.bucket, obj.key, etag, temp, size, md5.hexdigest()))


def _code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
    return ""


def _retryable(error: Exception) -> bool:
    import botocore.exceptions
    import urllib3.exceptions

    if isinstance(error, VerificationError | urllib3.exceptions.HTTPError | ConnectionError | TimeoutError):
        return True
    if isinstance(
        error,
        botocore.exceptions.ConnectionError
        | botocore.exceptions.HTTPClientError
        | botocore.exceptions.IncompleteReadError
        | botocore.exceptions.ResponseStreamingError,
    ):
        return True
    return _code(error) in _RETRYABLE_CODES


def _error(error: Exception, where: str, doing: str) -> Exception:
    """One clear line for an S3 failure that retrying will not fix."""
    import botocore.exceptions

    code = _code(error)
    if isinstance(error, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return SourceError(f"S3 credentials not found for {where}: set a --profile or AWS_ACCESS_KEY_ID")
    if isinstance(error, botocore.exceptions.ProfileNotFound):
        return SourceError(f"S3: {error}")
    if code in _CREDENTIAL_CODES:
        return SourceError(f"S3 rejected the credentials ({code}) {doing} {where}: check --profile or the AWS keys")
    if code in _DENIED_CODES:
        return SourceError(f"access denied {doing} {where}")
    if code == "NoSuchBucket":
        return SourceError(f"no such bucket: {where}")
    if isinstance(error, botocore.exceptions.EndpointConnectionError):
        return SourceError(f"cannot reach S3 {doing} {where}: {error}")
    if isinstance(error, botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError):
        return SourceError(f"{where}: {code or type(error).__name__}: {error}")
    return error
