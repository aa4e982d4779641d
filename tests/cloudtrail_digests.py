"""Digest chains written exactly as CloudTrail writes them (AWS's "CloudTrail digest file
structure"), signed with a test RSA key by ``cryptography`` directly over the signing string
as AWS documents it, independently of ``trailsql.verify``: shared by the verify tests."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from conftest import log_folder, write_log
from trailsql.cli.main import cli

ACCOUNT = "123456789012"
REGION = "us-east-1"
TRAIL = "org_main-trail"  # an underscore in the name: the file name's parts are found from both ends
BUCKET = "trail-bucket"
START = dt.datetime(2025, 2, 12, 0, 0, 0, tzinfo=dt.UTC)


def stamp(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def public_der(key: rsa.RSAPrivateKey, form: str = "pkcs1") -> bytes:
    fmt = serialization.PublicFormat.PKCS1 if form == "pkcs1" else serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(serialization.Encoding.DER, fmt)


def write_keys(path: Path, *keys: rsa.RSAPrivateKey, form: str = "pkcs1") -> Path:
    """A public key file as ``aws cloudtrail list-public-keys`` prints it."""
    entries = [
        {
            "Value": base64.b64encode(public_der(k, form)).decode(),
            "ValidityStartTime": "2025-01-01T00:00:00+00:00",
            "ValidityEndTime": "2025-03-01T00:00:00+00:00",
            "Fingerprint": hashlib.md5(public_der(k, form)).hexdigest(),
        }
        for k in keys
    ]
    path.write_text(json.dumps({"PublicKeyList": entries}))
    return path


@dataclass
class Trail:
    """What :func:`make_trail` wrote: digest paths (oldest first), their signatures, each digest's log files."""

    root: Path
    digests: list[Path] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    logs: list[list[Path]] = field(default_factory=list)

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.root))


def key_of(root: Path, path: Path, prefix: str) -> str:
    return prefix + str(path.relative_to(root))


def write_digest(
    root: Path,
    key: rsa.RSAPrivateKey,
    end: dt.datetime,
    logs: list[Path],
    previous: tuple[Path, bytes, str] | None,
    org: str | None = None,
    prefix: str = "",
    backfill: bool = False,
    hours: int = 1,
    form: str = "pkcs1",
    listed: list[dict[str, Any]] | None = None,
) -> tuple[Path, bytes, str]:
    """One digest as CloudTrail delivers it, signed; (path, uncompressed bytes, hex signature).
    Its ``logFiles`` are ``listed`` if given, else made from ``logs``."""
    start = end - dt.timedelta(hours=hours)
    base = root / "AWSLogs" / (org or "") / ACCOUNT if org else root / "AWSLogs" / ACCOUNT
    folder = base / "CloudTrail-Digest" / REGION / f"{end:%Y}" / f"{end:%m}" / f"{end:%d}"
    name = f"{ACCOUNT}_CloudTrail-Digest_{REGION}_{TRAIL}_{REGION}_{end:%Y%m%dT%H%M%SZ}"
    name += "_backfill.json.gz" if backfill else ".json.gz"
    path = folder / name
    entries = list(listed or [])
    for log in [] if listed is not None else logs:
        data = gzip.decompress(log.read_bytes())
        events = [r["eventTime"] for r in json.loads(data)["Records"]]
        entries.append(
            {
                "s3Bucket": BUCKET,
                "s3Object": key_of(root, log, prefix),
                "hashValue": sha256_hex(data),
                "hashAlgorithm": "SHA-256",
                "newestEventTime": max(events),
                "oldestEventTime": min(events),
            }
        )
    fields: dict[str, Any] = {
        "awsAccountId": ACCOUNT,
        "digestStartTime": stamp(start),
        "digestEndTime": stamp(end),
        "digestS3Bucket": BUCKET,
        "digestS3Object": key_of(root, path, prefix),
        # of the DER as ListPublicKeys gives it
        "digestPublicKeyFingerprint": hashlib.md5(public_der(key, form)).hexdigest(),
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": max((e["newestEventTime"] for e in entries), default=None),
        "oldestEventTime": min((e["oldestEventTime"] for e in entries), default=None),
        "previousDigestS3Bucket": None if previous is None else BUCKET,
        "previousDigestS3Object": None if previous is None else key_of(root, previous[0], prefix),
        "previousDigestHashValue": None if previous is None else sha256_hex(previous[1]),
        "previousDigestHashAlgorithm": None if previous is None else "SHA-256",
        "previousDigestSignature": None if previous is None else previous[2],
        "logFiles": entries,
    }
    data = json.dumps(fields).encode()
    to_sign = "\n".join(
        [
            fields["digestEndTime"],
            f"{BUCKET}/{fields['digestS3Object']}",
            sha256_hex(data),
            "null" if previous is None else previous[2],
        ]
    ).encode()
    signature = key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256()).hex()
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data))
    return path, data, signature


