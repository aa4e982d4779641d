"""Validating a copy of CloudTrail logs (a local folder or an S3 prefix: a
:class:`~trailsql.verify.store.Store`) against its digest files.

Every digest below the root (``AWSLogs/[o-<org>/]<account>/CloudTrail-Digest/<region>/
<yyyy>/<mm>/<dd>/*.json.gz``, standard and ``_backfill`` names) is read; each trail's chain
(account, region, trail, home region) is followed backwards through
``previousDigestS3Object``. For each digest checked:

- its signature, with the public key its ``digestPublicKeyFingerprint`` names, if that key
  was valid when the digest was signed (:func:`~trailsql.verify.keys.key_window`). The
  signature is S3 object metadata: read from S3 (a digest without it is not signed), else from
  a sidecar ``<digest>.signature`` (hex) kept beside it, else the ``previousDigestSignature``
  the next digest states (that statement is itself covered by the next digest's signature).
  The newest digest of a local chain has neither unless the sidecar was kept: ``signature
  not available offline`` (not counted invalid: AWS's own offline procedure starts from the
  next-to-newest);
- ``previousDigestHashValue`` (and ``previousDigestSignature``, where the previous digest's
  own signature is known from S3 or a sidecar) against the previous digest, which the AWS CLI
  does not check;
- that it is where ``digestS3Object`` says (in S3 its whole key; in a local copy from
  ``AWSLogs/`` on: a copy's bucket and prefix are its own), else ``moved``.

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
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trailsql.verify.digests import (
    Digest,
    DigestFormatError,
    PublicKeys,
    inflate,
    iso,
    parse_digest,
    signing_string,
    verify_signature,
)
from trailsql.verify.keys import KeySource, Need, key_window
from trailsql.verify.store import Signature, Store, StoredFile, awslogs_key, join

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
#: A source file ``ingest --verify`` could not vouch for: no digest checked lists it (it came
#: after the newest digest, or where there are none), or the digest that does is not valid.
NOT_VALIDATED = "not validated"

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


def tally(statuses: Iterable[str]) -> str:
    """How many of each status there are.

    >>> tally(["valid", "hash mismatch", "valid"])
    '1 hash mismatch, 2 valid'
    """
    counts = Counter(statuses)
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


@dataclass(frozen=True)
class Result:
    """One file's status: ``kind`` is ``digest`` or ``log``; a log file's ``digest`` is the
    location of the digest that lists it (its hash is only as good as that digest)."""

    path: str
    kind: str
    status: str
    detail: str = ""
    digest: str = ""

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
            "start": None if self.start is None else iso(self.start),
            "end": iso(self.end),
            "detail": self.detail,
        }


@dataclass
class Report:
    """What :func:`validate` found: a result per file, the gaps of the chains, and notes (keys
    that could not be found, copies an offline run lacks)."""

    results: list[Result] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The digests whose signature was verified (only their log files are evidence).
    signed: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        """Whether everything checked is valid: no invalid file and no gap."""
        return not self.gaps and all(r.status in OK for r in self.results)

    def statuses(self, locations: Iterable[str]) -> dict[str, tuple[str, str]]:
        """The status and detail of each log file of ``locations`` (``ingest --verify``): its
        result, or :data:`NOT_VALIDATED` where none is, or where it matches a digest whose
        signature was not verified."""
        results = {r.path: r for r in self.results}
        found: dict[str, tuple[str, str]] = {}
        for location in locations:
            result = results.get(location)
            if result is None:
                found[location] = (NOT_VALIDATED, "no digest checked lists it")
            elif result.status == VALID and result.digest not in self.signed:
                listing = results.get(result.digest)
                why = "" if listing is None else f" ({listing.status})"
                found[location] = (NOT_VALIDATED, f"{result.detail}, whose signature is not verified{why}")
            else:
                found[location] = (result.status, result.detail)
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "files": [r.to_json() for r in self.results],
            "gaps": [g.to_json() for g in self.gaps],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class _Place:
    """Where a file is in a copy: its file, and from its key the organisation, account,
    folder (``CloudTrail``, ``CloudTrail-Digest``, ...) and region."""

    file: StoredFile
    org: str | None
    account: str
    folder: str
    region: str

    @property
    def base(self) -> str:
        return self.file.base

    @property
    def key(self) -> str:
        return self.file.key


def _place(file: StoredFile) -> _Place | None:
    below = file.key.split("/")[1:]
    org = None
    if below and _ORG.match(below[0]):
        org = below.pop(0)
    if len(below) < 4:
        return None
    return _Place(file, org, below[0], below[1], below[2])


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
    signed: bool = False


def _chain(digest: Digest, place: _Place) -> _Chain:
    match = _DIGEST_NAME.match(place.file.name) or _DIGEST_NAME.match(digest.s3_object.rsplit("/", 1)[-1])
    if match is None:
        return _Chain(place.base, place.account, place.region, "?", "?", place.file.name.endswith("_backfill.json.gz"))
    return _Chain(
        place.base, match["account"], match["region"], match["trail"], match["home"], match["backfill"] is not None
    )


def _log_time(file: StoredFile) -> dt.datetime | None:
    match = _LOG_TIME.search(file.name)
    if match is None:
        return None
    return dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M").replace(tzinfo=dt.UTC)


def _hash(store: Store, file: StoredFile) -> tuple[str | None, bool, str]:
    """SHA-256 of a log file's uncompressed bytes, whether bytes follow its gzip stream, and why it could not be read."""
    try:
        raw = store.read(file)
    except OSError as error:
        return None, False, f"cannot be read: {error.strerror or error}"
    if not file.name.endswith(".gz"):
        return hashlib.sha256(raw).hexdigest(), False, ""
    try:
        inflated = inflate(raw)
    except DigestFormatError as error:
        return None, False, str(error)
    return hashlib.sha256(inflated.data).hexdigest(), inflated.trailing, ""


