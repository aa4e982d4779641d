"""Country, ASN and organisation of an address from MaxMind DB (``.mmdb``) files.

Read with MaxMind's own reader (``maxminddb``). A City or Country database and an ASN
database are often separate files: every configured file is asked, and each field takes the
first answer in the order the files are configured. The layouts understood:

- MaxMind GeoLite2/GeoIP2 Country and City: ``country.iso_code`` (else
  ``registered_country.iso_code``, for an address with no located country);
- MaxMind GeoLite2/GeoIP2 ASN: ``autonomous_system_number``, ``autonomous_system_organization``;
- IPinfo Lite (and IPinfo's country/ASN files): ``country_code`` (or a two-letter
  ``country``: Lite's ``country`` is the name), ``asn`` (``"AS15169"`` or a number) and ``as_name``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb

from trailsql.enrich.info import Address
from trailsql.errors import BadInputError


@dataclass(frozen=True)
class Geo:
    """What the databases say of one address (None: no database knows)."""

    country: str | None = None
    asn: int | None = None
    as_org: str | None = None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _asn(value: object) -> int | None:
    """``15169``, ``"AS15169"`` or ``"15169"`` as a number; anything else None.

    >>> _asn("AS15169"), _asn(16509), _asn("x"), _asn(True)
    (15169, 16509, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        digits = value[2:] if value[:2].upper() == "AS" else value
        return int(digits) if digits.isdigit() else None
    return None


def from_record(record: Mapping[str, Any]) -> Geo:
    """The fields of one database record, whichever of the layouts it is in.

    >>> from_record({"country": {"iso_code": "DE"}, "continent": {"code": "EU"}})
    Geo(country='DE', asn=None, as_org=None)
    >>> from_record({"autonomous_system_number": 16509, "autonomous_system_organization": "AMAZON-02"})
    Geo(country=None, asn=16509, as_org='AMAZON-02')
    >>> from_record({"country_code": "US", "asn": "AS13335", "as_name": "Cloudflare, Inc."})
    Geo(country='US', asn=13335, as_org='Cloudflare, Inc.')
    """
    country: str | None = None
    for key in ("country", "registered_country"):
        place = record.get(key)
        if isinstance(place, Mapping):
            country = country or _text(place.get("iso_code"))
    # IPinfo: country_code; its older files' country is the code, Lite's the name (not kept)
    named = _text(record.get("country"))
    country = country or _text(record.get("country_code")) or (named if named and len(named) == 2 else None)
    asn = _asn(record.get("autonomous_system_number"))
    asn = asn if asn is not None else _asn(record.get("asn"))
    as_org = _text(record.get("autonomous_system_organization")) or _text(record.get("as_name"))
    return Geo(country.upper() if country else None, asn, as_org)


class GeoDatabases:
    """The configured ``.mmdb`` files, open for lookups (the reader maps each file once)."""

    def __init__(self, paths: Sequence[str | Path]) -> None:
        self.paths = [str(p) for p in paths]
        self.readers: list[maxminddb.Reader] = []
        for path in self.paths:
            try:
                self.readers.append(maxminddb.open_database(path))
            except (OSError, ValueError, maxminddb.InvalidDatabaseError) as error:
                self.close()
                raise BadInputError(f"MaxMind DB {path}: {error}") from None

    def lookup(self, address: Address) -> Geo:
        """Each field from the first database that has it."""
        country: str | None = None
        asn: int | None = None
        as_org: str | None = None
        for reader in self.readers:
            try:
                record = reader.get(address)
            except ValueError:  # an IPv6 address asked of an IPv4-only database
                continue
            if not isinstance(record, Mapping):
                continue
            found = from_record(record)
            country = country or found.country
            asn = asn if asn is not None else found.asn
            as_org = as_org or found.as_org
        return Geo(country, asn, as_org)

    def describe(self) -> list[dict[str, Any]]:
        """Per file: its path and its metadata (type, build time, IP version, description)."""
        described = []
        for path, reader in zip(self.paths, self.readers, strict=True):
            meta = reader.metadata()
            built = dt.datetime.fromtimestamp(meta.build_epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            described.append(
                {
                    "path": path,
                    "database_type": meta.database_type,
                    "build_time": built,
                    "ip_version": meta.ip_version,
                    "node_count": meta.node_count,
                    "description": dict(meta.description),
                }
            )
        return described

    def close(self) -> None:
        for reader in self.readers:
            reader.close()
        self.readers = []
