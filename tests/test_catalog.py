"""The catalog: DDL variants, partitions without projection, projection types, views, SHOW/DESCRIBE."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from conftest import log_folder, write_log
from trailsql.errors import CatalogError
from trailsql.session import Session

ACCOUNT = "123456789012"
COLUMNS = "eventversion STRING, eventtime STRING, eventname STRING, readonly BOOLEAN, eventid STRING"


def _event(day: dt.date, n: int, region: str) -> dict[str, object]:
    return {
        "eventVersion": "1.09",
        "eventTime": f"{day:%Y-%m-%d}T00:00:{n:02d}Z",
        "eventName": "GetObject" if n % 2 else "PutObject",
        "readOnly": n % 2 == 1,
        "eventID": f"{region}-{day}-{n}",
        "awsRegion": region,
    }


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    """CloudTrail's layout: us-east-1 and eu-west-1, 2025-02-10..12, 4 events a day."""
    root = tmp_path / "bucket"
    for region in ("us-east-1", "eu-west-1"):
        for offset in range(3):
            day = dt.date(2025, 2, 10 + offset)
            name = f"{ACCOUNT}_CloudTrail_{region}_{day:%Y%m%d}T0000Z_x.json.gz"
            write_log(log_folder(root, ACCOUNT, region, day), name, [_event(day, n, region) for n in range(4)])
    return root


@pytest.fixture
def session(bucket: Path, tmp_path: Path) -> Session:
    return Session(workspace=tmp_path / "ws", location_maps={"s3://trail": str(bucket)})


def _count(session: Session, sql: str) -> tuple[int, int]:
    result = session.execute(sql)
    return result.table.to_pylist()[0]["n"], result.stats.files_scanned


def _ddl(name: str, partitions: str, properties: str = "", location: str = "s3://trail/AWSLogs/") -> str:
    return (
        f"CREATE EXTERNAL TABLE {name} ({COLUMNS}) PARTITIONED BY ({partitions}) "
        "ROW FORMAT SERDE 'com.amazon.emr.hive.serde.CloudTrailSerde' "
        "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat' "
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat' "
        f"LOCATION '{location}'" + (f" TBLPROPERTIES ({properties})" if properties else "")
    )


def test_alter_table_add_and_drop_partition(session: Session) -> None:
    session.execute(
        _ddl(
            "t",
            "region string, year string, month string, day string",
            location=f"s3://trail/AWSLogs/{ACCOUNT}/CloudTrail/",
        )
    )
    assert _count(session, "SELECT count(*) AS n FROM t") == (0, 0)
    session.execute(
        "ALTER TABLE t ADD IF NOT EXISTS "
        f"PARTITION (region='us-east-1', year='2025', month='02', day='10') LOCATION 's3://trail/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2025/02/10/' "
        f"PARTITION (region='eu-west-1', year=2025, month='02', day='11') LOCATION 's3://trail/AWSLogs/{ACCOUNT}/CloudTrail/eu-west-1/2025/02/11/'"
    )
    assert _count(session, "SELECT count(*) AS n FROM t") == (8, 2)
    assert _count(session, "SELECT count(*) AS n FROM t WHERE region = 'eu-west-1'") == (4, 1)
    shown = session.execute("SHOW PARTITIONS t").table.column(0).to_pylist()
    assert shown == ["region=us-east-1/year=2025/month=02/day=10", "region=eu-west-1/year=2025/month=02/day=11"]
    session.execute("ALTER TABLE t DROP PARTITION (region='us-east-1', year='2025', month='02', day='10')")
    assert _count(session, "SELECT count(*) AS n FROM t") == (4, 1)
    # The partitions are kept in the workspace.
    again = Session(workspace=session.workspace.folder)
    assert again.execute("SHOW PARTITIONS t").table.num_rows == 1


def test_msck_repair_finds_only_key_value_folders(tmp_path: Path) -> None:
    hive = tmp_path / "hive"
    for region in ("us-east-1", "eu-west-1"):
        write_log(hive / f"region={region}" / "dt=2025-02-12", "a.json.gz", [_event(dt.date(2025, 2, 12), 1, region)])
    (hive / "not-a-partition").mkdir()
    session = Session(location_maps={"s3://hive": str(hive)})
    session.execute(_ddl("h", "region string, dt string", location="s3://hive/"))
    session.execute("MSCK REPAIR TABLE h")
    assert sorted(session.execute("SHOW PARTITIONS h").table.column(0).to_pylist()) == [
        "region=eu-west-1/dt=2025-02-12",
        "region=us-east-1/dt=2025-02-12",
    ]
    rows = session.execute("SELECT region, dt, eventname FROM h WHERE region = 'us-east-1'").table.to_pylist()
    assert rows == [{"region": "us-east-1", "dt": "2025-02-12", "eventname": "GetObject"}]


