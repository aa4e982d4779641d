"""Alerts survive bad peers; what log fields carry cannot act on Slack, Markdown, a terminal or HTML.

Misbehaving peers are real servers on 127.0.0.1 (raw sockets: a garbage status line, a
short body, headers dripped slower than any per-read timeout, a dropped connection, an
SMTP server that hangs up or talks nonsense) next to a good webhook receiver; each is
replaced by a good peer on the same port to check the spooled message is delivered later.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from test_alerts import TECHNIQUES, WINDOW, Mailbox, Receiver, free_port, write_config
from test_cli import trailsql
from test_detections import technique_logs
from trailsql import output
from trailsql.alerts.alert import run_alerts
from trailsql.alerts.channels import DeliveryError, Message, SlackChannel, channels_from_config
from trailsql.alerts.report import Report, render_html, render_markdown
from trailsql.alerts.state import AlertState, SpoolLimits
from trailsql.cli.main import cli
from trailsql.cli.query import print_result
from trailsql.library import load_library
from trailsql.library.run import QueryRun
from trailsql.library.window import Window
from trailsql.session import Session

Peer = Callable[[socket.socket], None]


def _read_request(conn: socket.socket) -> None:
    """Read until the end of an HTTP request's headers (the body is not needed)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk


def _drip(conn: socket.socket, first: bytes, line: bytes) -> None:
    """Send ``first``, then ``line`` every 0.2 s for up to 20 s: never a complete answer."""
    conn.sendall(first)
    for _ in range(100):
        time.sleep(0.2)
        conn.sendall(line)


