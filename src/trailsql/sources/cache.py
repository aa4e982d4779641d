"""An on-disk cache of objects fetched from S3, keyed by (bucket, key, ETag).

A second query over the same days reads no object again; an object whose ETag changed
is a different entry, so it is fetched again. A download goes to a temporary file, is
verified against its size and (single-part ETags) its MD5, and only then renamed into
place: a partial download never enters the cache. The cache keeps under a size cap by
evicting the entries used least recently (each use touches the entry's file).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

#: The default size cap: 10 GiB.
DEFAULT_MAX_BYTES = 10 << 30

#: A single-part upload's ETag is the MD5 of the object.
_MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")


def default_folder() -> Path:
    """``$XDG_CACHE_HOME/trailsql``, else ``~/.cache/trailsql``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "trailsql"


def md5_of_etag(etag: str) -> str | None:
    """The MD5 an ETag promises, or None for multipart (``<md5>-<parts>``) and other ETags.

    >>> md5_of_etag('"5d41402abc4b2a76b9719d911017c592"')
    '5d41402abc4b2a76b9719d911017c592'
    >>> md5_of_etag('"5d41402abc4b2a76b9719d911017c592-3"') is None
    True
    """
    bare = etag.strip('"').lower()
    return bare if _MD5_ETAG.match(bare) else None


class VerificationError(Exception):
    """A download whose size or MD5 is not what S3 announced."""


@dataclass
class CacheStats:
    folder: str
    objects: int
    bytes: int
    max_bytes: int


class ObjectCache:
    """Objects on disk under ``folder/objects``; ``ephemeral`` caches never hit (``--no-cache``)."""

    def __init__(self, folder: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES, ephemeral: bool = False):
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.ephemeral = ephemeral
        self._lock = threading.Lock()

    @classmethod
    def temporary(cls) -> ObjectCache:
        """A cache in a fresh temporary folder, for one query (``--no-cache``)."""
        return cls(tempfile.mkdtemp(prefix="trailsql-nocache-"), max_bytes=1 << 62, ephemeral=True)

    @property
    def objects(self) -> Path:
        return self.folder / "objects"

    def path(self, bucket: str, key: str, etag: str) -> Path:
        """Where the object's copy lives; the file name keeps the key's suffix (``.json.gz``)."""
        digest = hashlib.sha256(f"{bucket}\0{key}\0{etag}".encode()).hexdigest()
        name = key.rsplit("/", 1)[-1][-80:]
        return self.objects / digest[:2] / f"{digest[2:24]}-{name}"

    def get(self, bucket: str, key: str, etag: str) -> Path | None:
        """The cached copy of an object (touched as used), or None."""
        if self.ephemeral:
            return None
        path = self.path(bucket, key, etag)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    def temp_file(self) -> tuple[int, str]:
        """A temporary file in the cache's folder (same file system, so the rename is atomic)."""
        tmp = self.folder / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(dir=tmp, suffix=".part")

    def put(self, bucket: str, key: str, etag: str, temp: str, size: int, md5: str) -> Path:
        """Move a verified download into the cache; a download that fails verification is removed."""
        try:
            actual = os.path.getsize(temp)
            if actual != size:
                raise VerificationError(f"got {actual} of {size} bytes")
            expected = md5_of_etag(etag)
            if expected is not None and expected != md5:
                raise VerificationError(f"MD5 {md5} does not match ETag {expected}")
        except BaseException:
            os.unlink(temp)
            raise
        path = self.path(bucket, key, etag)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, path)
        return path

    def evict(self, keep: set[str] | frozenset[str] = frozenset()) -> int:
        """Remove the least recently used entries until the cache fits its cap; never those in ``keep``."""
        with self._lock:
            entries = []
            for path in self.objects.glob("*/*"):
                try:
                    info = path.stat()
                except FileNotFoundError:
                    continue
                entries.append((info.st_mtime, info.st_size, path))
            total = sum(size for _, size, _ in entries)
            removed = 0
            for _, size, path in sorted(entries, key=lambda e: e[0]):
                if total <= self.max_bytes:
                    break
                if str(path) in keep:
                    continue
                path.unlink(missing_ok=True)
                total -= size
                removed += 1
            return removed

    def stats(self) -> CacheStats:
        sizes = [p.stat().st_size for p in self.objects.glob("*/*")] if self.objects.exists() else []
        return CacheStats(str(self.folder), len(sizes), sum(sizes), self.max_bytes)

    def clear(self) -> int:
        """Remove every entry (and stray partial downloads); the number of entries removed."""
        count = self.stats().objects
        for sub in ("objects", "tmp"):
            shutil.rmtree(self.folder / sub, ignore_errors=True)
        return count

    def remove_folder(self) -> None:
        """Remove the whole folder (a temporary cache, when its session closes)."""
        shutil.rmtree(self.folder, ignore_errors=True)