def test_msck_repair_adds_nothing_for_cloudtrail_layout(session: Session) -> None:
    session.execute(
        _ddl(
            "c",
            "region string, year string, month string, day string",
            location=f"s3://trail/AWSLogs/{ACCOUNT}/CloudTrail/",
        )
    )
    session.execute("MSCK REPAIR TABLE c")
    assert session.execute("SHOW PARTITIONS c").table.num_rows == 0


@pytest.mark.parametrize(
    ("where", "events", "files"),
    [
        ("", 24, 6),
        ("WHERE region = 'us-east-1'", 12, 3),
        ("WHERE region = 'us-east-1' AND timestamp = '2025/02/11'", 4, 1),
        ("WHERE timestamp BETWEEN '2025/02/11' AND '2025/02/12'", 16, 4),
        ("WHERE timestamp >= '2025/02/12' OR timestamp < '2025/02/11'", 16, 4),
        ("WHERE timestamp > '2025/02/12'", 0, 0),
    ],
)
def test_date_enum_projection_with_reserved_word_column(session: Session, where: str, events: int, files: int) -> None:
    props = (
        "'projection.enabled'='true', 'projection.region.type'='enum', 'projection.region.values'='us-east-1,eu-west-1', "
        "'projection.timestamp.type'='date', 'projection.timestamp.format'='yyyy/MM/dd', "
        "'projection.timestamp.range'='2025/01/01,NOW', 'projection.timestamp.interval'='1', "
        "'projection.timestamp.interval.unit'='DAYS', "
        f"'storage.location.template'='s3://trail/AWSLogs/{ACCOUNT}/CloudTrail/${{region}}/${{timestamp}}'"
    )
    session.execute(_ddl("pp", "region string, `timestamp` string", props))
    assert _count(session, f"SELECT count(*) AS n FROM pp {where}") == (events, files)


def test_integer_projection_and_injected_account(session: Session) -> None:
    props = (
        "'projection.enabled'='true', 'projection.account.type'='injected', "
        "'projection.region.type'='enum', 'projection.region.values'='us-east-1,eu-west-1', "
        "'projection.day.type'='integer', 'projection.day.range'='1,31', 'projection.day.digits'='2', "
        "'storage.location.template'='s3://trail/AWSLogs/${account}/CloudTrail/${region}/2025/02/${day}/'"
    )
    session.execute(_ddl("inj", "account string, region string, day string", props))
    assert _count(
        session, f"SELECT count(*) AS n FROM inj WHERE account = '{ACCOUNT}' AND day BETWEEN '11' AND '12'"
    ) == (16, 4)
    assert _count(session, f"SELECT count(*) AS n FROM inj WHERE account IN ('{ACCOUNT}', '999999999999')") == (24, 6)
    with pytest.raises(CatalogError, match="injected projected partition column account"):
        session.execute("SELECT count(*) AS n FROM inj")


def test_projection_over_a_million_partitions_is_refused(session: Session) -> None:
    props = (
        "'projection.enabled'='true', 'projection.a.type'='integer', 'projection.a.range'='1,2000', "
        "'projection.b.type'='integer', 'projection.b.range'='1,1000'"
    )
    session.execute(_ddl("huge", "a string, b string", props))
    with pytest.raises(CatalogError, match="HIVE_EXCEEDED_PARTITION_LIMIT"):
        session.execute("SELECT count(*) AS n FROM huge")


