"""Alerts a team can live with: Slack as Block Kit, findings routed by each channel's filter,
threshold findings with their window's span, email with an HTML part; against real peers.

The logs: three Stratus attack techniques (two critical findings, one high) and 14
AccessDenied calls by one principal (the low ``daily-access-denied`` threshold finding,
whose rows have no time). The principal's ARN carries Slack markup, which must arrive inert.
Every expected value below is written by hand from those logs and the queries' headers.
"""

from __future__ import annotations

import json
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from test_alerts import TECHNIQUES, WINDOW, Mailbox, Receiver, free_port, write_config
from test_cli import trailsql
from test_detections import deliver, technique_logs
from trailsql.alerts.alert import AlertReport, run_alerts
from trailsql.alerts.channels import DeliveryError, Message, SlackChannel, channels_from_config
from trailsql.alerts.state import AlertState
from trailsql.library import load_library
from trailsql.session import Session

HOSTILE = "arn:aws:iam::123456789012:user/<!channel>&<http://evil|x>"
HOSTILE_SHOWN = "arn:aws:iam::123456789012:user/&lt;!channel&gt;&amp;&lt;http://evil|x&gt;"
QUERIES = (
    "cloudtrail-tampering",
    "snapshot-or-image-shared",
    "iam-credentials-for-another-user",
    "daily-access-denied",
)
#: The findings, worst first (then by query id), as the run sorts them.
ORDER = ["cloudtrail-tampering", "snapshot-or-image-shared", "iam-credentials-for-another-user", "daily-access-denied"]
HIGH_AND_UP = ORDER[:3]
RUN = "trailsql queries run {} {} --since 2024-07-01T00:00:00Z --until 2024-08-10T00:00:00Z"


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = technique_logs(tmp_path_factory.mktemp("routing") / "logs", TECHNIQUES)
    denied = [
        {
            "eventVersion": "1.08",
            "eventTime": f"2024-07-15T10:{n:02d}:00Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "awsRegion": "us-east-1",
            "eventID": f"denied-{n}",
            "recipientAccountId": "123456789012",
            "errorCode": "AccessDenied",
            "userIdentity": {"type": "IAMUser", "arn": HOSTILE},
        }
        for n in range(14)
    ]
    deliver(root, denied, "denied")
    return root


def alert(logs: Path, workspace: Path, with_html: bool = False) -> AlertReport:
    library = load_library()
    with Session(logs=logs, workspace=workspace) as session:
        state = AlertState(workspace)
        try:
            channels = channels_from_config(session.workspace.config)
            return run_alerts(session, [library[q] for q in QUERIES], WINDOW, channels, state, with_html=with_html)
        finally:
            state.close()


def posted(hooks: Receiver, path: str) -> list[dict[str, Any]]:
    return [json.loads(body) for where, _, body in hooks.received if where == path]


