"""Issue 11, items 6, 7, 9, 10, 11 (parts): names, locations, partition values, library
parameters and the listing. Expectations are hand-written: a refusal, or the files a
test wrote itself."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from conftest import log_folder, write_log
from trailsql.errors import CatalogError, TrailsqlError, UsageError
from trailsql.library.query import parse_query
from trailsql.library.window import Window
from trailsql.session import Session
from trailsql.sources import local

ACCOUNT = "123456789012"
DAY = dt.date(2025, 2, 10)
COLUMNS = "eventversion STRING, eventtime STRING, eventname STRING, eventid STRING"


def _ddl(name: str, partitions: str = "", properties: str = "", location: str = "s3://trail/logs/") -> str:
    return (
        f"CREATE EXTERNAL TABLE {name} ({COLUMNS})"
        + (f" PARTITIONED BY ({partitions})" if partitions else "")
        + " ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'"
        + f" LOCATION '{location}'"
        + (f" TBLPROPERTIES ({properties})" if properties else "")
    )


def _event(n: int) -> dict[str, object]:
    return {"eventVersion": "1.09", "eventTime": f"{DAY}T00:00:{n:02d}Z", "eventName": "GetObject", "eventID": str(n)}


def _outside(tmp_path: Path) -> list[str]:
    """Every file the test tree holds outside the workspace, the bucket and the victim's own."""
    return sorted(
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if p.is_file() and p.relative_to(tmp_path).parts[0] not in ("ws", "trail", "victim")
    )


# --- 6. names become paths ------------------------------------------------------------

BAD_NAMES = ['"../../victim/pwn"', '"-x"', '"/abs/path/keep"', '"a/b"', '"a.b"', '"x y"', '"..\\x"', '"../ws/tables/t"']
NAME_STATEMENTS = [
    "CREATE VIEW {name} AS SELECT 1 AS x",
    "CREATE OR REPLACE VIEW {name} AS SELECT 1 AS x",
    _ddl("{name}"),
    "DROP TABLE {name}",
    "DROP VIEW {name}",
    "DROP TABLE IF EXISTS {name}",
    "ALTER TABLE {name} ADD PARTITION (p='1')",
    "ALTER TABLE {name} DROP PARTITION (p='1')",
    "MSCK REPAIR TABLE {name}",
    "SHOW CREATE TABLE {name}",
    "SHOW CREATE VIEW {name}",
    "DESCRIBE {name}",
    "CREATE EXTERNAL TABLE {name}.t (a STRING) LOCATION 's3://trail/logs/'",
]


@pytest.mark.parametrize("statement", NAME_STATEMENTS)
@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_name_that_is_not_an_identifier_is_refused_before_the_disk(tmp_path: Path, statement: str, name: str) -> None:
    (tmp_path / "trail" / "logs").mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "pwn.sql").write_text("kept")
    session = Session(workspace=tmp_path / "ws", location_maps={"s3://trail": str(tmp_path / "trail")})
    with pytest.raises(CatalogError, match="identifier"):
        session.execute(statement.format(name=name))
    assert (victim / "pwn.sql").read_text() == "kept"
    assert _outside(tmp_path) == []
    assert sorted(p.name for p in (tmp_path / "ws").rglob("*") if p.is_file()) == ["trailsql.toml"]


def test_names_loaded_from_a_workspace_folder_are_identifiers(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "views").mkdir(parents=True)
    (ws / "views" / "good.sql").write_text("SELECT 1 AS x")
    (ws / "views" / "bad name.sql").write_text("SELECT 2 AS x")
    (ws / "partitions").mkdir()
    (ws / "partitions" / "a.b.json").write_text("[]")
    session = Session(workspace=ws)
    assert sorted(session.workspace.views) == ["good"]
    assert session.workspace.partitions == {}


def test_a_qualified_identifier_is_kept_by_its_table_name(tmp_path: Path) -> None:
    (tmp_path / "trail" / "logs").mkdir(parents=True)
    session = Session(workspace=tmp_path / "ws", location_maps={"s3://trail": str(tmp_path / "trail")})
    session.execute(_ddl("mydb.My_Table1"))
    assert sorted(p.name for p in (tmp_path / "ws" / "tables").iterdir()) == ["my_table1.sql"]
    session.execute("CREATE VIEW v_1 AS SELECT 1 AS x")
    session.execute("DROP VIEW v_1")
    session.execute("DROP TABLE mydb.my_table1")
    assert list((tmp_path / "ws" / "tables").iterdir()) == []


