"""The embedded engine: DuckDB, reading CloudTrail's gzipped JSON directly.

A scan of a table becomes a temporary view over ``read_json_objects``: each file is one
JSON document ``{"Records": [...]}``, parsed by ``from_json`` into the structure of only
the columns the query uses, and unnested into one row per event. (DuckDB's ``read_json``
with a ``columns`` argument is several times slower on this shape, see the benchmark.)

A file DuckDB cannot read (truncated gzip, invalid JSON) fails the query with its name
in the message: the engine takes it out, notes why, and runs the query again. Files
that parse but hold no ``Records`` array are noted by a per-file tally that also counts
the events scanned, at no extra pass over the data.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from trailsql.engines.macros import MACROS
from trailsql.errors import BadInputError, TrailsqlError
from trailsql.schema import PATH_COLUMN, Array, HiveType, Map, Struct, duckdb_type, json_key
from trailsql.sql.planner import Plan, Scan

#: DuckDB refuses JSON documents larger than 16 MiB by default; CloudTrail files can be.
MAX_OBJECT_BYTES = 1 << 30

#: After this many failed runs that each named one bad file, check every file at once.
_RETRIES_BEFORE_SWEEP = 3


@dataclass
class Skipped:
    """A file left out of a query, and why."""

    path: str
    reason: str


@dataclass
class RunStats:
    """What a query read. ``files_skipped`` are the bad files left out."""

    files_listed: int = 0
    files_scanned: int = 0
    files_pruned: int = 0
    bytes_scanned: int = 0
    events_scanned: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    elapsed_s: float = 0.0

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
            "elapsed_s": round(self.elapsed_s, 3),
            "athena_cost_usd": self.athena_cost_usd,
        }


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


class _Tally:
    """Per-file counts reported by the scans while a query runs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: dict[str, int | None] = {}

    def __call__(self, files: pa.Array, counts: pa.Array) -> pa.Array:
        with self.lock:
            for name, count in zip(files.to_pylist(), counts.to_pylist(), strict=True):
                self.events[name] = count
        return pa.array([True] * len(files), pa.bool_())


