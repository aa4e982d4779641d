"""Queries read the lake by themselves: a scan's log files that the lake holds are read from it.

After planning, each scan of a CloudTrail table has the log files its partition
predicates chose. :func:`cover` takes out those the lake holds at their current version
(same size and mtime, or ETag) and gives the scan the lake files holding their rows
instead, with the files' partition values; the files the lake does not hold (newer than
the last ingest, changed, skipped as bad, or pruned from the lake) are still read from
the logs. The rows are exactly those of the log files, every delivery included, so a
query gives the same answer with or without a lake.

The lake is checked before it is trusted (:mod:`trailsql.lake.check`): a lake file whose
size or footer row count is not what was written, or a source the manifest links to no
lake file, is not read; its log files are, and the query says so in its warnings. An
unreadable manifest means no lake, with a warning too.

A scan reads the lake only when the lake holds what it asks: a JSON CloudTrail table
whose columns the query names have the default table's types and JSON keys, and no
``"$record"`` (the lake does not keep each event's JSON text).
"""

from __future__ import annotations

import itertools
import operator
import os
import sqlite3
from collections import defaultdict
from pathlib import Path

from trailsql import schema
from trailsql.catalog.table import Table
from trailsql.errors import CatalogError
from trailsql.lake.check import quick_fault, unlinked_sources
from trailsql.lake.manifest import MANIFEST_NAME, LakeFile, Manifest, SourceFile, lake_folder
from trailsql.sources.files import LakeRead, LogFile
from trailsql.sql.planner import Scan

_DEFAULT_TYPES = {name.lower(): typ for name, typ in schema.default_columns()}


def fits(declared: schema.HiveType, stored: schema.HiveType) -> bool:
    """Whether a column the lake stores as ``stored`` can be cast to ``declared`` losing nothing
    the logs would give: the same type, or a struct naming some of its fields (DuckDB casts
    structs by field name).

    >>> fits(schema.struct(arn="STRING"), schema.struct(arn="STRING", type="STRING"))
    True
    >>> fits(schema.struct(arn="STRING", extra="STRING"), schema.struct(arn="STRING"))
    False
    """
    if isinstance(declared, schema.Struct) and isinstance(stored, schema.Struct):
        known = dict(stored.fields)
        return all(key in known and fits(typ, known[key]) for key, typ in declared.fields)
    if isinstance(declared, schema.Array) and isinstance(stored, schema.Array):
        return fits(declared.element, stored.element)
    return schema.duckdb_type(declared) == schema.duckdb_type(stored)


def holds_columns(table: Table, columns: list[str]) -> bool:
    """Whether the lake's columns can stand for ``columns`` of ``table``."""
    if not table.unwraps_records or table.delimiter is not None:
        return False
    types = {name.lower(): typ for name, typ in table.columns}
    return all(
        c.lower() in _DEFAULT_TYPES
        and fits(types[c.lower()], _DEFAULT_TYPES[c.lower()])
        and table.json_key(c) == schema.json_key(c)
        for c in columns
    )


