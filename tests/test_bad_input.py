"""Bad input never stops a query and is never silent.

A logs folder holds good CloudTrail files (one of them over DuckDB's default 16 MiB
object limit, which must be read, not skipped) beside each kind of bad file: a
truncated gzip, invalid JSON, JSON that is not a CloudTrail file, an empty ``Records``
array, a file that is not gzip at all and a zero-byte file. A query must return exactly
the rows of the good files, name every bad file in ``Result.stats.skipped`` with a
reason and count it in ``files_skipped``; ``strict=True`` must raise
:class:`~trailsql.errors.BadInputError` naming the file instead. Digest and Insight files
(``CloudTrail-Digest/``, ``CloudTrail-Insight/``) are not events: never read, never
reported. A logs root or table location that does not exist gives no rows and a
warning naming it, not an error. The CLI names skipped files on stderr and exits 0, or
exits 1 under ``--strict``.

Expected rows and counts come from the records written here, never from trailsql.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import CliRunner
from tests.conftest import log_folder, write_log

from trailsql.cli.main import main
from trailsql.errors import BadInputError, CatalogError
from trailsql.session import Result, Session

ACCOUNT = "123456789012"
REGION = "us-east-1"
DAY = dt.date(2025, 2, 12)
SIXTEEN_MIB = 16 * 1024 * 1024
BIG_EVENTS = 1800
BIG_PADDING = 10_000  # characters of errorMessage per big event: 1800 x 10 kB > 16 MiB


def event(event_id: str, name: str = "GetObject", day: dt.date = DAY, region: str = REGION) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "accountId": ACCOUNT, "userName": "alice"},
        "eventTime": f"{day:%Y-%m-%d}T10:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "eventID": event_id,
        "readOnly": True,
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }


def file_name(tag: str, day: dt.date = DAY, region: str = REGION) -> str:
    return f"{ACCOUNT}_CloudTrail_{region}_{day:%Y%m%d}T1005Z_{tag}.json.gz"


def _truncated_gzip() -> bytes:
    records = [event(f"truncated-{i}") for i in range(200)]
    data = gzip.compress(json.dumps({"Records": records}).encode())
    return data[: len(data) // 2]


#: Each kind of bad file: its bytes (all named ``*.json.gz``).
BAD_FILES: dict[str, bytes] = {
    "truncated_gzip": _truncated_gzip(),
    # Valid gzip, but the JSON stops in the middle of the second record.
    "invalid_json": gzip.compress(json.dumps({"Records": [event("invalid-1")]}).encode()[:-2] + b', {"eventID": '),
    "not_cloudtrail": gzip.compress(b'{"foo": 1}'),
    "empty_records": gzip.compress(b'{"Records": []}'),
    "not_gzip": b'{"Records": [{"eventID": "plain-1"}]} but named .gz and not compressed\n',
    "zero_bytes": b"",
}


def write_bad(folder: Path, kind: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(kind)
    path.write_bytes(BAD_FILES[kind])
    return path


@dataclass
class BigLog:
    path: Path
    ids: list[str]


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> BigLog:
    """One good log file whose JSON is over 16 MiB, written once for the module."""
    ids = [f"big-{i:05d}" for i in range(BIG_EVENTS)]
    records = [{**event(i, "PutObject"), "errorMessage": "x" * BIG_PADDING} for i in ids]
    data = json.dumps({"Records": records}).encode()
    assert len(data) > SIXTEEN_MIB
    path = tmp_path_factory.mktemp("big") / file_name("big")
    path.write_bytes(gzip.compress(data, compresslevel=1))
    return BigLog(path, ids)


def place(big: BigLog, folder: Path) -> Path:
    """The big file inside ``folder`` (a hard link: no second 17 MiB write)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / big.path.name
    try:
        os.link(big.path, target)
    except OSError:
        shutil.copyfile(big.path, target)
    return target


