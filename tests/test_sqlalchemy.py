"""The SQLAlchemy dialect (``trailsql:///?logs=...``) and the suggestions of SQL errors.

Expected values are counted by hand from the records written here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from conftest import log_folder, write_log
from trailsql.errors import CatalogError, TrailsqlError
from trailsql.session import Session

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"


def record(i: int, name: str, source: str, arn: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventTime": f"2025-02-10T10:{i:02d}:00Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "eventID": f"00000000-0000-0000-0000-{i:012d}",
        "userIdentity": {"type": "IAMUser", "arn": arn},
    }


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """Two files of one day: ListBuckets x3 (alice 2, bob 1), ConsoleLogin x2 (alice), GetObject x1 (bob)."""
    root = tmp_path / "logs"
    folder = log_folder(root, "123456789012", "us-east-1", dt.date(2025, 2, 10))
    write_log(
        folder,
        "123456789012_CloudTrail_us-east-1_20250210T1000Z_a.json.gz",
        [
            record(0, "ListBuckets", "s3.amazonaws.com", ALICE),
            record(1, "ListBuckets", "s3.amazonaws.com", ALICE),
            record(2, "ConsoleLogin", "signin.amazonaws.com", ALICE),
        ],
    )
    write_log(
        folder,
        "123456789012_CloudTrail_us-east-1_20250210T1100Z_b.json.gz",
        [
            record(3, "ListBuckets", "s3.amazonaws.com", BOB),
            record(4, "ConsoleLogin", "signin.amazonaws.com", ALICE),
            record(5, "GetObject", "s3.amazonaws.com", BOB),
        ],
    )
    return root


@pytest.fixture
def engine(logs: Path, tmp_path: Path) -> sa.Engine:
    return sa.create_engine(f"trailsql:///?logs={logs}&workspace={tmp_path / 'ws'}")


def test_pandas_read_sql_counts_through_the_url(engine: sa.Engine) -> None:
    frame = pd.read_sql("SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1 ORDER BY 1", engine)
    assert frame.to_dict("records") == [
        {"eventname": "ConsoleLogin", "n": 2},
        {"eventname": "GetObject", "n": 1},
        {"eventname": "ListBuckets", "n": 3},
    ]


def test_percent_in_plain_sql_and_bound_parameters(engine: sa.Engine) -> None:
    # A plain string's % is SQL (LIKE); text() binds :name.
    frame = pd.read_sql("SELECT count(*) AS n FROM cloudtrail_logs WHERE eventname LIKE 'List%'", engine)
    assert frame["n"].tolist() == [3]
    query = sa.text(
        "SELECT count(*) AS n FROM cloudtrail_logs WHERE useridentity.arn = :arn AND eventname LIKE 'List%'"
    )
    assert pd.read_sql(query, engine, params={"arn": BOB})["n"].tolist() == [1]


def test_the_logs_folder_as_the_url_database(logs: Path) -> None:
    engine = sa.create_engine(f"trailsql:///{logs}")  # logs is absolute: four slashes, as SQLite's
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT count(DISTINCT useridentity.arn) FROM cloudtrail_logs")).all()
    assert rows == [(2,)]


def test_unknown_url_parameters_are_refused(logs: Path) -> None:
    with pytest.raises(ValueError, match="unknown trailsql URL parameters: log"):
        sa.create_engine(f"trailsql:///?log={logs}").connect()


def test_reflection_lists_the_default_and_ddl_tables(engine: sa.Engine, logs: Path) -> None:
    with engine.connect() as connection:
        connection.exec_driver_sql(
            "CREATE EXTERNAL TABLE typed (eventid STRING, readonly BOOLEAN, apiversion INT) "
            f"ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe' LOCATION '{logs}'"
        )
        inspector = sa.inspect(connection)
        assert inspector.get_table_names() == ["cloudtrail_logs", "typed"]
        typed = [(c["name"], type(c["type"])) for c in inspector.get_columns("typed")]
        assert typed == [("eventid", sa.String), ("readonly", sa.Boolean), ("apiversion", sa.Integer)]
        columns = {c["name"]: type(c["type"]) for c in inspector.get_columns("cloudtrail_logs")}
    assert columns["eventname"] is sa.String
    assert columns["useridentity"] is sa.types.NullType  # a struct: values pass through
    assert list(columns)[-5:] == ["account", "region", "year", "month", "day"]  # the partitions, last
    assert len(columns) == 31 + 5  # CloudTrail's 31 top-level fields (schema.EVENT) and 5 partitions


def test_without_logs_there_is_no_default_table(tmp_path: Path) -> None:
    assert sa.inspect(sa.create_engine(f"trailsql:///?workspace={tmp_path}")).get_table_names() == []


def test_a_typod_column_suggests_the_closest(logs: Path) -> None:
    with Session(logs) as session, pytest.raises(TrailsqlError) as raised:
        session.execute("SELECT eventnme, count(*) FROM cloudtrail_logs GROUP BY 1")
    assert str(raised.value) == 'Referenced column "eventnme" not found in FROM clause; did you mean `eventname`?'


def test_a_typod_struct_column_and_field_suggest_the_closest(logs: Path) -> None:
    with Session(logs) as session:
        with pytest.raises(TrailsqlError, match=r"did you mean `useridentity`\?$"):
            session.execute("SELECT useridentty.arn FROM cloudtrail_logs")
        with pytest.raises(TrailsqlError, match=r'key "arm" in struct; did you mean `arn`\?$'):
            session.execute("SELECT useridentity.arm FROM cloudtrail_logs")


def test_a_typod_table_name_before_a_column_suggests_the_table(logs: Path) -> None:
    with Session(logs) as session, pytest.raises(TrailsqlError, match=r"did you mean `cloudtrail_logs`\?$"):
        session.execute("SELECT cloudtrail_log.eventname FROM cloudtrail_logs")


def test_no_cloudtrail_suggestion_for_a_subquery_column(logs: Path) -> None:
    with Session(logs) as session, pytest.raises(TrailsqlError) as raised:
        session.execute("SELECT eventnme FROM (SELECT 1 AS x) t")
    assert str(raised.value) == 'Referenced column "eventnme" not found in FROM clause'  # x is nothing like it


def test_a_typod_table_in_from_suggests_the_closest(logs: Path) -> None:
    with Session(logs) as session, pytest.raises(CatalogError, match="did you mean `cloudtrail_logs`"):
        session.execute("SELECT count(*) FROM cloudtrail_log")
