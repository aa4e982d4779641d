"""A copy of CloudTrail logs in S3, for validation (a :class:`~trailsql.verify.store.Store`).

Online, every object below the prefix is listed, the digests and log files are fetched
into trailsql's S3 cache (:class:`~trailsql.sources.s3.S3Source`: the credential chain, the
endpoint, retries, the cache by ETag) and each digest's metadata is read (a ``HEAD``, every
run: metadata can be replaced without changing the object's ETag). Its signature is kept in
the cache beside the digest's copy as a ``<copy>.signature`` sidecar, and the listing as
``<cache>/verify-listings/<sha256 of the URI>.json``, so an offline run (``--offline``)
validates the same objects from the cache, the newest digest included.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from trailsql.errors import SourceError
from trailsql.sources.files import Listing, LogFile
from trailsql.sources.s3 import S3Source, split_uri
from trailsql.verify.digests import iso
from trailsql.verify.store import (
    SIGNATURE_SUFFIX,
    Signature,
    StoredFile,
    awslogs_key,
    join,
    read_sidecar,
    wanted,
    write_whole,
)

LISTINGS_NAME = "verify-listings"


class S3Store:
    """The logs below ``uri`` (``s3://bucket/prefix/``), read through ``source``; ``offline``:
    only the cache, as the last online run listed it."""

    def __init__(self, source: S3Source, uri: str, offline: bool = False) -> None:
        self.root = uri
        self.notes: list[str] = []
        self._source = source
        self._offline = offline
        self._bucket, _ = split_uri(uri)
        self._copies: dict[str, Path] = {}
        self._metadata: dict[str, dict[str, str]] = {}

    def _listing_path(self) -> Path:
        name = hashlib.sha256(self.root.rstrip("/").encode()).hexdigest()
        return self._source.cache.folder / LISTINGS_NAME / f"{name}.json"

    def _list(self) -> list[dict[str, Any]]:
        """The objects validation reads (``key``, ``etag``, ``size``): listed, or kept from the last listing."""
        if self._offline:
            try:
                kept = json.loads(self._listing_path().read_text())
            except (OSError, ValueError):
                raise SourceError(
                    f"no listing of {self.root} in the cache ({self._source.cache.folder}): run trailsql verify "
                    "on it once online"
                ) from None
            self.notes.append(f"offline: the objects of {self.root} as listed at {kept['listed']}")
            return list(kept["objects"])
        objects = [
            {"key": o["Key"], "etag": o.get("ETag", ""), "size": o["Size"]}
            for o in self._source.objects(self.root)
            if (key := awslogs_key(o["Key"])) is not None and wanted(key)
        ]
        if not self._source.cache.ephemeral:
            listed = iso(dt.datetime.now(dt.UTC))
            write_whole(self._listing_path(), json.dumps({"uri": self.root, "listed": listed, "objects": objects}))
        return objects

    def files(self) -> list[StoredFile]:
        objects = {f"s3://{self._bucket}/{o['key']}": o for o in self._list()}
        files = {uri: self._file(o["key"]) for uri, o in objects.items()}
        if self._offline:
            for uri, o in objects.items():
                copy = self._source.cache.get(self._bucket, o["key"], o["etag"])
                if copy is not None:
                    self._copies[uri] = copy
            if len(self._copies) < len(objects):
                absent = len(objects) - len(self._copies)
                self.notes.append(f"offline: {absent} objects listed are not in the cache (reported as missing)")
            return [files[uri] for uri in self._copies]
        pending = [LogFile("", uri, o["size"], (), o["etag"], remote=True) for uri, o in objects.items()]
        fetched = self._source.fetch(Listing(files=pending))
        self._copies = {f.uri: Path(f.path) for f in fetched.files}
        digests = [uri for uri, file in files.items() if "/CloudTrail-Digest/" in file.key]
        with ThreadPoolExecutor(self._source.options.workers) as pool:
            self._metadata = dict(zip(digests, pool.map(self._source.metadata, digests), strict=True))
        for uri in digests:
            self._keep_signature(uri)
        return list(files.values())

    def _file(self, object_key: str) -> StoredFile:
        key = awslogs_key(object_key)
        assert key is not None
        base = f"s3://{self._bucket}/{object_key[: len(object_key) - len(key)]}".rstrip("/")
        return StoredFile(join(base, key), base, key)

    def _keep_signature(self, uri: str) -> None:
        """The digest's signature beside its copy in the cache (none: no sidecar, not an old one)."""
        sidecar = Path(f"{self._copies[uri]}{SIGNATURE_SUFFIX}")
        signature = self._metadata[uri].get("signature")
        if signature is None:
            sidecar.unlink(missing_ok=True)
        else:
            write_whole(sidecar, signature)

    def read(self, file: StoredFile) -> bytes:
        return self._copies[file.location].read_bytes()

    def signature(self, file: StoredFile) -> Signature:
        if self._offline:
            return read_sidecar(self._copies[file.location])
        metadata = self._metadata.get(file.location, {})
        signature = metadata.get("signature")
        return Signature(
            None if signature is None else signature.strip().lower(),
            final=True,
            backfill_generated=metadata.get("backfill-generation-timestamp"),
        )

    def stated_here(self, file: StoredFile, s3_object: str) -> bool:
        return file.location == f"s3://{self._bucket}/{s3_object}"
