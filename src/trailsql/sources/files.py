"""Log files and the listing of a query's scan."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LogFile:
    """One file to read: where it is (``path``), what ``"$path"`` shows (``uri``), its
    size, and the values of the table's partition columns for its rows."""

    path: str
    uri: str
    size: int
    partition: tuple[tuple[str, str | None], ...] = ()


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