def test_a_quoted_name_with_a_hyphen_is_a_name_as_in_glue(tmp_path: Path) -> None:
    (tmp_path / "trail" / "logs").mkdir(parents=True)
    session = Session(workspace=tmp_path / "ws", location_maps={"s3://trail": str(tmp_path / "trail")})
    session.execute(_ddl("`cloudtrail-table`"))
    assert sorted(p.name for p in (tmp_path / "ws" / "tables").iterdir()) == ["cloudtrail-table.sql"]
    assert session.execute('SELECT count(*) FROM "cloudtrail-table"').table.to_pylist() == [{"_col0": 0}]


# --- 7. locations and partition values escape their prefix -------------------------------

ESCAPING_LOCATIONS = [
    "s3://x/../../proc/self",
    "s3://x/a/../../etc2",
    "s3://x/..",
    "s3://x/./../y",
    "s3://x/a/b/../../../z",
]


@pytest.mark.parametrize("location", ESCAPING_LOCATIONS)
def test_a_location_that_leaves_its_mapped_folder_is_refused(tmp_path: Path, location: str) -> None:
    mapped = tmp_path / "mapped"
    mapped.mkdir()
    session = Session(workspace=tmp_path / "ws", location_maps={"s3://x": str(mapped)})
    with pytest.raises(CatalogError, match="outside"):
        session.workspace.resolve(location)
    with pytest.raises(CatalogError, match="outside"):
        session.execute(_ddl("t", location=location))
    assert not (tmp_path / "ws" / "tables").exists() or list((tmp_path / "ws" / "tables").iterdir()) == []


def test_a_location_inside_its_mapped_folder_resolves(tmp_path: Path) -> None:
    session = Session(workspace=tmp_path / "ws", location_maps={"s3://x": str(tmp_path / "m")})
    assert session.workspace.resolve("s3://x/a/../b/") == str(tmp_path / "m" / "b") + "/"
    assert session.workspace.resolve("s3://x") == str(tmp_path / "m")


BAD_VALUES = ["../../elsewhere", "a/b", "..", "a\x00b", "/etc", "x/../.."]


def _injected_session(tmp_path: Path) -> Session:
    table = tmp_path / "trail" / "logs"
    write_log(table / "acct-1", "a.json.gz", [_event(1)])
    write_log(tmp_path / "trail" / "elsewhere", "b.json.gz", [_event(2), _event(3)])
    session = Session(workspace=tmp_path / "ws", location_maps={"s3://trail": str(tmp_path / "trail")})
    session.execute(
        _ddl(
            "t",
            "account string",
            "'projection.enabled'='true', 'projection.account.type'='injected', "
            "'storage.location.template'='s3://trail/logs/${account}/'",
        )
    )
    return session


@pytest.mark.parametrize("value", BAD_VALUES)
def test_an_injected_value_with_a_path_is_refused(tmp_path: Path, value: str) -> None:
    session = _injected_session(tmp_path)
    assert session.execute("SELECT count(*) AS n FROM t WHERE account = 'acct-1'").table.to_pylist() == [{"n": 1}]
    quoted = value.replace("'", "''")
    with pytest.raises(TrailsqlError, match=r"partition value|NUL"):  # (the parser refuses NUL first)
        session.execute(f"SELECT count(*) AS n FROM t WHERE account = '{quoted}'")


@pytest.mark.parametrize("value", BAD_VALUES)
def test_an_added_partition_value_with_a_path_is_refused(tmp_path: Path, value: str) -> None:
    (tmp_path / "trail" / "logs").mkdir(parents=True)
    session = Session(workspace=tmp_path / "ws", location_maps={"s3://trail": str(tmp_path / "trail")})
    session.execute(_ddl("t", "p string"))
    with pytest.raises(TrailsqlError, match=r"partition value|NUL"):
        session.execute(f"ALTER TABLE t ADD PARTITION (p='{value}')")
    assert session.execute("SHOW PARTITIONS t").table.num_rows == 0


@pytest.mark.parametrize("value", BAD_VALUES[:3])
def test_a_projected_enum_value_with_a_path_is_refused_at_create(tmp_path: Path, value: str) -> None:
    session = Session(workspace=tmp_path / "ws", location_maps={"s3://trail": str(tmp_path / "trail")})
    with pytest.raises(CatalogError, match="partition value"):
        session.execute(
            _ddl(
                "t",
                "p string",
                f"'projection.enabled'='true', 'projection.p.type'='enum', 'projection.p.values'='a,{value}'",
            )
        )


# --- 11 (parts). broken projection DDL refused at create -------------------------------

