"""The DB-API 2.0 (PEP 249) interface: ``trailsql.connect(logs=...)``, shaped like PyAthena.

pyformat parameters (``%(name)s``) become SQL literals with quotes escaped; the cursor
fetches one, many or all rows, iterates, describes its columns (lower-cased names, as
Athena returns them) and counts its rows; ``as_arrow()`` and ``as_pandas()`` give the
whole result; the connection is a context manager. Expected rows come from the records
written here.
"""

from __future__ import annotations

import datetime as dt
import types
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import trailsql
from trailsql import dbapi

ACCOUNT = "123456789012"

#: (eventID, eventName, userName, hour) of the events written, over two files.
EVENTS = [
    ("e1", "ConsoleLogin", "alice", 8),
    ("e2", "GetObject", "alice", 9),
    ("e3", "PutObject", "bob", 10),
    ("e4", "GetObject", "o'brien", 11),
    ("e5", "DeleteBucket", "o'brien", 12),
    ("e6", "GetObject", "carol", 13),
    ("e7", "ListBuckets", "alice", 14),
]
ORDERED = "SELECT eventID, eventName, userIdentity.userName AS UserName FROM cloudtrail_logs ORDER BY eventID"


def record(event_id: str, name: str, user: str, hour: int) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "accountId": ACCOUNT, "userName": user},
        "eventTime": f"2025-02-12T{hour:02d}:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "eventID": event_id,
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }


def rows(events: list[tuple[str, str, str, int]]) -> list[tuple[str, str, str]]:
    return [(e, n, u) for e, n, u, _ in sorted(events)]


@pytest.fixture
def logs(write_logs: Any) -> Path:
    write_logs([record(*e) for e in EVENTS[:4]])
    write_logs([record(*e) for e in EVENTS[4:]])
    return write_logs.root  # type: ignore[no-any-return]


@pytest.fixture
def conn(logs: Path) -> Any:
    connection = trailsql.connect(logs=logs)
    yield connection
    connection.close()


# --- module globals --------------------------------------------------------------------


def test_module_globals() -> None:
    assert dbapi.apilevel == "2.0"
    assert dbapi.paramstyle == "pyformat"
    assert dbapi.threadsafety in (0, 1, 2, 3)
    assert callable(dbapi.connect)
    assert issubclass(dbapi.ProgrammingError, dbapi.Error)
    assert issubclass(dbapi.DatabaseError, dbapi.Error)


def test_top_level_package_is_the_dbapi_module() -> None:
    """``trailsql.connect`` is the documented entry point, so ``trailsql`` is the module PEP 249
    speaks of: it must carry the globals tools look for (``apilevel``, ``paramstyle``...)."""
    module: types.ModuleType = trailsql
    assert module.connect is dbapi.connect
    assert getattr(module, "apilevel", None) == "2.0"
    assert getattr(module, "paramstyle", None) == "pyformat"
    assert getattr(module, "threadsafety", None) in (0, 1, 2, 3)


# --- parameters ------------------------------------------------------------------------