def _http(answer: bytes) -> Peer:
    def peer(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(answer)

    return peer


def _http_drip(conn: socket.socket) -> None:
    _read_request(conn)
    _drip(conn, b"HTTP/1.1 200 OK\r\n", b"X-Slow: 1\r\n")


def _http_silent(conn: socket.socket) -> None:
    _read_request(conn)
    time.sleep(20)


def _smtp_rejects(conn: socket.socket) -> None:
    conn.sendall(b"220 mx ready\r\n")
    while conn.recv(65536):
        conn.sendall(b"554 5.7.1 go away\r\n")


HTTP_PEERS: dict[str, Peer] = {
    "garbage status line (BadStatusLine)": _http(b"\x00\xffNOT HTTP AT ALL\r\n\r\n"),
    "short body (IncompleteRead)": _http(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nshort"),
    "headers dripped past the deadline": _http_drip,
    "connection closed before answering": lambda conn: None,
    "connection closed after the request": _read_request,
    "no answer at all": _http_silent,
    "server error 500": _http(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"),
    "header without end": _http(b"HTTP/1.1 200 OK\r\nContent-Length: 2"),
}
SMTP_PEERS: dict[str, Peer] = {
    "drops the connection after the greeting": lambda conn: conn.sendall(b"220 mx ready\r\n"),
    "replies nonsense": lambda conn: conn.sendall(b"hello there, I am not SMTP\r\n"),
    "drips its greeting past the deadline": lambda conn: _drip(conn, b"220-mx\r\n", b"220-still here\r\n"),
    "rejects every command": _smtp_rejects,
    "binary garbage": lambda conn: conn.sendall(b"\xff\xfe\x00\x01" * 64 + b"\r\n"),
}

#: Hostile values a log field may hold, tried through every surface below.
PAYLOADS = {
    "slack broadcast": "<!channel> look here",
    "slack disguised link": "<http://evil.example|click me>",
    "markdown link": "[x](javascript:alert(1))",
    "markdown image": "![i](http://evil.example/t.png)",
    "script tag": "<script>alert(1)</script>",
    "table cell break": "a|b|c",
    "code span": "`rm -rf /`",
    "carriage return": "ok\rFAKE LINE",
    "ansi colour": "\x1b[31mred\x1b[0m",
    "osc 8 hyperlink": "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "bell": "ding\x07",
    "backspace": "abc\x08\x08\x08xyz",
    "rich markup": "[link=http://evil.example]x[/link]",
    "entity": "&lt;!here&gt; &amp;",
}
SURFACES = ("slack", "markdown", "terminal", "html")

RELIABILITY: dict[str, int] = {
    "alert peer failures": len(HTTP_PEERS) + len(SMTP_PEERS),
    "output payloads": len(PAYLOADS) * len(SURFACES),
}


class BadPeer:
    """A TCP server on loopback that treats every connection with ``peer``."""

    def __init__(self, peer: Peer, port: int = 0) -> None:
        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with contextlib.suppress(OSError):  # the client gave up: that is the point
                    peer(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        socketserver.ThreadingTCPServer.daemon_threads = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return technique_logs(tmp_path_factory.mktemp("hardening") / "logs", TECHNIQUES)


@pytest.fixture(scope="module")
def detections() -> list[Any]:
    """The detections of the technique logs (fewer queries than the library: the same delivery paths)."""
    chosen = [q for q in load_library().values() if q.kind == "detection" and set(q.techniques) & set(TECHNIQUES)]
    assert len(chosen) >= len(TECHNIQUES)
    return chosen


def alert(logs: Path, workspace: Path, detections: list[Any]) -> Any:
    with Session(logs=logs, workspace=workspace) as session:
        channels = channels_from_config(session.workspace.config)
        state = AlertState(workspace)
        try:
            return run_alerts(session, detections, WINDOW, channels, state, with_html=False)
        finally:
            state.close()


def techniques_in(body: bytes) -> set[str]:
    return {f["technique"] for f in json.loads(body)["findings"]}


def first_run_beside_a_bad_peer(
    peer: Peer, bad: Callable[[int], dict[str, Any]], logs: Path, workspace: Path, detections: list[Any]
) -> tuple[Any, int, Receiver]:
    """An alert run with the channel ``bad(port)`` facing ``peer`` and a good webhook ``siem``:
    the good channel got every finding, the bad one's message is spooled. The run's report,
    the bad peer's (now free) port and the good receiver (still running)."""
    server, good = BadPeer(peer), Receiver()
    write_config(
        workspace, {"bad": bad(server.port), "siem": {"type": "webhook", "url": f"http://127.0.0.1:{good.port}/"}}
    )
    try:
        started = time.monotonic()
        first = alert(logs, workspace, detections)
        took = time.monotonic() - started
    finally:
        server.stop()
    assert first.new > 0 and first.sent == {"siem": first.new}, first.lines()
    assert set(first.spooled) == {"bad"} and first.still_spooled == 1 and first.undelivered
    assert len(good.received) == 1 and techniques_in(good.received[0][2]) >= set(TECHNIQUES)
    assert took < 15, f"a bad peer held the run {took:.1f} s"
    return first, server.port, good


def second_run_delivers_the_spool(logs: Path, workspace: Path, detections: list[Any], good: Receiver) -> None:
    """The next run (the bad peer now good): the spooled message goes out, nothing is sent twice."""
    try:
        second = alert(logs, workspace, detections)
    finally:
        good.stop()
    assert second.caught_up == {"bad": 1} and second.new == 0 and second.still_spooled == 0, second.lines()
    assert not second.undelivered and len(good.received) == 1


@pytest.mark.parametrize("scenario", list(HTTP_PEERS))
def test_a_bad_http_peer_fails_alone_and_its_message_arrives_later(
    scenario: str, logs: Path, tmp_path: Path, detections: list[Any]
) -> None:
    def slack(port: int) -> dict[str, Any]:
        return {"type": "slack", "url": f"http://127.0.0.1:{port}/hook", "timeout": 1.5}

    first, port, good = first_run_beside_a_bad_peer(HTTP_PEERS[scenario], slack, logs, tmp_path / "ws", detections)
    healed = Receiver(port)
    try:
        second_run_delivers_the_spool(logs, tmp_path / "ws", detections, good)
    finally:
        healed.stop()
    assert len(healed.received) == 1 + min(first.new, 20)  # the spooled message: a summary, a post per finding
    assert any("cloudtrail" in body.decode().lower() for _, _, body in healed.received)


@pytest.mark.parametrize("scenario", list(SMTP_PEERS))
def test_a_bad_smtp_peer_fails_alone_and_its_message_arrives_later(
    scenario: str, logs: Path, tmp_path: Path, detections: list[Any]
) -> None:
    def email(port: int) -> dict[str, Any]:
        return {
            "type": "email",
            "host": "127.0.0.1",
            "port": port,
            "starttls": False,
            "to": ["soc@example.com"],
            "timeout": 1.5,
        }

    _, port, good = first_run_beside_a_bad_peer(SMTP_PEERS[scenario], email, logs, tmp_path / "ws", detections)
    mailbox = Mailbox()
    healed = Controller(mailbox, hostname="127.0.0.1", port=port)
    healed.start()
    try:
        second_run_delivers_the_spool(logs, tmp_path / "ws", detections, good)
    finally:
        healed.stop()
    assert len(mailbox.messages) == 1 and b"cloudtrail" in mailbox.messages[0].lower()


def test_a_dripping_peer_is_cut_at_the_channel_deadline() -> None:
    bad = BadPeer(_http_drip)
    channel = SlackChannel("chat", f"http://127.0.0.1:{bad.port}/", timeout=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="within 1 s"):
            channel.send(Message("s", "t"))
        took = time.monotonic() - started
    finally:
        bad.stop()
    assert 0.9 < took < 3, took  # the drip sends a line every 0.2 s: only an overall deadline stops it


def test_a_spool_that_still_fails_exits_3(logs: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    write_config(workspace, {"siem": {"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/hook"}})
    args = ["alert", "--logs", str(logs), "--workspace", str(workspace), "--since", WINDOW["since"]]
    args += ["--until", WINDOW["until"]]
    runner = CliRunner()
    first, second = runner.invoke(cli, args), runner.invoke(cli, args)
    assert first.exit_code == 3, first.output
    assert second.exit_code == 3, second.output  # no new findings, but the spooled message failed again
    assert ", 0 new" in second.stderr and "siem: spooled message(s) FAILED again" in second.stderr


SPOOL_LIMITS = {
    "attempts": (SpoolLimits(attempts=3), 3, 0, 2),
    "age": (SpoolLimits(age=dt.timedelta(days=1)), 1, 2, 2),
    "per channel": (SpoolLimits(per_channel=2), 1, 0, 5),
}


@pytest.mark.parametrize("limit", list(SPOOL_LIMITS))
def test_the_spool_is_bounded_and_says_what_it_drops(limit: str, tmp_path: Path) -> None:
    limits, attempts, days_old, queued = SPOOL_LIMITS[limit]
    state = AlertState(tmp_path)
    try:
        for i in range(queued):
            state.spool("siem", Message(f"m{i}", "t"), "down")
        state.db.execute("UPDATE spool SET attempts = ?", (attempts,))
        old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days_old, minutes=1)).isoformat(timespec="seconds")
        state.db.execute("UPDATE spool SET queued = ?", (old,))
        dropped = state.prune(limits)
        kept = [m.subject for _, m in state.spooled("siem")]
    finally:
        state.close()
    if limit == "per channel":
        assert kept == ["m3", "m4"] and len(dropped) == 3  # the newest kept, the oldest dropped
    else:
        assert kept == [] and len(dropped) == queued
    assert all(line.startswith("siem: DROPPED spooled message") and "down" in line for line in dropped)


BAD_CHANNELS = {
    "no scheme": {"type": "slack", "url": "hooks.slack.com/services/T/B/X"},
    "not http": {"type": "webhook", "url": "ftp://example.com/hook"},
    "file url": {"type": "webhook", "url": "file:///etc/passwd"},
    "no host": {"type": "webhook", "url": "http:///hook"},
    "bad port": {"type": "webhook", "url": "http://example.com:99999/hook"},
    "unknown type": {"type": "pager", "url": "https://example.com/"},
    "bad timeout": {"type": "webhook", "url": "https://example.com/", "timeout": -1},
}


@pytest.mark.parametrize("case", list(BAD_CHANNELS))
def test_a_channel_that_cannot_work_is_a_configuration_error_naming_it(case: str, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    write_config(workspace, {"broken": BAD_CHANNELS[case]})
    (tmp_path / "logs").mkdir()
    result = trailsql("alert", "--logs", tmp_path / "logs", "--workspace", workspace)  # through main's error handling
    assert result.exit_code == 2, result.output
    assert "error: channel broken" in result.stderr and "Traceback" not in result.output


# ---- hostile values on every surface ---------------------------------------------------------


def slack_shown(payload: str) -> str:
    """What Slack's docs say a message must carry to show ``payload`` as written."""
    return payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.fixture(scope="module")
def slack_texts() -> dict[str, str]:
    hooks = Receiver()
    try:
        for name, payload in PAYLOADS.items():
            SlackChannel("chat", f"http://127.0.0.1:{hooks.port}/", timeout=5).send(Message(name, payload))
    finally:
        hooks.stop()
    texts = [json.loads(body)["text"] for _, _, body in hooks.received]
    return dict(zip(PAYLOADS, texts, strict=True))


def a_report(payload: str) -> Report:
    query = next(q for q in load_library().values() if q.kind == "hunt")
    table = pa.table({"username": [payload], "useragent": ["plain"]})
    run = QueryRun(query, {}, result=SimpleNamespace(table=table))  # type: ignore[arg-type]
    now = dt.datetime(2025, 2, 12, tzinfo=dt.UTC)
    return Report(Window.parse("2025-02-11", "2025-02-12", now), now, [run], {})


def markdown_cell(payload: str) -> str:
    """The cell holding ``payload`` in the report's Markdown table."""
    row = next(line for line in render_markdown(a_report(payload)).splitlines() if line.endswith("| plain |"))
    return row.removeprefix("| ").removesuffix(" | plain |")


def unescaped(text: str, char: str) -> int:
    """How many ``char`` in ``text`` are not backslash-escaped."""
    return sum(1 for i, c in enumerate(text) if c == char and (i == 0 or text[i - 1] != "\\"))


def terminal_table(payload: str) -> str:
    return terminal_table_of(pa.table({"v": [payload]}))


CONTROL = {chr(c) for c in range(32) if chr(c) not in "\n"} | {"\x7f"}


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_slack_shows_log_fields_as_written(name: str, slack_texts: dict[str, str]) -> None:
    payload = PAYLOADS[name]
    text = slack_texts[name]
    assert text == f"*{slack_shown(name)}*\n{slack_shown(payload)}"
    assert "<" not in text and ">" not in text


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_markdown_cells_are_inert(name: str) -> None:
    cell = markdown_cell(PAYLOADS[name])
    assert not set(cell) & (CONTROL | {"<", ">"}), repr(cell)
    for char in "|`[]()!":
        assert unescaped(cell, char) == 0, (char, cell)
    assert unescaped(cell.replace("&lt;", "").replace("&gt;", "").replace("&amp;", ""), "&") == 0


#: What a terminal must show of the payloads that carry escape sequences (the rest: their
#: printable characters).
TERMINAL_SHOWN = {"ansi colour": "red", "osc 8 hyperlink": "click"}


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_terminal_tables_carry_no_control_sequences(name: str) -> None:
    payload = PAYLOADS[name]
    shown = terminal_table(payload)
    assert not set(shown) & CONTROL, repr(shown)
    expected = TERMINAL_SHOWN.get(name) or "".join(ch for ch in payload if ch not in CONTROL)
    assert expected in shown  # rich markup included: printed, not interpreted
    assert name != "osc 8 hyperlink" or "evil.example" not in shown


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_html_reports_escape_log_fields(name: str) -> None:
    page = render_html(a_report(PAYLOADS[name]))
    assert "<script>alert" not in page and "<!channel>" not in page and "<http://evil" not in page
    assert not set(page) & (CONTROL - {"\t", "\r"}), "a control character reached the HTML"


def test_varbinary_and_non_finite_doubles_print_as_athena_prints_them() -> None:
    table = pa.table({"b": pa.array([b"ab", None], pa.binary()), "d": [float("inf"), float("nan")]})
    table = table.append_column("n", pa.array([[float("-inf")], [1.5]]))
    formats = {}
    for fmt in output.FORMATS:
        out = io.StringIO()
        output.write(table, fmt, out)
        formats[fmt] = out.getvalue()
    assert json.loads(formats["json"]) == [
        {"b": "61 62", "d": "Infinity", "n": ["-Infinity"]},
        {"b": None, "d": "NaN", "n": [1.5]},
    ]
    assert [json.loads(line) for line in formats["jsonl"].splitlines()] == json.loads(formats["json"])
    assert formats["csv"].splitlines() == ['"b","d","n"', '"61 62","Infinity","[-Infinity]"', ',"NaN","[1.5]"']
    assert formats["table"].splitlines()[1] == "61 62\tInfinity\t[-Infinity]"
    assert "61 62" in terminal_table_of(table)


def terminal_table_of(table: pa.Table) -> str:
    out = io.StringIO()
    print_result(SimpleNamespace(table=table), "table", out, to_terminal=False)  # type: ignore[arg-type]
    return out.getvalue()
