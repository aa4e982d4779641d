"""First-seen profiles (lake/profiles.py) and the history they answer (library/history.py).

Every answer is compared with plain Python over the records the test wrote, with the
profiles (``run.history`` says "profiles") and with a scan (no lake, or a lake the profiles
cannot answer for, each with the reason it gives): the same rows each way.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import log_folder, write_log
from trailsql.investigate.history import _from_profiles, prior_history
from trailsql.investigate.subject import Principal
from trailsql.investigate.summary import History
from trailsql.lake.ingest import IngestOptions, Lake, ingest
from trailsql.lake.maintain import compact
from trailsql.library import load_library
from trailsql.library.query import parse_query
from trailsql.library.run import run_query
from trailsql.session import Session

NOW = dt.datetime(2025, 2, 12, 18, tzinfo=dt.UTC)
WINDOW = ("2025-02-11T18:00:00Z", "2025-02-12T18:00:00Z")  # since 24h before NOW
BASELINE = ("2025-02-04T18:00:00Z", "2025-02-11T18:00:00Z")  # baseline 7d before the window
ACCOUNTS = ("111111111111", "222222222222")
PRINCIPALS = [f"arn:aws:iam::111111111111:user/u{n}" for n in range(4)] + [None]
ADDRESSES = [f"198.51.100.{n}" for n in range(12)] + ["AWS Internal", "ec2.amazonaws.com", "2001:db8::7"]


def _time(at: dt.datetime) -> str:
    return f"{at:%Y-%m-%dT%H:%M:%SZ}"


def _record(at: dt.datetime, account: str, principal: str | None, address: str, number: int) -> dict[str, Any]:
    identity = {"type": "IAMUser", "arn": principal} if principal else {"type": "AWSService"}
    return {
        "eventVersion": "1.08",
        "eventTime": _time(at),
        "eventSource": "ec2.amazonaws.com",
        "eventName": random.choice(["DescribeInstances", "RunInstances", "GetObject"]),
        "awsRegion": "us-east-1",
        "sourceIPAddress": address,
        "userAgent": "aws-cli/2",
        "userIdentity": identity,
        "eventID": f"ev-{number:06d}",
        "recipientAccountId": account,
    }


def _write_history(root: Path) -> list[dict[str, Any]]:
    """Twelve days of log files (a few events each, minutes apart); the records written."""
    random.seed(7)
    written: list[dict[str, Any]] = []
    number = 0
    for day in range(1, 13):
        for account in ACCOUNTS:
            for hour in range(0, 24, 3):
                start = dt.datetime(2025, 2, day, hour, random.randrange(50), tzinfo=dt.UTC)
                records = []
                for n in range(random.randrange(1, 6)):
                    # Day 12's addresses are drawn wider: some are new.
                    pool = ADDRESSES if day == 12 else ADDRESSES[:9] + ADDRESSES[12:]
                    at = start + dt.timedelta(minutes=n)
                    records.append(_record(at, account, random.choice(PRINCIPALS), random.choice(pool), number))
                    number += 1
                name = f"{account}_CloudTrail_us-east-1_{start:%Y%m%dT%H%M}Z_{number:08d}.json.gz"
                write_log(log_folder(root, account, "us-east-1", start.date()), name, records)
                written += [dict(r, account=account) for r in records]
    return written


def _within(record: dict[str, Any], span: tuple[str, str]) -> bool:
    time: str = record["eventTime"]
    return span[0] <= time < span[1]


def _expected_new_ips(records: list[dict[str, Any]], account: str | None = None) -> list[tuple[str, ...]]:
    """new-source-ips computed in Python: window calls from addresses not seen in the baseline."""
    mine = [r for r in records if account is None or r["account"] == account]
    seen = {r["sourceIPAddress"] for r in mine if _within(r, BASELINE)}
    rows = [
        (r["eventTime"], r["userIdentity"].get("arn"), r["eventName"], r["sourceIPAddress"])
        for r in mine
        if _within(r, WINDOW) and r["sourceIPAddress"] not in seen and r["sourceIPAddress"] != "AWS Internal"
    ]
    return sorted(rows, key=lambda row: tuple(str(v) for v in row))


def _rows(run: Any) -> list[tuple[str, ...]]:
    assert run.error is None, run.error
    return sorted(
        (tuple(r[c] for c in ("eventtime", "caller", "eventname", "sourceipaddress")) for r in run.rows),
        key=lambda row: tuple(str(v) for v in row),
    )


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, Path, list[dict[str, Any]]]:
    root = tmp_path / "logs"
    records = _write_history(root)
    workspace = tmp_path / "ws"
    ingest(str(root), workspace)
    return root, workspace, records


def _new_ips(root: Path, workspace: Path | None, **params: str) -> Any:
    query = load_library()["new-source-ips"]
    with Session(str(root), workspace=workspace) as session:
        return run_query(session, query, {"since": "24h", "baseline": "7d", **params}, NOW)


def test_profiles_answer_the_baseline_as_the_scan_does(history: tuple[Path, Path, list[dict[str, Any]]]) -> None:
    root, workspace, records = history
    expected = _expected_new_ips(records)
    assert expected, "the data holds new addresses in the window"
    profiled = _new_ips(root, workspace)
    assert profiled.history == {"recent_ips": "profiles"}
    assert _rows(profiled) == expected
    scanned = _new_ips(root, None)
    assert scanned.history == {"recent_ips": "the engine does not read the lake"}
    assert _rows(scanned) == expected


def test_scope_applies_to_the_profiles(history: tuple[Path, Path, list[dict[str, Any]]]) -> None:
    root, workspace, records = history
    run = _new_ips(root, workspace, account=ACCOUNTS[1])
    assert run.history == {"recent_ips": "profiles"}
    assert _rows(run) == _expected_new_ips(records, ACCOUNTS[1])
    assert _expected_new_ips(records, ACCOUNTS[1]) != _expected_new_ips(records)


def test_a_log_file_the_lake_does_not_hold_is_scanned(history: tuple[Path, Path, list[dict[str, Any]]]) -> None:
    root, workspace, records = history
    late = [_record(dt.datetime(2025, 2, 9, 4, tzinfo=dt.UTC), ACCOUNTS[0], PRINCIPALS[0], ADDRESSES[10], 999999)]
    write_log(log_folder(root, ACCOUNTS[0], "us-east-1", dt.date(2025, 2, 9)), "late.json.gz", late)
    records += [dict(r, account=ACCOUNTS[0]) for r in late]
    run = _new_ips(root, workspace)
    assert run.history == {"recent_ips": "1 log files are not in the lake"}
    assert _rows(run) == _expected_new_ips(records)
    ingest(str(root), workspace)
    again = _new_ips(root, workspace)
    assert again.history == {"recent_ips": "profiles"}
    assert _rows(again) == _expected_new_ips(records)


def test_a_missing_profile_is_scanned_then_made_by_ingest(history: tuple[Path, Path, list[dict[str, Any]]]) -> None:
    root, workspace, records = history
    profiles = sorted((workspace / "lake" / "_profiles").rglob("*.parquet"))
    assert len(profiles) == len(list((workspace / "lake").glob("account=*/**/*.parquet")))
    day = next(p for p in profiles if "date=2025-02-08" in str(p))
    day.unlink()
    run = _new_ips(root, workspace)
    assert run.history["recent_ips"].startswith("a lake file has no profile yet")
    assert _rows(run) == _expected_new_ips(records)
    report = ingest(str(root), workspace)
    assert report.profiled == 1 and day.exists()
    assert _new_ips(root, workspace).history == {"recent_ips": "profiles"}


def test_compaction_keeps_profiles(history: tuple[Path, Path, list[dict[str, Any]]]) -> None:
    root, workspace, records = history
    lake = Lake(workspace)
    try:
        assert compact(lake, min_files=1).partitions > 0
    finally:
        lake.close()
    run = _new_ips(root, workspace)
    assert run.history == {"recent_ips": "profiles"}
    assert _rows(run) == _expected_new_ips(records)


def test_an_hour_straddling_a_short_baseline_is_scanned(tmp_path: Path) -> None:
    """An address seen at 17:10 and at 17:50, and a baseline of 17:20 to 17:40: its profile row
    (the hour of 17:00) spans the whole baseline, so the profiles cannot say; the scan says it is new."""
    root = tmp_path / "logs"
    before = dt.datetime(2025, 2, 12, 17, 10, tzinfo=dt.UTC)
    inside = dt.datetime(2025, 2, 12, 17, 50, tzinfo=dt.UTC)
    records = [_record(before, ACCOUNTS[0], PRINCIPALS[0], "203.0.113.5", 1)]
    records.append(_record(inside, ACCOUNTS[0], PRINCIPALS[0], "203.0.113.5", 2))
    write_log(log_folder(root, ACCOUNTS[0], "us-east-1", dt.date(2025, 2, 12)), "odd.json.gz", records)
    ingest(str(root), tmp_path / "ws")
    run = _new_ips(root, tmp_path / "ws", since="20m", baseline="20m")
    assert "maybe not inside" in run.history["recent_ips"]
    assert _rows(run) == [(_time(inside), PRINCIPALS[0], records[1]["eventName"], "203.0.113.5")]
    # A day's baseline: the two hours are apart, and the profiles answer.
    far = _new_ips(root, tmp_path / "ws", since="20m", baseline="1d")
    assert far.history == {"recent_ips": "profiles"}
    assert _rows(far) == []


_PER_PRINCIPAL = """-- id: new-address-for-principal
-- title: t
-- kind: hunt
-- severity: info
-- param: baseline duration = 7d
-- history: known
WITH known AS (
    SELECT DISTINCT sourceIPAddress AS address, userIdentity.arn AS who
    FROM cloudtrail_logs
    WHERE {{baseline}} {{scope}}
),
odd AS (
    SELECT DISTINCT sourceIPAddress AS address
    FROM cloudtrail_logs
    WHERE {{baseline}} {{scope}} AND eventName = 'GetObject'
)
SELECT DISTINCT c.userIdentity.arn AS who, c.sourceIPAddress AS address
FROM cloudtrail_logs c
LEFT JOIN known k ON k.who = c.userIdentity.arn AND k.address = c.sourceIPAddress
WHERE {{window}} AND k.address IS NULL AND c.userIdentity.arn IS NOT NULL
"""


def test_per_principal_history(history: tuple[Path, Path, list[dict[str, Any]]]) -> None:
    root, workspace, records = history
    seen = {(r["userIdentity"].get("arn"), r["sourceIPAddress"]) for r in records if _within(r, BASELINE)}
    expected = sorted(
        {
            (r["userIdentity"]["arn"], r["sourceIPAddress"])
            for r in records
            if _within(r, WINDOW) and r["userIdentity"].get("arn")
        }
        - seen
    )
    assert expected
    query = parse_query(_PER_PRINCIPAL.replace("-- history: known", "-- history: known, odd"), "q.sql")
    for where in (workspace, None):
        with Session(str(root), workspace=where) as session:
            run = run_query(session, query, {"since": "24h"}, NOW)
        assert run.error is None, run.error
        assert sorted((r["who"], r["address"]) for r in run.rows) == expected
        if where is not None:
            assert run.history == {"known": "profiles", "odd": "its WHERE is not the baseline and scope alone"}


def test_ingest_until_leaves_later_days_to_the_scan(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    records = _write_history(root)
    ingest(str(root), tmp_path / "ws", IngestOptions(until=dt.date(2025, 2, 6)))
    run = _new_ips(root, tmp_path / "ws")
    assert run.history["recent_ips"].endswith("log files are not in the lake")
    assert _rows(run) == _expected_new_ips(records)


def _expected_unusual_volume(records: list[dict[str, Any]], threshold: int) -> list[tuple[Any, ...]]:
    """unusual-api-volume computed in Python: (caller, calls in the window, busiest baseline day)."""
    service_linked = re.compile(r":assumed-role/AWSServiceRoleFor[^/]*/")
    calls = Counter(
        r["userIdentity"].get("arn")
        for r in records
        if _within(r, WINDOW) and not service_linked.search(r["userIdentity"].get("arn") or "")
    )
    daily = Counter((r["userIdentity"].get("arn"), r["eventTime"][:10]) for r in records if _within(r, BASELINE))
    busiest: dict[str | None, int] = {}
    for (caller, _), count in daily.items():
        busiest[caller] = max(busiest.get(caller, 0), count)
    rows = []
    for caller, count in calls.items():
        if count <= threshold:
            continue
        habit = busiest.get(caller)
        if (habit is None and count > 10 * threshold) or (habit is not None and count > 3 * habit):
            rows.append((caller, count, habit or 0))
    return sorted(rows, key=str)


def test_daily_counts_from_the_profiles(tmp_path: Path) -> None:
    """unusual-api-volume's baseline (calls per principal per day) from the profiles, as the scan counts it."""
    root = tmp_path / "logs"
    records = _write_history(root)
    burst_at = dt.datetime(2025, 2, 12, 8, tzinfo=dt.UTC)
    burst = [
        _record(burst_at + dt.timedelta(seconds=30 * n), ACCOUNTS[0], PRINCIPALS[1], ADDRESSES[0], 500000 + n)
        for n in range(120)
    ]
    newcomer = "arn:aws:iam::111111111111:user/newcomer"
    burst += [_record(burst_at, ACCOUNTS[0], newcomer, ADDRESSES[1], 600000 + n) for n in range(40)]
    write_log(log_folder(root, ACCOUNTS[0], "us-east-1", burst_at.date()), "burst.json.gz", burst)
    records += [dict(r, account=ACCOUNTS[0]) for r in burst]
    expected = _expected_unusual_volume(records, threshold=3)
    assert {row[0] for row in expected} == {PRINCIPALS[1], newcomer}, expected
    ingest(str(root), tmp_path / "ws")
    query = load_library()["unusual-api-volume"]
    for workspace in (tmp_path / "ws", None):
        with Session(str(root), workspace=workspace) as session:
            run = run_query(session, query, {"since": "24h", "baseline": "7d", "threshold": "3"}, NOW)
        assert run.error is None, run.error
        got = sorted(((r["caller"], r["api_calls"], r["baseline_busiest_day"]) for r in run.rows), key=str)
        assert got == expected
        assert run.history == ({"daily": "profiles"} if workspace else {"daily": "the engine does not read the lake"})
        assert run.result is not None and str(run.result.table.schema.field("baseline_busiest_day").type) == "int64"


