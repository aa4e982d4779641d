"""Where a workspace's enrichment data is: ``[enrich]`` in ``trailsql.toml``.

::

    [enrich]
    ip_ranges = "ranges/ip-ranges.json"    # AWS's ip-ranges.json (default: <ws>/enrich/ip-ranges.json)
    mmdb = ["GeoLite2-City.mmdb", "GeoLite2-ASN.mmdb"]   # MaxMind/IPinfo databases, asked in order
    ip_ranges_url = "https://..."          # where `trailsql enrich update` downloads from

Relative paths are the workspace's. A configured file that is missing is an error when a
query first uses ``ip_info``; the default ranges file may be absent (then the range fields
are NULL), as may the whole table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trailsql.errors import UsageError

#: AWS's published ranges, as `trailsql enrich update` downloads them.
RANGES_URL = "https://ip-ranges.amazonaws.com/ip-ranges.json"
#: The ranges file of a workspace that names none, below the workspace folder.
DEFAULT_RANGES = Path("enrich") / "ip-ranges.json"


@dataclass(frozen=True)
class EnrichSources:
    """The files ``ip_info`` reads: ``ip_ranges`` (None: none) and ``mmdb`` (in order).
    ``ranges_required``: the ranges file was configured, so its absence is an error."""

    ip_ranges: str | None = None
    mmdb: tuple[str, ...] = ()
    ranges_required: bool = False
    url: str = RANGES_URL


def from_config(config: Mapping[str, Any], folder: Path | None) -> EnrichSources:
    """The sources ``[enrich]`` names (``config`` is the whole settings table), relative paths
    taken from ``folder`` (the workspace; the current folder without one).

    >>> from_config({"enrich": {"ip_ranges": "r.json", "mmdb": "a.mmdb"}}, Path("/ws"))
    EnrichSources(ip_ranges='/ws/r.json', mmdb=('/ws/a.mmdb',), ranges_required=True, url='https://ip-ranges.amazonaws.com/ip-ranges.json')
    >>> from_config({}, None).ip_ranges is None
    True
    """
    table = config.get("enrich", {})
    if not isinstance(table, Mapping):
        raise UsageError("[enrich] in trailsql.toml must be a table")
    base = folder or Path.cwd()
    given = table.get("ip_ranges")
    mmdb = table.get("mmdb", [])
    mmdb = [mmdb] if isinstance(mmdb, str) else mmdb
    if (given is not None and not isinstance(given, str)) or not (
        isinstance(mmdb, list) and all(isinstance(p, str) for p in mmdb)
    ):
        raise UsageError(
            '[enrich] ip_ranges is a path and mmdb a list of paths: ip_ranges = "x.json", mmdb = ["a.mmdb"]'
        )
    if given is not None:
        ranges: str | None = str(base / Path(given).expanduser())
    else:
        ranges = str(folder / DEFAULT_RANGES) if folder is not None else None
    return EnrichSources(
        ip_ranges=ranges,
        mmdb=tuple(str(base / Path(p).expanduser()) for p in mmdb),
        ranges_required=given is not None,
        url=str(table.get("ip_ranges_url", RANGES_URL)),
    )
