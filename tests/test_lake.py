"""The CloudTrail Lake-shaped view: Lake's schema over the same logs, named by event data store id."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from conftest import log_folder, write_log
from trailsql.session import Session

STORE = "a1108ccd-5700-4d23-9b7f-cfbae7c1308b"
RECORDS = [
    {
        "eventVersion": "1.08",
        "eventTime": "2025-02-12T10:00:00Z",
        "eventName": "ConsoleLogin",
        "eventSource": "signin.amazonaws.com",
        "readOnly": False,
        "managementEvent": True,
        "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "123456789012"},
        "additionalEventData": {"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com"},
        "responseElements": {"ConsoleLogin": "Success"},
        "recipientAccountId": "123456789012",
    },
    {
        "eventVersion": "1.08",
        "eventTime": "2025-02-12T11:30:00Z",
        "eventName": "RunInstances",
        "eventSource": "ec2.amazonaws.com",
        "readOnly": False,
        "userIdentity": {"type": "AssumedRole", "accountId": "999999999999"},
        "requestParameters": {"instanceType": "t3.micro", "instancesSet": {"items": [{"imageId": "ami-1"}]}},
        "recipientAccountId": "123456789012",
    },
]


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    write_log(log_folder(root, "123456789012", "us-east-1", dt.date(2025, 2, 12)), "f.json.gz", RECORDS)
    return root


def test_lake_schema_types_and_maps(logs: Path) -> None:
    session = Session(logs=logs, event_data_stores=[STORE])
    rows = session.execute(
        f"SELECT eventName, eventTime, readOnly, element_at(additionalEventData, 'MFAUsed') AS mfa, "
        f"element_at(requestParameters, 'instanceType') AS itype, element_at(requestParameters, 'instancesSet') AS items "
        f"FROM {STORE} WHERE eventTime > '2025-02-12 09:00:00' ORDER BY eventTime"
    ).table.to_pylist()
    assert [r["eventname"] for r in rows] == ["ConsoleLogin", "RunInstances"]
    assert rows[0]["eventtime"] == dt.datetime(2025, 2, 12, 10, 0, 0)
    assert rows[0]["readonly"] is False and rows[0]["mfa"] == "No"
    assert rows[1]["itype"] == "t3.micro"
    # Nested values are JSON text, as Lake's map<string, string> holds them.
    assert json.loads(rows[1]["items"]) == RECORDS[1]["requestParameters"]["instancesSet"]  # type: ignore[index]


def test_lake_queries_of_the_documentation_run(logs: Path) -> None:
    session = Session(logs=logs)
    cross = session.execute(
        "SELECT userIdentity.accountId, recipientAccountId FROM cloudtrail_lake "
        "WHERE eventTime > '2025-02-12 00:00:00' AND eventTime < '2025-02-13 00:00:00' "
        "AND userIdentity.accountId != recipientAccountId"
    ).table.to_pylist()
    assert cross == [{"accountid": "999999999999", "recipientaccountid": "123456789012"}]
    by_day = session.execute("SELECT day_of_week(eventTime) AS d, COUNT(*) AS n FROM cloudtrail_lake GROUP BY 1").table
    assert by_day.to_pylist() == [{"d": 3, "n": 2}]  # 2025-02-12 was a Wednesday
    raw = session.execute("SELECT eventJson FROM cloudtrail_lake WHERE eventName = 'ConsoleLogin'").table
    assert json.loads(raw.column(0)[0].as_py()) == RECORDS[0]


def test_event_data_store_ids_are_kept_in_the_workspace(logs: Path, tmp_path: Path) -> None:
    Session(logs=logs, workspace=tmp_path / "ws", event_data_stores=[STORE])
    again = Session(logs=logs, workspace=tmp_path / "ws")
    assert again.execute(f"SELECT count(*) AS n FROM {STORE}").table.to_pylist() == [{"n": 2}]
