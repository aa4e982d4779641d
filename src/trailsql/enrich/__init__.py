"""Offline enrichment of CloudTrail source addresses: what an address is (an AWS service, an
AWS range with its region and service, a private range, the public Internet), and where it is
(country, ASN, organisation) from MaxMind/IPinfo ``.mmdb`` files.

:func:`classify` is the Python API; the engines call the same code as the SQL function
``ip_info(address)`` (a struct of :data:`~trailsql.enrich.info.FIELDS`). The data comes from
the workspace's ``[enrich]`` settings (:mod:`.sources`); `trailsql enrich update` downloads
AWS's ranges (:mod:`.update`).
"""

from __future__ import annotations

from sqlglot import exp

from trailsql.enrich.info import FIELDS, IpInfo
from trailsql.enrich.lookup import Enricher, classify, enricher_for
from trailsql.enrich.sources import EnrichSources

__all__ = ["FIELDS", "FUNCTION", "EnrichSources", "Enricher", "IpInfo", "classify", "enricher_for", "used_in"]

#: The name of the SQL function, as the engines register it.
FUNCTION = "ip_info"


def used_in(tree: exp.Expr) -> bool:
    """Whether a query calls ``ip_info`` (its data is then loaded before it runs, so that a
    missing or bad file fails the query with its name rather than inside the engine).

    >>> from sqlglot import parse_one
    >>> used_in(parse_one("SELECT ip_info(a).country FROM t")), used_in(parse_one("SELECT a FROM t"))
    (True, False)
    """
    return any(call.name.lower() == FUNCTION for call in tree.find_all(exp.Anonymous))
