"""``console-login-new-country``: a console sign-in from a country never seen for that user.

The countries come from a GeoLite2-Country-shaped database the test writes; each login's
verdict is written by hand from it.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from conftest import ENGINES, engine_session, log_folder, write_log
from test_enrich import write_mmdb
from trailsql import generate_benign
from trailsql.generate import GenerateOptions
from trailsql.library import load_library
from trailsql.library.run import run_query
from trailsql.session import Session

ACCOUNT = "123456789012"
US, GB, DE = "3.225.16.109", "81.2.69.142", "85.214.132.117"
WINDOW = {"since": "2025-03-10", "until": "2025-03-11"}


def login(event_id: str, day: str, user: str, address: str, result: str = "Success") -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}", "accountId": ACCOUNT},
        "eventTime": f"{day}T09:00:00Z",
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1",
        "sourceIPAddress": address,
        "userAgent": "Mozilla/5.0",
        "responseElements": {"ConsoleLogin": result},
        "additionalEventData": {"MFAUsed": "Yes"},
        "eventID": event_id,
        "recipientAccountId": ACCOUNT,
    }


#: Per day: the sign-ins. alice and bob signed in from the US before the window; carol never did.
LOGINS = {
    "2025-03-01": [login("b1", "2025-03-01", "alice", US), login("b2", "2025-03-01", "bob", US)],
    "2025-03-05": [login("b3", "2025-03-05", "alice", GB, "Failure")],  # a failed one teaches nothing
    "2025-03-10": [
        login("w1", "2025-03-10", "alice", GB),  # new for alice: a finding
        login("w2", "2025-03-10", "alice", GB),  # the same finding
        login("w3", "2025-03-10", "bob", US),  # bob's own country
        login("w4", "2025-03-10", "carol", DE),  # no baseline to compare with
        login("w5", "2025-03-10", "bob", "10.0.0.7"),  # no country known
        login("w6", "2025-03-10", "bob", DE, "Failure"),  # not a sign-in
        login("w7", "2025-03-10", "bob", DE),  # new for bob: another finding
    ],
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("new-country")
    for n, (day, records) in enumerate(LOGINS.items()):
        date = dt.date.fromisoformat(day)
        name = f"{ACCOUNT}_CloudTrail_us-east-1_{date:%Y%m%d}T0900Z_{n:04d}.json.gz"
        write_log(log_folder(root / "logs", ACCOUNT, "us-east-1", date), name, records)
    mmdb = write_mmdb(
        root / "country.mmdb",
        "GeoLite2-Country",
        {
            "3.224.0.0/12": {"country": {"iso_code": "US"}},
            "81.2.69.0/24": {"country": {"iso_code": "GB"}},
            "85.214.0.0/15": {"country": {"iso_code": "DE"}},
        },
    )
    folder = root / "ws"
    folder.mkdir()
    (folder / "trailsql.toml").write_text(
        f"[logs]\ndefault = {json.dumps(str(root / 'logs'))}\n\n[enrich]\nmmdb = [{json.dumps(str(mmdb))}]\n"
    )
    return folder


@pytest.mark.parametrize("engine", ENGINES)
def test_a_login_from_a_new_country_is_a_finding(engine: str, workspace: Path) -> None:
    with engine_session(engine, workspace=workspace) as session:
        run = run_query(session, load_library()["console-login-new-country"], WINDOW)
    assert run.error is None
    assert sorted((r["eventid"], r["country"]) for r in run.rows) == [("w1", "GB"), ("w2", "GB"), ("w7", "DE")]
    found = sorted(
        (f.group["actor"].rsplit("/", 1)[1], f.group["country"], tuple(sorted(f.event_ids))) for f in run.findings
    )
    assert found == [("alice", "GB", ("w1", "w2")), ("bob", "DE", ("w7",))]
    alice = next(f for f in run.findings if f.group["country"] == "GB")
    assert alice.summary.startswith(f"arn:aws:iam::{ACCOUNT}:user/alice signed in to the console from GB")


def test_without_a_database_nothing_is_reported(workspace: Path) -> None:
    logs = tomllib.loads((workspace / "trailsql.toml").read_text())["logs"]["default"]
    with Session(logs=logs) as bare:  # no workspace: no [enrich], no country
        run = run_query(bare, load_library()["console-login-new-country"], WINDOW)
    assert run.error is None and run.rows == [] and run.findings == []


#: The first bytes of every public address the benign generator writes (generate_benign._public_ip's callers).
_GENERATED_FIRSTS = (3, 4, 13, 18, 20, 24, 34, 38, 40, 44, 52, 54, 64, 67, 73, 96, 98)


def test_quiet_on_ordinary_days_of_sign_ins_and_fires_on_the_one_from_abroad(tmp_path: Path) -> None:
    """The false-positive figure: generated ordinary days (people signing in from the office
    and from home, all in one country) gives no finding on its last day; a sign-in of one of
    those people from another country, added to that day, gives exactly one."""
    days = 4
    first_day = dt.date(2025, 2, 8)
    options = GenerateOptions(
        events=4_000, days=days, start=first_day, seed=7, accounts=(ACCOUNT,), regions=("us-east-1",)
    )
    generate_benign.generate(tmp_path / "logs", options)
    last_day = first_day + dt.timedelta(days=days - 1)
    logins = [
        r
        for path in sorted((tmp_path / "logs").rglob("*.json.gz"))
        for r in json.loads(gzip.decompress(path.read_bytes()))["Records"]
        if r["eventName"] == "ConsoleLogin"
    ]
    earlier = [r for r in logins if r["eventTime"][:10] < str(last_day)]
    seen = {r["userIdentity"]["arn"] for r in earlier}
    # (the quiet means something: people who signed in before sign in again on the last day)
    assert any(r["eventTime"][:10] == str(last_day) and r["userIdentity"]["arn"] in seen for r in logins)
    mmdb = write_mmdb(
        tmp_path / "country.mmdb",
        "GeoLite2-Country",
        {
            **{f"{n}.0.0.0/8": {"country": {"iso_code": "US"}} for n in _GENERATED_FIRSTS},
            "81.2.69.0/24": {"country": {"iso_code": "GB"}},
        },
    )
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "trailsql.toml").write_text(f"[enrich]\nmmdb = [{json.dumps(str(mmdb))}]\n")
    window = {"since": str(last_day), "until": str(last_day + dt.timedelta(days=1)), "baseline": "3d"}
    query = load_library()["console-login-new-country"]
    with Session(logs=tmp_path / "logs", workspace=tmp_path / "ws") as ordinary:
        quiet = run_query(ordinary, query, window)
    assert quiet.error is None and quiet.findings == []
    abroad = {**earlier[0], "eventID": "abroad", "eventTime": f"{last_day}T12:00:00Z", "sourceIPAddress": GB}
    name = f"{ACCOUNT}_CloudTrail_us-east-1_{last_day:%Y%m%d}T1200Z_abroad.json.gz"
    write_log(log_folder(tmp_path / "logs", ACCOUNT, "us-east-1", last_day), name, [abroad])
    with Session(logs=tmp_path / "logs", workspace=tmp_path / "ws") as attacked:
        loud = run_query(attacked, query, window)
    assert [(f.group["actor"], f.group["country"], f.event_ids) for f in loud.findings] == [
        (earlier[0]["userIdentity"]["arn"], "GB", ("abroad",))
    ]
