"""What a statement read, as ``--stats`` shows it: assembled by the session from each stage.

The listing stage counts the files it listed and pruned (and, for S3, its requests); the
cover stage the log files and events the lake stood for; the fetch stage the objects it
downloaded or found in its cache; the engine what it read itself (:class:`EngineStats`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from trailsql.sources.files import ScanInput


@dataclass
class Skipped:
    """A file left out of a query, and why."""

    path: str
    reason: str


@dataclass
class EngineStats:
    """What an engine read of a plan's log files: the files and bytes read, the events they
    held, and the bad files it left out (named as the user knows them: an S3 object by its URI)."""

    files_scanned: int = 0
    bytes_scanned: int = 0
    events_scanned: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    elapsed_s: float = 0.0


@dataclass
class RunStats:
    """What a query read. ``files_skipped`` are the bad files left out."""

    #: The table references the statement read (0: a statement over no table, such as SELECT 1).
    scans: int = 0
    files_listed: int = 0
    files_scanned: int = 0
    files_pruned: int = 0
    bytes_scanned: int = 0
    events_scanned: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    elapsed_s: float = 0.0
    #: Reading from S3: requests made, bytes downloaded, objects found in the cache.
    list_requests: int = 0
    get_requests: int = 0
    bytes_fetched: int = 0
    cache_hits: int = 0
    #: Of the events scanned, those read from the workspace's lake, and the log files that held them.
    events_from_lake: int = 0
    files_from_lake: int = 0

    @classmethod
    def assemble(cls, inputs: Sequence[ScanInput], engine: EngineStats) -> RunStats:
        """The stats of a run: the stages' counts from ``inputs``, the engine's own from ``engine``.

        >>> RunStats.assemble([], EngineStats(files_scanned=2, bytes_scanned=10, events_scanned=7)).as_dict()["events_from_logs"]
        7
        """
        lake_events = sum(i.lake_events for i in inputs)
        stats = cls(
            scans=len(inputs),
            files_listed=sum(i.listing.listed for i in inputs),
            files_pruned=sum(i.listing.pruned for i in inputs),
            files_scanned=engine.files_scanned,
            bytes_scanned=engine.bytes_scanned,
            events_scanned=engine.events_scanned + lake_events,
            events_from_lake=lake_events,
            files_from_lake=sum(i.lake_sources for i in inputs),
            elapsed_s=engine.elapsed_s,
        )
        # Objects the fetch stage could not fetch, then the files the engine left out.
        stats.skipped = [Skipped(uri, reason) for i in inputs for uri, reason in i.listing.skipped] + engine.skipped
        for name in ("list_requests", "get_requests", "bytes_fetched", "cache_hits"):
            setattr(stats, name, sum(i.listing.requests.get(name, 0) for i in inputs))
        return stats

    @property
    def events_from_logs(self) -> int:
        return self.events_scanned - self.events_from_lake

    @property
    def files_skipped(self) -> int:
        return len(self.skipped)

    @property
    def athena_cost_usd(self) -> float:
        """What Athena would charge for these bytes: $5 per TB, 10 MB minimum per query."""
        return round(max(self.bytes_scanned, 10 * 1024 * 1024) / 1024**4 * 5, 8)

    def as_dict(self) -> dict[str, object]:
        return {
            "files_listed": self.files_listed,
            "files_scanned": self.files_scanned,
            "files_skipped": self.files_skipped,
            "files_pruned": self.files_pruned,
            "bytes_scanned": self.bytes_scanned,
            "events_scanned": self.events_scanned,
            "events_from_logs": self.events_from_logs,
            "events_from_lake": self.events_from_lake,
            "files_from_lake": self.files_from_lake,
            "elapsed_s": round(self.elapsed_s, 3),
            "athena_cost_usd": self.athena_cost_usd,
            "list_requests": self.list_requests,
            "get_requests": self.get_requests,
            "bytes_fetched": self.bytes_fetched,
            "cache_hits": self.cache_hits,
        }
