"""One CloudTrail digest file: its fields, the string CloudTrail signs, and its signature.

As AWS documents it ("CloudTrail digest file structure", "Custom implementations of
CloudTrail log file integrity validation"): a digest is a gzipped JSON object; CloudTrail
signs, with RSA PKCS#1 v1.5 over SHA-256, the string ::

    digestEndTime + "\\n" + digestS3Bucket + "/" + digestS3Object + "\\n"
    + hex(SHA-256(the digest's uncompressed bytes as delivered)) + "\\n"
    + previousDigestSignature      (the literal "null" for a chain's first digest)

and keeps the hex signature in the digest object's S3 metadata (``x-amz-meta-signature``).
The public key is the one whose fingerprint (the lowercase hex MD5 of its DER bytes) the
digest names in ``digestPublicKeyFingerprint``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

#: The fields the AWS CLI requires of every digest (else "invalid format").
REQUIRED = (
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
)


class DigestFormatError(ValueError):
    """A digest file that is not gzipped JSON with the fields every digest has."""


@dataclass(frozen=True)
class Inflated:
    """A gzip file's first member uncompressed, and whether bytes follow the end of its stream."""

    data: bytes
    trailing: bool


def inflate(raw: bytes) -> Inflated:
    """The uncompressed bytes of a gzip file (its first member, as the AWS CLI reads it).

    >>> import gzip
    >>> inflate(gzip.compress(b"{}") + b"x")
    Inflated(data=b'{}', trailing=True)
    """
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        data = inflater.decompress(raw) + inflater.flush()
    except zlib.error as error:
        raise DigestFormatError(f"not a gzip file: {error}") from None
    if not inflater.eof:
        raise DigestFormatError("truncated gzip stream")
    return Inflated(data, bool(inflater.unused_data))


def parse_time(text: str) -> dt.datetime:
    """A digest's UTC timestamp (``2025-02-12T01:00:00Z``, milliseconds allowed) as an aware datetime."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Digest:
    """A digest file read from ``location`` (a path, or an ``s3://`` URI): its uncompressed
    bytes (``data``, hashed as delivered) and their JSON (``fields``)."""

    location: str
    data: bytes
    fields: Mapping[str, Any]
    trailing: bool = False

    @property
    def name(self) -> str:
        """The file name (the last part of its location)."""
        return self.location.rsplit("/", 1)[-1]

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the uncompressed digest (what the next digest's ``previousDigestHashValue`` states)."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def start(self) -> dt.datetime:
        return parse_time(str(self.fields["digestStartTime"]))

    @property
    def end(self) -> dt.datetime:
        return parse_time(str(self.fields["digestEndTime"]))

    @property
    def s3_object(self) -> str:
        return str(self.fields["digestS3Object"])

    @property
    def previous_object(self) -> str | None:
        value = self.fields.get("previousDigestS3Object")
        return None if value is None else str(value)

    @property
    def log_files(self) -> list[Mapping[str, Any]]:
        files = self.fields.get("logFiles") or []
        return [f for f in files if isinstance(f, Mapping)]


def read_digest(path: Path) -> Digest:
    """The digest file at ``path``; :class:`DigestFormatError` if it is not one."""
    return parse_digest(path.read_bytes(), str(path))


def parse_digest(raw: bytes, location: str) -> Digest:
    """The digest file of bytes ``raw`` (as stored: gzipped) found at ``location``;
    :class:`DigestFormatError` if it is not one."""
    inflated = inflate(raw)
    try:
        fields = json.loads(inflated.data)
    except ValueError as error:
        raise DigestFormatError(f"not JSON: {error}") from None
    if not isinstance(fields, dict):
        raise DigestFormatError("not a JSON object")
    missing = [name for name in REQUIRED if name not in fields]
    if missing:
        raise DigestFormatError(f"missing {', '.join(missing)}")
    try:
        parse_time(str(fields["digestStartTime"]))
        parse_time(str(fields["digestEndTime"]))
    except ValueError as error:
        raise DigestFormatError(f"bad digest time: {error}") from None
    return Digest(location, inflated.data, fields, inflated.trailing)


def signing_string(digest: Digest) -> bytes:
    """The string CloudTrail signs for ``digest`` (see the module's docstring)."""
    f = digest.fields
    previous = f["previousDigestSignature"]
    return "\n".join(
        (
            str(f["digestEndTime"]),
            f"{f['digestS3Bucket']}/{f['digestS3Object']}",
            digest.sha256,
            "null" if previous is None else str(previous),
        )
    ).encode()


@dataclass(frozen=True)
class PublicKey:
    """One CloudTrail public key: its DER bytes, fingerprint (hex MD5 of the DER) and validity
    (None: not stated)."""

    der: bytes
    fingerprint: str
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None

    def load(self) -> rsa.RSAPublicKey:
        """The RSA key (DER in PKCS#1 ``RSAPublicKey`` or ``SubjectPublicKeyInfo`` form)."""
        key = serialization.load_der_public_key(self.der)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("not an RSA public key")
        return key

    def valid_during(self, start: dt.datetime, end: dt.datetime) -> bool:
        """Whether the key's validity overlaps ``[start, end]`` (as ``ListPublicKeys`` chooses keys)."""
        return (self.valid_from is None or self.valid_from <= end) and (
            self.valid_until is None or self.valid_until >= start
        )

    def validity(self) -> str:
        """Its validity as a person reads it."""
        start = "?" if self.valid_from is None else iso(self.valid_from)
        end = "?" if self.valid_until is None else iso(self.valid_until)
        return f"{start} to {end}"


def iso(value: dt.datetime) -> str:
    """A UTC time as digests write it (``2025-02-12T01:00:00Z``)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


PublicKeys = Mapping[str, PublicKey]
"""Public keys by fingerprint (lowercase hex)."""


def load_public_keys(path: Path) -> dict[str, PublicKey]:
    """The keys of a file as ``aws cloudtrail list-public-keys`` prints them
    (``{"PublicKeyList": [{"Value": base64 DER, "ValidityStartTime", "ValidityEndTime",
    "Fingerprint"}]}``), by the MD5 fingerprint of their DER (which is what a digest names; a
    ``Fingerprint`` that disagrees with it is not trusted)."""
    try:
        document = json.loads(path.read_text())
        entries = document["PublicKeyList"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a list-public-keys file ({error})") from None
    keys: dict[str, PublicKey] = {}
    for entry in entries:
        try:
            der = base64.b64decode(entry["Value"], validate=True)
        except (KeyError, TypeError, binascii.Error) as error:
            raise ValueError(f"{path}: a key's Value is not base64 ({error})") from None
        try:
            start, end = (_validity(entry.get(name)) for name in ("ValidityStartTime", "ValidityEndTime"))
        except ValueError as error:
            raise ValueError(f"{path}: a key's validity is not a time ({error})") from None
        fingerprint = hashlib.md5(der, usedforsecurity=False).hexdigest()
        keys[fingerprint] = PublicKey(der, fingerprint, start, end)
    return keys


def _validity(value: object) -> dt.datetime | None:
    """A ``ValidityStartTime``/``ValidityEndTime`` as printed (ISO 8601) or as epoch seconds."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return parse_time(str(value))


def verify_signature(key: PublicKey, message: bytes, signature_hex: str) -> bool:
    """Whether ``signature_hex`` is ``key``'s RSA PKCS#1 v1.5 SHA-256 signature of ``message``."""
    try:
        signature = bytes.fromhex(signature_hex)
        key.load().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, UnsupportedAlgorithm):
        return False
    return True
