"""Logs roots of every shape, CloudTrail's folder layout, and the bundled sample."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from conftest import log_folder, write_log
from trailsql.demo import samples_root
from trailsql.lake.ingest import ingest
from trailsql.session import Session

ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("us-east-1", "eu-west-1")
DAYS = (dt.date(2025, 2, 11), dt.date(2025, 2, 12))


def _event(account: str, region: str, day: dt.date, n: int) -> dict[str, object]:
    return {
        "eventVersion": "1.09",
        "eventTime": f"{day:%Y-%m-%d}T10:00:{n:02d}Z",
        "eventName": f"Call{n % 3}",
        "eventSource": "s3.amazonaws.com",
        "awsRegion": region,
        "eventID": f"{account}-{region}-{day}-{n}",
        "recipientAccountId": account,
        "readOnly": True,
        "resources": [{"ARN": f"arn:aws:s3:::b{n}", "accountId": account, "type": "AWS::S3::Bucket"}],
    }


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Two accounts (one under an org trail), two regions, two days; 3 events a file."""
    root = tmp_path / "bucket"
    for account in ACCOUNTS:
        org = "o-abcdefghij" if account == ACCOUNTS[1] else None
        for region in REGIONS:
            for day in DAYS:
                records = [_event(account, region, day, n) for n in range(3)]
                name = f"{account}_CloudTrail_{region}_{day:%Y%m%d}T1005Z_abc.json.gz"
                write_log(log_folder(root, account, region, day, org), name, records)
    digest = root / "AWSLogs" / ACCOUNTS[0] / "CloudTrail-Digest" / "us-east-1" / "2025" / "02" / "12"
    digest.mkdir(parents=True)
    (digest / "digest.json.gz").write_bytes(gzip.compress(b'{"logFiles": []}'))
    return root


def _rows(session: Session, sql: str) -> list[dict[str, object]]:
    return session.execute(sql).table.to_pylist()


def test_partitions_come_from_the_path_including_org_trails(tree: Path) -> None:
    rows = _rows(Session(logs=tree), "SELECT DISTINCT account, region, year, month, day FROM cloudtrail_logs")
    expected = {(a, r, f"{d:%Y}", f"{d:%m}", f"{d:%d}") for a in ACCOUNTS for r in REGIONS for d in DAYS}
    assert {tuple(r.values()) for r in rows} == expected


@pytest.mark.parametrize(
    ("below", "events"),
    [
        ("", 24),
        ("AWSLogs", 24),
        (f"AWSLogs/{ACCOUNTS[0]}", 12),
        (f"AWSLogs/{ACCOUNTS[0]}/CloudTrail/us-east-1", 6),
        (f"AWSLogs/{ACCOUNTS[0]}/CloudTrail/us-east-1/2025/02/12", 3),
        ("AWSLogs/o-abcdefghij", 12),
    ],
)
def test_any_folder_of_the_tree_is_a_logs_root(tree: Path, below: str, events: int) -> None:
    session = Session(logs=tree / below)
    result = session.execute(
        "SELECT count(*) AS n, count(DISTINCT day) AS days, min(account) AS a FROM cloudtrail_logs"
    )
    row = result.table.to_pylist()[0]
    assert row["n"] == events
    assert row["a"] in ACCOUNTS  # partition values still come from the full path
    assert result.stats.files_skipped == 0  # the digest folder is never read


