"""CloudTrail's public keys for validation: from a file, or from ``ListPublicKeys`` (kept).

Keys are per region: a digest is signed with a key of the region it was delivered from (the
region in its key path). Without ``--public-keys``, :class:`CachedKeys` asks CloudTrail's
``ListPublicKeys`` in each region for the time the digests need, and keeps what it gets in
``<workspace>/verify/public-keys/<region>.json``, in the form ``aws cloudtrail
list-public-keys`` prints, so an offline run (``--offline``, or one without network or
credentials) uses them; it asks again only when a digest names a key the cache lacks.

A key signs a digest only within its validity. The AWS CLI checks no validity itself: it
asks ``ListPublicKeys`` for the keys of ``[start, end + 2 h]`` of its run, so the key of a
digest ending at ``E`` is one valid some time in ``[E, E + 2 h]`` (the key that signed it may
be the next one: CloudTrail signs after the hour ends); a backfill digest's key, one valid
within an hour of its ``backfill-generation-timestamp``. :func:`key_window` is that time.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from trailsql.verify.digests import Digest, PublicKey, PublicKeys, iso, load_public_keys, parse_time
from trailsql.verify.store import write_whole

#: How long after a digest's end its key may start to be valid (the AWS CLI's ``end + 2 h``).
KEY_SLACK = dt.timedelta(hours=2)
#: How far from a backfill digest's generation time its key may be valid (the AWS CLI's ``± 1 h``).
BACKFILL_SLACK = dt.timedelta(hours=1)

_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")


def key_window(digest: Digest, backfill_generated: str | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The time in which the key that signed ``digest`` was valid (see the module's docstring)."""
    if backfill_generated:
        try:
            generated = parse_time(backfill_generated)
        except ValueError:
            pass
        else:
            return generated - BACKFILL_SLACK, generated + BACKFILL_SLACK
    return digest.end, digest.end + KEY_SLACK


@dataclass
class Need:
    """The keys one region's digests name, and the time they span."""

    start: dt.datetime
    end: dt.datetime
    fingerprints: set[str] = field(default_factory=set)

    def add(self, window: tuple[dt.datetime, dt.datetime], fingerprint: str) -> None:
        self.start, self.end = min(self.start, window[0]), max(self.end, window[1])
        self.fingerprints.add(fingerprint)


class KeySource(Protocol):
    """Where validation finds public keys."""

    #: What the source could not do (keys it could not find, fetches that failed).
    notes: list[str]

    def keys(self, needs: Mapping[str, Need]) -> PublicKeys:
        """The keys for the digests of each region (by region name)."""
        ...


class FixedKeys:
    """The keys of a file (``--public-keys``): nothing is fetched."""

    def __init__(self, keys: PublicKeys) -> None:
        self._keys = keys
        self.notes: list[str] = []

    def keys(self, needs: Mapping[str, Need]) -> PublicKeys:
        return self._keys


def key_entry(key: PublicKey) -> dict[str, str | None]:
    """A key as ``aws cloudtrail list-public-keys`` prints it."""

    def when(value: dt.datetime | None) -> str | None:
        return None if value is None else value.astimezone(dt.UTC).isoformat()

    return {
        "Value": base64.b64encode(key.der).decode(),
        "ValidityStartTime": when(key.valid_from),
        "ValidityEndTime": when(key.valid_until),
        "Fingerprint": key.fingerprint,
    }


def cloudtrail_client(profile: str | None) -> Callable[[str], Any]:
    """A maker of boto3 CloudTrail clients by region (the standard credential chain, ``profile``)."""

    def make(region: str) -> Any:
        import boto3

        return boto3.Session(profile_name=profile).client("cloudtrail", region_name=region)

    return make


def fetch_public_keys(client: Any, start: dt.datetime, end: dt.datetime) -> dict[str, PublicKey]:
    """``ListPublicKeys(StartTime, EndTime)``, every page, by fingerprint (the MD5 of each DER;
    boto3 gives ``Value`` as the DER bytes, not base64)."""
    keys: dict[str, PublicKey] = {}
    for page in client.get_paginator("list_public_keys").paginate(StartTime=start, EndTime=end):
        for entry in page.get("PublicKeyList", []):
            der = entry["Value"]
            if isinstance(der, str):  # (a client made to leave blobs alone, as the AWS CLI's)
                der = base64.b64decode(der)
            fingerprint = hashlib.md5(der, usedforsecurity=False).hexdigest()
            start_time, end_time = entry.get("ValidityStartTime"), entry.get("ValidityEndTime")
            keys[fingerprint] = PublicKey(der, fingerprint, _aware(start_time), _aware(end_time))
    return keys


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


class CachedKeys:
    """Keys from ``ListPublicKeys`` in each digest's region, kept in ``folder`` (None: not kept);
    ``offline``: only what ``folder`` holds."""

    def __init__(self, folder: Path | None, offline: bool = False, client: Callable[[str], Any] | None = None) -> None:
        self.folder = folder
        self.offline = offline
        self._client = client or cloudtrail_client(None)
        self.notes: list[str] = []

    def _path(self, region: str) -> Path | None:
        return None if self.folder is None else self.folder / f"{region}.json"

    def _cached(self, region: str) -> dict[str, PublicKey]:
        path = self._path(region)
        if path is None or not path.exists():
            return {}
        try:
            return load_public_keys(path)
        except ValueError as error:
            self.notes.append(f"the cached public keys are unreadable ({error}): they are fetched again")
            return {}

    def _keep(self, region: str, keys: Mapping[str, PublicKey]) -> None:
        path = self._path(region)
        if path is None:
            return
        document = {"PublicKeyList": [key_entry(keys[f]) for f in sorted(keys)]}
        write_whole(path, json.dumps(document, indent=2))

    def keys(self, needs: Mapping[str, Need]) -> PublicKeys:
        import botocore.exceptions

        found: dict[str, PublicKey] = {}
        for region, need in sorted(needs.items()):
            if not _REGION.fullmatch(region):
                self.notes.append(f"{region!r} is not a region: no public key is looked for there")
                continue
            keys = self._cached(region)
            why = "offline: only the public keys kept in the workspace are used"
            if not need.fingerprints <= keys.keys() and not self.offline:
                try:
                    fetched = fetch_public_keys(self._client(region), need.start, need.end)
                except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
                    why = f"ListPublicKeys failed in {region} ({error}): only the public keys kept are used"
                else:
                    keys = {**keys, **fetched}
                    self._keep(region, keys)
                    why = f"ListPublicKeys in {region} has no such key from {iso(need.start)} to {iso(need.end)}"
            missing = sorted(need.fingerprints - keys.keys())
            if missing:
                self.notes.append(f"public keys missing in {region}: {', '.join(missing)} ({why})")
            found.update(keys)
        return found