def test_an_empty_baseline_from_the_profiles(tmp_path: Path) -> None:
    """Logs that begin in the window: the profiles answer "nothing seen", and every address is new."""
    root = tmp_path / "logs"
    at = dt.datetime(2025, 2, 12, 9, tzinfo=dt.UTC)
    records = [_record(at, ACCOUNTS[0], PRINCIPALS[0], address, n) for n, address in enumerate(ADDRESSES[:3])]
    write_log(log_folder(root, ACCOUNTS[0], "us-east-1", at.date()), "only.json.gz", records)
    ingest(str(root), tmp_path / "ws")
    run = _new_ips(root, tmp_path / "ws")
    assert run.history == {"recent_ips": "profiles"}
    assert _rows(run) == sorted((_time(at), PRINCIPALS[0], r["eventName"], r["sourceIPAddress"]) for r in records)


def test_a_principals_history_before_a_timeline(history: tuple[Path, Path, list[dict[str, Any]]]) -> None:
    """trailsql timeline's "what was new": one user's history before the window, from the profiles
    and from the scan, as Python says it is."""
    root, workspace, records = history
    user = PRINCIPALS[2]
    before = dt.datetime(2025, 2, 9, 12, tzinfo=dt.UTC)
    mine = [r for r in records if r["userIdentity"].get("arn") == user and r["eventTime"] < _time(before)]
    expected = History(
        events=len(mine),
        first_seen=min(r["eventTime"] for r in mine),
        apis=frozenset(f"ec2:{r['eventName']}" for r in mine),
        addresses=frozenset(r["sourceIPAddress"] for r in mine),
        regions=frozenset({"us-east-1"}),
        user_agents=frozenset({"aws-cli/2"}),
    )
    with Session(str(root), workspace=workspace) as session:
        assert _from_profiles(session, Principal("principal", user), before) == expected
        assert prior_history(session, Principal("principal", user), before) == expected
    with Session(str(root)) as session:
        assert _from_profiles(session, Principal("principal", user), before) is None
        assert prior_history(session, Principal("principal", user), before) == expected