def test_flat_folder_takes_partitions_from_file_names(tree: Path, tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    for path in (tree / "AWSLogs").rglob("*_CloudTrail_*.json.gz"):
        shutil.copy(path, flat / path.name)
    session = Session(logs=flat)
    result = session.execute(
        "SELECT account, region, day, count(*) AS n FROM cloudtrail_logs WHERE day = '12' GROUP BY 1, 2, 3"
    )
    assert {(r["account"], r["region"], r["day"], r["n"]) for r in result.table.to_pylist()} == {
        (a, r, "12", 3) for a in ACCOUNTS for r in REGIONS
    }
    assert result.stats.files_scanned == 4 and result.stats.files_pruned == 4


def test_pruned_folders_are_not_listed(tree: Path) -> None:
    session = Session(logs=tree)
    result = session.execute(
        f"SELECT count(*) AS n FROM cloudtrail_logs WHERE account = '{ACCOUNTS[0]}' AND region = 'us-east-1' AND day = '12'"
    )
    assert result.table.to_pylist() == [{"n": 3}]
    assert (result.stats.files_listed, result.stats.files_scanned) == (1, 1)


def test_resources_fields_match_case_insensitively(tree: Path) -> None:
    session = Session(logs=tree)
    sql = (
        "SELECT r.arn, r.ARN AS upper_arn, t.type FROM cloudtrail_logs CROSS JOIN UNNEST(resources) AS u(r) "
        "CROSS JOIN UNNEST(resources) AS t(arn, accountid, type) WHERE account = '111111111111' AND region = 'us-east-1' AND day = '12'"
    )
    rows = _rows(session, sql)
    assert {r["arn"] for r in rows} == {"arn:aws:s3:::b0", "arn:aws:s3:::b1", "arn:aws:s3:::b2"}
    assert all(r["arn"] == r["upper_arn"] and r["type"] == "AWS::S3::Bucket" for r in rows)
    assert _rows(session, "SELECT DISTINCT readonly FROM cloudtrail_logs") == [{"readonly": "true"}]


def test_sample_counts_match_a_plain_python_count() -> None:
    expected: Counter[str] = Counter()
    for path in samples_root().rglob("*.json.gz"):
        expected.update(r["eventName"] for r in json.loads(gzip.decompress(path.read_bytes()))["Records"])
    session = Session(logs=samples_root())
    rows = _rows(session, "SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1 ORDER BY 2 DESC, 1")
    assert {r["eventname"]: r["n"] for r in rows} == dict(expected)
    assert [r["n"] for r in rows] == sorted(expected.values(), reverse=True)


def _write_text(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(gzip.compress(text.encode()))


@pytest.mark.parametrize("pretty_files", [1, 5])
def test_files_not_written_a_document_a_line_are_read_whole(tmp_path: Path, pretty_files: int) -> None:
    """CloudTrail writes a file as one line, and the engine reads files a line at a time
    first; pretty-printed files and documents run together must still give every event,
    whether one such file (read again on its own) or many (every file read whole)."""
    account, region, day = ACCOUNTS[0], REGIONS[0], DAYS[0]
    folder = log_folder(tmp_path, account, region, day)
    expected: Counter[str] = Counter()

    def records(tag: str, count: int) -> list[dict[str, object]]:
        found = [{**_event(account, region, day, n), "eventID": f"{tag}-{n}"} for n in range(count)]
        expected.update(str(r["eventID"]) for r in found)
        return found

    for i in range(3):
        _write_text(
            folder,
            f"{account}_CloudTrail_{region}_20250211T10{i:02d}Z_line{i}.json.gz",
            json.dumps({"Records": records(f"line{i}", 4)}),
        )
    for i in range(pretty_files):
        _write_text(
            folder,
            f"{account}_CloudTrail_{region}_20250211T11{i:02d}Z_pretty{i}.json.gz",
            json.dumps({"Records": records(f"pretty{i}", 3)}, indent=2),
        )
    _write_text(
        folder,
        f"{account}_CloudTrail_{region}_20250211T1200Z_together.json.gz",
        json.dumps({"Records": records("together-a", 2)}) + json.dumps({"Records": records("together-b", 2)}),
    )
    with Session(logs=tmp_path) as session:
        result = session.execute("SELECT eventid FROM cloudtrail_logs")
    assert Counter(r["eventid"] for r in result.table.to_pylist()) == expected
    assert result.stats.skipped == []
    assert result.stats.events_scanned == sum(expected.values())
    # Ingest reads them the same way: the lake holds every event.
    report = ingest(str(tmp_path / "AWSLogs"), tmp_path / "ws")
    assert (report.events_read, report.files_skipped) == (sum(expected.values()), [])
    with Session(logs=tmp_path, workspace=tmp_path / "ws") as session:
        result = session.execute("SELECT eventid FROM cloudtrail_logs")
    assert Counter(r["eventid"] for r in result.table.to_pylist()) == expected
    assert result.stats.events_from_lake == sum(expected.values())