def strings(value: Any) -> list[str]:
    """Every string in a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def test_slack_gets_a_summary_then_one_block_message_per_finding(logs: Path, tmp_path: Path) -> None:
    hooks = Receiver()
    write_config(tmp_path / "ws", {"chat": {"type": "slack", "url": f"http://127.0.0.1:{hooks.port}/slack"}})
    try:
        done = alert(logs, tmp_path / "ws")
    finally:
        hooks.stop()
    assert done.sent == {"chat": 4}
    summary, *findings = posted(hooks, "/slack")
    window = "2024-07-01 00:00 to 2024-08-10 00:00 UTC"
    assert summary == {
        "text": f"[trailsql] 4 new findings (critical), {window}",
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*[trailsql] 4 new findings (critical), {window}*"},
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"2 critical, 1 high, 1 low · {window}"}],
            },
        ],
    }
    assert [m["blocks"][0]["text"]["text"].rsplit("`", 2)[1] for m in findings] == ORDER
    assert [[b["type"] for b in m["blocks"]] for m in findings] == [["section", "section", "section", "context"]] * 4

    tampering = findings[0]["blocks"]
    assert (
        tampering[0]["text"]["text"]
        == "*CloudTrail stopped, deleted or its event selectors changed · critical* (`cloudtrail-tampering`)"
    )
    assert tampering[1]["text"]["text"] == (
        "CloudTrail stopped, deleted or its event selectors changed: arn:aws:iam::143434273843:user/christophe"
        " on stratus-red-team-ct-stop-trail-buykxbqejv, 1 event (StopLogging) from 86.245.153.234"
    )
    assert [f["text"] for f in tampering[2]["fields"]] == [
        "*First seen*\n2024-07-31T13:06:24Z",
        "*Last seen*\n2024-07-31T13:06:24Z",
        "*Actor*\narn:aws:iam::143434273843:user/christophe",
        "*Events*\n1",
    ]
    where = f"--logs {logs} --workspace {tmp_path / 'ws'}"  # the command runs as printed
    assert tampering[3]["elements"][0]["text"] == f"Rows: `{RUN.format('cloudtrail-tampering', where)}`"

    # The threshold finding: no event times, so its window's span, labelled as such; the
    # principal's markup escaped as Slack asks, in the fields and in the why sentence.
    denied = findings[3]["blocks"]
    assert [f["text"] for f in denied[2]["fields"]] == [
        "*Window start*\n2024-07-01T00:00:00Z",
        "*Window end*\n2024-08-10T00:00:00Z",
        f"*Actor*\n{HOSTILE_SHOWN}",
        "*Events*\n14",
    ]
    assert denied[1]["text"]["text"] == (
        f"Repeated AccessDenied by principal and action: {HOSTILE_SHOWN}, 14 events (GetObject)"
    )
    everything = strings(posted(hooks, "/slack"))
    assert not [s for s in everything if "<!channel>" in s or "<http" in s]


def test_slack_posts_at_most_20_findings_and_says_how_many_more(tmp_path: Path) -> None:
    window = {"start": "2025-02-12T00:00:00Z", "end": "2025-02-13T00:00:00Z", "text": "the day"}
    found = [{"query": f"q{n}", "title": f"t{n}", "severity": "medium", "summary": "s"} for n in range(23)]
    hooks = Receiver()
    try:
        SlackChannel("chat", f"http://127.0.0.1:{hooks.port}/").send(Message("23 new", "text", found, None, window))
    finally:
        hooks.stop()
    summary, *shown = posted(hooks, "/")
    assert len(shown) == 20 and shown[-1]["text"] == "[medium] t19"
    assert summary["blocks"][1]["elements"][0]["text"] == "23 medium · the day"
    assert summary["blocks"][2]["elements"][0]["text"] == (
        "The worst 20 follow; and 3 more, all in `trailsql report --since 2025-02-12T00:00:00Z --until 2025-02-13T00:00:00Z`."
    )


class Slow(BaseHTTPRequestHandler):
    """A webhook answering each POST after 0.3 s: fine one at a time, too slow for 21 in 1 s."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(0.3)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def test_the_channel_timeout_bounds_all_of_a_runs_slack_posts() -> None:
    window = {"start": "2025-02-12T00:00:00Z", "end": "2025-02-13T00:00:00Z", "text": "the day"}
    found = [{"query": f"q{n}", "title": f"t{n}", "severity": "low"} for n in range(20)]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    channel = SlackChannel("chat", f"http://127.0.0.1:{server.server_address[1]}/", timeout=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(DeliveryError, match=r"within 1 s \(Slack message [2-4] of 21\)"):
            channel.send(Message("20 new", "text", found, None, window))
        took = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert took < 1.5, took


def test_each_channel_gets_only_what_its_filter_passes(logs: Path, tmp_path: Path) -> None:
    hooks = Receiver()
    url = f"http://127.0.0.1:{hooks.port}"
    write_config(
        tmp_path / "ws",
        {
            "everything": {"type": "webhook", "url": f"{url}/all"},
            "pager": {"type": "webhook", "url": f"{url}/pager", "min_severity": "high"},
            "iam": {"type": "webhook", "url": f"{url}/iam", "tags": ["attack.persistence"]},
            "both": {
                "type": "webhook",
                "url": f"{url}/both",
                "min_severity": "critical",
                "detections": ["cloudtrail-tampering", "daily-access-denied"],
            },
            "quiet": {"type": "webhook", "url": f"{url}/quiet", "detections": ["root-activity"]},
        },
    )
    try:
        done = alert(logs, tmp_path / "ws")
    finally:
        hooks.stop()
    assert done.sent == {"everything": 4, "pager": 3, "iam": 1, "both": 1} and not done.spooled
    received = {
        path: [f["query"] for f in posted(hooks, path)[0]["findings"]] for path in ("/all", "/pager", "/iam", "/both")
    }
    assert received == {
        "/all": ORDER,
        "/pager": HIGH_AND_UP,
        "/iam": ["iam-credentials-for-another-user"],
        "/both": ["cloudtrail-tampering"],
    }
    assert posted(hooks, "/quiet") == []  # nothing passed: no message at all
    assert len(hooks.received) == 4

    everything = posted(hooks, "/all")[0]
    threshold = everything["findings"][3]
    assert (threshold["first_seen"], threshold["last_seen"], threshold["time_basis"]) == (
        "2024-07-01T00:00:00Z",
        "2024-08-10T00:00:00Z",
        "window",
    )
    assert everything["findings"][0]["time_basis"] == "events"
    assert "2024-07-01T00:00:00Z to 2024-08-10T00:00:00Z (the window)" in everything["text"]
    assert posted(hooks, "/pager")[0]["subject"].startswith("[trailsql] 3 new findings (critical)")


def test_a_filtered_channel_spools_only_its_findings(logs: Path, tmp_path: Path) -> None:
    port = free_port()
    write_config(
        tmp_path / "ws", {"pager": {"type": "webhook", "url": f"http://127.0.0.1:{port}/", "min_severity": "high"}}
    )
    down = alert(logs, tmp_path / "ws")  # nothing listens yet
    hooks = Receiver(port)
    try:
        up = alert(logs, tmp_path / "ws")
    finally:
        hooks.stop()
    assert set(down.spooled) == {"pager"} and up.caught_up == {"pager": 1} and up.new == 0
    assert [f["query"] for f in posted(hooks, "/")[0]["findings"]] == HIGH_AND_UP


def test_email_has_a_text_part_and_an_html_findings_table_of_its_findings(logs: Path, tmp_path: Path) -> None:
    mailbox = Mailbox()
    server = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    server.start()
    mail_channel = {"host": "127.0.0.1", "port": server.port, "starttls": False, "to": ["oncall@example.com"]}
    write_config(tmp_path / "ws", {"mail": {"type": "email", "min_severity": "high", **mail_channel}})
    try:
        done = alert(logs, tmp_path / "ws", with_html=True)
    finally:
        server.stop()
    assert done.sent == {"mail": 3}
    (raw,) = mailbox.messages
    mail = message_from_bytes(raw)
    assert mail.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in mail.walk() if not p.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    assert [
        line.split("(")[1].split(")")[0] for line in parts["text/plain"].splitlines() if line.startswith("- [")
    ] == HIGH_AND_UP
    table = parts["text/html"].split("<h2>Findings by severity</h2>", 1)[1].split("</table>", 1)[0]
    assert table.count('<span class="sev sev-critical">') == 2 and table.count('<span class="sev sev-high">') == 1
    assert table.count("<tr>") == 4  # the header and the three findings: the low one went elsewhere
    assert "CloudTrail stopped, deleted or its event selectors changed" in table


BAD_FILTERS = {
    "unknown severity": {"min_severity": "urgent"},
    "severity not a string": {"min_severity": 3},
    "detections not a list": {"detections": "cloudtrail-tampering"},
    "empty tags": {"tags": []},
    "tag not a string": {"tags": ["attack.persistence", 7]},
}


@pytest.mark.parametrize("case", list(BAD_FILTERS))
def test_a_filter_that_cannot_mean_anything_is_a_configuration_error(case: str, tmp_path: Path) -> None:
    write_config(tmp_path / "ws", {"pager": {"type": "webhook", "url": "https://example.com/", **BAD_FILTERS[case]}})
    (tmp_path / "logs").mkdir()
    result = trailsql("alert", "--logs", tmp_path / "logs", "--workspace", tmp_path / "ws")
    assert result.exit_code == 2, result.output
    assert "error: channel pager:" in result.stderr and "Traceback" not in result.output