def validate(
    store: Store,
    keys: KeySource,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Report:
    """Validate the copy of CloudTrail logs in ``store`` (see the module's docstring).

    ``since``/``until`` limit the digests checked to those whose time overlaps them (and the
    log files checked to those these digests list); every digest found still serves to
    follow the chain and to know which files are listed."""
    digest_places: list[_Place] = []
    log_files: list[StoredFile] = []
    for file in store.files():
        place = _place(file)
        if place is not None and place.folder == "CloudTrail-Digest" and file.name.endswith(".json.gz"):
            digest_places.append(place)
        elif place is not None and place.folder == "CloudTrail":
            log_files.append(file)
    report = Report()
    results: dict[str, Result] = {}
    found: dict[tuple[str, str], _Found] = {}
    for place in digest_places:
        try:
            digest = parse_digest(store.read(place.file), place.file.location)
        except (DigestFormatError, OSError) as error:
            results[place.file.location] = Result(place.file.location, "digest", INVALID_FORMAT, str(error))
            continue
        found[(place.base, place.key)] = _Found(digest, place, _chain(digest, place))

    def selected(d: Digest) -> bool:
        return (since is None or d.end >= since) and (until is None or d.start <= until)

    # Who names whom as previous: the signature of a digest is stated by its successors.
    successors: dict[tuple[str, str], list[_Found]] = defaultdict(list)
    for item in found.values():
        previous = item.digest.previous_object
        previous_key = None if previous is None else awslogs_key(previous)
        if previous_key is not None:
            successors[(item.place.base, previous_key)].append(item)

    checked = [item for item in found.values() if selected(item.digest)]
    signatures = {item.digest.location: store.signature(item.place.file) for item in checked}
    needs: dict[str, Need] = {}
    for item in checked:
        window = key_window(item.digest, signatures[item.digest.location].backfill_generated)
        fingerprint = str(item.digest.fields["digestPublicKeyFingerprint"]).lower()
        needs.setdefault(item.place.region, Need(*window)).add(window, fingerprint)
    public_keys = keys.keys(needs)
    for item in checked:
        _check_digest(store, item, signatures[item.digest.location], found, successors, public_keys, results)
    for item in checked:
        status, detail = _summary(item.problems)
        results[item.digest.location] = Result(item.digest.location, "digest", status, detail)

    report.gaps = _gaps(checked, found)
    _check_logs(store, checked, found, log_files, report.gaps, results, since, until)
    report.results = sorted(results.values(), key=lambda r: (r.kind != "digest", r.path))
    report.notes = [*store.notes, *keys.notes]
    report.signed = {item.digest.location for item in checked if item.signed}
    return report


def _summary(problems: list[tuple[str, str]]) -> tuple[str, str]:
    if not problems:
        return VALID, ""
    ordered = sorted(problems, key=lambda p: _ORDER.index(p[0]) if p[0] in _ORDER else len(_ORDER))
    return ordered[0][0], "; ".join(detail for _, detail in ordered)


def _check_digest(
    store: Store,
    item: _Found,
    signed: Signature,
    found: Mapping[tuple[str, str], _Found],
    successors: Mapping[tuple[str, str], list[_Found]],
    public_keys: PublicKeys,
    results: dict[str, Result],
) -> None:
    digest, place = item.digest, item.place
    if digest.trailing:
        item.problems.append((TRAILING_DATA, "bytes after the end of the gzip stream"))
    if not store.stated_here(place.file, digest.s3_object):
        item.problems.append((MOVED, f"digestS3Object is {digest.s3_object}"))
    if signed.final and item.chain.backfill and signed.backfill_generated is None:
        item.problems.append((INVALID_FORMAT, "no backfill-generation-timestamp in the object metadata"))
    # The signature: S3 metadata (or its sidecar), else what later digests state.
    stated = successors.get((place.base, place.key), [])
    signature = signed.hex
    candidates: list[str] = []
    if signature is not None:
        candidates = [signature]
    elif not signed.final:
        candidates = sorted({str(s.digest.fields.get("previousDigestSignature") or "").lower() for s in stated} - {""})
    fingerprint = str(digest.fields["digestPublicKeyFingerprint"]).lower()
    key = public_keys.get(fingerprint)
    window = key_window(digest, signed.backfill_generated)
    if signature is None and signed.final:
        item.problems.append((BAD_SIGNATURE, "no signature in the object metadata"))
    elif key is None:
        item.problems.append((NO_PUBLIC_KEY, f"no public key with fingerprint {fingerprint}"))
    elif not key.valid_during(*window):
        at = signed.backfill_generated or str(digest.fields["digestEndTime"])
        item.problems.append((NO_PUBLIC_KEY, f"key {fingerprint} not valid at {at} (valid {key.validity()})"))
    elif not candidates:
        item.problems.append(
            (
                NOT_OFFLINE,
                f"no later digest states its signature and there is no {place.file.name}.signature (S3 metadata)",
            )
        )
    else:
        message = signing_string(digest)
        good = next((c for c in candidates if verify_signature(key, message, c)), None)
        if good is None:
            item.problems.append((BAD_SIGNATURE, "signature verification failed"))
        item.signed = good is not None
        signature = good or signature
    if signature is not None:
        for later in stated:  # a later digest's statement of this one's signature must be it
            if str(later.digest.fields.get("previousDigestSignature") or "").lower() != signature:
                later.problems.append((BAD_SIGNATURE, f"previousDigestSignature is not the signature of {digest.name}"))
    previous = digest.previous_object
    if previous is None:
        return
    previous_key = awslogs_key(previous)
    before = None if previous_key is None else found.get((place.base, previous_key))
    if before is None:
        missing = join(place.base, previous_key) if previous_key else previous
        if missing not in results:
            results[missing] = Result(missing, "digest", MISSING, f"named as previous by {digest.name}")
        return
    stated_hash = str(digest.fields.get("previousDigestHashValue") or "").lower()
    if stated_hash != before.digest.sha256:
        item.problems.append((HASH_MISMATCH, f"previousDigestHashValue does not match {before.digest.name}"))


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
            previous_key = None if previous is None else awslogs_key(previous)
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
    store: Store,
    checked: list[_Found],
    found: Mapping[tuple[str, str], _Found],
    log_files: list[StoredFile],
    gaps: list[Gap],
    results: dict[str, Result],
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> None:
    here = {f.location: f for f in log_files}
    listed: set[str] = set()
    for item in found.values():
        for entry in item.digest.log_files:
            key = awslogs_key(str(entry.get("s3Object") or ""))
            if key is not None:
                listed.add(join(item.place.base, key))
    unlisted_hashes: dict[str, str] | None = None
    moved_to: set[str] = set()
    for item in checked:
        for entry in item.digest.log_files:
            s3_object = str(entry.get("s3Object") or "")
            key = awslogs_key(s3_object)
            location = join(item.place.base, key) if key is not None else s3_object
            if location in results:
                continue
            expected = str(entry.get("hashValue") or "").lower()
            listed_by, by = f"listed by {item.digest.name}", item.digest.location
            if location in here:
                sha, trailing, error = _hash(store, here[location])
                if sha is None:
                    results[location] = Result(location, "log", HASH_MISMATCH, f"{error}; {listed_by}", by)
                elif trailing:
                    results[location] = Result(
                        location, "log", TRAILING_DATA, f"bytes after the end of the gzip stream; {listed_by}", by
                    )
                elif sha != expected:
                    results[location] = Result(
                        location, "log", HASH_MISMATCH, f"SHA-256 {sha}, digest says {expected}; {listed_by}", by
                    )
                else:
                    results[location] = Result(location, "log", VALID, listed_by, by)
                continue
            if unlisted_hashes is None:
                unlisted_hashes = {}
                for other in log_files:
                    if other.location not in listed:
                        other_sha, other_trailing, _ = _hash(store, other)
                        if other_sha is not None and not other_trailing:
                            unlisted_hashes.setdefault(other_sha, other.location)
            elsewhere = unlisted_hashes.get(expected)
            if elsewhere is not None:
                moved_to.add(elsewhere)
                results[location] = Result(location, "log", MOVED, f"found at {elsewhere}; {listed_by}", by)
            else:
                results[location] = Result(location, "log", MISSING, listed_by, by)
    # Files no digest lists, where digests are expected: same account and region, within the time they cover.
    spans: dict[tuple[str, str, str], tuple[dt.datetime, dt.datetime]] = {}
    for item in found.values():
        span_key = (item.place.base, item.chain.account, item.place.region)
        start, end = item.digest.start, item.digest.end
        if span_key in spans:
            start, end = min(start, spans[span_key][0]), max(end, spans[span_key][1])
        spans[span_key] = (start, end)
    for location, log_file in here.items():
        if location in listed or location in moved_to or location in results:
            continue
        place = _place(log_file)
        if place is None:
            continue
        span = spans.get((place.base, place.account, place.region))
        if span is None:
            continue
        when = _log_time(log_file)
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
        results[location] = Result(location, "log", UNEXPECTED, detail)
