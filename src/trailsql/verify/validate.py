"""Validating a local copy of CloudTrail logs against its digest files.

Every digest below the root (``AWSLogs/[o-<org>/]<account>/CloudTrail-Digest/<region>/
<yyyy>/<mm>/<dd>/*.json.gz``, standard and ``_backfill`` names) is read; each trail's chain
(account, region, trail, home region) is followed backwards through
``previousDigestS3Object``. For each digest checked:

- its signature, with the public key its ``digestPublicKeyFingerprint`` names. The signature
  is S3 object metadata, which a local copy does not have: a digest's signature is the
  ``previousDigestSignature`` the next digest states (that statement is itself covered by the
  next digest's signature), or a sidecar ``<digest>.signature`` (hex) beside it. The newest
  digest of a chain has neither unless the sidecar was kept: ``signature not available
  offline`` (not counted invalid: AWS's own offline procedure starts from the next-to-newest);
- ``previousDigestHashValue`` (and ``previousDigestSignature``, where the previous digest's
  own signature is known from a sidecar) against the previous digest, which the AWS CLI does
  not check;
- that it is where ``digestS3Object`` says (below ``AWSLogs/``: a local copy's bucket and
  prefix are its own), else ``moved``.

Each log file a checked digest lists is hashed (SHA-256 of the uncompressed file, the first
gzip member, as the AWS CLI reads it; bytes after it are ``trailing data``); a listed file
that is not at its path but is found with its hash elsewhere is ``moved``, else ``missing``.
A log file under ``CloudTrail/`` that no digest lists, in an account and region that has
digests and in the time they cover, is an ``unexpected file``. Gaps: consecutive digests of a
chain that leave time uncovered, a chain that restarts, or a previous digest that is missing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trailsql.verify.digests import (
    Digest,
    DigestFormatError,
    PublicKeys,
    inflate,
    read_digest,
    signing_string,
    verify_signature,
)

VALID = "valid"
HASH_MISMATCH = "hash mismatch"
MISSING = "missing"
MOVED = "moved"
BAD_SIGNATURE = "bad signature"
NO_PUBLIC_KEY = "no public key"
TRAILING_DATA = "trailing data"
UNEXPECTED = "unexpected file"
NOT_OFFLINE = "signature not available offline"
INVALID_FORMAT = "invalid format"

#: Statuses that do not make the run fail.
OK = frozenset({VALID, NOT_OFFLINE})
#: A file's status is its first problem in this order; the detail names them all.
_ORDER = (INVALID_FORMAT, MISSING, TRAILING_DATA, MOVED, BAD_SIGNATURE, HASH_MISMATCH, NO_PUBLIC_KEY, NOT_OFFLINE)

#: Time between consecutive digests tolerated before it is a gap (their times are to the second).
GAP_TOLERANCE = dt.timedelta(seconds=60)

_DIGEST_NAME = re.compile(
    r"^(?P<account>\d{12})_CloudTrail-Digest_(?P<region>[a-z0-9-]+)_(?P<trail>.+)_"
    r"(?P<home>[a-z]{2}(?:-[a-z]+)+-\d+)_(?P<time>\d{8}T\d{6}Z)(?P<backfill>_backfill)?\.json\.gz$"
)
_LOG_TIME = re.compile(r"_CloudTrail_[a-z0-9-]+_(\d{8}T\d{4})Z")
_ORG = re.compile(r"^o-[a-z0-9]+$")
_AWSLOGS = re.compile(r"(?:^|/)(AWSLogs/.*)$")


@dataclass(frozen=True)
class Result:
    """One file's status: ``kind`` is ``digest`` or ``log``."""

    path: str
    kind: str
    status: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "kind": self.kind, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class Gap:
    """Time a trail's chain of digests does not cover (``start`` None: before the oldest digest found)."""

    account: str
    region: str
    trail: str
    start: dt.datetime | None
    end: dt.datetime
    detail: str

    def to_json(self) -> dict[str, str | None]:
        return {
            "account": self.account,
            "region": self.region,
            "trail": self.trail,
            "start": None if self.start is None else _iso(self.start),
            "end": _iso(self.end),
            "detail": self.detail,
        }


