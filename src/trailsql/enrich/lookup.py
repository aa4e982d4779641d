"""``classify``: an address's :class:`~trailsql.enrich.info.IpInfo` from the loaded data, one
value or an Arrow array at a time (the form the engines' ``ip_info`` functions call).

The data of a set of :class:`~trailsql.enrich.sources.EnrichSources` is loaded once per
process and kept while its files are unchanged (their size and modification time): an
engine's function asks for it per batch of rows, and `trailsql enrich update` replacing the
ranges file is seen by the next batch. With no data at all, the kinds ``aws service``,
``aws internal``, ``private``, ``public`` and ``invalid`` still come from the value itself;
``aws`` needs the ranges, and the range and geography fields are NULL.
"""

from __future__ import annotations

import functools
import os
import threading

import pyarrow as pa
import pyarrow.compute as pc

from trailsql.enrich.geo import GeoDatabases
from trailsql.enrich.info import AWS, FIELDS, PUBLIC, IpInfo, basic_kind
from trailsql.enrich.ranges import AwsRanges
from trailsql.enrich.sources import EnrichSources
from trailsql.errors import BadInputError

#: The struct ``ip_info`` returns, as Arrow writes it.
ARROW_TYPE = pa.struct([(name, pa.int64() if sql == "BIGINT" else pa.string()) for name, sql in FIELDS])

#: Distinct addresses remembered per loaded data set (CloudTrail repeats a few addresses a lot).
_CACHED_ADDRESSES = 1 << 16


class Enricher:
    """Classifies addresses with the AWS ranges and ``.mmdb`` databases given (either may be None)."""

    def __init__(self, ranges: AwsRanges | None = None, geo: GeoDatabases | None = None) -> None:
        self.ranges = ranges
        self.geo = geo
        self.classify = functools.lru_cache(maxsize=_CACHED_ADDRESSES)(self._classify)

    def _classify(self, value: str) -> IpInfo:
        kind, address = basic_kind(value)
        if address is None or kind != PUBLIC:
            return IpInfo(kind)
        listing = self.ranges.match(address) if self.ranges is not None else None
        geo = self.geo.lookup(address) if self.geo is not None else None
        return IpInfo(
            kind=AWS if listing is not None else PUBLIC,
            aws_region=listing.region if listing else None,
            aws_service=listing.service if listing else None,
            network=listing.network if listing else None,
            country=geo.country if geo else None,
            asn=geo.asn if geo else None,
            as_org=geo.as_org if geo else None,
        )

    def arrow(self, addresses: pa.Array | pa.ChunkedArray) -> pa.Array:
        """``ip_info`` over an Arrow array of strings: each distinct value classified once,
        NULL for NULL."""
        if isinstance(addresses, pa.ChunkedArray):
            addresses = addresses.combine_chunks()
        distinct = pc.unique(addresses)
        infos = pa.array([self.row(v) for v in distinct.to_pylist()], ARROW_TYPE)
        return infos.take(pc.index_in(addresses, value_set=distinct))

    def row(self, value: str | None) -> tuple[str | int | None, ...] | None:
        """``ip_info`` of one value as a tuple of the struct's fields (None for NULL)."""
        return None if value is None else self.classify(value).values()


_NO_DATA = Enricher()
_lock = threading.Lock()
_loaded: dict[EnrichSources, tuple[tuple[tuple[int, int] | None, ...], Enricher]] = {}


def _signature(path: str | None) -> tuple[int, int] | None:
    try:
        stat = os.stat(path) if path is not None else None
    except FileNotFoundError:
        return None
    return None if stat is None else (stat.st_size, stat.st_mtime_ns)


def enricher_for(sources: EnrichSources | None) -> Enricher:
    """The data of ``sources`` loaded (once while its files are unchanged); a configured file
    that is missing or not in its format fails naming it."""
    if sources is None or (sources.ip_ranges is None and not sources.mmdb):
        return _NO_DATA
    signature = tuple(_signature(p) for p in (sources.ip_ranges, *sources.mmdb))
    with _lock:
        known = _loaded.get(sources)
        if known is not None and known[0] == signature:
            return known[1]
        for path, found in zip((sources.ip_ranges, *sources.mmdb), signature, strict=True):
            if found is None and (path != sources.ip_ranges or sources.ranges_required):
                raise BadInputError(f"enrichment data {path} (in [enrich] of trailsql.toml) does not exist")
        ranges = AwsRanges.load(sources.ip_ranges) if sources.ip_ranges and signature[0] else None
        enricher = Enricher(ranges, GeoDatabases(sources.mmdb) if sources.mmdb else None)
        _loaded[sources] = (signature, enricher)
        return enricher


def classify(address: str, sources: EnrichSources | None = None) -> IpInfo:
    """What ``address`` (a ``sourceIPAddress`` value) is, with the data of ``sources``.

    >>> classify("ec2.amazonaws.com").kind, classify("192.168.10.20").kind, classify("8.8.8.8")
    ('aws service', 'private', IpInfo(kind='public', aws_region=None, aws_service=None, network=None, country=None, asn=None, as_org=None))
    """
    return enricher_for(sources).classify(address)
