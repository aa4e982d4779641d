"""The planner alone: partitions and columns chosen from SQL, with no file anywhere.

The plan stage reads no file and no network (the listing stage does that): these tests
plan over tables whose locations do not exist, record every file system and socket call
made while planning (there must be none), and check what each scan will read from the
SQL alone.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from sqlglot import exp

from trailsql.catalog.ddl import table_from_ddl
from trailsql.catalog.table import Table, default_table
from trailsql.errors import CatalogError, ProgrammingError
from trailsql.seed import load_seed
from trailsql.sql.parse import parse_one
from trailsql.sql.planner import Plan, plan_query

NOWHERE = "/nonexistent/trailsql/logs"


class Catalog:
    """The default table over a folder that does not exist, the seed's projected table, a view."""

    def __init__(self) -> None:
        create = load_seed()[0].sql
        seed = table_from_ddl(parse_one(create), create)  # type: ignore[arg-type]
        self.seed = dataclasses.replace(seed, name="seed_trail")  # (the seed names its table cloudtrail_logs)
        self.tables: dict[str, Table] = {"cloudtrail_logs": default_table(NOWHERE), self.seed.name: self.seed}
        self.views = {
            "console_logins": "SELECT eventtime, sourceipaddress FROM cloudtrail_logs WHERE eventname = 'ConsoleLogin'"
        }

    def table(self, name: str) -> Table | None:
        return self.tables.get(name)

    def view(self, name: str) -> str | None:
        return self.views.get(name)

    def names(self) -> list[str]:
        return sorted([*self.tables, *self.views])


@contextlib.contextmanager
def io_recorded() -> Iterator[list[str]]:
    """Every file system or network call made within, recorded (and let through)."""
    seen: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        for module, name in [(os, n) for n in ("stat", "lstat", "scandir", "listdir", "open")] + [
            (builtins, "open"),
            (socket, "socket"),
            (socket, "create_connection"),
        ]:
            real = getattr(module, name)

            def record(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
                seen.append(f"{_name}{args!r}")
                return _real(*args, **kwargs)

            patch.setattr(module, name, record)
        yield seen


def plan(sql: str, catalog: Catalog | None = None) -> Plan:
    """The plan of ``sql``, made with no file system or network access (else the test fails)."""
    catalog = catalog or Catalog()
    with io_recorded() as seen:
        found = plan_query(parse_one(sql), catalog)
    assert seen == [], f"planning touched the file system or network: {seen}"
    return found


def test_columns_and_partitions_come_from_the_sql() -> None:
    found = plan("SELECT eventname, useridentity.arn FROM cloudtrail_logs WHERE year = '2025' AND day = '12'")
    [scan] = found.scans
    assert {c.lower() for c in scan.columns} == {"eventname", "useridentity"}
    assert set(scan.partitions) == {"year", "day"}
    assert (scan.path, scan.record) == (False, False)
    assert scan.fields_only == {"useridentity": frozenset({("arn",)})}
    assert scan.allows({"year": "2025", "day": "12"})
    assert not scan.allows({"year": "2024", "day": "12"})
    assert not scan.allows({"year": "2025", "day": "13"})
    assert scan.allows({"year": "2025"})  # a folder above the day: its days may match


def test_a_range_and_an_or_prune_as_three_valued_logic() -> None:
    [scan] = plan(
        "SELECT count(*) FROM cloudtrail_logs WHERE (day BETWEEN '10' AND '12' OR day = '20') AND eventname = 'x'"
    ).scans
    assert {c.lower() for c in scan.columns} == {"eventname"}
    assert [d for d in ("09", "10", "12", "13", "20") if scan.allows({"day": d})] == ["10", "12", "20"]


def test_star_reads_every_column_and_the_path() -> None:
    [scan] = plan("SELECT * FROM cloudtrail_logs").scans
    assert len(scan.columns) == len(default_table(NOWHERE).columns)
    assert scan.path and not scan.record
    assert scan.allows({"year": "1999"})  # no predicate: every partition


def test_each_reference_of_a_self_join_has_its_own_predicates() -> None:
    found = plan(
        "SELECT a.eventname FROM cloudtrail_logs a JOIN cloudtrail_logs b ON a.eventid = b.eventid "
        "WHERE a.day = '01' AND b.day = '02'"
    )
    first, second = found.scans
    assert first.name != second.name
    assert [first.allows({"day": d}) for d in ("01", "02")] == [True, False]
    assert [second.allows({"day": d}) for d in ("01", "02")] == [False, True]
    assert {c.lower() for c in second.columns} == {"eventname", "eventid"}  # names are shared: a superset is read


def test_the_plan_stays_trino_sql_with_named_scans() -> None:
    found = plan("SELECT json_extract_scalar(requestparameters, '$.bucketName') AS b FROM cloudtrail_logs")
    [scan] = found.scans
    tables = [t.name for t in found.tree.find_all(exp.Table)]
    assert tables == [scan.name]
    text = found.tree.sql("trino")
    assert "JSON_EXTRACT_SCALAR(requestparameters, '$.bucketName')" in text  # no engine's dialect yet
    assert found.scan(scan.name) is scan


def test_a_projected_table_keeps_the_query_s_predicates_for_listing() -> None:
    catalog = Catalog()
    name = catalog.seed.name
    sql = f"SELECT eventname, \"$path\" FROM {name} WHERE region = 'us-east-1' AND year = '2025' AND month >= '02'"
    [scan] = plan(sql, catalog).scans
    assert scan.table is catalog.seed and scan.path
    assert scan.predicate is not None
    assert scan.allows({"account": "123456789012", "region": "us-east-1", "year": "2025", "month": "03"})
    assert not scan.allows({"region": "eu-west-1", "year": "2025", "month": "03"})
    assert not scan.allows({"region": "us-east-1", "year": "2025", "month": "01"})
    assert not scan.allows({"year": "2024"})


def test_views_expand_and_pseudo_columns_are_asked_for() -> None:
    [scan] = plan("SELECT count(*) FROM console_logins").scans
    assert {c.lower() for c in scan.columns} == {"eventtime", "sourceipaddress", "eventname"}
    [scan] = plan('SELECT "$record" FROM cloudtrail_logs').scans
    assert scan.record and not scan.path


def test_an_unknown_table_is_a_programming_error_with_a_suggestion() -> None:
    with pytest.raises(CatalogError, match="did you mean `cloudtrail_logs`") as error:
        plan("SELECT 1 FROM cloudtrail_log")
    assert isinstance(error.value, ProgrammingError)


def test_planning_reads_no_file_even_for_a_missing_location() -> None:
    """The location does not exist, and nothing here says so: that is the listing stage's to find."""
    [scan] = plan("SELECT count(*) FROM cloudtrail_logs").scans
    assert scan.table.location == NOWHERE