class LakeReader:
    """The lake of a workspace as queries see it: read only, the manifest kept in memory and
    read again when another process (an ingest) has committed to it since."""

    def __init__(self, workspace: str | Path) -> None:
        self.folder = lake_folder(workspace)
        self._manifest: Manifest | None = None
        self._version = -1
        #: The version the lake holds of each source it holds (not skipped as bad, not pruned), and its events.
        self._held: dict[str, str] = {}
        self._events: dict[str, int] = {}
        self._links: dict[str, list[str]] = {}
        self._sources_of: dict[str, set[str]] = {}
        self._files: dict[str, LakeFile] = {}
        #: What is wrong with the manifest itself, said by every query that would have read the lake.
        self._faults: list[str] = []

    def close(self) -> None:
        if self._manifest is not None:
            self._manifest.close()
            self._manifest = None

    def _load(self) -> bool:
        """Whether there is a lake; (re)reads the manifest if it changed."""
        try:
            return self._read_manifest()
        except (sqlite3.DatabaseError, CatalogError) as error:
            self.close()
            self._version = -1
            self._held, self._links, self._sources_of, self._files = {}, {}, {}, {}
            self._faults = [
                f"the lake's manifest is not trusted: unreadable ({error}); every log file is read from the logs"
            ]
            return True

    def _read_manifest(self) -> bool:
        if self._manifest is None:
            if not (self.folder / MANIFEST_NAME).exists():
                return False
            self._manifest = Manifest(self.folder, create=False)
        version = self._manifest.db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            sources: dict[str, SourceFile] = self._manifest.sources()
            self._files = {f.path: f for f in self._manifest.lake_files()}
            self._links = self._manifest.links()
            lost = unlinked_sources(sources, self._links, set(self._files))
            self._held = {
                uri: f.version for uri, f in sources.items() if f.note is None and not f.pruned and uri not in lost
            }
            self._events = {uri: f.events for uri, f in sources.items()}
            self._sources_of = defaultdict(set)
            for uri, paths in self._links.items():
                for path in paths:
                    self._sources_of[path].add(uri)
            self._faults = [
                _fallback_warning("the lake's manifest", why, len(lost)) for why in sorted(set(lost.values()))
            ]
            self._version = version
        return True

    def cover(self, scans: list[Scan]) -> list[str]:
        """Move the log files of ``scans`` that the lake holds, in lake files that pass their
        checks, to lake reads; return the warnings saying which lake files were not trusted."""
        wanted = [s for s in scans if s.listing.files and not s.record and holds_columns(s.table, s.columns)]
        if not wanted or not self._load():
            return []
        warnings = list(self._faults)
        current = self._held.get
        for scan in wanted:
            files = scan.listing.files
            # Tens of thousands of files a query: one pass, f.location inlined.
            ok = [current(f.uri if f.remote else f.path) == f.version for f in files]
            held = list(itertools.compress(files, ok))
            if not held:
                continue
            distrusted, said = self._distrusted({f.uri if f.remote else f.path for f in held})
            warnings += said
            if distrusted:
                ok = [
                    good and (f.uri if f.remote else f.path) not in distrusted
                    for f, good in zip(files, ok, strict=True)
                ]
                held = list(itertools.compress(files, ok))
                if not held:
                    continue
            scan.listing.files = [f for f, good in zip(files, ok, strict=True) if not good]
            by_key = self._held_by_key(scan, held)
            scan.lake = self._reads(by_key)
            scan.lake_sources = len(held)
            scan.lake_events = sum(sum(map(self._events.__getitem__, locations)) for locations in by_key.values())
        return list(dict.fromkeys(warnings))

    def _distrusted(self, locations: set[str]) -> tuple[set[str], list[str]]:
        """The sources among ``locations`` held in a lake file failing its quick check, and a
        warning per such file. A loop over the lake files touched (few), not over log files."""
        distrusted: set[str] = set()
        said: list[str] = []
        for path, sources in self._sources_of.items():
            if sources.isdisjoint(locations):
                continue
            fault = quick_fault(self.folder, self._files[path])
            if fault is not None:
                distrusted |= sources
                said.append(_fallback_warning(f"lake file {path}", fault, len(sources & locations)))
        return distrusted, said

    def _held_by_key(self, scan: Scan, held: list[LogFile]) -> dict[_Key, set[str]]:
        """The locations of ``held`` by the partition values their rows take (and how ``"$path"`` shows them)."""
        by_key: dict[_Key, set[str]] = defaultdict(set)
        # A listing gives the files of a folder one after the other, with one partition: a run at a time.
        for partition, run in itertools.groupby(held, key=_PARTITION):
            values = dict(partition)
            chosen = tuple((p, values.get(p)) for p in scan.partitions)
            if scan.path:
                for f in run:
                    by_key[(chosen, shown_prefix(f))].add(f.location)
            else:
                by_key[(chosen, None)].update(f.uri if f.remote else f.path for f in run)
        return by_key

    def _reads(self, by_key: dict[_Key, set[str]]) -> list[LakeRead]:
        """The lake files holding the ``by_key`` locations: whole files where all their sources
        are held with the same partition values, else with only the rows of the held sources.

        A loop over lake files with set operations, not over log files: a query may hold
        tens of thousands of log files in a few lake files.
        """
        whole: dict[_Key, list[str]] = defaultdict(list)
        reads: list[LakeRead] = []
        for path, sources in sorted(self._sources_of.items()):
            touching = [(key, locations) for key, locations in by_key.items() if not sources.isdisjoint(locations)]
            if not touching:
                continue
            full = str(self.folder / path)
            if len(touching) == 1 and sources <= touching[0][1]:
                whole[touching[0][0]].append(full)
                continue
            for (partition, prefix), locations in touching:
                reads.append(LakeRead((full,), partition, tuple(sorted(sources & locations)), prefix))
        reads += [LakeRead(tuple(files), partition, None, prefix) for (partition, prefix), files in whole.items()]
        return reads


_PARTITION = operator.attrgetter("partition")


def _fallback_warning(what: str, why: str, sources: int) -> str:
    """The warning of a query that read log files from the logs because the lake failed a check."""
    return (
        f"{what} is not trusted: {why}; {sources} log files are read from the logs instead "
        "(`trailsql lake verify` tells more, `trailsql ingest` repairs it)"
    )


_Key = tuple[tuple[tuple[str, str | None], ...], tuple[str, str] | None]
"""A scan's partition values for a log file's rows, and how ``"$path"`` shows it (see :func:`shown_prefix`)."""


def shown_prefix(f: LogFile) -> tuple[str, str] | None:
    """How ``"$path"`` shows a file, as (location prefix, URI prefix); None when it shows its location.

    >>> shown_prefix(LogFile("/logs/AWSLogs/1/a.json.gz", "s3://b/AWSLogs/1/a.json.gz", 1))
    ('/logs', 's3://b')
    """
    if f.uri == f.location:
        return None
    # The common suffix, character by character: the location map swapped a prefix of characters.
    common = len(os.path.commonprefix([f.uri[::-1], f.location[::-1]]))  # noqa: RUF071
    return f.location[: len(f.location) - common], f.uri[: len(f.uri) - common]