def test_views_create_replace_drop_and_persist(session: Session) -> None:
    session.execute(
        _ddl(
            "t",
            "region string",
            "'projection.enabled'='true', 'projection.region.type'='enum', "
            "'projection.region.values'='us-east-1,eu-west-1', "
            f"'storage.location.template'='s3://trail/AWSLogs/{ACCOUNT}/CloudTrail/${{region}}/'",
        )
    )
    session.execute("CREATE VIEW reads AS SELECT region, eventname FROM t WHERE readonly = true")
    assert _count(session, "SELECT count(*) AS n FROM reads")[0] == 12
    with pytest.raises(CatalogError, match="already exists"):
        session.execute("CREATE VIEW reads AS SELECT 1 AS x")
    session.execute(
        "CREATE OR REPLACE VIEW reads AS SELECT region, eventname FROM t WHERE readonly = false AND region = 'eu-west-1'"
    )
    again = Session(
        workspace=session.workspace.folder, location_maps={"s3://trail": session.workspace.location_maps["s3://trail"]}
    )
    assert _count(again, "SELECT count(*) AS n FROM reads") == (6, 3)
    assert "readonly = FALSE" in again.execute("SHOW CREATE VIEW reads").table.column(0)[0].as_py()
    again.execute("DROP VIEW reads")
    with pytest.raises(CatalogError):
        again.execute("SELECT * FROM reads")


def test_show_tables_describe_show_create_and_drop(session: Session) -> None:
    ddl = _ddl("described", "region string")
    session.execute(ddl)
    assert "described" in session.execute("SHOW TABLES").table.column(0).to_pylist()
    described = session.execute("DESCRIBE described").table.to_pylist()
    assert [(r["col_name"], r["data_type"]) for r in described[:4]] == [
        ("eventversion", "string"),
        ("eventtime", "string"),
        ("eventname", "string"),
        ("readonly", "boolean"),
    ]
    assert ("region", "string") in [(r["col_name"], r["data_type"]) for r in described]
    assert session.execute("SHOW CREATE TABLE described").table.column(0)[0].as_py() == ddl
    session.execute("DROP TABLE described")
    assert "described" not in session.execute("SHOW TABLES").table.column(0).to_pylist()
    session.execute("DROP TABLE IF EXISTS described")
    with pytest.raises(CatalogError):
        session.execute("DROP TABLE described")


def test_declared_types_are_honoured_and_misfits_are_null(tmp_path: Path) -> None:
    folder = tmp_path / "typed"
    write_log(
        folder,
        "a.json",
        [
            {"eventID": "1", "readOnly": True, "apiVersion": "12"},
            {"eventID": "2", "readOnly": "nope", "apiVersion": "x"},
        ],
        gz=False,
    )
    session = Session(location_maps={"s3://typed": str(folder)})
    session.execute(
        "CREATE EXTERNAL TABLE typed (eventid STRING, readonly BOOLEAN, apiversion INT) "
        "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe' LOCATION 's3://typed/'"
    )
    rows = session.execute("SELECT eventid, readonly, apiversion FROM typed ORDER BY eventid").table.to_pylist()
    assert rows == [
        {"eventid": "1", "readonly": True, "apiversion": 12},
        {"eventid": "2", "readonly": None, "apiversion": None},
    ]