@dataclass
class Corpus:
    root: Path
    good_ids: list[str]
    good_files: list[Path]
    bad: dict[str, Path]
    non_events: list[Path]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, big_log: BigLog) -> Corpus:
    """Good files over two days and two regions, every kind of bad file, digests and Insights."""
    root = tmp_path_factory.mktemp("corpus") / "logs"
    day11 = DAY - dt.timedelta(days=1)
    day12_folder = log_folder(root, ACCOUNT, REGION, DAY)
    day11_folder = log_folder(root, ACCOUNT, REGION, day11)
    good_files: list[Path] = []
    good_ids: list[str] = []
    for tag, day, region, name, count in [
        ("a", DAY, REGION, "GetObject", 5),
        ("b", DAY, REGION, "ListBuckets", 3),
        ("c", day11, REGION, "GetObject", 1),
        ("d", DAY, "us-west-2", "GetObject", 1),
    ]:
        ids = [f"{tag}-{i}" for i in range(count)]
        records = [event(i, name, day, region) for i in ids]
        folder = log_folder(root, ACCOUNT, region, day)
        good_files.append(write_log(folder, file_name(f"good-{tag}", day, region), records))
        good_ids += ids
    good_files.append(place(big_log, day12_folder))
    good_ids += big_log.ids
    # Bad files in two folders, so that they do not all sit beside each other.
    bad = {kind: write_bad(day12_folder if n % 2 == 0 else day11_folder, kind) for n, kind in enumerate(BAD_FILES)}
    account = root / "AWSLogs" / ACCOUNT
    digest_folder = account / "CloudTrail-Digest" / REGION / f"{DAY:%Y}" / f"{DAY:%m}" / f"{DAY:%d}"
    digest = {
        "awsAccountId": ACCOUNT,
        "digestStartTime": "2025-02-12T09:00:00Z",
        "digestEndTime": "2025-02-12T10:00:00Z",
        "digestS3Bucket": "your-cloudtrail-bucket",
        "logFiles": [{"s3Bucket": "your-cloudtrail-bucket", "s3Object": "AWSLogs/x.json.gz"}],
    }
    digest_folder.mkdir(parents=True)
    digest_good = digest_folder / f"{ACCOUNT}_CloudTrail-Digest_{REGION}_trail_{REGION}_20250212T100000Z.json.gz"
    digest_good.write_bytes(gzip.compress(json.dumps(digest).encode()))
    digest_bad = digest_folder / f"{ACCOUNT}_CloudTrail-Digest_{REGION}_trail_{REGION}_20250212T110000Z.json.gz"
    digest_bad.write_bytes(gzip.compress(json.dumps(digest).encode())[:20])
    insight_folder = account / "CloudTrail-Insight" / REGION / f"{DAY:%Y}" / f"{DAY:%m}" / f"{DAY:%d}"
    insight = {**event("insight-1", "PutObject"), "eventType": "AwsCloudTrailInsight"}
    insight_file = write_log(
        insight_folder, f"{ACCOUNT}_CloudTrail-Insight_{REGION}_20250212T1005Z_i.json.gz", [insight]
    )
    return Corpus(root, good_ids, good_files, bad, [digest_good, digest_bad, insight_file])


def resolved(path: str | Path) -> Path:
    return Path(path).resolve()


def skipped_paths(result: Result) -> set[Path]:
    return {resolved(s.path) for s in result.stats.skipped}


# --- the library -----------------------------------------------------------------------


def test_query_returns_exactly_the_rows_of_the_good_files(corpus: Corpus) -> None:
    session = Session(logs=corpus.root)
    try:
        rows = session.execute("SELECT eventid FROM cloudtrail_logs")
        count = session.execute("SELECT count(*) AS n FROM cloudtrail_logs")
        big = session.execute("SELECT count(*) AS n FROM cloudtrail_logs WHERE eventid LIKE 'big-%'")
    finally:
        session.close()
    assert Counter(rows.table.column("eventid").to_pylist()) == Counter(corpus.good_ids)
    assert count.table.column("n").to_pylist() == [len(corpus.good_ids)]
    assert big.table.column("n").to_pylist() == [BIG_EVENTS]


