"""Where a copy of CloudTrail logs is, for validation: a local folder (here) or an S3 prefix
(:mod:`trailsql.verify.s3store`).

Validation (:mod:`trailsql.verify.validate`) is one algorithm over a :class:`Store`: the files
below ``AWSLogs/`` (each known by its key from ``AWSLogs/`` on, since a copy's bucket and
prefix are its own), their bytes, and each digest's signature. That signature is S3 object
metadata: in S3 it is read from there (and is final: a digest without one is not signed);
a local copy has it only where a ``<digest>.signature`` sidecar (hex) was kept beside the
digest, and otherwise validation looks for it in the next digest's ``previousDigestSignature``.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

#: The suffix of a digest's signature kept beside it (S3 metadata has no place in a file system).
SIGNATURE_SUFFIX = ".signature"

_AWSLOGS = re.compile(r"(?:^|/)(AWSLogs/.*)$")
_ORG = re.compile(r"^o-[a-z0-9]+$")


def awslogs_key(s3_object: str) -> str | None:
    """An S3 key from ``AWSLogs/`` on, or None.

    >>> awslogs_key("prefix/AWSLogs/123456789012/CloudTrail/x.json.gz")
    'AWSLogs/123456789012/CloudTrail/x.json.gz'
    """
    match = _AWSLOGS.search(s3_object)
    return match.group(1) if match else None


def join(base: str, key: str) -> str:
    """The location of ``key`` (from ``AWSLogs/`` on) in the copy rooted at ``base``.

    >>> join("s3://bucket/prefix", "AWSLogs/1/x"), join("/", "AWSLogs/1/x")
    ('s3://bucket/prefix/AWSLogs/1/x', '/AWSLogs/1/x')
    """
    return f"{base.rstrip('/')}/{key}"


@dataclass(frozen=True)
class StoredFile:
    """A file of a copy: where it is shown (``location``: a path or an ``s3://`` URI), the root
    holding its ``AWSLogs`` (``base``), and its key from ``AWSLogs/`` on."""

    location: str
    base: str
    key: str

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Signature:
    """What a store knows of a digest's signature: its hex (None: none known); whether that is
    ``final`` (read from the object's S3 metadata: there is no other place to look); and the
    ``backfill-generation-timestamp`` metadata of a backfill digest, when read from S3."""

    hex: str | None
    final: bool = False
    backfill_generated: str | None = None


class Store(Protocol):
    """A copy of the logs, as validation reads it."""

    #: What the copy is called in messages (the folder or ``s3://`` URI given).
    root: str
    #: Notes on the copy (such as objects an offline run has no copy of).
    notes: list[str]

    def files(self) -> list[StoredFile]:
        """The files below ``AWSLogs/`` in ``CloudTrail/`` and ``CloudTrail-Digest/`` folders."""
        ...

    def read(self, file: StoredFile) -> bytes:
        """A file's bytes as stored; OSError if it cannot be read."""
        ...

    def signature(self, file: StoredFile) -> Signature:
        """A digest's signature."""
        ...

    def stated_here(self, file: StoredFile, s3_object: str) -> bool:
        """Whether a digest's ``digestS3Object`` says it is where it was found."""
        ...


def write_whole(path: Path, text: str) -> None:
    """Write a file whole or not at all (a temporary file beside it, renamed): a reader
    never sees half a signature or key list."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(temp, path)


def read_sidecar(digest: Path) -> Signature:
    """The signature kept beside the digest at ``digest`` (not final: S3 may say otherwise)."""
    sidecar = Path(f"{digest}{SIGNATURE_SUFFIX}")
    try:
        return Signature(sidecar.read_text(errors="replace").strip().lower())
    except FileNotFoundError:
        return Signature(None)
    except OSError as error:
        return Signature(f"unreadable: {error.strerror or error}")  # not hex: fails verification


_SKIPPED = (".tmp", SIGNATURE_SUFFIX)


def wanted(key: str) -> bool:
    """Whether validation reads the file of this key (from ``AWSLogs/`` on): a log or digest
    file of a ``CloudTrail`` or ``CloudTrail-Digest`` folder, neither hidden nor partial.

    >>> wanted("AWSLogs/o-abc123/123456789012/CloudTrail-Digest/us-east-1/2025/02/12/d.json.gz")
    True
    >>> wanted("AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2025/02/12/i.json.gz")
    False
    """
    parts = key.split("/")
    name = parts[-1]
    if name.startswith((".", "_")) or name.endswith(_SKIPPED) or any(p.startswith(".") for p in parts):
        return False
    below = parts[1:]
    if below and _ORG.match(below[0]):
        below = below[1:]
    return len(below) >= 4 and below[1] in ("CloudTrail", "CloudTrail-Digest")


class LocalStore:
    """A local copy: every ``AWSLogs`` folder below ``root`` (signatures from sidecars)."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self._root = Path(os.path.abspath(root))
        self.notes: list[str] = []

    def files(self) -> list[StoredFile]:
        found: list[StoredFile] = []
        for folder, subfolders, names in os.walk(self._root):
            subfolders[:] = sorted(s for s in subfolders if not s.startswith("."))
            parts = Path(folder).parts
            if "AWSLogs" not in parts:
                continue
            at = len(parts) - 1 - parts[::-1].index("AWSLogs")
            base = str(Path(*parts[:at]))
            for name in sorted(names):
                key = "/".join((*parts[at:], name))
                if wanted(key):
                    found.append(StoredFile(join(base, key), base, key))
        return found

    def read(self, file: StoredFile) -> bytes:
        return Path(file.location).read_bytes()

    def signature(self, file: StoredFile) -> Signature:
        return read_sidecar(Path(file.location))

    def stated_here(self, file: StoredFile, s3_object: str) -> bool:
        return awslogs_key(s3_object) == file.key
