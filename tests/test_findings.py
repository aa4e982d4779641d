"""One attack, one finding: a detection's rows grouped, and the history-based instance
credentials detection (issue 12, items 3 and 4).

Rows are written by hand here; what a finding must say is worked out by hand from them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.test_detections import deliver

from trailsql.library import load_library
from trailsql.library.findings import MAX_EVIDENCE, group_findings
from trailsql.library.query import parse_query
from trailsql.library.run import run_query
from trailsql.session import Session

HEADER = "-- id: t\n-- title: Test detection\n-- kind: detection\n-- severity: high\n-- key: eventid\n"


def _rows(actor: str, n: int, start: int = 0, target: str = "sg-1") -> list[dict[str, Any]]:
    return [
        {
            "eventtime": f"2025-02-12T10:{start + i:02d}:00Z",
            "technique": "aws.x",
            "eventname": "AuthorizeSecurityGroupIngress" if i % 2 else "ModifySecurityGroupRules",
            "actor": actor,
            "sourceipaddress": f"203.0.113.{i % 3}",
            "account_id": "123456789012",
            "target": target,
            "eventid": f"{actor}-{start + i}",
        }
        for i in range(n)
    ]


def test_rows_of_one_actor_and_target_are_one_finding() -> None:
    query = parse_query(HEADER + "SELECT 1", "t.sql")
    rows = _rows("arn:aws:iam::123456789012:user/eve", 25) + _rows("arn:aws:iam::123456789012:user/bob", 2)
    eve, bob = group_findings(query, rows, "trailsql queries run t")
    assert (eve.count, bob.count) == (25, 2)
    assert (eve.first_seen, eve.last_seen) == ("2025-02-12T10:00:00Z", "2025-02-12T10:24:00Z")
    assert eve.actions == ("ModifySecurityGroupRules", "AuthorizeSecurityGroupIngress")
    assert eve.addresses == ("203.0.113.0", "203.0.113.1", "203.0.113.2")
    assert len(eve.event_ids) == MAX_EVIDENCE and eve.event_total == 25
    assert eve.event_ids[0] == "arn:aws:iam::123456789012:user/eve-0"
    assert eve.summary == (
        "Test detection: arn:aws:iam::123456789012:user/eve on sg-1, 25 events "
        "(ModifySecurityGroupRules, AuthorizeSecurityGroupIngress) from 203.0.113.0, 203.0.113.1, 203.0.113.2"
    )
    assert eve.group == {
        "technique": "aws.x",
        "account_id": "123456789012",
        "actor": "arn:aws:iam::123456789012:user/eve",
        "target": "sg-1",
    }


def test_a_finding_found_again_in_an_overlapping_window_has_the_same_key() -> None:
    query = parse_query(HEADER + "SELECT 1", "t.sql")
    first = group_findings(query, _rows("eve", 5), "")
    later = group_findings(query, _rows("eve", 5, start=3), "")  # two rows again, three new
    other_target = group_findings(query, _rows("eve", 5, target="sg-2"), "")
    assert first[0].key == later[0].key != other_target[0].key


def test_the_summary_header_and_the_reason_column_say_why() -> None:
    template = parse_query(
        HEADER + "-- summary: {actor} opened {target} {count} times from {addresses}\nSELECT 1", "t.sql"
    )
    (finding,) = group_findings(template, _rows("eve", 4), "")
    assert finding.summary == "eve opened sg-1 4 times from 203.0.113.0, 203.0.113.1, 203.0.113.2"
    grouped = parse_query(HEADER + "-- group: actor\nSELECT 1", "t.sql")
    rows = [{**r, "reason": f"because {r['target']}"} for r in _rows("eve", 2) + _rows("eve", 1, target="sg-9")]
    (finding,) = group_findings(grouped, rows, "")
    assert finding.summary == "because sg-1 (and 1 more)"
    assert finding.group == {"actor": "eve"}


# --- instance credentials used elsewhere: the instance's own history ---------------------

ACCOUNT = "123456789012"
NAT = "198.51.100.10"  # the NAT gateway the fleet and a build box share


def _instance_call(instance: str, when: str, address: str, name: str = "GetCallerIdentity") -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventTime": when,
        "eventSource": "sts.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": address,
        "eventID": f"{instance}-{when}-{address}",
        "recipientAccountId": ACCOUNT,
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": f"AROAEXAMPLE:{instance}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/{instance}",
            "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {"ec2RoleDelivery": "2.0"},
        },
    }


def _user_call(when: str, address: str, name: str = "ListBuckets", **params: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventTime": when,
        "eventSource": "ssm.amazonaws.com" if name == "SendCommand" else "s3.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": address,
        "eventID": f"user-{when}-{name}",
        "recipientAccountId": ACCOUNT,
        "requestParameters": params or None,
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/build", "accessKeyId": "AKIAEXAMPLE"},
    }


def _findings(tmp_path: Path, records: list[dict[str, Any]]) -> list[Any]:
    deliver(tmp_path / "logs", records, "case")
    with Session(logs=tmp_path / "logs") as session:
        run = run_query(
            session,
            load_library()["instance-credentials-used-elsewhere"],
            {"since": "2025-02-12", "until": "2025-02-13"},
        )
    assert run.error is None, run.error
    return run.findings


def _day(hour: int, minute: int = 0) -> str:
    return f"2025-02-12T{hour:02d}:{minute:02d}:00Z"


def test_an_instance_asking_who_it_is_through_a_shared_nat_is_no_finding(tmp_path: Path) -> None:
    records = [_instance_call(f"i-0{n:016x}", _day(h), NAT) for n in range(5) for h in range(0, 24, 2)]
    records += [_user_call(_day(h, 30), NAT) for h in range(8, 18)]  # the build box behind the same NAT
    assert _findings(tmp_path, records) == []


def test_an_instance_session_used_from_a_new_network_is_one_finding(tmp_path: Path) -> None:
    instance = "i-0abcdef0123456789"
    records = [_instance_call(instance, _day(h), NAT) for h in range(0, 12)]
    records += [_instance_call(instance, _day(14, m), "203.0.113.7", "ListBuckets") for m in range(3)]
    (finding,) = _findings(tmp_path, records)
    assert finding.actor == f"arn:aws:sts::{ACCOUNT}:assumed-role/app/{instance}"
    assert (finding.count, finding.addresses, finding.first_seen) == (3, ("203.0.113.7",), _day(14))
    assert finding.summary == (
        f"role session arn:aws:sts::{ACCOUNT}:assumed-role/app/{instance} used from 203.0.113.7, "
        "outside the 1 network(s) the instance used before the window and first in it"
    )


def test_a_network_the_instance_used_in_the_baseline_is_its_own(tmp_path: Path) -> None:
    instance = "i-0abcdef0123456789"
    yesterday = [_instance_call(instance, f"2025-02-11T{h:02d}:00:00Z", "192.0.2.20") for h in range(10, 20)]
    today = [_instance_call(instance, _day(h), NAT) for h in range(0, 6)]
    today += [_instance_call(instance, _day(h), "192.0.2.21") for h in range(6, 12)]  # the same /24 as yesterday
    assert _findings(tmp_path, yesterday + today) == []


def test_instance_credentials_used_from_the_address_that_sent_it_a_command(tmp_path: Path) -> None:
    """The Stratus way: a command to the instance prints its credentials, which are then used
    from the sender's own address. No history of the instance in the logs at all."""
    instance = "i-0123456789abcdef0"
    attacker = "203.0.113.99"
    records = [
        _user_call(_day(9, 0), attacker, "SendCommand", instanceIds=[instance], documentName="AWS-RunShellScript")
    ]
    records += [
        _instance_call(instance, _day(9, 5), attacker),
        _instance_call(instance, _day(9, 6), attacker, "ListBuckets"),
    ]
    records += [_instance_call("i-0fffffffffffffff0", _day(9, 7), attacker)]  # not the commanded instance
    (finding,) = _findings(tmp_path, records)
    assert finding.group == {"actor": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/{instance}"}
    assert finding.count == 2 and finding.event_total == 2
    assert finding.summary.endswith(
        f"the address of arn:aws:iam::{ACCOUNT}:user/build, which had just sent the instance a command"
    )


def test_a_command_long_before_is_no_reason(tmp_path: Path) -> None:
    instance = "i-0123456789abcdef0"
    records = [_user_call(_day(1, 0), NAT, "SendCommand", instanceIds=[instance])]
    records += [_instance_call(instance, _day(9, 0), NAT)]
    assert _findings(tmp_path, records) == []


# --- unusual API volume: each principal against its own habit ------------------------------


def _calls(user: str, day: str, n: int) -> list[dict[str, Any]]:
    return [
        {
            "eventVersion": "1.08",
            "eventTime": f"{day}T{(i // 60) % 24:02d}:{i % 60:02d}:00Z",
            "eventSource": "ec2.amazonaws.com",
            "eventName": "DescribeInstances",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "192.0.2.1",
            "eventID": f"{user}-{day}-{i}",
            "recipientAccountId": ACCOUNT,
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}"},
        }
        for i in range(n)
    ]


def test_unusual_volume_is_against_the_principals_own_busiest_day(tmp_path: Path) -> None:
    records = _calls("steady", "2025-02-10", 4000) + _calls("steady", "2025-02-12", 5000)  # its habit
    records += _calls("spiking", "2025-02-11", 1000) + _calls("spiking", "2025-02-12", 3500)  # 3.5x its busiest
    records += _calls("newcomer", "2025-02-12", 5000)  # no history, under 10x the threshold
    records += _calls("flood", "2025-02-12", 10500)  # no history, over 10x
    deliver(tmp_path / "logs", records, "volume")
    with Session(logs=tmp_path / "logs") as session:
        run = run_query(session, load_library()["unusual-api-volume"], {"since": "2025-02-12", "until": "2025-02-13"})
    assert run.error is None, run.error
    found = {f.actor: f for f in run.findings}
    assert sorted(found) == [f"arn:aws:iam::{ACCOUNT}:user/flood", f"arn:aws:iam::{ACCOUNT}:user/spiking"]
    spiking = found[f"arn:aws:iam::{ACCOUNT}:user/spiking"]
    assert spiking.count == 3500
    assert spiking.summary.endswith("made 3500 calls, over 3 times its busiest day of the baseline (1000)")