@dataclass
class Report:
    """What :func:`validate` found: a result per file and the gaps of the chains."""

    results: list[Result] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether everything checked is valid: no invalid file and no gap."""
        return not self.gaps and all(r.status in OK for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"files": [r.to_json() for r in self.results], "gaps": [g.to_json() for g in self.gaps]}


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Place:
    """Where a file is in a local copy: the folder holding ``AWSLogs`` and its key from ``AWSLogs/``."""

    base: str
    key: str
    org: str | None
    account: str
    folder: str  # CloudTrail, CloudTrail-Digest, ...
    region: str


def _place(path: Path) -> _Place | None:
    parts = path.absolute().parts
    if "AWSLogs" not in parts:
        return None
    at = len(parts) - 1 - parts[::-1].index("AWSLogs")
    below = list(parts[at + 1 :])
    org = None
    if below and _ORG.match(below[0]):
        org = below.pop(0)
    if len(below) < 4:
        return None
    return _Place(str(Path(*parts[:at])), "/".join(parts[at:]), org, below[0], below[1], below[2])


def _key(s3_object: str) -> str | None:
    """An S3 key from ``AWSLogs/`` on (a local copy's bucket and prefix are its own)."""
    match = _AWSLOGS.search(s3_object)
    return match.group(1) if match else None


@dataclass(frozen=True)
class _Chain:
    base: str
    account: str
    region: str
    trail: str
    home: str
    backfill: bool


@dataclass
class _Found:
    digest: Digest
    place: _Place
    chain: _Chain
    problems: list[tuple[str, str]] = field(default_factory=list)


def _chain(digest: Digest, place: _Place) -> _Chain:
    match = _DIGEST_NAME.match(digest.path.name) or _DIGEST_NAME.match(digest.s3_object.rsplit("/", 1)[-1])
    if match is None:
        return _Chain(place.base, place.account, place.region, "?", "?", digest.path.name.endswith("_backfill.json.gz"))
    return _Chain(
        place.base, match["account"], match["region"], match["trail"], match["home"], match["backfill"] is not None
    )


def _walk(root: Path) -> tuple[list[Path], list[Path]]:
    """The digest files and the log files below ``root``."""
    digests: list[Path] = []
    logs: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(s for s in subfolders if not s.startswith("."))
        here = Path(folder)
        place = _place(here / "_")
        if place is None or place.folder not in ("CloudTrail", "CloudTrail-Digest"):
            continue
        for name in sorted(files):
            if name.startswith((".", "_")) or name.endswith((".tmp", ".signature")):
                continue
            if place.folder == "CloudTrail-Digest":
                if name.endswith(".json.gz"):
                    digests.append(here / name)
            else:
                logs.append(here / name)
    return digests, logs


def _log_time(path: Path) -> dt.datetime | None:
    match = _LOG_TIME.search(path.name)
    if match is None:
        return None
    return dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M").replace(tzinfo=dt.UTC)


def _hash(path: Path) -> tuple[str | None, bool, str]:
    """SHA-256 of a log file's uncompressed bytes, whether bytes follow its gzip stream, and why it could not be read."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        return None, False, f"cannot be read: {error.strerror or error}"
    if not path.name.endswith(".gz"):
        return hashlib.sha256(raw).hexdigest(), False, ""
    try:
        inflated = inflate(raw)
    except DigestFormatError as error:
        return None, False, str(error)
    return hashlib.sha256(inflated.data).hexdigest(), inflated.trailing, ""


def validate(
    root: Path,
    public_keys: PublicKeys,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Report:
    """Validate the local copy of CloudTrail logs below ``root`` (see the module's docstring).

    ``since``/``until`` limit the digests checked to those whose time overlaps them (and the
    log files checked to those these digests list); every digest found still serves to
    follow the chain and to know which files are listed."""
    digest_paths, log_paths = _walk(root)
    report = Report()
    results: dict[str, Result] = {}
    found: dict[tuple[str, str], _Found] = {}
    for path in digest_paths:
        place = _place(path)
        if place is None:
            continue
        try:
            digest = read_digest(path)
        except (DigestFormatError, OSError) as error:
            results[str(path)] = Result(str(path), "digest", INVALID_FORMAT, str(error))
            continue
        found[(place.base, place.key)] = _Found(digest, place, _chain(digest, place))

    def selected(d: Digest) -> bool:
        return (since is None or d.end >= since) and (until is None or d.start <= until)

    # Who names whom as previous: the signature of a digest is stated by its successors.
    successors: dict[tuple[str, str], list[_Found]] = defaultdict(list)
    for item in found.values():
        previous = item.digest.previous_object
        previous_key = None if previous is None else _key(previous)
        if previous_key is not None:
            successors[(item.place.base, previous_key)].append(item)

    checked = [item for item in found.values() if selected(item.digest)]
    for item in checked:
        _check_digest(item, found, successors, public_keys, results)
    for item in checked:
        status, detail = _summary(item.problems)
        results[str(item.digest.path)] = Result(str(item.digest.path), "digest", status, detail)

    report.gaps = _gaps(checked, found)
    _check_logs(checked, found, log_paths, report.gaps, results, since, until)
    report.results = sorted(results.values(), key=lambda r: (r.kind != "digest", r.path))
    return report


def _summary(problems: list[tuple[str, str]]) -> tuple[str, str]:
    if not problems:
        return VALID, ""
    ordered = sorted(problems, key=lambda p: _ORDER.index(p[0]) if p[0] in _ORDER else len(_ORDER))
    return ordered[0][0], "; ".join(detail for _, detail in ordered)


def _check_digest(
    item: _Found,
    found: Mapping[tuple[str, str], _Found],
    successors: Mapping[tuple[str, str], list[_Found]],
    public_keys: PublicKeys,
    results: dict[str, Result],
) -> None:
    digest, place = item.digest, item.place
    if digest.trailing:
        item.problems.append((TRAILING_DATA, "bytes after the end of the gzip stream"))
    if _key(digest.s3_object) != place.key:
        item.problems.append((MOVED, f"digestS3Object is {digest.s3_object}"))
    # The signature: the sidecar (S3 metadata kept beside it), else what later digests state.
    sidecar = Path(f"{digest.path}.signature")
    stated = successors.get((place.base, place.key), [])
    signature: str | None = None
    candidates: list[str] = []
    if sidecar.is_file():
        try:
            signature = sidecar.read_text(errors="replace").strip().lower()
        except OSError as error:
            signature = f"unreadable: {error.strerror or error}"  # not hex: fails verification
        candidates = [signature]
    else:
        candidates = sorted({str(s.digest.fields.get("previousDigestSignature") or "").lower() for s in stated} - {""})
    fingerprint = str(digest.fields["digestPublicKeyFingerprint"]).lower()
    key = public_keys.get(fingerprint)
    message = signing_string(digest)
    if key is None:
        item.problems.append((NO_PUBLIC_KEY, f"no public key with fingerprint {fingerprint}"))
    elif not candidates:
        item.problems.append(
            (NOT_OFFLINE, f"no later digest states its signature and there is no {sidecar.name} (S3 metadata)")
        )
    else:
        good = next((c for c in candidates if verify_signature(key, message, c)), None)
        if good is None:
            item.problems.append((BAD_SIGNATURE, "signature verification failed"))
        signature = good or signature
    if signature is not None:
        for later in stated:  # a later digest's statement of this one's signature must be it
            if str(later.digest.fields.get("previousDigestSignature") or "").lower() != signature:
                later.problems.append(
                    (BAD_SIGNATURE, f"previousDigestSignature is not the signature of {digest.path.name}")
                )
    previous = digest.previous_object
    if previous is None:
        return
    previous_key = _key(previous)
    before = None if previous_key is None else found.get((place.base, previous_key))
    if before is None:
        missing = str(Path(place.base, previous_key)) if previous_key else previous
        if missing not in results:
            results[missing] = Result(missing, "digest", MISSING, f"named as previous by {digest.path.name}")
        return
    stated_hash = str(digest.fields.get("previousDigestHashValue") or "").lower()
    if stated_hash != before.digest.sha256:
        item.problems.append((HASH_MISMATCH, f"previousDigestHashValue does not match {before.digest.path.name}"))


def _gaps(checked: list[_Found], found: Mapping[tuple[str, str], _Found]) -> list[Gap]:
    chains: dict[_Chain, list[_Found]] = defaultdict(list)
    for item in checked:
        if not item.chain.backfill:
            chains[item.chain].append(item)
    gaps: list[Gap] = []
    for chain, items in chains.items():
        items.sort(key=lambda i: (i.digest.start, i.digest.end))

        def gap(start: dt.datetime | None, end: dt.datetime, detail: str, c: _Chain = chain) -> None:
            gaps.append(Gap(c.account, c.region, c.trail, start, end, detail))

        for at, item in enumerate(items):
            digest = item.digest
            older = items[at - 1].digest if at else None
            previous = digest.previous_object
            previous_key = None if previous is None else _key(previous)
            present = previous_key is not None and (item.place.base, previous_key) in found
            if previous is not None and not present:
                gap(
                    None if older is None else older.end,
                    digest.start,
                    f"previous digest {previous} is missing",
                )
            elif older is None:
                continue
            elif digest.start - older.end > GAP_TOLERANCE:
                why = (
                    "the chain restarts (logging or validation was off)"
                    if previous is None
                    else "no digest covers this time"
                )
                gap(older.end, digest.start, why)
    return sorted(gaps, key=lambda g: (g.account, g.region, g.trail, g.end))


def _check_logs(
    checked: list[_Found],
    found: Mapping[tuple[str, str], _Found],
    log_paths: list[Path],
    gaps: list[Gap],
    results: dict[str, Result],
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> None:
    local = {str(p): p for p in log_paths}
    listed: set[str] = set()
    for item in found.values():
        for entry in item.digest.log_files:
            key = _key(str(entry.get("s3Object") or ""))
            if key is not None:
                listed.add(str(Path(item.place.base, key)))
    unlisted_hashes: dict[str, str] | None = None
    moved_to: set[str] = set()
    for item in checked:
        for entry in item.digest.log_files:
            s3_object = str(entry.get("s3Object") or "")
            key = _key(s3_object)
            path = str(Path(item.place.base, key)) if key is not None else s3_object
            if path in results:
                continue
            expected = str(entry.get("hashValue") or "").lower()
            listed_by = f"listed by {item.digest.path.name}"
            if path in local:
                sha, trailing, error = _hash(local[path])
                if sha is None:
                    results[path] = Result(path, "log", HASH_MISMATCH, f"{error}; {listed_by}")
                elif trailing:
                    results[path] = Result(
                        path, "log", TRAILING_DATA, f"bytes after the end of the gzip stream; {listed_by}"
                    )
                elif sha != expected:
                    results[path] = Result(
                        path, "log", HASH_MISMATCH, f"SHA-256 {sha}, digest says {expected}; {listed_by}"
                    )
                else:
                    results[path] = Result(path, "log", VALID, listed_by)
                continue
            if unlisted_hashes is None:
                unlisted_hashes = {}
                for other in log_paths:
                    if str(other) not in listed:
                        other_sha, other_trailing, _ = _hash(other)
                        if other_sha is not None and not other_trailing:
                            unlisted_hashes.setdefault(other_sha, str(other))
            elsewhere = unlisted_hashes.get(expected)
            if elsewhere is not None:
                moved_to.add(elsewhere)
                results[path] = Result(path, "log", MOVED, f"found at {elsewhere}; {listed_by}")
            else:
                results[path] = Result(path, "log", MISSING, listed_by)
    # Files no digest lists, where digests are expected: same account and region, within the time they cover.
    spans: dict[tuple[str, str, str], tuple[dt.datetime, dt.datetime]] = {}
    for item in found.values():
        span_key = (item.place.base, item.chain.account, item.place.region)
        start, end = item.digest.start, item.digest.end
        if span_key in spans:
            start, end = min(start, spans[span_key][0]), max(end, spans[span_key][1])
        spans[span_key] = (start, end)
    for path_text, log_path in local.items():
        if path_text in listed or path_text in moved_to or path_text in results:
            continue
        place = _place(log_path)
        if place is None or place.folder != "CloudTrail":
            continue
        span = spans.get((place.base, place.account, place.region))
        if span is None:
            continue
        when = _log_time(log_path)
        if when is not None:
            if not span[0] <= when <= span[1]:
                continue
            if (since is not None and when < since) or (until is not None and when > until):
                continue
        detail = "listed by no digest"
        inside = [
            g
            for g in gaps
            if g.account == place.account
            and g.region == place.region
            and when is not None
            and (g.start is None or g.start <= when)
            and when <= g.end
        ]
        if inside:
            detail += " (in a gap of the chain of digests)"
        results[path_text] = Result(path_text, "log", UNEXPECTED, detail)