def test_execute_with_a_pyformat_parameter(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute(
        "SELECT eventid FROM cloudtrail_logs WHERE useridentity.username = %(name)s ORDER BY eventid", {"name": "alice"}
    )
    assert cur.fetchall() == [(e,) for e, _, u, _ in EVENTS if u == "alice"]


def test_parameter_with_a_single_quote_is_escaped(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute(
        "SELECT eventid, useridentity.username AS who FROM cloudtrail_logs WHERE useridentity.username = %(name)s "
        "ORDER BY eventid",
        {"name": "o'brien"},
    )
    assert cur.fetchall() == [(e, u) for e, _, u, _ in EVENTS if u == "o'brien"]


def test_parameter_cannot_inject_sql(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("SELECT count(*) AS n FROM cloudtrail_logs WHERE eventname = %(name)s", {"name": "x' OR '1'='1"})
    assert cur.fetchone() == (0,)


def test_parameters_of_several_types(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute(
        "SELECT eventid FROM cloudtrail_logs WHERE from_iso8601_timestamp(eventtime) >= %(since)s "
        "AND eventname IN %(names)s ORDER BY eventid LIMIT %(n)s",
        {"since": dt.datetime(2025, 2, 12, 10, 0), "names": ("GetObject", "PutObject"), "n": 2},
    )
    wanted = [e for e, name, _, hour in EVENTS if hour >= 10 and name in ("GetObject", "PutObject")]
    assert cur.fetchall() == [(e,) for e in sorted(wanted)[:2]]


def test_percent_signs_without_and_with_parameters(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("SELECT eventid FROM cloudtrail_logs WHERE eventname LIKE 'Get%' ORDER BY eventid")
    gets = [(e,) for e, name, _, _ in EVENTS if name.startswith("Get")]
    assert cur.fetchall() == gets
    # With parameters a literal % is written %% (pyformat, as PyAthena).
    cur.execute(
        "SELECT eventid FROM cloudtrail_logs WHERE eventname LIKE 'Get%%' AND useridentity.username = %(u)s",
        {"u": "carol"},
    )
    assert cur.fetchall() == [(e,) for e, name, u, _ in EVENTS if name.startswith("Get") and u == "carol"]


# --- fetching --------------------------------------------------------------------------


def test_fetchone_until_none(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute(ORDERED)
    fetched = []
    while (row := cur.fetchone()) is not None:
        fetched.append(row)
    assert fetched == rows(EVENTS)
    assert cur.fetchone() is None


def test_fetchmany(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute(ORDERED)
    expected = rows(EVENTS)
    assert cur.fetchmany(3) == expected[:3]
    assert cur.fetchmany(3) == expected[3:6]
    assert cur.fetchmany(3) == expected[6:]
    assert cur.fetchmany(3) == []


def test_fetchmany_defaults_to_arraysize(conn: Any) -> None:
    cur = conn.cursor()
    cur.arraysize = 2
    cur.execute(ORDERED)
    assert cur.fetchmany() == rows(EVENTS)[:2]


def test_fetchall_returns_the_remaining_rows(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute(ORDERED)
    expected = rows(EVENTS)
    assert cur.fetchone() == expected[0]
    assert cur.fetchall() == expected[1:]
    assert cur.fetchall() == []


def test_iteration(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute(ORDERED)
    assert list(cur) == rows(EVENTS)
    cur.execute(ORDERED)
    assert [row[0] for row in cur] == [e for e, *_ in sorted(EVENTS)]


def test_execute_again_resets_the_position(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute(ORDERED)
    cur.fetchall()
    cur.execute(ORDERED)
    assert cur.fetchall() == rows(EVENTS)


# --- description and rowcount ----------------------------------------------------------


def test_description_before_and_after_execute(conn: Any) -> None:
    cur = conn.cursor()
    assert cur.description is None
    cur.execute(ORDERED)
    description = cur.description
    assert [d[0] for d in description] == ["eventid", "eventname", "username"]
    assert all(len(d) == 7 for d in description)


def test_rowcount(conn: Any) -> None:
    cur = conn.cursor()
    assert cur.rowcount == -1
    cur.execute(ORDERED)
    assert cur.rowcount == len(EVENTS)
    cur.execute("SELECT eventid FROM cloudtrail_logs WHERE eventname = %(n)s", {"n": "GetObject"})
    assert cur.rowcount == sum(name == "GetObject" for _, name, _, _ in EVENTS)
    cur.execute("SELECT eventid FROM cloudtrail_logs WHERE eventname = 'Nothing'")
    assert cur.rowcount == 0
    assert cur.fetchall() == []


def test_aggregate_result(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1")
    assert [d[0] for d in cur.description] == ["eventname", "n"]
    assert dict(cur.fetchall()) == Counter(name for _, name, _, _ in EVENTS)


# --- Arrow and pandas ------------------------------------------------------------------


def test_as_arrow(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute(ORDERED)
    table = cur.as_arrow()
    assert isinstance(table, pa.Table)
    assert table.column_names == ["eventid", "eventname", "username"]
    expected = rows(EVENTS)
    assert table.to_pydict() == {
        "eventid": [r[0] for r in expected],
        "eventname": [r[1] for r in expected],
        "username": [r[2] for r in expected],
    }


def test_as_pandas(conn: Any) -> None:
    pd = pytest.importorskip("pandas")
    cur = conn.cursor()
    cur.execute(ORDERED)
    frame = cur.as_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["eventid", "eventname", "username"]
    assert len(frame) == len(EVENTS)
    assert [tuple(r) for r in frame.itertuples(index=False)] == rows(EVENTS)


# --- connection ------------------------------------------------------------------------


def test_connection_as_context_manager(logs: Path) -> None:
    with trailsql.connect(logs=logs) as connection:
        assert isinstance(connection, trailsql.Connection)
        cur = connection.cursor()
        cur.execute("SELECT count(*) AS n FROM cloudtrail_logs")
        assert cur.fetchone() == (len(EVENTS),)
    # Closed on leaving the block: PEP 249 wants an Error from then on.
    with pytest.raises(dbapi.Error):
        connection.cursor().execute("SELECT count(*) FROM cloudtrail_logs")


def test_commit_is_a_no_op(conn: Any) -> None:
    conn.commit()
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM cloudtrail_logs")
    assert cur.fetchone() == (len(EVENTS),)


def test_bad_sql_raises_a_dbapi_error(conn: Any) -> None:
    with pytest.raises(dbapi.ProgrammingError):
        conn.cursor().execute("SELECT FROM WHERE")
    with pytest.raises(dbapi.Error):
        conn.cursor().execute("SELECT * FROM no_such_table")


def test_two_cursors_are_independent(conn: Any) -> None:
    first, second = conn.cursor(), conn.cursor()
    first.execute(ORDERED)
    second.execute("SELECT count(*) FROM cloudtrail_logs")
    assert first.fetchone() == rows(EVENTS)[0]
    assert second.fetchone() == (len(EVENTS),)
    assert first.fetchall() == rows(EVENTS)[1:]


def test_errors_follow_pep_249s_hierarchy() -> None:
    """PEP 249's classes, exported from trailsql, with trailsql's errors placed under them."""
    import trailsql

    hierarchy = {
        "Warning": Exception,
        "Error": Exception,
        "InterfaceError": "Error",
        "DatabaseError": "Error",
        "DataError": "DatabaseError",
        "OperationalError": "DatabaseError",
        "IntegrityError": "DatabaseError",
        "InternalError": "DatabaseError",
        "ProgrammingError": "DatabaseError",
        "NotSupportedError": "DatabaseError",
    }
    for name, parent in hierarchy.items():
        cls = getattr(trailsql, name)
        assert getattr(dbapi, name) is cls
        assert issubclass(cls, parent if isinstance(parent, type) else getattr(trailsql, parent)), name
    assert not issubclass(trailsql.Warning, trailsql.Error)


def test_each_failure_is_the_pep_249_class_a_client_expects(tmp_path: Path) -> None:
    import trailsql

    folder = tmp_path / "logs" / "AWSLogs" / "123456789012" / "CloudTrail" / "us-east-1" / "2025" / "02" / "12"
    folder.mkdir(parents=True)
    (folder / "bad.json.gz").write_bytes(b"not gzip")
    cursor = trailsql.connect(logs=tmp_path / "logs", strict=True).cursor()
    cases = [
        ("SELEC 1", trailsql.ProgrammingError),
        ("SELECT * FROM no_such_table", trailsql.ProgrammingError),
        ("SELECT typeof(1)", trailsql.NotSupportedError),
        ("SELECT count(*) FROM cloudtrail_logs", trailsql.DataError),
    ]
    for sql, expected in cases:
        with pytest.raises(expected):
            cursor.execute(sql)