def test_text_input_format_reads_one_event_per_line(tmp_path: Path) -> None:
    folder = tmp_path / "ndjson"
    folder.mkdir()
    lines = [json.dumps({"eventID": str(i), "eventName": "X", "EventSource": "s3"}) for i in range(5)]
    (folder / "events.json.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    session = Session(location_maps={"s3://nd": str(folder)})
    session.execute(
        "CREATE EXTERNAL TABLE nd (eventid STRING, eventname STRING, src STRING) "
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' WITH SERDEPROPERTIES ('mapping.src'='EventSource') "
        "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat' "
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat' LOCATION 's3://nd/'"
    )
    result = session.execute("SELECT count(*) AS n, count(DISTINCT eventid) AS ids, max(src) AS src FROM nd")
    assert result.table.to_pylist() == [{"n": 5, "ids": 5, "src": "s3"}]
    assert result.stats.events_scanned == 5


def test_records_wrapper_table_has_one_row_per_file(bucket: Path) -> None:
    session = Session(location_maps={"s3://trail": str(bucket)})
    session.execute(
        "CREATE EXTERNAL TABLE events (Records ARRAY<STRUCT<eventName: STRING, eventID: STRING>>) "
        f"ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe' LOCATION 's3://trail/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/'"
    )
    files = session.execute("SELECT cardinality(records) AS n FROM events").table.column("n").to_pylist()
    assert files == [4, 4, 4]
    names = session.execute("SELECT r.eventname FROM events CROSS JOIN UNNEST(records) AS t(r)").table
    assert names.num_rows == 12


def test_delimited_table_reads_vpc_flow_logs_beside_cloudtrail(tmp_path: Path) -> None:
    folder = tmp_path / "vpc" / "dt=2025-02-12"
    folder.mkdir(parents=True)
    header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
    lines = [
        "2 123456789012 eni-1 10.0.0.1 203.0.113.5 443 49152 6 10 840 1739354400 1739354460 ACCEPT OK",
        "2 123456789012 eni-1 203.0.113.5 10.0.0.1 49152 443 6 12 - 1739354400 1739354460 REJECT OK",
    ]
    (folder / "flows.log.gz").write_bytes(gzip.compress(("\n".join([header, *lines]) + "\n").encode()))
    session = Session(location_maps={"s3://vpc": str(tmp_path / "vpc")})
    session.execute(
        "CREATE EXTERNAL TABLE vpc_flow_logs (version int, account_id string, interface_id string, sourceaddress string, "
        "destinationaddress string, sourceport int, destinationport int, protocol bigint, numpackets bigint, "
        "numbytes bigint, starttime int, endtime int, action string, logstatus string) PARTITIONED BY (dt string) "
        "ROW FORMAT DELIMITED FIELDS TERMINATED BY ' ' LOCATION 's3://vpc/' TBLPROPERTIES ('skip.header.line.count'='1')"
    )
    session.execute("MSCK REPAIR TABLE vpc_flow_logs")
    rows = session.execute(
        "SELECT sourceaddress, numbytes, action, dt FROM vpc_flow_logs ORDER BY action"
    ).table.to_pylist()
    assert rows == [
        {"sourceaddress": "10.0.0.1", "numbytes": 840, "action": "ACCEPT", "dt": "2025-02-12"},
        {"sourceaddress": "203.0.113.5", "numbytes": None, "action": "REJECT", "dt": "2025-02-12"},
    ]


def test_a_view_that_cannot_run_is_refused_and_the_old_one_kept(session: Session) -> None:
    session.execute("CREATE VIEW v AS SELECT 1 AS x")
    with pytest.raises(CatalogError):
        session.execute("CREATE OR REPLACE VIEW v AS SELECT x FROM no_such_table")
    assert session.execute("SELECT x FROM v").table.to_pylist() == [{"x": 1}]


def test_projection_skips_folders_that_are_not_there(session: Session, bucket: Path) -> None:
    """A table projected over ten years of days by year, month and day, over logs of three days:
    the whole table is counted (24 events from Python's own writing above) while only folders
    that exist are looked into: a year or month that is not there is not enumerated further."""
    from trailsql.catalog import projection

    props = (
        "'projection.enabled'='true', 'projection.region.type'='enum', 'projection.region.values'='us-east-1,eu-west-1', "
        "'projection.year.type'='integer', 'projection.year.range'='2020,2029', "
        "'projection.month.type'='integer', 'projection.month.range'='1,12', 'projection.month.digits'='2', "
        "'projection.day.type'='integer', 'projection.day.range'='1,31', 'projection.day.digits'='2', "
        f"'storage.location.template'='s3://trail/AWSLogs/{ACCOUNT}/CloudTrail/${{region}}/${{year}}/${{month}}/${{day}}/'"
    )
    session.execute(_ddl("ten_years", "region string, year string, month string, day string", props))
    assert _count(session, "SELECT count(*) AS n FROM ten_years") == (24, 6)
    assert _count(session, "SELECT count(*) AS n FROM ten_years WHERE year = '2025' AND day > '10'") == (16, 4)

    table = session.table("ten_years")
    assert table is not None
    checked: list[str] = []

    def present(prefix: str) -> bool:
        checked.append(prefix)
        return Path(session.resolve(prefix)).is_dir()

    found = list(projection.partitions(table, lambda values: True, None, present=present))
    # Days enumerated only in the month that exists: 2 regions x 31 days, not 2 x 10 x 12 x 31.
    assert len(found) == 2 * 31
    assert {(v["year"], v["month"]) for v in found} == {("2025", "02")}
    # Checked: 2 regions, 2 x 10 years, 2 x 12 months of 2025 (days are listed, not checked).
    assert len(checked) == 2 + 2 * 10 + 2 * 12
