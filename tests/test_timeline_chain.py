"""``trailsql timeline --follow``: from the leaked key to the sessions it opened, across
accounts, with the cycle reported and the depth limit kept; a console sign-in to the calls of
that session (and the role it switched to). Trees and merged timelines written by hand.

The logs are test_timeline's incident (see its docstring), plus a console user for the
console-session tests.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ENGINES, engine_session
from test_cli import trailsql
from test_timeline import (
    ADMIN,
    ATTACKER,
    DEEPER,
    DEPLOY,
    LEAKED,
    PIVOT1,
    PIVOT2,
    PIVOT3,
    SINCE,
    UNTIL,
    VPS,
    WINDOW,
    A,
    B,
    C,
    assume_role,
    event,
    ids,
    run_json,
    write_incident,
)
from trailsql.investigate.render import render
from trailsql.investigate.subject import access_key
from trailsql.investigate.timeline import build_timeline
from trailsql.library.window import Window
from trailsql.session import Result, Session

#: The incident's tree from the leaked key, written by hand: k4 (logged in A) and k4b (the
#: same call, logged in B) issue PIVOT1; p3 issues PIVOT2; q3 gives PIVOT1 again (a cycle,
#: not followed again); q4 issues PIVOT3.
PIVOT1_VIA = {
    "event": "AssumeRole",
    "event_ids": ["k4", "k4b"],
    "time": "2025-03-10T10:03:00Z",
    "account": A,
    "role": DEPLOY,
    "arn": f"arn:aws:sts::{B}:assumed-role/Deploy/pivot1",
    "session_name": "pivot1",
    "source_identity": "attacker-si",
}
PIVOT2_VIA = {
    "event": "AssumeRole",
    "event_ids": ["p3"],
    "time": "2025-03-10T10:07:00Z",
    "account": B,
    "role": ADMIN,
    "arn": f"arn:aws:sts::{C}:assumed-role/Admin/pivot2",
    "session_name": "pivot2",
    "source_identity": None,
}
LOOP_VIA = {
    "event": "AssumeRole",
    "event_ids": ["q3"],
    "time": "2025-03-10T10:10:00Z",
    "account": C,
    "role": DEPLOY,
    "arn": f"arn:aws:sts::{B}:assumed-role/Deploy/loop",
    "session_name": "loop",
    "source_identity": None,
}
PIVOT3_VIA = {
    "event": "AssumeRole",
    "event_ids": ["q4"],
    "time": "2025-03-10T10:11:00Z",
    "account": C,
    "role": DEEPER,
    "arn": f"arn:aws:sts::{C}:assumed-role/Deeper/pivot3",
    "session_name": "pivot3",
    "source_identity": None,
}


def key_node(node: str, key: str, status: str, events: int, via: Any, children: list[Any]) -> dict[str, Any]:
    return {
        "node": node,
        "kind": "access-key",
        "value": key,
        "status": status,
        "events": events,
        "via": via,
        "children": children,
    }


LOOP = key_node("1.1.1.1", PIVOT1, "seen before", 0, LOOP_VIA, [])
PIVOT3_NODE = key_node("1.1.1.2", PIVOT3, "followed", 1, PIVOT3_VIA, [])
PIVOT2_NODE = key_node("1.1.1", PIVOT2, "followed", 4, PIVOT2_VIA, [LOOP, PIVOT3_NODE])
FULL_TREE = key_node(
    "1", LEAKED, "followed", 6, None, [key_node("1.1", PIVOT1, "followed", 3, PIVOT1_VIA, [PIVOT2_NODE])]
)
#: With --depth 1: PIVOT2 listed, not followed.
DEPTH_1 = [key_node("1.1.1", PIVOT2, "depth limit", 0, PIVOT2_VIA, [])]
DEPTH_1_TREE = key_node("1", LEAKED, "followed", 6, None, [key_node("1.1", PIVOT1, "followed", 3, PIVOT1_VIA, DEPTH_1)])


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_incident(tmp_path_factory.mktemp("incident") / "logs")
    return write_incident(root, CONSOLE_FILES, first=100)


def test_the_leaked_key_is_followed_across_accounts_with_the_cycle_reported(logs: Path) -> None:
    document = run_json(logs, "--access-key", LEAKED, "--follow", *WINDOW)
    assert document["tree"] == FULL_TREE
    marked = [(e["eventid"], e["node"]) for e in document["events"]]
    assert marked == [
        ("k1", "1"),
        ("k2", "1"),
        ("k3", "1"),
        ("k4", "1"),
        ("k4b", "1"),
        ("k5", "1"),
        ("p1", "1.1"),
        ("p2", "1.1"),
        ("p3", "1.1"),
        ("q1", "1.1.1"),
        ("q2", "1.1.1"),
        ("q3", "1.1.1"),
        ("q4", "1.1.1"),
        ("r1", "1.1.1.2"),
    ]


def test_the_merged_timeline_is_summarised_against_the_root_keys_history(logs: Path) -> None:
    summary = run_json(logs, "--access-key", LEAKED, "--follow", *WINDOW)["summary"]
    assert summary["events"] == 14
    assert summary["accounts"] == {A: 5, C: 5, B: 4}
    assert summary["regions"] == {"us-east-1": 10, "eu-west-1": 4}
    assert summary["access_keys"] == {LEAKED: 6, PIVOT2: 4, PIVOT1: 3, PIVOT3: 1}
    assert summary["new"]["apis"] == [
        "ec2:DescribeInstances",
        "ec2:RunInstances",
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
        "sts:AssumeRole",
    ]
    assert summary["new"]["addresses"] == [VPS, ATTACKER]
    assert summary["new"]["regions"] == ["eu-west-1"]


@pytest.mark.parametrize(
    ("depth", "tree", "events"),
    [
        (
            "0",
            key_node("1", LEAKED, "followed", 6, None, [key_node("1.1", PIVOT1, "depth limit", 0, PIVOT1_VIA, [])]),
            ["k1", "k2", "k3", "k4", "k4b", "k5"],
        ),
        (
            "1",
            DEPTH_1_TREE,
            ["k1", "k2", "k3", "k4", "k4b", "k5", "p1", "p2", "p3"],
        ),
        ("3", FULL_TREE, ["k1", "k2", "k3", "k4", "k4b", "k5", "p1", "p2", "p3", "q1", "q2", "q3", "q4", "r1"]),
    ],
)
def test_the_depth_limit_lists_what_it_does_not_follow(logs: Path, depth: str, tree: Any, events: list[str]) -> None:
    document = run_json(logs, "--access-key", LEAKED, "--follow", "--depth", depth, *WINDOW)
    assert document["tree"] == tree
    assert ids(document) == events


def test_following_from_the_middle_of_the_chain(logs: Path) -> None:
    document = run_json(logs, "--access-key", PIVOT2, "--follow", *WINDOW)
    tree = document["tree"]
    assert [(c["node"], c["value"], c["status"]) for c in tree["children"]] == [
        ("1.1", PIVOT1, "followed"),  # not an ancestor here: followed, and under it PIVOT2 again
        ("1.2", PIVOT3, "followed"),
    ]
    assert [(c["node"], c["value"], c["status"]) for c in tree["children"][0]["children"]] == [
        ("1.1.1", PIVOT2, "seen before"),  # p3 gives PIVOT2, the root: the cycle
    ]
    assert ids(document) == ["p1", "p2", "p3", "q1", "q2", "q3", "q4", "r1"]


def test_the_table_form_shows_the_tree_indented(logs: Path) -> None:
    result = trailsql("timeline", "--logs", logs, "--access-key", LEAKED, "--follow", *WINDOW, env={"COLUMNS": None})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    start = lines.index("Sessions:")
    assert lines[start + 1 : start + 6] == [
        f"1 access key {LEAKED} (6 events)",
        f"  1.1 AssumeRole at 2025-03-10T10:03:00Z of {DEPLOY} session pivot1 source identity attacker-si"
        f" (logged in {A}) -> access key {PIVOT1} (3 events)",
        f"    1.1.1 AssumeRole at 2025-03-10T10:07:00Z of {ADMIN} session pivot2 (logged in {B})"
        f" -> access key {PIVOT2} (4 events)",
        f"      1.1.1.1 AssumeRole at 2025-03-10T10:10:00Z of {DEPLOY} session loop (logged in {C})"
        f" -> access key {PIVOT1} (seen before: not followed)",
        f"      1.1.1.2 AssumeRole at 2025-03-10T10:11:00Z of {DEEPER} session pivot3 (logged in {C})"
        f" -> access key {PIVOT3} (1 event)",
    ]
    assert lines[start + 6] == ""


def test_the_html_page_holds_the_tree(logs: Path) -> None:
    result = trailsql("timeline", "--logs", logs, "--access-key", LEAKED, "--follow", "--format", "html", *WINDOW)
    assert result.exit_code == 0
    assert f"1.1.1.1 AssumeRole at 2025-03-10T10:10:00Z of {DEPLOY}" in result.stdout
    assert '<td class="c-node">1.1.1.2</td>' in result.stdout  # r1's node, in the events table


# --- console sessions ------------------------------------------------------------------------

CAROL = f"arn:aws:iam::{A}:user/carol"
SIGNED_IN = "2025-03-10T11:00:00Z"
SWITCHED = "ASIASWITCH0000000001"
READ_ONLY = f"arn:aws:iam::{B}:role/ReadOnly"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"


def carol(key: str | None = None, created: str | None = None, name: str = "carol") -> dict[str, Any]:
    identity: dict[str, Any] = {
        "type": "IAMUser",
        "principalId": "AIDA" + name.upper(),
        "arn": f"arn:aws:iam::{A}:user/{name}",
        "accountId": A,
        "userName": name,
    }
    if key:
        identity["accessKeyId"] = key
    if created:
        identity["sessionContext"] = {
            "sessionIssuer": {},
            "webIdFederationData": {},
            "attributes": {"creationDate": created, "mfaAuthenticated": "false"},
        }
    return identity


def sign_in(event_id: str, time: str, result: str) -> dict[str, Any]:
    return event(
        event_id,
        time,
        carol(),
        "signin.amazonaws.com",
        "ConsoleLogin",
        "198.51.100.50",
        account=A,
        agent=BROWSER,
        eventType="AwsConsoleSignIn",
        responseElements={"ConsoleLogin": result},
        additionalEventData={"LoginTo": "https://console.aws.amazon.com/console/home", "MFAUsed": "No"},
        **({"errorMessage": "Failed authentication"} if result == "Failure" else {}),
    )


def console_call(event_id: str, time: str, key: str, source: str, name: str, **fields: Any) -> dict[str, Any]:
    return event(
        event_id, time, carol(key, SIGNED_IN), source, name, "198.51.100.50", account=A, agent=BROWSER, **fields
    )


CONSOLE_FILES = {
    (A, "us-east-1", dt.date(2025, 3, 10)): [
        # a call of an earlier console session (signed in the day before)
        event(
            "c0",
            "2025-03-10T00:30:00Z",
            carol("ASIAOLDCONSOLE000001", "2025-03-09T08:00:00Z"),
            "ec2.amazonaws.com",
            "DescribeVpcs",
            "198.51.100.50",
            account=A,
            agent=BROWSER,
        ),
        sign_in("f1", "2025-03-10T10:59:00Z", "Failure"),
        sign_in("c1", SIGNED_IN, "Success"),
        # the session's calls: two keys, one of them without sessionCredentialFromConsole
        console_call(
            "c2",
            "2025-03-10T11:01:00Z",
            "ASIACONSOLE000000001",
            "ec2.amazonaws.com",
            "DescribeInstances",
            sessionCredentialFromConsole="true",
        ),
        console_call("c3", "2025-03-10T11:02:00Z", "ASIACONSOLE000000002", "s3.amazonaws.com", "ListBuckets"),
        # switching role in the console
        assume_role(
            "c4",
            "2025-03-10T11:03:00Z",
            carol("ASIACONSOLE000000002", SIGNED_IN),
            "198.51.100.50",
            READ_ONLY,
            "carol",
            SWITCHED,
            account=A,
            agent=BROWSER,
        ),
        # carol's own key on the command line: hers, not the console session's
        event(
            "c5",
            "2025-03-10T11:05:00Z",
            carol("AKIACAROL00000000001"),
            "iam.amazonaws.com",
            "GetUser",
            "198.51.100.50",
            account=A,
            agent="aws-cli/2.15.0",
        ),
        # another user's console session signed in at the same second
        event(
            "x1",
            "2025-03-10T11:06:00Z",
            carol("ASIADAVECONSOLE00001", SIGNED_IN, name="dave"),
            "ec2.amazonaws.com",
            "DescribeVpcs",
            "198.51.100.60",
            account=A,
            agent=BROWSER,
        ),
    ],
    (B, "us-east-1", dt.date(2025, 3, 10)): [
        event(
            "s1",
            "2025-03-10T11:04:00Z",
            {
                "type": "AssumedRole",
                "arn": f"arn:aws:sts::{B}:assumed-role/ReadOnly/carol",
                "accountId": B,
                "accessKeyId": SWITCHED,
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "arn": READ_ONLY, "accountId": B},
                    "attributes": {"creationDate": "2025-03-10T11:03:00Z"},
                },
            },
            "iam.amazonaws.com",
            "GetAccountSummary",
            "198.51.100.50",
            account=B,
            agent=BROWSER,
        ),
    ],
}


def test_a_console_sign_in_is_followed_to_the_calls_of_its_session(logs: Path) -> None:
    document = run_json(logs, "--principal", CAROL, "--follow", *WINDOW)
    assert document["tree"] == {
        "node": "1",
        "kind": "principal",
        "value": CAROL,
        "status": "followed",
        "events": 7,  # c0 f1 c1 c2 c3 c4 c5
        "via": None,
        "children": [
            {
                "node": "1.1",
                "kind": "console-session",
                "value": SIGNED_IN,
                "arn": CAROL,
                "status": "followed",
                "events": 3,  # c2 c3 c4: not c0 (another sign-in), not c5 (her key), not x1 (dave)
                "via": {
                    "event": "ConsoleLogin",
                    "event_ids": ["c1"],
                    "time": SIGNED_IN,
                    "account": A,
                    "role": None,
                    "arn": CAROL,
                    "session_name": None,
                    "source_identity": None,
                },
                "children": [
                    key_node(
                        "1.1.1",
                        SWITCHED,
                        "followed",
                        1,
                        {
                            "event": "AssumeRole",
                            "event_ids": ["c4"],
                            "time": "2025-03-10T11:03:00Z",
                            "account": A,
                            "role": READ_ONLY,
                            "arn": f"arn:aws:sts::{B}:assumed-role/ReadOnly/carol",
                            "session_name": "carol",
                            "source_identity": None,
                        },
                        [],
                    )
                ],
            }
        ],
    }
    marked = [(e["eventid"], e["node"]) for e in document["events"]]
    assert marked == [
        ("c0", "1"),
        ("f1", "1"),
        ("c1", "1"),
        ("c2", "1.1"),
        ("c3", "1.1"),
        ("c4", "1.1"),
        ("s1", "1.1.1"),
        ("c5", "1"),
    ]


def test_without_follow_a_principal_has_no_tree(logs: Path) -> None:
    document = run_json(logs, "--principal", CAROL, *WINDOW)
    assert document["tree"] is None
    assert "node" not in document["events"][0]
    assert ids(document) == ["c0", "f1", "c1", "c2", "c3", "c4", "c5"]


# --- engines and the lake --------------------------------------------------------------------

FULL_TIMELINE = ["k1", "k2", "k3", "k4", "k4b", "k5", "p1", "p2", "p3", "q1", "q2", "q3", "q4", "r1"]


@pytest.mark.parametrize("engine", ENGINES)
def test_the_chain_is_the_same_on_every_engine(logs: Path, engine: str) -> None:
    with engine_session(engine, logs=str(logs)) as session:
        found = build_timeline(session, access_key(LEAKED), Window.parse(SINCE, UNTIL), follow_sessions=True)
    document = json.loads(render(found, "json"))
    assert document["tree"] == FULL_TREE
    assert ids(document) == FULL_TIMELINE
    assert document["summary"]["new"]["prior_events"] == 3


def test_the_lake_answers_the_timeline(logs: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    assert trailsql("ingest", "--workspace", workspace, "--logs", logs).exit_code == 0
    from_lake = []
    with Session(str(logs), workspace=str(workspace)) as session:
        execute = session.execute

        def spy(sql: str, window: Window | None = None) -> Result:
            result = execute(sql, window)
            from_lake.append(result.stats.events_from_lake)
            return result

        session.execute = spy  # type: ignore[method-assign]
        found = build_timeline(session, access_key(LEAKED), Window.parse(SINCE, UNTIL), follow_sessions=True)
    assert ids(json.loads(render(found, "json"))) == FULL_TIMELINE
    assert len(from_lake) == 5 and all(from_lake)  # four levels and the history, each read from the lake
