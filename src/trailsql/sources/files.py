"""Log files, the listing of a query's scan, and what an engine reads for a scan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from trailsql.sql.planner import Scan


class LogFile(NamedTuple):
    """One file to read: where it is (``path``), what ``"$path"`` shows (``uri``), its
    size, the values of the table's partition columns for its rows, and its ``version``:
    what changes when its content does (``<size>-<mtime_ns>`` on disk, the ETag in S3),
    by which the lake knows whether it holds the file's current content. A ``remote``
    file is an S3 object and ``path`` its cached copy.

    A named tuple, not a dataclass: a listing makes one per file, tens of thousands a query.
    """

    path: str
    uri: str
    size: int
    partition: tuple[tuple[str, str | None], ...] = ()
    version: str = ""
    remote: bool = False

    @property
    def location(self) -> str:
        """Where the file is, whichever table lists it: its S3 URI, or its local path
        (which a table over a location-mapped ``s3://`` prefix shows as an S3 URI)."""
        return self.uri if self.remote else self.path


@dataclass
class Listing:
    """The files a scan reads, and how many were seen but pruned away.

    ``skipped`` are objects that could not be fetched (URI, reason), named like bad files;
    ``requests`` counts what reading a remote store cost (LIST and GET requests, bytes).
    """

    files: list[LogFile] = field(default_factory=list)
    listed: int = 0
    pruned: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)

    def extend(self, other: Listing) -> None:
        self.files.extend(other.files)
        self.listed += other.listed
        self.pruned += other.pruned
        self.skipped.extend(other.skipped)
        for name, count in other.requests.items():
            self.requests[name] = self.requests.get(name, 0) + count


@dataclass(frozen=True)
class LakeRead:
    """Parquet files of the workspace's lake that a scan reads in place of log files.

    Their rows take ``partition`` as the values of the scan's partition columns (the
    values of the log files they came from); ``sources``, when set, keeps only the rows
    of those log files (a lake file also holding files the scan does not read).
    ``shown`` is (location prefix, URI prefix) when ``"$path"`` shows the files by a URI
    other than their location (a table over a location-mapped ``s3://`` prefix).
    """

    files: tuple[str, ...]
    partition: tuple[tuple[str, str | None], ...]
    sources: tuple[str, ...] | None = None
    shown: tuple[str, str] | None = None


@dataclass(frozen=True)
class ScanInput:
    """What an engine reads in place of one scan of a plan: the log files of ``listing``
    and the lake's files of ``lake`` (``lake_sources`` log files holding ``lake_events``
    events, which the listing no longer holds).

    Made by the listing stage, then replaced (never changed) by the cover stage (the lake
    takes the log files it holds) and the fetch stage (S3 objects given local copies).
    """

    scan: Scan
    listing: Listing
    lake: tuple[LakeRead, ...] = ()
    lake_sources: int = 0
    lake_events: int = 0

    @property
    def files(self) -> list[LogFile]:
        return self.listing.files