BROKEN_PROJECTIONS = [
    ("missing date range", "'projection.month.type'='date', 'projection.month.format'='yyyy/MM'"),
    (
        "impossible date",
        "'projection.month.type'='date', 'projection.month.format'='yyyy-MM-dd', 'projection.month.range'='2025-13-45,NOW'",
    ),
    ("integer range a,b", "'projection.month.type'='integer', 'projection.month.range'='a,b'"),
    ("integer range one value", "'projection.month.type'='integer', 'projection.month.range'='1'"),
    ("unknown type", "'projection.month.type'='banana'"),
    ("no type", "'projection.month.values'='1,2'"),
    (
        "bad interval",
        "'projection.month.type'='integer', 'projection.month.range'='1,2', 'projection.month.interval'='x'",
    ),
    (
        "template column",
        "'projection.month.type'='enum', 'projection.month.values'='1', 'storage.location.template'='s3://trail/${nope}/'",
    ),
]


@pytest.mark.parametrize(("case", "properties"), BROKEN_PROJECTIONS, ids=[c for c, _ in BROKEN_PROJECTIONS])
def test_a_broken_projection_is_refused_when_created(tmp_path: Path, case: str, properties: str) -> None:
    session = Session(workspace=tmp_path / "ws", location_maps={"s3://trail": str(tmp_path / "trail")})
    with pytest.raises(TrailsqlError, match=r"projection|template"):
        session.execute(_ddl("t", "month string", "'projection.enabled'='true', " + properties))
    assert session.workspace.tables == {}


BAD_WINDOWS = [("99999999999d", None), ("24h", "9999-12-31T23:59:59"), ("0001-01-01", None), ("1d", "0001-01-02")]


@pytest.mark.parametrize(("since", "until"), BAD_WINDOWS)
def test_a_window_out_of_range_is_a_usage_error(since: str, until: str | None) -> None:
    with pytest.raises(UsageError, match="between"):
        Window.parse(since, until, dt.datetime(2025, 2, 12, tzinfo=dt.UTC)).predicate()


# --- 9. library injections --------------------------------------------------------------

HEADER = "-- id: q\n-- title: t\n-- kind: hunt\n-- severity: low\n-- param: user string\n-- param: n int = 5\n"
QUOTED_PLACEHOLDERS = [
    "SELECT 1 FROM cloudtrail_logs WHERE u = '{{user}}'",
    'SELECT 1 FROM cloudtrail_logs WHERE u = "{{user}}"',
    "SELECT 1 FROM cloudtrail_logs WHERE u LIKE '%{{ user }}%'",
    "SELECT 1 FROM cloudtrail_logs\nWHERE a = 'x' AND u = 'it''s {{user}}'",
    "SELECT '{{window}}' FROM cloudtrail_logs",
    "SELECT 1 FROM cloudtrail_logs -- for {{user}}\nWHERE true",
]


@pytest.mark.parametrize("body", QUOTED_PLACEHOLDERS)
def test_a_quoted_placeholder_is_refused_at_load_with_file_and_line(body: str) -> None:
    line = HEADER.count("\n") + body[: body.index("{{")].count("\n") + 1
    with pytest.raises(CatalogError, match=f"^q.sql:{line}: a placeholder inside"):
        parse_query(HEADER + body, "q.sql")


def test_a_quoted_placeholder_in_a_header_is_refused() -> None:
    with pytest.raises(CatalogError, match=r"^q.sql:5: .*quote"):
        parse_query(HEADER.replace("param: user string", "param: user string = '{{n}}'") + "SELECT 1", "q.sql")


INJECTED_STRINGS = ["' OR 1=1 --", " OR 1=1 --", "x'; DROP TABLE t; --", "\\' OR 1=1", "a''b"]


@pytest.mark.parametrize("value", INJECTED_STRINGS)
def test_a_string_parameter_is_one_literal(value: str) -> None:
    query = parse_query(HEADER + "SELECT 1 FROM cloudtrail_logs WHERE u = {{user}} -- '{ not a placeholder", "q.sql")
    rendered = query.render({"user": value})
    assert rendered.startswith("SELECT 1 FROM cloudtrail_logs WHERE u = '" + value.replace("'", "''") + "'")


BAD_INTS = ["١٢", "1e3", " 1", "1 ", "0x10", "1_000", "+1", "--1", "1\n"]


@pytest.mark.parametrize("value", BAD_INTS)
def test_an_integer_parameter_takes_ascii_digits_only(value: str) -> None:
    query = parse_query(HEADER + "SELECT {{n}} AS n", "q.sql")
    assert query.render({"n": "-12"}) == "SELECT -12 AS n"
    with pytest.raises(UsageError, match="integer"):
        query.render({"n": value})


# --- 10. the listing and ordinary file-system trouble ------------------------------------


def _day(tmp_path: Path) -> Path:
    folder = log_folder(tmp_path / "logs", ACCOUNT, "us-east-1", DAY)
    write_log(folder, f"{ACCOUNT}_CloudTrail_us-east-1_20250210T0000Z_good.json.gz", [_event(1), _event(2)])
    return folder


def _loop(folder: Path) -> str:
    os.symlink("loop.json.gz", folder / "loop.json.gz")
    return "loop.json.gz"


