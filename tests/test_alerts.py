"""Alerts reach real peers on loopback and each finding is sent once, even across failures.

Peers started here, bound to 127.0.0.1: an SMTP server (aiosmtpd) with STARTTLS (a
throwaway CA from trustme) and AUTH, that keeps the messages it receives; an HTTP server
standing for a webhook receiver and a Slack incoming webhook, that keeps the requests;
and moto's server for SNS (no real SNS can run here), read back through an SQS queue
subscribed to the topic.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from moto.server import ThreadedMotoServer

from test_detections import deliver, technique_logs
from trailsql.alerts.alert import run_alerts
from trailsql.alerts.channels import channels_from_config, verify_signature
from trailsql.alerts.state import AlertState
from trailsql.cli.main import cli
from trailsql.library import load_library
from trailsql.session import Session

SECRET = "hook-secret"
WINDOW = {"since": "2024-07-01", "until": "2024-08-10"}
TECHNIQUES = (
    "aws.defense-evasion.cloudtrail-stop",
    "aws.persistence.iam-backdoor-user",
    "aws.exfiltration.ec2-share-ami",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return technique_logs(tmp_path_factory.mktemp("alerts") / "logs", TECHNIQUES)


class Receiver:
    """An HTTP server on loopback that keeps every POST (path, headers, body)."""

    def __init__(self, port: int = 0) -> None:
        received: list[tuple[str, dict[str, str], bytes]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, dict(self.headers), body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[Controller, Mailbox, str]]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"alerts", b"s3cret")
        return AuthResult(success=ok, handled=False)

    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        server_hostname="localhost",
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )
    controller.start()
    yield controller, mailbox, str(cafile)
    controller.stop()


@pytest.fixture(scope="module")
def sns() -> Iterator[tuple[str, str, Any]]:
    """moto's server: an SNS topic with an SQS queue subscribed, to read what was published."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_ACCESS_KEY_ID", "testing")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    sns_client = boto3.client("sns", region_name="us-east-1", endpoint_url=endpoint)
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint)
    topic = sns_client.create_topic(Name="alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns_client.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    yield endpoint, topic, (sqs, queue)
    server.stop()
    mp.undo()


def write_config(workspace: Path, channels: dict[str, dict[str, Any]]) -> None:
    workspace.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, table in channels.items():
        lines.append(f"[channels.{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    (workspace / "trailsql.toml").write_text("\n".join(lines) + "\n")


def alert_once(logs: Path, workspace: Path) -> Any:
    detections = [q for q in load_library().values() if q.kind == "detection"]
    with Session(logs=logs, workspace=workspace) as session:
        channels = channels_from_config(session.workspace.config)
        state = AlertState(workspace)
        try:
            return run_alerts(session, detections, WINDOW, channels, state)
        finally:
            state.close()


def test_each_new_finding_reaches_every_channel_once(
    logs: Path, tmp_path: Path, smtp: tuple[Controller, Mailbox, str], sns: tuple[str, str, Any]
) -> None:
    controller, mailbox, cafile = smtp
    endpoint, topic, (sqs, queue) = sns
    hooks = Receiver()
    workspace = tmp_path / "ws"
    write_config(
        workspace,
        {
            "siem": {"type": "webhook", "url": f"http://127.0.0.1:{hooks.port}/hook", "secret_env": "HOOK_SECRET"},
            "chat": {"type": "slack", "url": f"http://127.0.0.1:{hooks.port}/slack"},
            "mail": {
                "type": "email",
                "host": "127.0.0.1",
                "port": controller.port,
                "username": "alerts",
                "password_env": "SMTP_PASSWORD",
                "from": "trailsql@example.com",
                "to": ["secops@example.com"],
                "cafile": cafile,
            },
            "pager": {"type": "sns", "topic_arn": topic, "region": "us-east-1", "endpoint_url": endpoint},
        },
    )
    mp = pytest.MonkeyPatch()
    mp.setenv("HOOK_SECRET", SECRET)
    mp.setenv("SMTP_PASSWORD", "s3cret")
    try:
        first = alert_once(logs, workspace)
        second = alert_once(logs, workspace)
    finally:
        mp.undo()
        hooks.stop()
    assert first.findings == first.new >= len(TECHNIQUES) and not first.spooled
    assert first.sent == {"siem": first.new, "chat": first.new, "mail": first.new, "pager": first.new}
    assert (second.findings, second.new, second.sent) == (first.findings, 0, {})

    # The webhook: JSON with every finding, signed.
    (hook,) = [r for r in hooks.received if r[0] == "/hook"]
    _, headers, body = hook
    assert verify_signature(SECRET, headers["X-Trailsql-Timestamp"], body, headers["X-Trailsql-Signature"])
    assert not verify_signature("wrong", headers["X-Trailsql-Timestamp"], body, headers["X-Trailsql-Signature"])
    sent = json.loads(body)
    assert {f["technique"] for f in sent["findings"]} >= set(TECHNIQUES)
    # Slack: a summary, then a message per finding naming it.
    slack = [r[2].decode() for r in hooks.received if r[0] == "/slack"]
    assert len(slack) == 1 + min(first.new, 20)
    assert any("cloudtrail-tampering" in m for m in slack) and any("snapshot-or-image-shared" in m for m in slack)
    # Email: over STARTTLS with login, plain text and the HTML report.
    (raw,) = mailbox.messages
    mail = message_from_bytes(raw)
    assert mail["To"] == "secops@example.com" and "new finding" in mail["Subject"]
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in mail.walk()
        if not part.is_multipart()
    }
    assert "iam-credentials-for-another-user" in parts["text/plain"]
    assert "<svg" in parts["text/html"] and "StopLogging" in parts["text/html"]
    # SNS: published once, read back from the subscribed queue.
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert len(received) == 1
    published = json.loads(received[0]["Body"])
    assert published["TopicArn"] == topic and "cloudtrail-tampering" in published["Message"]


def test_a_channel_down_spools_and_the_next_run_delivers_once(logs: Path, tmp_path: Path) -> None:
    port = free_port()
    workspace = tmp_path / "ws"
    write_config(workspace, {"siem": {"type": "webhook", "url": f"http://127.0.0.1:{port}/hook"}})
    runner = CliRunner()
    args = ["alert", "--logs", str(logs), "--workspace", str(workspace), "--since", WINDOW["since"]]
    args += ["--until", WINDOW["until"]]
    down = runner.invoke(cli, args)  # nothing listens on the port: the channel is down
    assert down.exit_code == 3, down.output
    assert "FAILED, message spooled" in down.stderr and "1 message(s) wait in the spool" in down.stderr
    hooks = Receiver(port)
    try:
        up = runner.invoke(cli, args)
        again = runner.invoke(cli, args)
    finally:
        hooks.stop()
    assert up.exit_code == 0, up.output
    assert "siem: delivered 1 spooled message(s)" in up.stderr and ", 0 new" in up.stderr
    assert again.exit_code == 0 and "delivered" not in again.stderr
    assert len(hooks.received) == 1  # the spooled message, once; nothing sent twice
    assert {f["technique"] for f in json.loads(hooks.received[0][2])["findings"]} >= set(TECHNIQUES)


def test_threshold_detections_alert_with_their_counts(tmp_path: Path) -> None:
    denied = [
        {
            "eventVersion": "1.08",
            "eventTime": f"2025-02-12T10:{n:02d}:00Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "awsRegion": "us-east-1",
            "eventID": f"denied-{n}",
            "recipientAccountId": "123456789012",
            "errorCode": "AccessDenied",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/mallory"},
        }
        for n in range(14)
    ]
    deliver(tmp_path / "logs", denied, "denied")
    hooks = Receiver()
    workspace = tmp_path / "ws"
    write_config(workspace, {"siem": {"type": "webhook", "url": f"http://127.0.0.1:{hooks.port}/hook"}})
    with Session(logs=tmp_path / "logs", workspace=workspace) as session:
        state = AlertState(workspace)
        query = load_library()["daily-access-denied"]
        done = run_alerts(
            session,
            [query],
            {"since": "2025-02-12", "until": "2025-02-13"},
            channels_from_config(session.workspace.config),
            state,
        )
        state.close()
    hooks.stop()
    assert done.new == 1
    (finding,) = json.loads(hooks.received[0][2])["findings"]
    assert finding["count"] == 14 and finding["group"]["arn"].endswith("user/mallory")
    assert finding["actions"] == ["GetObject"]
    assert "14 events" in json.loads(hooks.received[0][2])["text"]
