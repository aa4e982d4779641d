"""The embedded engine: DuckDB, reading CloudTrail's gzipped JSON directly.

A scan of a table becomes a temporary view over ``read_json_objects``: each file is one
JSON document ``{"Records": [...]}``, parsed by ``from_json`` into the structure of only
the columns the query uses, and unnested into one row per event. (DuckDB's ``read_json``
with a ``columns`` argument is several times slower on this shape, see the benchmark.)

CloudTrail writes each log file as one line, so files are first read as newline-delimited
JSON (a fifth cheaper to parse than DuckDB's ``unstructured`` reader); a file that is not
(pretty-printed, or documents run together) fails with its name in the message and is read
again by the ``unstructured`` reader, and after a few such files every file is.
A file DuckDB cannot read either way (truncated gzip, invalid JSON) fails the query with its
name in the message: the engine takes it out, notes why, and runs the query again. Files
that parse but hold no ``Records`` array are noted by a per-file tally that also counts
the events scanned, at no extra pass over the data.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import json
import os
import re
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from trailsql.catalog.table import default_table
from trailsql.engines.base import Readable
from trailsql.engines.duckdb.macros import MACROS
from trailsql.engines.duckdb.transforms import to_duckdb
from trailsql.enrich import FIELDS, FUNCTION, EnrichSources, enricher_for, used_in
from trailsql.errors import BadInputError, CancelledError, LimitError, NotSupportedError, TrailsqlError, UsageError
from trailsql.schema import (
    PARTITION_COLUMNS,
    PATH_COLUMN,
    RECORD_COLUMN,
    Array,
    HiveType,
    Map,
    Struct,
    default_columns,
    duckdb_type,
)
from trailsql.sources.files import LakeRead, Listing, LogFile, ScanInput
from trailsql.sql.parse import run_deep
from trailsql.sql.planner import FieldPath, Plan, Scan
from trailsql.stats import EngineStats, Skipped

#: The most a query may spill to disk beyond the memory limit; past it, it fails cleanly.
MAX_SPILL = "8GB"
_ENGINES = itertools.count()

#: The largest JSON document (one log file, uncompressed) the engine will read.
MAX_OBJECT_BYTES = 1 << 30

#: The lake stores the default table's columns with these types.
_LAKE_TYPES = {name.lower(): duckdb_type(typ) for name, typ in default_columns()}

#: After this many failed runs that each named one bad file, check every file at once.
_RETRIES_BEFORE_SWEEP = 3

#: After this many files found not to hold a document a line, read every file as JSON text.
_DOCUMENT_FILES_BEFORE_ALL = 3


def _lake_sql(scan: Scan, read: LakeRead) -> str:
    """The rows of lake files with the scan's columns, in the order of :meth:`DuckDBEngine._logs_sql`.

    A column the table declares with other types than the lake stores (a struct with fewer
    fields) is cast to its type; a struct the query reads only through declared fields is
    narrowed to those fields (see :func:`_fields_of`).
    """
    types = {name.lower(): typ for name, typ in scan.table.columns}
    declared = {name: duckdb_type(typ) for name, typ in types.items()}
    select = []
    for n in (name.lower() for name in scan.columns):
        if n in scan.fields_only:
            select.append(f"{_fields_of(_quote(n), types[n], scan.fields_only[n])} AS {_quote(n)}")
        elif declared[n] == _LAKE_TYPES.get(n):
            select.append(_quote(n))
        else:
            select.append(f"CAST({_quote(n)} AS {declared[n]}) AS {_quote(n)}")
    select = select or ["1 AS __event"]
    select += [f"{'NULL' if v is None else _string(v)}::VARCHAR AS {_quote(p)}" for p, v in read.partition]
    if scan.path and read.shown:
        location, uri = read.shown
        select.append(f"{_string(uri)} || source_path[{len(location) + 1}:] AS {_quote(PATH_COLUMN)}")
    elif scan.path:
        select.append(f"source_path AS {_quote(PATH_COLUMN)}")
    files = "[" + ", ".join(_path(f) for f in read.files) + "]"
    where = f" WHERE source_path IN ({', '.join(_string(u) for u in read.sources)})" if read.sources else ""
    return f"SELECT {', '.join(select)} FROM read_parquet({files}, hive_partitioning=false){where}"


def _fields_of(value: str, typ: HiveType, paths: Set[FieldPath]) -> str:
    """A struct of only the fields at ``paths`` of a struct ``value`` of the declared type ``typ``.

    DuckDB then reads only those nested columns of a Parquet file, where a cast to ``typ``
    (which the query reads through these fields only) would read them all.

    >>> from trailsql.schema import struct
    >>> _fields_of('"u"', struct(arn="STRING", s=struct(a="STRING", b="STRING")), {("arn",), ("s", "a")})
    'struct_pack("arn" := CAST("u"."arn" AS VARCHAR), "s" := struct_pack("a" := CAST("u"."s"."a" AS VARCHAR)))'
    """
    if () in paths or not isinstance(typ, Struct):  # the whole field, as declared (a no-op cast costs nothing)
        return f"CAST({value} AS {duckdb_type(typ)})"
    packed = []
    for name, field_type in typ.fields:
        below = {p[1:] for p in paths if p[0] == name}
        if below:
            packed.append(f"{_quote(name)} := {_fields_of(f'{value}.{_quote(name)}', field_type, below)}")
    return f"struct_pack({', '.join(packed)})"


def _structure(typ: HiveType) -> object:
    """The structure ``from_json`` takes for a type: JSON keys mapped to DuckDB types."""
    if isinstance(typ, Struct):
        return {name: _structure(t) for name, t in typ.fields}
    if isinstance(typ, Array):
        return [_structure(typ.element)]
    if isinstance(typ, Map):
        return duckdb_type(typ)
    return duckdb_type(typ)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _path(path: str) -> str:
    """A file's path as a SQL string DuckDB's readers take for exactly that file.

    DuckDB's readers expand ``*``, ``?`` and ``[...]`` in every path of a list, even when a
    file is literally so named (``a*.json`` also reads ``ab.json``); each such character
    is escaped as a one-character class (``[*]``), which matches only itself. ``{}`` and
    ``\\`` are not special to DuckDB 2.0. Paths without them (all of CloudTrail's) are
    passed as they are, so no directory is listed to glob them.

    >>> _path("/l/a*b?[c].json")
    "'/l/a[*]b[?][[]c].json'"
    """
    return _string(_GLOB.sub(r"[\1]", path))


def _compression(path: str) -> str:
    """The ``compression`` to read a file with, named for DuckDB's readers.

    Their ``auto`` takes the suffix of the path cut at a ``?`` (as if a URL's query), so a
    gzipped ``q?.json.gz`` was read as plain text; the suffix is read here instead, as
    ``auto`` does for every other name (case-insensitive ``.gz``, ``.zst``).

    >>> [_compression(p) for p in ("/l/q?.json.gz", "/l/A.JSON.GZ", "/l/a.json.zst", "/l/a.json")]
    ['gzip', 'gzip', 'zstd', 'none']
    """
    lower = path.lower()
    return "gzip" if lower.endswith(".gz") else "zstd" if lower.endswith(".zst") else "none"


class _Tally:
    """Per-file counts reported by the scans while a query runs.

    Each call gives, per document (or row), its file, how many ``Records`` elements it holds
    (None: no ``Records`` array) and how many of them are JSON objects, the events.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: dict[str, int | None] = {}
        #: Per file, the ``Records`` elements that are not objects, left out.
        self.not_objects: dict[str, int] = {}

    def clear(self) -> None:
        self.events.clear()
        self.not_objects.clear()

    def __call__(self, files: pa.Array, elements: pa.Array, objects: pa.Array) -> pa.Array:
        with self.lock:
            for name, count, events in zip(files.to_pylist(), elements.to_pylist(), objects.to_pylist(), strict=True):
                known = self.events.get(name)
                self.events[name] = (None if count is None else events) if known is None else known + (events or 0)
                if count is not None and count > events:
                    self.not_objects[name] = self.not_objects.get(name, 0) + count - events
        return pa.array([True] * len(files), pa.bool_())


class DuckDBEngine:
    """Runs plans on an in-process DuckDB with Trino's semantics switched on.

    ``confined``: user SQL reads no file but those of the plan (see :meth:`_confine`).
    ``spill`` is the folder of what a query spills beyond ``memory_limit`` (default: a
    folder of its own under the temporary directory); ``keep_order=False`` lets DuckDB
    write rows in any order (the lake's ingest: less memory). ``enrich`` is the data of
    ``ip_info`` (the workspace's ``[enrich]``; None: the kinds only, see :mod:`trailsql.enrich`).
    """

    name = "duckdb"
    reads: frozenset[Readable] = frozenset({"files", "lake"})

    def __init__(
        self,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        confined: bool = False,
        spill: str | None = None,
        keep_order: bool = True,
        enrich: EnrichSources | None = None,
    ) -> None:
        self.enrich = enrich
        # No extension is installed or loaded behind a query's back: trailsql needs none at run time.
        self.config: dict[str, Any] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        if threads:
            self.config["threads"] = threads
        if memory_limit:  # (DuckDB's default: 80% of the machine's memory)
            self.config["memory_limit"] = memory_limit
        self.memory_limit = memory_limit
        # What a query spills beyond the memory limit goes to a folder of its own (DuckDB makes
        # it when it first spills), removed on close or when the engine is collected: DuckDB's
        # default is ``.tmp`` in the current directory, which is the user's, and up to 90% of
        # the free disk, which a runaway query fills.
        self.spill = spill or os.path.join(tempfile.gettempdir(), f"trailsql-spill-{os.getpid()}-{next(_ENGINES)}")
        self.config["temp_directory"] = self.spill
        if not keep_order:
            self.config["preserve_insertion_order"] = False
        self.config["max_temp_directory_size"] = MAX_SPILL
        weakref.finalize(self, shutil.rmtree, self.spill, ignore_errors=True)
        self.confined = confined
        self._allowed: frozenset[str] = frozenset()
        self._tally = _Tally()
        try:
            self.con = self._connect(self._allowed)
        except duckdb.Error as error:  # a memory limit DuckDB cannot read
            shutil.rmtree(self.spill, ignore_errors=True)
            raise UsageError(f"memory limit {memory_limit!r}: {_clean_message(error)}") from None
        self._lock = threading.Lock()
        self._timed_out = False
        self._cancelled = False

    def _connect(self, allowed: frozenset[str]) -> duckdb.DuckDBPyConnection:
        """A connection with Trino's semantics and trailsql's macros; a confined one reads and
        writes files only under the folders ``allowed`` (see :meth:`_confine`)."""
        con = duckdb.connect(config=self.config)
        con.execute("SET integer_division = true")
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")  # our own progress, not DuckDB's, on stderr
        # Lake files are never rewritten in place (a rewrite is a new file), so their footers may be
        # kept between queries: DuckDB still checks each file's modification time before using one.
        con.execute("SET parquet_metadata_cache = true")
        con.execute(MACROS)
        con.create_function(  # type: ignore[call-overload]
            "__trailsql_tally",
            self._tally,
            ["VARCHAR", "BIGINT", "BIGINT"],
            "BOOLEAN",
            type="arrow",
            side_effects=True,
            null_handling="special",
        )
        con.create_function(  # type: ignore[call-overload]
            FUNCTION,
            self._ip_info,
            ["VARCHAR"],
            duckdb.struct_type(dict(FIELDS)),
            type="arrow",
            null_handling="special",
        )
        if self.confined:
            con.execute(f"SET allowed_directories = [{', '.join(_string(d) for d in sorted(allowed))}]")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        return con

    def _ip_info(self, addresses: pa.Array) -> pa.Array:
        """``ip_info`` over a batch of addresses (see :mod:`trailsql.enrich`)."""
        return enricher_for(self.enrich).arrow(addresses)

    def _confine(self, inputs: Sequence[ScanInput]) -> None:
        """Let a confined connection read the folders of the plan's files, and nothing else.

        DuckDB fixes its allowed folders once file access is locked down, so a plan reading
        a folder not yet allowed gets a new connection allowing it too (the connection keeps
        nothing between runs but the macros): SQL that reached DuckDB's file functions past
        the planner's refusal would still read nothing outside the tables' folders.
        """
        if not self.confined:
            return
        needed = _folders(inputs)
        if needed <= self._allowed:
            return
        self.con.close()
        self._allowed = self._allowed | needed
        self.con = self._connect(self._allowed)

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.spill, ignore_errors=True)

    def cancel(self) -> None:
        """Interrupt the connection's query, or the next one; that run raises CancelledError."""
        self._cancelled = True
        # A closed connection: a confined run is widening its folders (``_confine`` reconnects)
        # before its query starts, and that run sees the flag.
        with contextlib.suppress(duckdb.ConnectionException):
            self.con.interrupt()

    def _spend_cancel(self) -> CancelledError:
        self._cancelled = False
        return CancelledError("query cancelled")

    def run(
        self, plan: Plan, inputs: Sequence[ScanInput], *, strict: bool = False, timeout: float | None = None
    ) -> tuple[pa.Table, EngineStats]:
        """Run a plan over its scans' inputs; bad files are skipped and named in the stats (or
        raise under ``strict``).

        ``timeout`` (seconds) bounds the whole run, retries included: the query is interrupted
        and fails with a :class:`LimitError`, as does one that needs more than the memory limit.
        """
        sql = run_deep(lambda: to_duckdb(plan.tree))  # (a deeply nested query needs a deep stack)
        if used_in(plan.tree):
            enricher_for(self.enrich)  # (a missing or bad data file fails here, named)
        with self._lock:
            self._confine(inputs)
            return self._run(sql, inputs, strict, timeout, tally=True)

    def write_parquet(
        self, files: Sequence[LogFile], rows: Callable[[str], str], target: str, options: str
    ) -> EngineStats:
        """Write the events of ``files`` (JSON CloudTrail logs) to the Parquet file ``target``:
        the lake's ingest. ``rows(view)`` is the SELECT of the rows to write from ``view``,
        which holds every column of the default table and ``"$path"``; ``options`` are
        COPY's (compression, row group size). Bad files are left out and named in the stats;
        events are not counted per file (the ingest counts them in what was written).
        """
        table = default_table("/")
        scan = Scan("__trailsql_ingest", table, tuple(n for n, _ in table.columns), (), path=True)
        copy = f"COPY ({rows(scan.name)}) TO {_string(target)} ({options})"
        with self._lock:
            return self._run(copy, [ScanInput(scan, Listing(list(files)))], False, None, tally=False)[1]

    def rows(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows of trusted SQL of trailsql's own (the lake's, over its Parquet files),
        never of user SQL: that goes through :meth:`run`."""
        with self._lock:
            return self.con.execute(sql, list(parameters)).fetchall()

    def _run(
        self, sql: str, inputs: Sequence[ScanInput], strict: bool, timeout: float | None, tally: bool
    ) -> tuple[pa.Table, EngineStats]:
        with self._deadline(timeout):
            started = time.perf_counter()
            files = _Files()
            while True:
                self._tally.clear()
                try:
                    if self._cancelled:  # (asked before the run, or between two attempts of one)
                        raise self._spend_cancel()
                    self._create_views(inputs, files, tally)
                    relation = self.con.sql(sql)
                    # A statement that returns no rows (the lake's COPY) gives no relation.
                    result = self._interruptible(relation.to_arrow_table) if relation is not None else pa.table({})
                    break
                except (duckdb.InterruptException, RuntimeError) as error:
                    # Interrupted by the deadline, or by Ctrl-C (which DuckDB may turn into this).
                    if not isinstance(error, duckdb.InterruptException) and "interrupted" not in str(error).lower():
                        raise
                    if self._timed_out:
                        raise LimitError(f"query timed out after {timeout:g} s (the timeout)") from None
                    if self._cancelled:
                        raise self._spend_cancel() from None
                    raise KeyboardInterrupt from None
                except duckdb.OutOfMemoryException:
                    limit = f"the memory limit of {self.memory_limit}" if self.memory_limit else "DuckDB's memory limit"
                    raise LimitError(
                        f"query ran out of memory: it needs more than {limit} and {MAX_SPILL} on disk"
                    ) from None
                except duckdb.Error as error:
                    self._recover(inputs, files, error, strict)
                finally:
                    self._drop_views(inputs)
            if self._cancelled:  # (asked as the query ended: the run stops all the same)
                raise self._spend_cancel()
            stats = self._stats(inputs, files)
            if strict and stats.skipped:
                first = stats.skipped[0]
                raise BadInputError(f"{first.path}: {first.reason}")
            stats.elapsed_s = time.perf_counter() - started
            return result, stats

    def _interruptible(self, work: Callable[[], pa.Table]) -> pa.Table:
        """``work()`` on a worker thread while the main thread waits, so that Ctrl-C (delivered
        to the main thread, and only between Python instructions) cancels DuckDB's query
        instead of waiting for it: the query is interrupted and KeyboardInterrupt raised."""
        if threading.current_thread() is not threading.main_thread():
            return work()
        outcome: list[tuple[bool, Any]] = []
        # An event, not Thread.join: a KeyboardInterrupt inside join() leaves the thread marked
        # as stopped while it still runs (CPython's bpo-21822), and the connection still busy.
        done = threading.Event()

        def target() -> None:
            try:
                outcome.append((True, work()))
            except BaseException as error:  # handed to the waiting thread as it is
                outcome.append((False, error))
            finally:
                done.set()

        threading.Thread(target=target, name="trailsql-query", daemon=True).start()
        try:
            while not done.wait(0.1):
                pass
        except KeyboardInterrupt:
            self.con.interrupt()
            done.wait()
            raise
        ok, value = outcome[0]
        if not ok:
            raise value
        return value

    @contextlib.contextmanager
    def _deadline(self, timeout: float | None) -> Iterator[None]:
        """Interrupt the connection's query if it still runs ``timeout`` seconds from now."""
        self._timed_out = False
        if timeout is None:
            yield
            return

        def expire() -> None:
            self._timed_out = True
            self.con.interrupt()

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _recover(self, inputs: Sequence[ScanInput], files: _Files, error: duckdb.Error, strict: bool) -> None:
        """Learn from a failed run which file to read differently or leave out; else raise."""
        message = str(error)
        if files.documents is not None and _MALFORMED.search(message):
            named = self._bad_file(inputs, files.documents, message)
            if named is not None:  # not one JSON document per line: read it as a JSON text
                files.documents.add(named)
                if len(files.documents) >= _DOCUMENT_FILES_BEFORE_ALL:
                    files.documents = None
                return
        too_big = _TOO_BIG.search(message)
        if too_big and too_big.group(1) in {f.path for f in _all_files(inputs)}:
            needed = int(too_big.group(2))
            current = files.big.get(too_big.group(1), 0)
            if current < MAX_OBJECT_BYTES:
                files.big[too_big.group(1)] = min(max(needed * 4, current * 4, 64 << 20), MAX_OBJECT_BYTES)
                return
        bad = self._bad_file(inputs, files.excluded, message)
        if bad is None:
            raise _query_error(error) from None
        if strict:
            shown = next((f.uri for f in _all_files(inputs) if f.path == bad), bad)
            raise BadInputError(f"{shown}: {_clean_message(error)}") from None
        files.excluded[bad] = _clean_message(error)
        files.failures += 1
        if files.failures == _RETRIES_BEFORE_SWEEP:
            files.excluded.update(self._sweep(inputs, files.excluded))

    def _stats(self, inputs: Sequence[ScanInput], files: _Files) -> EngineStats:
        stats = EngineStats()
        # Name files as the user knows them: an S3 object by its URI, not its cached copy.
        uris = {f.path: f.uri for f in _all_files(inputs)}
        stats.skipped = [Skipped(uris.get(path, path), reason) for path, reason in files.excluded.items()]
        for path, count in sorted(self._tally.events.items()):
            if (count is None or count == 0) and path not in self._tally.not_objects:
                stats.skipped.append(Skipped(uris.get(path, path), _no_events(count)))
            stats.events_scanned += count or 0
        skipped = {s.path for s in stats.skipped}
        for path, others in sorted(self._tally.not_objects.items()):  # the file's other events were read
            stats.skipped.append(Skipped(uris.get(path, path), _not_objects(others, self._tally.events.get(path))))
        scanned = {f.path: f.size for f in _all_files(inputs) if f.uri not in skipped and f.path not in skipped}
        stats.files_scanned = len(scanned)
        stats.bytes_scanned = sum(scanned.values())
        return stats

    def _create_views(self, inputs: Sequence[ScanInput], files: _Files, tally: bool) -> None:
        for given in inputs:
            kept = [f for f in given.listing.files if f.path not in files.excluded]
            self.con.execute(
                f"CREATE OR REPLACE TEMP VIEW {_quote(given.scan.name)} AS {self._scan_sql(given, kept, files, tally)}"
            )

    def _drop_views(self, inputs: Sequence[ScanInput]) -> None:
        for given in inputs:
            self.con.execute(f"DROP VIEW IF EXISTS {_quote(given.scan.name)}")
            with contextlib.suppress(duckdb.Error):
                self.con.unregister(given.scan.name + "_files")

    def _scan_sql(self, given: ScanInput, files: list[LogFile], learnt: _Files, tally: bool) -> str:
        """The SELECT that yields one row per event of ``files`` and of the input's lake files."""
        parts = [self._logs_sql(given.scan, files, learnt, tally)] if files or not given.lake else []
        parts += [_lake_sql(given.scan, read) for read in given.lake]
        return " UNION ALL ".join(parts)

    def _logs_sql(self, scan: Scan, files: list[LogFile], learnt: _Files, tally: bool) -> str:
        """The SELECT that yields one row per event of ``files`` with the scan's columns."""
        types = dict(scan.table.columns)
        extras = [*scan.partitions, PATH_COLUMN] if scan.path else list(scan.partitions)
        if scan.record:
            extras.append(RECORD_COLUMN)
        if not files:
            empty = [f"NULL::{duckdb_type(types[name])} AS {_quote(name.lower())}" for name in scan.columns]
            empty += [f"NULL::VARCHAR AS {_quote(p)}" for p in extras]
            return f"SELECT {', '.join(empty) or 'NULL AS __event'} WHERE false"
        events = (
            self._delimited_rows(scan, files)
            if scan.table.delimiter is not None
            else self._json_rows(scan, files, learnt, tally)
        )
        select = [_quote(name.lower()) for name in scan.columns] or ["1 AS __event"]
        if scan.record:
            select.append(f"raw::VARCHAR AS {_quote(RECORD_COLUMN)}")
        if not (scan.partitions or scan.path):
            return f"SELECT {', '.join(select)} FROM ({events})"
        if not scan.partitions and all(f.uri == f.path for f in files):
            # "$path" is the file name itself: no join with the table of files needed.
            return f"SELECT {', '.join([*select, f'filename AS {_quote(PATH_COLUMN)}'])} FROM ({events})"
        # Partition values and "$path" come from a small table of the files, joined by name.
        files_view = scan.name + "_files"
        columns: dict[str, list[str | None]] = {"path": [f.path for f in files], "uri": [f.uri for f in files]}
        for p in scan.partitions:
            columns[p] = [dict(f.partition).get(p) for f in files]
        self.con.register(files_view, pa.table(columns, schema=pa.schema([(c, pa.string()) for c in columns])))
        select += [f"f.{_quote(p)} AS {_quote(p)}" for p in scan.partitions]
        if scan.path:
            select.append(f"f.uri AS {_quote(PATH_COLUMN)}")
        return f"SELECT {', '.join(select)} FROM ({events}) AS e JOIN {_quote(files_view)} AS f ON f.path = e.filename"

    def _json_rows(self, scan: Scan, files: list[LogFile], learnt: _Files, tally: bool) -> str:
        """Rows of JSON files: the scan's columns by name, ``filename``, and ``raw`` if asked.

        Files known to hold a JSON document over DuckDB's default 16 MiB are read by a
        second reader with a larger limit: raising the limit for every file costs time.
        Files known not to hold a document a line are read by the ``unstructured`` reader.
        """
        table, types = scan.table, dict(scan.table.columns)
        # from_json needs at least one field; a query that names no column (count(*)) gets a small one.
        wanted = {table.json_key(n): _structure(types[n]) for n in scan.columns} or {"eventVersion": "VARCHAR"}
        readers = []
        for group, limit, layout, compression in _reader_groups(files, learnt):
            file_list = "[" + ", ".join(_path(f.path) for f in group) + "]"
            option = f", maximum_object_size={limit}" if limit else ""
            readers.append(
                f"SELECT json, filename FROM read_json_objects({file_list}, format='{layout}', "
                f"compression='{compression}', filename=true{option})"
            )
        documents = " UNION ALL ".join(readers)
        if table.unwraps_records:
            # An element of Records that is not an object ("a", 1, null) is no event, as in Athena's
            # reader: from_json would make it a row of NULLs, so each element's JSON type goes beside it.
            shape = json.dumps({"Records": ["JSON" if scan.record else wanted]})
            objects = "len(list_filter(t, lambda x: x = 'OBJECT'))"
            counted = f" WHERE __trailsql_tally(filename, len(d.Records), {objects})" if tally else ""
            parsed = (
                f"SELECT from_json(json, {_string(shape)}) AS d, json_type(json, '$.Records[*]') AS t, filename "
                f"FROM ({documents})"
            )
            rows = (
                f"SELECT r, filename FROM (SELECT unnest(d.Records) AS r, unnest(t) AS t, filename "
                f"FROM ({parsed}){counted}) WHERE t = 'OBJECT'"
            )
        else:  # every JSON value in the file is a row
            rows = (
                f"SELECT {'json' if scan.record else f'from_json(json, {_string(json.dumps(wanted))})'} AS r, filename "
            )
            rows += f"FROM ({documents})" + (" WHERE __trailsql_tally(filename, 1, 1)" if tally else "")
        if scan.record:  # keep each event's JSON text, and parse the columns out of it
            rows = f"SELECT from_json(r, {_string(json.dumps(wanted))}) AS r, r AS raw, filename FROM ({rows})"
        columns = [f"r.{_quote(table.json_key(n))} AS {_quote(n.lower())}" for n in scan.columns]
        return f"SELECT {', '.join([*columns, 'filename', *(['raw'] if scan.record else [])])} FROM ({rows})"

    def why_no_events(self, paths: list[str]) -> dict[str, str]:
        """Why each of these JSON log files, read without a tally, gave no events."""
        shape = _string(json.dumps({"Records": ["JSON"]}))
        why: dict[str, str] = {}
        # (Rare, small files: one at a time, so that one unreadable file names itself.)
        for path in paths:
            try:
                row = self.con.execute(
                    f"SELECT sum(len(from_json(json, {shape}).Records)), "
                    f"sum(len(list_filter(json_type(json, '$.Records[*]'), lambda x: x <> 'OBJECT'))) "
                    f"FROM read_json_objects({_path(path)}, format='unstructured', compression='{_compression(path)}')"
                ).fetchone()
                count, others = row if row is not None else (None, 0)
                why[path] = _not_objects(others, 0) if others else _no_events(count)
            except duckdb.Error as error:
                why[path] = _clean_message(error)
        return why

    def _delimited_rows(self, scan: Scan, files: list[LogFile]) -> str:
        """Rows of a ``ROW FORMAT DELIMITED`` table: fields by position, misfits NULL as in Hive."""
        table = scan.table
        if scan.record:
            raise NotSupportedError(f'"{RECORD_COLUMN}" of a delimited table')
        fields = {f"c{i}": "VARCHAR" for i in range(len(table.columns))}
        skip = int(table.properties.get("skip.header.line.count", "0"))
        file_list = "[" + ", ".join(_path(f.path) for f in files) + "]"
        reader = (
            f"read_csv({file_list}, delim={_string(table.delimiter or ',')}, header=false, skip={skip}, "
            f"columns={fields!r}, auto_detect=false, null_padding=true, strict_mode=false, quote='', escape='', "
            "filename=true)"
        )
        position = {name: i for i, (name, _) in enumerate(table.columns)}
        types = dict(table.columns)
        columns = [f"TRY_CAST(c{position[n]} AS {duckdb_type(types[n])}) AS {_quote(n.lower())}" for n in scan.columns]
        return f"SELECT {', '.join([*columns, 'filename'])} FROM {reader} WHERE __trailsql_tally(filename, 1, 1)"

    def _bad_file(self, inputs: Sequence[ScanInput], known: Collection[str], message: str) -> str | None:
        """The file a DuckDB error message names, if it is one of the scans' files not already ``known``.

        The name is parsed out of the message and compared whole (see :func:`_named_file`):
        a substring test blamed a good ``a.json.gz`` for a bad ``a.json.gz.bak``.
        """
        named = _named_file(message)
        paths = {f.path for f in _all_files(inputs)} - set(known)
        if named is not None:
            return named if named in paths else None
        # A message of a shape not parsed: read the files it may name one at a time.
        return next((path for path in sorted(p for p in paths if p in message) if self._unreadable(path)), None)

    def _unreadable(self, path: str) -> str | None:
        """Why one JSON file cannot be read whole (None: it can)."""
        try:
            self.con.execute(
                f"SELECT count(*) FROM read_json_objects({_path(path)}, format='unstructured', "
                f"compression='{_compression(path)}', maximum_object_size={MAX_OBJECT_BYTES})"
            ).fetchall()
        except duckdb.Error as error:
            return _clean_message(error)
        return None

    def _sweep(self, inputs: Sequence[ScanInput], excluded: dict[str, str]) -> dict[str, str]:
        """Read every remaining file once on its own, to find all the bad ones at once."""
        bad: dict[str, str] = {}
        for path in (f.path for f in _all_files(inputs)):
            why = None if path in excluded else self._unreadable(path)
            if why is not None:
                bad[path] = why
        return bad


def _named_file(message: str) -> str | None:
    """The file name a DuckDB reader error gives, whole, from its first line.

    >>> _named_file('Invalid Input Error: Malformed JSON in file "/l/a.json.gz.bak", at byte 1 in line 2: x')
    '/l/a.json.gz.bak'
    >>> _named_file("IO Error: Unexpected end of GZIP stream: /l/X.json.gz")
    '/l/X.json.gz'
    """
    line = message.strip().splitlines()[0] if message.strip() else ""
    for pattern in _FILE_NAMED:
        found = pattern.search(line)
        if found:
            return found.group(1)
    return None


def _no_events(count: int | None) -> str:
    """Why a JSON log file gave no events: ``count`` is the length of its ``Records`` (None: none)."""
    return "not a CloudTrail log file (no Records array)" if count is None else "no events (empty Records array)"


def _not_objects(count: int, events: int | None) -> str:
    """Why a file's ``Records`` elements were left out.

    >>> _not_objects(2, 5)
    '2 Records elements are not JSON objects: left out (its 5 events were read)'
    """
    elements = (
        "1 Records element is not a JSON object" if count == 1 else f"{count} Records elements are not JSON objects"
    )
    return f"{elements}: left out (its {events or 0} events were read)"


def _folders(inputs: Sequence[ScanInput]) -> frozenset[str]:
    """The folders a run reads: per scan, the deepest folder holding all its files (a table's
    location, the lake, the S3 cache), or each file's own folder where that is the root.

    >>> sorted(_folders([]))
    []
    """
    folders: set[str] = set()
    for given in inputs:
        paths = [f.path for f in given.listing.files] + [p for read in given.lake for p in read.files]
        if not paths:
            continue
        # The common folder of the lexicographically first and last paths is every path's: the
        # paths between share their prefix (no per-file call on this hot path, 20,000 files a query).
        common = os.path.commonpath([os.path.dirname(min(paths)), os.path.dirname(max(paths))])
        at_root = common == os.path.dirname(common)  # then each file's folder, not everything
        folders |= {os.path.dirname(p) for p in paths} if at_root else {common}
    return frozenset(f.rstrip("/") + "/" for f in folders)


def _all_files(inputs: Sequence[ScanInput]) -> Iterator[LogFile]:
    for given in inputs:
        yield from given.listing.files


def _reader_groups(files: list[LogFile], learnt: _Files) -> Iterator[tuple[list[LogFile], int | None, str, str]]:
    """Files in groups that share one reader: ``maximum_object_size`` (None: DuckDB's default),
    format and compression."""
    groups: dict[tuple[int | None, str, str], list[LogFile]] = {}
    for f in files:
        whole = learnt.documents is None or f.path in learnt.documents
        key = (learnt.big.get(f.path), "unstructured" if whole else "newline_delimited", _compression(f.path))
        groups.setdefault(key, []).append(f)
    for (limit, layout, compression), group in groups.items():
        yield group, limit, layout, compression


@dataclass
class _Files:
    """What the engine learnt about files from failed runs of one query.

    ``documents`` are the files not written a JSON document a line (None: read every file
    so); ``big`` those whose documents need a larger ``maximum_object_size``.
    """

    excluded: dict[str, str] = field(default_factory=dict)
    big: dict[str, int] = field(default_factory=dict)
    documents: set[str] | None = field(default_factory=set)
    failures: int = 0


_MALFORMED = re.compile(r'Malformed JSON in file "')

#: Glob characters of DuckDB's file readers (see :func:`_path`).
_GLOB = re.compile(r"([*?\[])")

#: Where DuckDB's reader errors name the file: the whole name, up to the text that follows it.
_FILE_NAMED = [
    re.compile(r'in file "(.+)", at byte \d+'),
    re.compile(r"GZIP[^:\"]*: (.+?)\s*$"),
    re.compile(r'while reading file "(.+)" \(>\d+ bytes\)'),
    re.compile(r'(?:file|File) "(.+)"'),
]
_TOO_BIG = re.compile(r'"maximum_object_size" of \d+ bytes exceeded while reading file "(.+?)" \(>(\d+) bytes\)')

#: DuckDB errors that mean a construct we cannot run, and what to call it.
_UNSUPPORTED = [
    (re.compile(r"UNNEST\(\) can only be applied to lists, structs and NULL, not MAP"), "UNNEST of a MAP"),
    (
        re.compile(r'Referenced (table|column) "eventData" not found'),
        "eventData: AWS Config items are not CloudTrail events",
    ),
    (
        re.compile(r'Referenced column "eventJsonChecksum" not found', re.IGNORECASE),
        "eventJsonChecksum (Lake's own checksum)",
    ),
]


_TRINO_FAILURE = re.compile(r"Could not convert string 'TRINO_ERROR: (.*)' to INT32", re.DOTALL)


def _query_error(error: duckdb.Error) -> TrailsqlError:
    """The error to raise for a failed query: not-supported constructs say so."""
    message = _clean_message(error)
    failed = _TRINO_FAILURE.match(message)
    if failed:  # a macro's trino_fail: Trino's own message
        return TrailsqlError(failed.group(1))
    if message.startswith("Division by zero"):
        return TrailsqlError("DIVISION_BY_ZERO: Division by zero")
    if message.startswith("not supported: "):
        return NotSupportedError(message[len("not supported: ") :])
    for pattern, what in _UNSUPPORTED:
        if pattern.search(message):
            return NotSupportedError(what)
    return TrailsqlError(message.rstrip("!") + _suggestion(message, str(error)))


#: DuckDB's binder errors naming what a query got wrong: a column, a struct key, or the
#: first part of a dotted name (``useridentty.arn``), which may be a table or a column.
_MISSING = [
    re.compile(r'^Referenced column "(.+?)" not found'),
    re.compile(r'does not have a column named "(.+?)"'),
    re.compile(r'^Could not find key "(.+?)" in struct'),
    re.compile(r'^Referenced table "(.+?)" not found'),
]
_CANDIDATES = re.compile(r"^Candidate (?:bindings|tables|Entries):(.*)$", re.MULTILINE)
_QUOTED = re.compile(r'"([^"]+)"')
_CLOUDTRAIL_COLUMNS = [name.lower() for name, _ in default_columns()] + list(PARTITION_COLUMNS)


def _suggestion(message: str, raw: str) -> str:
    """``; did you mean `eventname`?`` for a name DuckDB could not bind, else "".

    >>> _suggestion('Referenced table "useridentty" not found!', 'Candidate tables: "c"')
    '; did you mean `useridentity`?'
    """
    missing = next((m.group(1) for pattern in _MISSING if (m := pattern.search(message))), None)
    if missing is None:
        return ""
    listed = [name for line in _CANDIDATES.findall(raw) for name in _QUOTED.findall(line)]
    best = _closest(missing.lower(), _candidates(message, listed))
    return "; did you mean " + " or ".join(f"`{name}`" for name in best) + "?" if best else ""


def _closest(name: str, names: list[str]) -> list[str]:
    """The names most like ``name``: the best and any nearly as good (at most three).

    >>> _closest("eventnme", ["eventname", "eventtime", "eventsource"])
    ['eventname']
    """
    scored = sorted(((difflib.SequenceMatcher(None, name, n).ratio(), n) for n in set(names)), reverse=True)
    if not scored:
        return []
    floor = max(0.6, scored[0][0] - 0.1)  # difflib's own cutoff, and no far second guesses
    return [n for ratio, n in scored[:3] if ratio >= floor]


def _candidates(message: str, listed: list[str]) -> list[str]:
    """The names to suggest from: DuckDB's, and for a column those of a CloudTrail table.

    The engine's scan views hold only the columns a query names (and ``__``-prefixed
    internals), so DuckDB lists few of the table's columns; CloudTrail's are added unless
    DuckDB's candidates show the name was looked up elsewhere (a subquery, VALUES). The
    head of a dotted name DuckDB takes for a table may be a struct column's.
    """
    names = [n.lower() for n in listed if not n.startswith("__")]
    if message.startswith("Could not find key"):
        return names
    from_scan = message.startswith("Referenced table") or not listed
    from_scan = from_scan or any(n.startswith("__") or n.lower() in _CLOUDTRAIL_COLUMNS for n in listed)
    return names + _CLOUDTRAIL_COLUMNS if from_scan else names


def _clean_message(error: Exception) -> str:
    """DuckDB's message without its error class prefix and trailing hints."""
    text = str(error).strip().splitlines()[0]
    for prefix in (
        "Invalid Input Error: ",
        "IO Error: ",
        "Binder Error: ",
        "Conversion Error: ",
        "Parser Error: ",
        "Catalog Error: ",
        "Not implemented Error: ",
        "Out of Range Error: ",
    ):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text