def _dangling(folder: Path) -> str:
    os.symlink(folder / "nowhere.json.gz", folder / "dangling.json.gz")
    return "dangling.json.gz"


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "fifo.json.gz")
    return "fifo.json.gz"


def _empty(folder: Path) -> str:
    (folder / "empty.json").write_bytes(b"")
    return "empty.json"


def _folder_loop(folder: Path) -> str:
    os.symlink(".", folder / "sub")
    return "sub"


ODD_FILES = [_loop, _dangling, _fifo, _empty]


def _count(session: Session) -> tuple[int, list[str]]:
    result = session.execute("SELECT count(*) AS n FROM cloudtrail_logs")
    return result.table.to_pylist()[0]["n"], sorted(os.path.basename(s.path) for s in result.stats.skipped)


@pytest.mark.parametrize("make", ODD_FILES, ids=[f.__name__ for f in ODD_FILES])
def test_an_odd_file_is_skipped_and_named(tmp_path: Path, make: object) -> None:
    folder = _day(tmp_path)
    name = make(folder)  # type: ignore[operator]
    assert _count(Session(logs=tmp_path / "logs")) == (2, [name])
    found, skipped = local.walk_files_skipping(folder)
    assert [os.path.basename(p) for p, _, _ in found] == [f"{ACCOUNT}_CloudTrail_us-east-1_20250210T0000Z_good.json.gz"]
    assert [os.path.basename(uri) for uri, _ in skipped] == [name]


def test_a_folder_symlink_loop_is_not_followed(tmp_path: Path) -> None:
    folder = _day(tmp_path)
    _folder_loop(folder)
    assert _count(Session(logs=tmp_path / "logs")) == (2, [])


def test_a_name_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    folder = _day(tmp_path)
    raw = os.fsencode(folder) + b"/" + ACCOUNT.encode() + b"_CloudTrail_us-east-1_20250210T0000Z_\xff.json"
    with open(raw, "wb") as fh:
        fh.write(b'{"Records": []}')
    n, skipped = _count(Session(logs=tmp_path / "logs"))
    assert n == 2
    assert len(skipped) == 1 and "\\xff" in skipped[0]


def test_an_unreadable_folder_is_skipped_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _day(tmp_path)
    other = log_folder(tmp_path / "logs", ACCOUNT, "us-east-1", DAY + dt.timedelta(days=1))
    write_log(other, "x.json.gz", [_event(3)])
    real_open = os.open

    def refuse(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if str(path).rstrip("/") == str(other):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse)
    assert _count(Session(logs=tmp_path / "logs")) == (2, ["11"])
    found, skipped = local.walk_files_skipping(tmp_path / "logs")
    assert len(found) == 1 and [os.path.basename(u) for u, _ in skipped] == ["11"]
    assert folder.exists()


def test_a_file_vanishing_between_listing_and_stat_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _day(tmp_path)
    write_log(folder, "gone.json.gz", [_event(4)])
    real_scandir = os.scandir

    def vanishing(fd: int) -> object:
        entries = list(real_scandir(fd))
        (folder / "gone.json.gz").unlink(missing_ok=True)
        return _Entries(entries)

    monkeypatch.setattr(os, "scandir", vanishing)
    found, skipped = local.walk_files_skipping(folder)
    assert len(found) == 1 and [os.path.basename(u) for u, _ in skipped] == ["gone.json.gz"]


class _Entries(list[os.DirEntry[str]]):
    """A scandir result replayed: a context manager over a list."""

    def __enter__(self) -> _Entries:
        return self

    def __exit__(self, *args: object) -> None:
        return None


def test_a_ddl_table_walk_skips_odd_files(tmp_path: Path) -> None:
    table = tmp_path / "trail" / "logs"
    write_log(table, "a.json.gz", [_event(1)])
    for make in ODD_FILES:
        make(table)
    session = Session(workspace=tmp_path / "ws", location_maps={"s3://trail": str(tmp_path / "trail")})
    session.execute(_ddl("t"))
    result = session.execute("SELECT count(*) AS n FROM t")
    assert result.table.to_pylist() == [{"n": 1}]
    assert sorted(os.path.basename(s.path) for s in result.stats.skipped) == sorted(
        ["loop.json.gz", "dangling.json.gz", "fifo.json.gz", "empty.json"]
    )


RELIABILITY: dict[str, int] = {
    "escape attempts": len(BAD_NAMES) * len(NAME_STATEMENTS) + len(ESCAPING_LOCATIONS) + 3 * len(BAD_VALUES),
    "odd input files": len(ODD_FILES) + 4,
    "library injections": len(QUOTED_PLACEHOLDERS) + 1 + len(INJECTED_STRINGS) + len(BAD_INTS),
}