def test_each_bad_file_is_skipped_with_a_reason(corpus: Corpus) -> None:
    session = Session(logs=corpus.root)
    try:
        result = session.execute("SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1")
    finally:
        session.close()
    expected_bad = {resolved(p) for p in corpus.bad.values()}
    assert skipped_paths(result) == expected_bad
    for skipped in result.stats.skipped:
        assert isinstance(skipped.reason, str)
        assert skipped.reason.strip(), f"no reason given for {skipped.path}"
    assert result.stats.files_skipped == len(corpus.bad)
    assert result.stats.as_dict()["files_skipped"] == len(corpus.bad)
    # The good files (the big one included) are read, not skipped, and their events counted.
    assert not {resolved(p) for p in corpus.good_files} & skipped_paths(result)
    assert result.stats.events_scanned == len(corpus.good_ids)
    names = {"big": "PutObject", "b": "ListBuckets"}
    expected = Counter(names.get(i.split("-")[0], "GetObject") for i in corpus.good_ids)
    assert {r["eventname"]: r["n"] for r in result.table.to_pylist()} == expected


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_each_kind_alone_is_skipped_and_named(kind: str, write_logs: Any) -> None:
    good = [event(f"g-{i}") for i in range(4)]
    write_logs(good)
    bad = write_bad(log_folder(write_logs.root, ACCOUNT, REGION, DAY), kind)
    session = Session(logs=write_logs.root)
    try:
        result = session.execute("SELECT eventid FROM cloudtrail_logs")
    finally:
        session.close()
    assert sorted(result.table.column("eventid").to_pylist()) == sorted(r["eventID"] for r in good)
    assert skipped_paths(result) == {resolved(bad)}
    assert result.stats.files_skipped == 1
    assert result.stats.skipped[0].reason.strip()


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_strict_raises_naming_the_bad_file(kind: str, write_logs: Any) -> None:
    write_logs([event("g-0"), event("g-1")])
    bad = write_bad(log_folder(write_logs.root, ACCOUNT, REGION, DAY), kind)
    session = Session(logs=write_logs.root, strict=True)
    try:
        with pytest.raises(BadInputError) as raised:
            session.execute("SELECT eventid FROM cloudtrail_logs")
    finally:
        session.close()
    assert bad.name in str(raised.value)


def test_strict_over_every_bad_file_raises_naming_one(corpus: Corpus) -> None:
    session = Session(logs=corpus.root, strict=True)
    try:
        with pytest.raises(BadInputError) as raised:
            session.execute("SELECT count(*) AS n FROM cloudtrail_logs")
    finally:
        session.close()
    assert any(p.name in str(raised.value) for p in corpus.bad.values())


def test_strict_reads_the_big_file(tmp_path: Path, big_log: BigLog) -> None:
    """A file over 16 MiB is good input: no error under strict, every event counted."""
    folder = log_folder(tmp_path / "logs", ACCOUNT, REGION, DAY)
    write_log(folder, file_name("small"), [event("s-0")])
    place(big_log, folder)
    session = Session(logs=tmp_path / "logs", strict=True)
    try:
        result = session.execute("SELECT count(*) AS n, count(DISTINCT eventid) AS ids FROM cloudtrail_logs")
    finally:
        session.close()
    assert result.table.to_pylist() == [{"n": BIG_EVENTS + 1, "ids": BIG_EVENTS + 1}]
    assert result.stats.files_skipped == 0
    assert result.stats.events_scanned == BIG_EVENTS + 1


