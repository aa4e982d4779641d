"""What an address is, from the address alone: the ``kind`` of a CloudTrail ``sourceIPAddress``.

CloudTrail's ``sourceIPAddress`` holds an IPv4 or IPv6 address, the DNS name of the AWS
service that made the call on the caller's behalf (``ec2.amazonaws.com``), or the literal
``AWS Internal``. The kinds:

``aws service``   an AWS service's name (``*.amazonaws.com``, ``*.amazonaws.com.cn``)
``aws internal``  ``AWS Internal``
``aws``           an address inside a range of AWS's ``ip-ranges.json`` (when one is loaded)
``private``       an address that is not globally reachable (RFC 1918, loopback, link-local,
                  CGNAT ``100.64.0.0/10``, ULA ``fc00::/7``, documentation, multicast, reserved:
                  Python's ``ipaddress`` after IANA's special-purpose registries)
``public``        any other address
``invalid``       anything else (a value no CloudTrail writer produces, or a mangled one)

The ranges and the geography come from :mod:`trailsql.enrich.lookup`; this module needs no data.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

AWS_SERVICE = "aws service"
AWS_INTERNAL = "aws internal"
AWS = "aws"
PRIVATE = "private"
PUBLIC = "public"
INVALID = "invalid"

#: An AWS service's DNS name as CloudTrail writes it for calls a service made for the caller.
_SERVICE_NAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+amazonaws\.com(?:\.cn)?", re.IGNORECASE)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class IpInfo:
    """What is known of one ``sourceIPAddress``; a field not known is None (SQL NULL).

    ``aws_region``, ``aws_service`` and ``network`` come from AWS's ranges (the matched
    prefix, see :class:`trailsql.enrich.ranges.AwsRanges` for which one is reported);
    ``country`` (ISO 3166 alpha-2), ``asn`` and ``as_org`` from the ``.mmdb`` databases.
    """

    kind: str
    aws_region: str | None = None
    aws_service: str | None = None
    network: str | None = None
    country: str | None = None
    asn: int | None = None
    as_org: str | None = None

    def values(self) -> tuple[str | int | None, ...]:
        """The fields in order (``dataclasses.astuple`` deep-copies: ten times slower per row)."""
        return (self.kind, self.aws_region, self.aws_service, self.network, self.country, self.asn, self.as_org)


#: The fields of :class:`IpInfo` in order, with their SQL types (the struct ``ip_info`` returns).
FIELDS: tuple[tuple[str, str], ...] = (
    ("kind", "VARCHAR"),
    ("aws_region", "VARCHAR"),
    ("aws_service", "VARCHAR"),
    ("network", "VARCHAR"),
    ("country", "VARCHAR"),
    ("asn", "BIGINT"),
    ("as_org", "VARCHAR"),
)


def parse_address(text: str) -> Address | None:
    """The address ``text`` writes, or None when it is not one; an IPv4-mapped IPv6 address
    (``::ffff:192.0.2.1``) is its IPv4 address, as it is the same host.

    >>> parse_address("::ffff:52.95.110.1"), parse_address("2600:1f18::1"), parse_address("nope")
    (IPv4Address('52.95.110.1'), IPv6Address('2600:1f18::1'), None)
    """
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_private(address: Address) -> bool:
    """Whether an address is not one of the public Internet's (see the module's kinds).

    >>> [is_private(parse_address(a)) for a in ("10.1.2.3", "100.64.0.1", "fd00::1", "8.8.8.8")]
    [True, True, True, False]
    """
    return not address.is_global or address.is_multicast or address.is_reserved or address.is_unspecified


def basic_kind(value: str) -> tuple[str, Address | None]:
    """The kind of ``value`` without any range data, and its address if it is one (whose kind
    is then ``public`` until a range says ``aws``).

    >>> basic_kind("AWS Internal"), basic_kind("ec2.amazonaws.com"), basic_kind("10.0.0.1")[0]
    (('aws internal', None), ('aws service', None), 'private')
    """
    address = parse_address(value)
    if address is not None:
        return (PRIVATE if is_private(address) else PUBLIC), address
    if value == "AWS Internal":
        return AWS_INTERNAL, None
    if _SERVICE_NAME.fullmatch(value):
        return AWS_SERVICE, None
    return INVALID, None