def write_hour_logs(root: Path, hour: int, org: str | None = None, count: int = 2, tag: str = "") -> list[Path]:
    """``count`` log files delivered during hour ``hour`` after :data:`START`."""
    paths = []
    for i in range(count):
        when = START + dt.timedelta(hours=hour, minutes=5 * (i + 1))
        name = f"{ACCOUNT}_CloudTrail_{REGION}_{when:%Y%m%dT%H%M}Z_{tag}{hour:04d}{i:012d}.json.gz"
        record = {"eventVersion": "1.08", "eventTime": stamp(when), "eventName": "GetCallerIdentity", "n": f"{tag}{i}"}
        paths.append(write_log(log_folder(root, ACCOUNT, REGION, when.date(), org), name, [record]))
    return paths


def make_trail(
    root: Path,
    key: rsa.RSAPrivateKey,
    hours: int = 4,
    org: str | None = None,
    prefix: str = "",
    sidecar: bool = True,
    form: str = "pkcs1",
) -> Trail:
    """A trail's hourly chain: ``hours`` digests, two log files each; the newest digest's signature
    in a ``.signature`` sidecar (as trailsql keeps S3 metadata) unless ``sidecar`` is False."""
    trail = Trail(root)
    previous = None
    for hour in range(hours):
        logs = write_hour_logs(root, hour, org)
        end = START + dt.timedelta(hours=hour + 1)
        previous = write_digest(root, key, end, logs, previous, org, prefix, form=form)
        trail.digests.append(previous[0])
        trail.signatures.append(previous[2])
        trail.logs.append(logs)
    if sidecar:
        Path(f"{trail.digests[-1]}.signature").write_text(trail.signatures[-1] + "\n")
    return trail


def signed(trail: Trail) -> dict[Path, dict[str, str]]:
    """Each digest's S3 metadata as CloudTrail sets it."""
    return {
        d: {"signature": s, "signature-algorithm": "SHA256withRSA"}
        for d, s in zip(trail.digests, trail.signatures, strict=True)
    }


def publish(client: Any, bucket: str, root: Path, prefix: str, metadata: dict[Path, dict[str, str]]) -> None:
    """Every file below ``root`` (not the local sidecars) as ``prefix + relative path`` in
    ``bucket``, with its metadata (``x-amz-meta-*``)."""
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".signature")):
        key = prefix + path.relative_to(root).as_posix()
        client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), Metadata=metadata.get(path, {}))


def verify_json(*args: str) -> tuple[int, dict[str, Any]]:
    """``trailsql verify --format json`` with ``args``: its exit code and its answer."""
    result = CliRunner().invoke(cli, ["verify", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout)


def statuses(trail: Trail, answer: dict[str, Any]) -> dict[str, str]:
    """Each file's status by its path relative to the trail's root."""
    return {str(Path(f["path"]).relative_to(trail.root)): f["status"] for f in answer["files"]}