def test_digest_and_insight_files_are_neither_read_nor_reported(corpus: Corpus) -> None:
    session = Session(logs=corpus.root)
    try:
        result = session.execute("SELECT eventid FROM cloudtrail_logs WHERE eventid = 'insight-1'")
    finally:
        session.close()
    assert result.table.num_rows == 0
    reported = skipped_paths(result)
    assert not reported & {resolved(p) for p in corpus.non_events}
    assert not [s for s in result.stats.skipped if "Digest" in s.path or "Insight" in s.path]
    # Not listed either: the listed files are the good and the bad ones.
    assert result.stats.files_listed == len(corpus.good_files) + len(corpus.bad)


def test_a_missing_logs_root_is_an_error_naming_it(tmp_path: Path) -> None:
    """Not an empty answer (issue 13): a mistyped --logs fails and says which path."""
    missing = tmp_path / "no" / "such" / "logs"
    with Session(logs=missing) as session, pytest.raises(CatalogError, match=re.escape(str(missing))):
        session.execute("SELECT count(*) AS n FROM cloudtrail_logs")


def test_missing_table_location_beside_good_logs(corpus: Corpus, tmp_path: Path) -> None:
    """A table over a folder that does not exist adds no rows to the good files' rows."""
    missing = tmp_path / "gone"
    session = Session(logs=corpus.root)
    try:
        session.execute(
            "CREATE EXTERNAL TABLE gone (eventID STRING) "
            "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe' "
            f"LOCATION '{missing}/'"
        )
        result = session.execute(
            "SELECT eventid FROM cloudtrail_logs WHERE eventid NOT LIKE 'big-%' UNION ALL SELECT eventid FROM gone"
        )
    finally:
        session.close()
    small = [i for i in corpus.good_ids if not i.startswith("big-")]
    assert sorted(result.table.column("eventid").to_pylist()) == sorted(small)
    assert any(str(missing) in w for w in result.warnings), result.warnings


# --- the command line ------------------------------------------------------------------


class _Entry:
    """``trailsql.cli.main.main`` (which maps errors to exit codes) in the shape CliRunner invokes."""

    name = "trailsql"

    def main(self, args: list[str], prog_name: str, **extra: Any) -> None:
        with mock.patch.object(sys, "argv", [prog_name, *args]):
            main()


def trailsql(*args: str | Path) -> Any:
    return CliRunner().invoke(_Entry(), [str(a) for a in args], catch_exceptions=False)  # type: ignore[arg-type]


def test_cli_names_skipped_files_on_stderr_and_exits_0(corpus: Corpus) -> None:
    result = trailsql("query", "--logs", corpus.root, "--format", "csv", "SELECT count(*) AS n FROM cloudtrail_logs")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f'"n"\n"{len(corpus.good_ids)}"\n'
    for path in corpus.bad.values():
        assert path.name in result.stderr, f"{path.name} not named on stderr"
    for path in corpus.non_events:
        assert path.name not in result.stderr
    for path in corpus.good_files:
        assert path.name not in result.stderr


def test_cli_strict_exits_1_naming_the_file(corpus: Corpus) -> None:
    result = trailsql("query", "--strict", "--logs", corpus.root, "SELECT count(*) AS n FROM cloudtrail_logs")
    assert result.exit_code == 1
    assert "error:" in result.stderr
    assert any(p.name in result.stderr for p in corpus.bad.values()), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", ["not_cloudtrail", "empty_records"])
def test_cli_strict_exits_1_for_a_parsable_bad_file(kind: str, write_logs: Any) -> None:
    write_logs([event("g-0")])
    bad = write_bad(log_folder(write_logs.root, ACCOUNT, REGION, DAY), kind)
    result = trailsql("query", "--strict", "--logs", write_logs.root, "SELECT count(*) AS n FROM cloudtrail_logs")
    assert result.exit_code == 1
    assert bad.name in result.stderr


def test_cli_missing_logs_root_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = trailsql("query", "--logs", missing, "--format", "json", "SELECT count(*) AS n FROM cloudtrail_logs")
    assert result.exit_code == 1 and result.stdout == ""
    assert f"the logs location {missing} does not exist" in result.stderr
