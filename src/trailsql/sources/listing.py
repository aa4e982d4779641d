"""The listing stage: the files each scan of a plan reads.

A scan's table says where its files are (a local folder or ``s3://`` prefix, possibly
location-mapped, laid out as CloudTrail's ``AWSLogs/`` tree, as Hive partitions kept in
the catalog, or as projected partitions) and the scan's predicates which partitions may
hold its rows (:meth:`~trailsql.sql.planner.Scan.allows`). Listing reads folder and bucket
listings, never a file's content; S3 objects are listed, not fetched (that is the fetch
stage's work, for the objects the lake does not hold).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from trailsql.catalog import projection
from trailsql.catalog.table import Table
from trailsql.catalog.workspace import Partition, Workspace
from trailsql.sources import local
from trailsql.sources.files import Listing, LogFile, ScanInput
from trailsql.sources.s3 import S3Source
from trailsql.sql.planner import Plan, Scan

PartitionFilter = Callable[[dict[str, str | None]], bool]
"""Whether a partition with these values may hold rows a scan wants."""


class Locations(Protocol):
    """Where tables' files are: location maps, partitions kept in the catalog, and S3."""

    def resolve(self, uri: str) -> str:
        """The local folder a location maps to, or the location itself."""
        ...

    def partitions(self, name: str) -> list[Partition]:
        """The partitions ``ALTER TABLE ADD PARTITION`` or ``MSCK REPAIR`` kept for a table."""
        ...

    def s3(self) -> S3Source: ...


@dataclass(frozen=True)
class WorkspaceLocations:
    """The locations of a workspace's tables, for a lister with no session (the lake's ingest)."""

    workspace: Workspace
    source: S3Source

    def resolve(self, uri: str) -> str:
        return self.workspace.resolve(uri)

    def partitions(self, name: str) -> list[Partition]:
        return self.workspace.partitions.get(name.lower(), [])

    def s3(self) -> S3Source:
        return self.source


@dataclass(frozen=True)
class Listed:
    """The listing stage's output: each scan with its files, and what listing had to say."""

    inputs: tuple[ScanInput, ...]
    warnings: tuple[str, ...] = ()


def list_plan(plan: Plan, locations: Locations, folders: local.FolderRecords | None = None) -> Listed:
    """The files of every scan of ``plan``; local day folders with a record in ``folders``
    that still stands are not listed again (see :func:`~trailsql.sources.local.list_awslogs`)."""
    warnings: list[str] = []
    inputs = tuple(ScanInput(scan, list_scan(scan, locations, warnings, folders)) for scan in plan.scans)
    return Listed(inputs, tuple(warnings))


def list_scan(
    scan: Scan, locations: Locations, warnings: list[str], folders: local.FolderRecords | None = None
) -> Listing:
    """The files of the scan's table whose partitions may hold rows the query wants."""
    return list_table(scan.table, scan.allows, scan, locations, warnings, folders=folders)


def list_table(
    table: Table,
    allows: PartitionFilter,
    scan: Scan | None,
    locations: Locations,
    warnings: list[str],
    *,
    folders: local.FolderRecords | None = None,
    recorded: list[local.FolderRecord] | None = None,
) -> Listing:
    """The files of ``table`` in the partitions ``allows`` (every file: ``lambda _: True``);
    ``scan``'s predicates also pick the values of injected projected partitions. An
    ``AWSLogs/`` tree in a local folder is listed with ``folders`` and ``recorded`` (see
    :func:`~trailsql.sources.local.list_awslogs`)."""
    resolve = locations.resolve
    if table.layout == "awslogs":
        if resolve(table.location).startswith("s3://"):
            return locations.s3().list_awslogs(resolve(table.location), allows)
        root = Path(resolve(table.location))
        if not root.exists():
            warnings.append(f"logs root {root} does not exist")
            return Listing()
        return local.list_awslogs(root, allows, folders, recorded)
    if not table.partitions:
        return _folder_listing(table.location, locations, (), warnings)
    if not table.projected:
        stored = [(p.location, p.values) for p in locations.partitions(table.name) if allows(dict(p.values))]
        return _partitions_listing(stored, locations)
    predicate = scan.predicate if scan is not None else None
    projected = [
        (projection.partition_location(table, values), tuple(values.items()))
        for values in projection.partitions(table, allows, predicate, present=_local_folders(locations))
    ]
    return _partitions_listing(projected, locations)


def _local_folders(locations: Locations) -> Callable[[str], bool]:
    """Whether a location prefix may hold files: a local folder that exists (S3 prefixes are
    listed as they are); each folder checked once a query."""
    seen: dict[str, bool] = {}

    def present(prefix: str) -> bool:
        found = seen.get(prefix)
        if found is None:
            resolved = locations.resolve(prefix)
            found = seen[prefix] = resolved.startswith("s3://") or os.path.isdir(resolved)
        return found

    return present


def _partitions_listing(partitions: Sequence[tuple[str, tuple[tuple[str, str], ...]]], locations: Locations) -> Listing:
    """The files of the partitions at these locations: S3 prefixes listed together, in parallel."""
    listing = Listing()
    remote = [
        (locations.resolve(uri), values) for uri, values in partitions if locations.resolve(uri).startswith("s3://")
    ]
    if remote:
        listing.extend(locations.s3().list_prefixes(remote))
    for uri, values in partitions:
        if not locations.resolve(uri).startswith("s3://"):
            listing.extend(_folder_listing(uri, locations, values, None))
    return listing


def _folder_listing(
    uri: str, locations: Locations, partition: tuple[tuple[str, str | None], ...], warnings: list[str] | None
) -> Listing:
    """Every file below a location; ``"$path"`` shows the location's URI, as Athena does."""
    if locations.resolve(uri).startswith("s3://"):
        return locations.s3().list_prefix(locations.resolve(uri), partition)
    folder = Path(locations.resolve(uri))
    if not folder.is_dir():
        if warnings is not None:
            warnings.append(f"table location {uri} does not exist")
        return Listing()
    found, skipped = local.walk_files_skipping(folder)
    if uri.startswith("s3://"):
        base, shown = len(str(folder).rstrip("/")) + 1, uri.rstrip("/") + "/"
        files = [LogFile(full, shown + full[base:], size, partition, version) for full, size, version in found]
    else:
        files = [LogFile(full, full, size, partition, version) for full, size, version in found]
    return Listing(files, listed=len(files) + len(skipped), skipped=skipped)
