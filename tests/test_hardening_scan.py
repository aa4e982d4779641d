"""The scan reads exactly the files it lists, and blames exactly the file that is bad (issue 11).

File names reach DuckDB's readers, which expand glob characters in every path: a file
literally named ``a*.json.gz`` also read its neighbours. Bad files were recognised by a
substring of DuckDB's message: a good ``a.json.gz`` beside a bad ``a.json.gz.bak`` was
blamed. Expected counts come from the records written here, never from trailsql.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from tests.conftest import log_folder, write_log

from trailsql.errors import BadInputError
from trailsql.lake.ingest import ingest
from trailsql.session import Session

DAY = dt.date(2025, 2, 12)
GOOD_NAME = "123456789012_CloudTrail_us-east-1_20250212T1000Z_good.json.gz"

#: Names holding each glob character (and the characters DuckDB does not treat as glob).
GLOB_NAMES = [
    "T*.json.gz",
    "T**.json.gz",
    "q?.json.gz",
    "x[ab].json.gz",
    "y{1,2}.json.gz",
    "z]x.json.gz",
    "b\\s.json.gz",
]

#: (good file, bad file beside it whose name contains the good one's): the bad one must be blamed.
LOOKALIKES = [("a.json.gz", "a.json.gz.bak"), ("X.json", "X.json.gz")]

#: ``Records`` elements that are not objects: Athena's reader makes no event of them.
NOT_OBJECTS: list[object] = ["a", 1, 2.5, True, None, [], [{"eventVersion": "1.08"}]]

RELIABILITY: dict[str, int] = {"odd input files": len(GLOB_NAMES) + len(LOOKALIKES) + len(NOT_OBJECTS)}


def _event(i: int) -> dict[str, object]:
    return {"eventVersion": "1.08", "eventTime": "2025-02-12T10:00:00Z", "eventName": "GetObject", "eventID": f"e{i}"}


def _count(root: Path, strict: bool = False) -> tuple[int, list[str]]:
    with Session(logs=root, strict=strict) as session:
        result = session.execute("SELECT count(*) FROM cloudtrail_logs")
        return result.table.column(0)[0].as_py(), [Path(s.path).name for s in result.stats.skipped]


@pytest.mark.parametrize("name", GLOB_NAMES)
def test_a_file_named_with_glob_characters_is_read_exactly_once(tmp_path: Path, name: str) -> None:
    folder = log_folder(tmp_path, "123456789012", "us-east-1", DAY)
    write_log(folder, GOOD_NAME, [_event(i) for i in range(3)])
    write_log(folder, "Tb.json.gz", [_event(i) for i in range(5)])  # what T*, q? or x[ab] would also match
    write_log(folder, "xa.json.gz", [_event(i) for i in range(7)])
    (folder / "qq.json.gz").write_bytes(b"not gzip")  # a bad file a glob of q? would drag in
    write_log(folder, name, [_event(i) for i in range(11)])
    count, skipped = _count(tmp_path)
    assert (count, skipped) == (3 + 5 + 7 + 11, ["qq.json.gz"])


@pytest.mark.parametrize(("good", "bad"), LOOKALIKES)
def test_the_bad_file_is_blamed_not_the_good_one_its_name_contains(tmp_path: Path, good: str, bad: str) -> None:
    folder = log_folder(tmp_path, "123456789012", "us-east-1", DAY)
    write_log(folder, good, [_event(i) for i in range(4)], gz=good.endswith(".gz"))
    write_log(folder, bad, [_event(i) for i in range(9)], gz=True)
    whole = (folder / bad).read_bytes()
    (folder / bad).write_bytes(whole[: len(whole) // 2])  # truncated gzip
    assert _count(tmp_path) == (4, [bad])
    with pytest.raises(BadInputError, match=r"\.bak: |X\.json\.gz: ") as raised:
        _count(tmp_path, strict=True)
    assert str(raised.value).split(": ")[0].endswith("/" + bad)


def test_the_engine_loads_no_extension_behind_a_query() -> None:
    from trailsql.engines.duckdb import DuckDBEngine

    engine = DuckDBEngine()
    settings = dict(
        engine.con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name LIKE 'auto%_known_extensions'"
        ).fetchall()
    )
    engine.close()
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
    assert duckdb.__version__.startswith("2.")


@pytest.mark.parametrize("element", NOT_OBJECTS, ids=[repr(e) for e in NOT_OBJECTS])
def test_a_records_element_that_is_not_an_object_is_no_event(tmp_path: Path, element: object) -> None:
    folder = log_folder(tmp_path / "logs", "123456789012", "us-east-1", DAY)
    write_log(folder, GOOD_NAME, [_event(i) for i in range(3)])
    write_log(folder, "mixed.json.gz", [_event(10), element, element, _event(11), {}])  # {} is an (empty) event
    write_log(folder, "only.json.gz", [element])
    count, skipped = _count(tmp_path / "logs")
    assert (count, sorted(skipped)) == (3 + 3, ["mixed.json.gz", "only.json.gz"])
    with Session(logs=tmp_path / "logs") as session:
        result = session.execute('SELECT eventid, "$record" FROM cloudtrail_logs ORDER BY eventid NULLS FIRST')
        reasons = sorted(s.reason for s in result.stats.skipped)
        assert result.stats.files_scanned == 3 and result.stats.events_scanned == 6
    assert [row["eventid"] for row in result.table.to_pylist()] == [None, "e0", "e1", "e10", "e11", "e2"]
    assert reasons == [
        "1 Records element is not a JSON object: left out (its 0 events were read)",
        "2 Records elements are not JSON objects: left out (its 3 events were read)",
    ]
    with pytest.raises(BadInputError, match=r"not a JSON object|not JSON objects"):
        _count(tmp_path / "logs", strict=True)
    report = ingest(str(tmp_path / "logs"), tmp_path / "ws")
    assert [(Path(uri).name, why) for uri, why in report.files_skipped] == [("only.json.gz", reasons[0])]
    with Session(logs=tmp_path / "logs", workspace=tmp_path / "ws") as session:
        result = session.execute("SELECT count(*) FROM cloudtrail_logs")
        assert result.stats.events_from_lake == 6
    assert result.table.column(0)[0].as_py() == 6
