"""The cover stage: a scan's log files that the workspace's lake holds are read from it.

After listing, each scan of a CloudTrail table has the log files its partition
predicates chose. :meth:`LakeReader.cover` takes out those the lake holds at their current version
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

import bisect
import dataclasses
import itertools
import operator
import os
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from trailsql import schema
from trailsql.catalog.table import Table
from trailsql.errors import CatalogError
from trailsql.lake.check import quick_fault, unlinked_sources
from trailsql.lake.manifest import MANIFEST_NAME, LakeFile, Manifest, SourceFile, lake_folder
from trailsql.sources.files import LakeRead, LogFile, ScanInput
from trailsql.sources.local import FolderRecord, FolderRecords
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


def holds_columns(table: Table, columns: Sequence[str]) -> bool:
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


class _Folder(NamedTuple):
    """A day folder whose record (:class:`~trailsql.sources.local.FolderRecord`) the lake holds
    whole: every file of the record at its version, and no other source of the folder. Its
    files, listed one after the other (from the record, or equal to it), are covered at once."""

    folder: str
    files: list[LogFile]
    partition: tuple[tuple[str, str | None], ...]
    locations: frozenset[str]
    events: int
    lake_paths: frozenset[str]


class _Keyed(NamedTuple):
    """The held log files whose rows take one key: whole folders and single files."""

    key: _Key
    folders: list[_Folder]
    files: set[str]


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
        #: The day folders' records (see :meth:`folders`), those the lake holds whole, and the
        #: folders of each lake file's sources.
        self._folders: dict[str, FolderRecord] = {}
        self._whole: dict[str, _Folder] = {}
        self._folders_of: dict[str, frozenset[str]] = {}
        #: Each lake file's quick check, and the stat it was made at (see :meth:`_quick_fault`).
        self._checked: dict[str, tuple[tuple[int, int, int, int], LakeFile, str | None]] = {}

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
            self._folders, self._whole, self._folders_of = {}, {}, {}
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
            self._folders = self._manifest.folder_records()
            self._whole_folders()
            self._version = version
        return True

    def folders(self) -> FolderRecords:
        """What ingest found listing each day folder, by folder path, for the listing stage
        (:func:`~trailsql.sources.local.list_awslogs`); none when there is no lake or its
        manifest is not trusted."""
        return self._folders if self._load() and not self._faults else {}

    def _whole_folders(self) -> None:
        """The folders the lake holds whole, and the folders of each lake file's sources (once
        a manifest version: a loop over sources here keeps queries' loops over folders)."""
        linked: dict[str, set[str]] = defaultdict(set)
        for location in self._links:
            linked[location[: location.rfind("/")]].add(location)
        self._whole = {}
        held = self._held.get
        for path, record in self._folders.items():
            locations = frozenset(f.path for f in record.files)
            if not record.files or frozenset(linked.get(path, ())) != locations:
                continue
            if not all(held(f.path) == f.version for f in record.files):
                continue
            events = sum(map(self._events.__getitem__, locations))
            lake_paths = frozenset(p for location in locations for p in self._links[location])
            self._whole[path] = _Folder(
                path, list(record.files), record.files[0].partition, locations, events, lake_paths
            )
        self._folders_of = {
            path: frozenset(s[: s.rfind("/")] for s in sources) for path, sources in self._sources_of.items()
        }

    def cover(self, inputs: Sequence[ScanInput]) -> tuple[list[ScanInput], list[str]]:
        """The inputs with the log files the lake holds, in lake files that pass their checks,
        moved to lake reads (new inputs; those the lake cannot stand for as they were), and
        the warnings saying which lake files were not trusted."""
        wanted = [i.listing.files and not i.scan.record and holds_columns(i.scan.table, i.scan.columns) for i in inputs]
        if not any(wanted) or not self._load():
            return list(inputs), []
        warnings = list(self._faults)
        covered = []
        for given, want in zip(inputs, wanted, strict=True):
            found = self._cover_one(given, warnings) if want else None
            covered.append(given if found is None else found)
        return covered, list(dict.fromkeys(warnings))

    def _cover_one(self, given: ScanInput, warnings: list[str]) -> ScanInput | None:
        """:meth:`cover` of one input (None: the lake holds none of its files): by folders where
        the lake holds whole folders of it and all their lake files pass their checks, else file by file."""
        if self._whole:
            applies, found = self._cover_folders(given)
            if applies:
                return found
        return self._cover_files(given, warnings)

    def _cover_files(self, given: ScanInput, warnings: list[str]) -> ScanInput | None:
        """:meth:`_cover_one` file by file."""
        current = self._held.get
        files = given.listing.files
        # Tens of thousands of files a query: one pass, f.location inlined.
        ok = [current(f.uri if f.remote else f.path) == f.version for f in files]
        held = list(itertools.compress(files, ok))
        if not held:
            return None
        distrusted, said = self._distrusted({f.uri if f.remote else f.path for f in held})
        warnings += said
        if distrusted:
            ok = [good and (f.uri if f.remote else f.path) not in distrusted for f, good in zip(files, ok, strict=True)]
            held = list(itertools.compress(files, ok))
            if not held:
                return None
        rest = [f for f, good in zip(files, ok, strict=True) if not good]
        by_key = self._held_by_key(given.scan, held)
        return dataclasses.replace(
            given,
            listing=dataclasses.replace(given.listing, files=rest),
            lake=tuple(self._reads(by_key)),
            lake_sources=len(held),
            lake_events=sum(sum(map(self._events.__getitem__, locations)) for locations in by_key.values()),
        )

    def _distrusted(self, locations: set[str]) -> tuple[set[str], list[str]]:
        """The sources among ``locations`` held in a lake file failing its quick check, and a
        warning per such file. A loop over the lake files touched (few), not over log files."""
        distrusted: set[str] = set()
        said: list[str] = []
        for path, sources in self._sources_of.items():
            if sources.isdisjoint(locations):
                continue
            fault = self._quick_fault(path)
            if fault is not None:
                distrusted |= sources
                said.append(_fallback_warning(f"lake file {path}", fault, len(sources & locations)))
        return distrusted, said

    def _quick_fault(self, path: str) -> str | None:
        """:func:`~trailsql.lake.check.quick_fault` of a lake file, read again only when the
        file's stat changed (inode, size, mtime, ctime: no write leaves all four as they were)
        or the manifest's record of it did: one stat a query, not a footer read."""
        f = self._files[path]
        try:
            st = os.stat(self.folder / path)
        except OSError:
            return quick_fault(self.folder, f)
        seen = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        checked = self._checked.get(path)
        if checked is not None and checked[0] == seen and checked[1] == f:
            return checked[2]
        fault = quick_fault(self.folder, f)
        self._checked[path] = (seen, f, fault)
        return fault

    def _cover_folders(self, given: ScanInput) -> tuple[bool, ScanInput | None]:
        """:meth:`_cover_one` by folders: the runs of files that are whole folders of the lake
        (:class:`_Folder`) taken at once, the other files one by one. Does not apply (False)
        when no run is a whole folder, or a lake file it would read fails its check (then
        :meth:`_cover_files` says which and reads the logs instead)."""
        whole, rest = self._split(given.listing.files)
        if not whole:
            return False, None
        current = self._held.get
        ok = [current(f.uri if f.remote else f.path) == f.version for f in rest]
        held = list(itertools.compress(rest, ok))
        touched: set[str] = set().union(*(folder.lake_paths for folder in whole))
        for f in held:
            touched.update(self._links.get(f.location, ()))
        if any(self._quick_fault(path) is not None for path in touched):
            return False, None
        keyed: dict[_Key, _Keyed] = {}
        for folder in whole:
            values = dict(folder.partition)
            key: _Key = (tuple((p, values.get(p)) for p in given.scan.partitions), None)
            keyed.setdefault(key, _Keyed(key, [], set())).folders.append(folder)
        for key, locations in self._held_by_key(given.scan, held).items():
            keyed.setdefault(key, _Keyed(key, [], set())).files.update(locations)
        events = 0
        for entry in keyed.values():
            events += sum(folder.events for folder in entry.folders)
            events += sum(self._events[f] for f in entry.files if not any(f in d.locations for d in entry.folders))
        return True, dataclasses.replace(
            given,
            listing=dataclasses.replace(given.listing, files=[f for f, good in zip(rest, ok, strict=True) if not good]),
            lake=tuple(self._folder_reads(list(keyed.values()), touched)),
            lake_sources=sum(len(folder.files) for folder in whole) + len(held),
            lake_events=events,
        )

    def _split(self, files: list[LogFile]) -> tuple[list[_Folder], list[LogFile]]:
        """The runs of ``files`` that are whole folders of the lake, and the other files (in
        their order). A loop over folders: a run is compared with the folder's files at once
        (the same objects when listed from the record), and a run of another folder is
        skipped by a galloping search for its end."""
        whole: list[_Folder] = []
        rest: list[LogFile] = []
        start, count = 0, len(files)
        while start < count:
            first = files[start]
            folder = first.path[: first.path.rfind("/")]
            found = None if first.remote else self._whole.get(folder)
            if found is not None:
                end = start + len(found.files)
                if files[start:end] == found.files:
                    whole.append(found)
                    start = end
                    continue
            end = _run_end(files, start, folder + "/")
            rest += files[start:end]
            start = end
        return whole, rest

    def _folder_reads(self, keyed: list[_Keyed], touched: set[str]) -> list[LakeRead]:
        """:meth:`_reads` of whole folders and single files: a lake file is read whole when it
        touches one key and the folders of all its sources are whole folders of that key (or
        its sources are all held under it), else with only the rows of the held sources."""
        whole: dict[_Key, list[str]] = defaultdict(list)
        reads: list[LakeRead] = []
        folders_of = [
            (frozenset(d.folder for d in e.folders), frozenset().union(*(d.lake_paths for d in e.folders)))
            for e in keyed
        ]
        covered: dict[int, set[str]] = {}

        def locations(index: int) -> set[str]:
            if index not in covered:
                covered[index] = set().union(*(d.locations for d in keyed[index].folders)) | keyed[index].files
            return covered[index]

        for path in sorted(touched):
            sources = self._sources_of[path]
            touching = [
                index
                for index, entry in enumerate(keyed)
                if path in folders_of[index][1] or not sources.isdisjoint(entry.files)
            ]
            full = str(self.folder / path)
            if len(touching) == 1:
                index = touching[0]
                if self._folders_of[path] <= folders_of[index][0] or sources <= locations(index):
                    whole[keyed[index].key].append(full)
                    continue
            for index in touching:
                partition, prefix = keyed[index].key
                reads.append(LakeRead((full,), partition, tuple(sorted(sources & locations(index))), prefix))
        reads += [LakeRead(tuple(files), partition, None, prefix) for (partition, prefix), files in whole.items()]
        return reads

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


def _run_end(files: list[LogFile], start: int, prefix: str) -> int:
    """Where the run of files directly in the folder ``prefix`` that starts at ``start`` ends
    (a listing gives a folder's files one after the other): a galloping search, a few calls
    a folder. Any end found is correct (the files are then covered one by one); this one is fast."""

    def outside(f: LogFile) -> bool:
        return not f.path.startswith(prefix) or f.path.find("/", len(prefix)) >= 0

    low = high = start + 1
    step = 1
    while high < len(files) and not outside(files[high]):
        low, high, step = high + 1, high + step, step * 2
    return bisect.bisect_left(files, True, low, min(high, len(files)), key=outside)


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