class DuckDBEngine:
    """Runs plans on an in-process DuckDB with Trino's semantics switched on."""

    def __init__(self, threads: int | None = None) -> None:
        self.con = duckdb.connect(config={"threads": threads} if threads else {})
        self.con.execute("SET integer_division = true")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(MACROS)
        self._tally = _Tally()
        self.con.create_function(  # type: ignore[call-overload]
            "__trailsql_tally", self._tally, ["VARCHAR", "BIGINT"], "BOOLEAN", type="arrow", side_effects=True
        )
        self._lock = threading.Lock()

    def close(self) -> None:
        self.con.close()

    def run(self, plan: Plan, strict: bool = False) -> tuple[pa.Table, RunStats]:
        """Run a plan; bad files are skipped and named in the stats (or raise under ``strict``)."""
        with self._lock:
            started = time.perf_counter()
            stats = RunStats(
                files_listed=sum(s.listing.listed for s in plan.scans),
                files_pruned=sum(s.listing.pruned for s in plan.scans),
            )
            excluded: dict[str, str] = {}
            failures = 0
            while True:
                self._tally.events.clear()
                self._create_views(plan.scans, excluded)
                try:
                    result = self.con.sql(plan.sql).to_arrow_table()
                    break
                except duckdb.Error as error:
                    bad = self._bad_file(plan.scans, excluded, str(error))
                    if bad is None:
                        raise TrailsqlError(_clean_message(error)) from None
                    if strict:
                        raise BadInputError(f"{bad}: {_clean_message(error)}") from None
                    excluded[bad] = _clean_message(error)
                    failures += 1
                    if failures == _RETRIES_BEFORE_SWEEP:
                        excluded.update(self._sweep(plan.scans, excluded))
                finally:
                    self._drop_views(plan.scans)
            scanned = {f.path: f.size for s in plan.scans for f in s.listing.files if f.path not in excluded}
            stats.skipped = [Skipped(path, reason) for path, reason in excluded.items()]
            for path, count in sorted(self._tally.events.items()):
                if count is None:
                    stats.skipped.append(Skipped(path, "not a CloudTrail log file (no Records array)"))
                elif count == 0:
                    stats.skipped.append(Skipped(path, "no events (empty Records array)"))
                stats.events_scanned += count or 0
            if strict and stats.skipped:
                first = stats.skipped[0]
                raise BadInputError(f"{first.path}: {first.reason}")
            stats.files_scanned = len(scanned)
            stats.bytes_scanned = sum(scanned.values())
            stats.elapsed_s = time.perf_counter() - started
            return result, stats

    def _create_views(self, scans: list[Scan], excluded: dict[str, str]) -> None:
        for scan in scans:
            files = [f for f in scan.listing.files if f.path not in excluded]
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {_quote(scan.view)} AS {self._scan_sql(scan, files)}")

    def _drop_views(self, scans: list[Scan]) -> None:
        for scan in scans:
            self.con.execute(f"DROP VIEW IF EXISTS {_quote(scan.view)}")
            self.con.unregister(scan.view + "_files")

    def _scan_sql(self, scan: Scan, files: list) -> str:  # type: ignore[type-arg]
        """The SELECT that yields one row per event of ``files`` with the scan's columns."""
        partition_names = scan.table.partition_names
        select = [f"r.{_quote(json_key(name))} AS {_quote(name.lower())}" for name in scan.columns]
        if not files:
            types = dict(scan.table.columns)
            empty = [f"NULL::{duckdb_type(types[name])} AS {_quote(name.lower())}" for name in scan.columns]
            empty += [f"NULL::VARCHAR AS {_quote(p)}" for p in partition_names] + [
                f"NULL::VARCHAR AS {_quote(PATH_COLUMN)}"
            ]
            return f"SELECT {', '.join(empty) or 'NULL AS __none'} WHERE false"
        structure = json.dumps(
            {"Records": [{json_key(n): _structure(t) for n, t in scan.table.columns if n in scan.columns}]}
        )
        file_list = "[" + ", ".join(_string(f.path) for f in files) + "]"
        events = (
            f"SELECT unnest(d.Records) AS r, filename FROM ("
            f"SELECT from_json(json, {_string(structure)}) AS d, filename "
            f"FROM read_json_objects({file_list}, format='unstructured', filename=true, "
            f"maximum_object_size={MAX_OBJECT_BYTES})) WHERE __trailsql_tally(filename, len(d.Records))"
        )
        files_view = scan.view + "_files"
        columns = {"path": [f.path for f in files], "uri": [f.uri for f in files]}
        for p in partition_names:
            columns[p] = [dict(f.partition).get(p) for f in files]
        self.con.register(files_view, pa.table(columns, schema=pa.schema([(c, pa.string()) for c in columns])))
        select += [f"f.{_quote(p)} AS {_quote(p)}" for p in partition_names]
        select.append(f"f.uri AS {_quote(PATH_COLUMN)}")
        if not scan.columns:
            select.insert(0, "1 AS __event")
        return f"SELECT {', '.join(select)} FROM ({events}) AS e JOIN {_quote(files_view)} AS f ON f.path = e.filename"

    def _bad_file(self, scans: list[Scan], excluded: dict[str, str], message: str) -> str | None:
        """The file a DuckDB error message names, if it is one of the scans' files."""
        for path in _paths(scans):
            if path not in excluded and path in message:
                return path
        return None

    def _sweep(self, scans: list[Scan], excluded: dict[str, str]) -> dict[str, str]:
        """Read every remaining file once on its own, to find all the bad ones at once."""
        bad: dict[str, str] = {}
        for path in _paths(scans):
            if path in excluded:
                continue
            try:
                self.con.execute(
                    f"SELECT count(*) FROM read_json_objects({_string(path)}, format='unstructured', "
                    f"maximum_object_size={MAX_OBJECT_BYTES})"
                ).fetchall()
            except duckdb.Error as error:
                bad[path] = _clean_message(error)
        return bad


def _paths(scans: list[Scan]) -> Iterator[str]:
    for scan in scans:
        for f in scan.listing.files:
            yield f.path


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
