"""AWS's published IP ranges (``ip-ranges.json``) and the longest-prefix match over them.

The file (https://ip-ranges.amazonaws.com/ip-ranges.json) lists ``prefixes`` (``ip_prefix``,
``region``, ``service``, ``network_border_group``) and ``ipv6_prefixes`` (``ipv6_prefix``...),
with the ``syncToken`` and ``createDate`` of its publication. A network is often listed
several times: under ``AMAZON`` (which lists every AWS address) and under the service that
uses it (``EC2``, ``S3``...), and a small service range (``EC2_INSTANCE_CONNECT``'s /29) sits
inside a larger one (``EC2``'s /14).

Which listing an address reports (the rule of ``aws_service``, ``aws_region`` and ``network``):

1. a service other than ``AMAZON`` wins over ``AMAZON``, whatever the prefix lengths: ``AMAZON``
   says only "AWS", which the kind already says;
2. among those, the longest prefix (the most specific network) wins;
3. for one network listed under several services, the service listing the fewest prefixes
   in the whole file wins (the narrower service: ``ROUTE53_HEALTHCHECKS`` over ``EC2``), then
   the service's name, so the answer never depends on the file's order.

Lookup is a longest-prefix match by one dictionary probe per prefix length present in the
file (about twenty), not a scan of the ~10,000 prefixes.
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trailsql.enrich.info import Address
from trailsql.errors import BadInputError

#: The service that lists every AWS address: reported only when no other service lists it.
AMAZON = "AMAZON"


@dataclass(frozen=True)
class Listing:
    """One listing of a network: its prefix, region and service."""

    network: str
    region: str
    service: str


@dataclass
class _Family:
    """The listings of one address family: per prefix length (longest first), per network's
    first address, the listings of that network best first (rule 3)."""

    by_length: dict[int, dict[int, list[Listing]]] = field(default_factory=dict)
    lengths: list[int] = field(default_factory=list)

    def add(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network, listing: Listing) -> None:
        self.by_length.setdefault(network.prefixlen, {}).setdefault(int(network.network_address), []).append(listing)

    def finish(self, counts: Counter[str]) -> None:
        self.lengths = sorted(self.by_length, reverse=True)
        for networks in self.by_length.values():
            for listings in networks.values():
                listings.sort(key=lambda li: (li.service == AMAZON, counts[li.service], li.service, li.region))

    def match(self, address: int, bits: int) -> Listing | None:
        """The listing reported for ``address`` (rules 1 and 2; each list is sorted by rule 3)."""
        amazon: Listing | None = None
        for length in self.lengths:
            listings = self.by_length[length].get(address >> (bits - length) << (bits - length))
            if listings:
                if listings[0].service != AMAZON:
                    return listings[0]
                amazon = amazon or listings[0]
        return amazon


@dataclass
class AwsRanges:
    """The ranges of one ``ip-ranges.json``: :meth:`match` finds an address's listing."""

    path: str
    sync_token: str | None
    create_date: str | None
    ipv4_count: int
    ipv6_count: int
    _v4: _Family
    _v6: _Family

    @classmethod
    def load(cls, path: str | Path) -> AwsRanges:
        """Read ``path``; a file not in AWS's format fails naming what is wrong."""
        try:
            document = json.loads(Path(path).read_bytes())
        except (OSError, ValueError) as error:
            raise BadInputError(f"AWS IP ranges {path}: {error}") from None
        return cls.parse(document, str(path))

    @classmethod
    def parse(cls, document: Any, path: str = "<ranges>") -> AwsRanges:
        """The ranges of a parsed ``ip-ranges.json`` document."""
        if not isinstance(document, dict) or not isinstance(document.get("prefixes"), list):
            raise BadInputError(f"AWS IP ranges {path}: not an ip-ranges.json document (no 'prefixes' list)")
        rows: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Listing]] = []
        for key, name in (("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")):
            for item in document.get(key) or []:
                try:
                    network = ipaddress.ip_network(item[name])
                    rows.append((network, Listing(str(network), str(item["region"]), str(item["service"]))))
                except (KeyError, TypeError, ValueError) as error:
                    raise BadInputError(f"AWS IP ranges {path}: bad entry in {key}: {item!r} ({error})") from None
        counts = Counter(listing.service for _, listing in rows)
        v4, v6 = _Family(), _Family()
        for network, listing in rows:
            (v4 if network.version == 4 else v6).add(network, listing)
        v4.finish(counts)
        v6.finish(counts)
        token = document.get("syncToken")
        return cls(
            path=path,
            sync_token=None if token is None else str(token),
            create_date=document.get("createDate"),
            ipv4_count=sum(1 for network, _ in rows if network.version == 4),
            ipv6_count=sum(1 for network, _ in rows if network.version == 6),
            _v4=v4,
            _v6=v6,
        )

    def match(self, address: Address) -> Listing | None:
        """The listing reported for ``address`` (see the module's rule), None outside AWS."""
        if address.version == 4:
            return self._v4.match(int(address), 32)
        return self._v6.match(int(address), 128)
