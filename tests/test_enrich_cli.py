"""``trailsql enrich update|status|lookup`` and ``config show``'s ``[enrich]``.

``update`` downloads from a real HTTP server on loopback that the test starts, serving
``tests/data/ip-ranges.json`` (the URL is an option for that reason); "no network" is a port
on loopback where nothing listens. Expected output is written by hand from the fixture.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from test_enrich import RANGES, write_mmdb
from trailsql.cli.main import cli
from trailsql.errors import BadInputError, SourceError, UsageError

#: What the fixture says of itself (its syncToken, createDate and counts), by hand.
FIXTURE_SUMMARY = "syncToken 1733000000, created 2024-11-30-21-03-13, 20 IPv4 and 6 IPv6 prefixes"


class _Handler(BaseHTTPRequestHandler):
    """``/ip-ranges.json``: the fixture; ``/broken.json``: half of it; anything else 404."""

    def do_GET(self) -> None:
        body = RANGES.read_bytes()
        if self.path == "/broken.json":
            body = body[: len(body) // 2]
        elif self.path != "/ip-ranges.json":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:  # (quiet)
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_update_downloads_into_the_workspace_and_status_says_so(server: str, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    before = run("enrich", "status", "--workspace", workspace)
    assert before.exit_code == 0
    assert f"AWS IP ranges: none (none at {workspace / 'enrich' / 'ip-ranges.json'}" in before.stdout
    assert "MaxMind DB: none" in before.stdout
    updated = run("enrich", "update", "--workspace", workspace, "--url", f"{server}/ip-ranges.json")
    assert updated.exit_code == 0, updated.output
    target = workspace / "enrich" / "ip-ranges.json"
    assert updated.stdout == f"{target}: {FIXTURE_SUMMARY}\n"
    assert target.read_bytes() == RANGES.read_bytes()
    assert [p.name for p in target.parent.iterdir()] == ["ip-ranges.json"]  # no temporary file left
    after = run("enrich", "status", "--workspace", workspace)
    assert after.stdout.splitlines()[0] == f"AWS IP ranges: {target}: {FIXTURE_SUMMARY}"
    looked_up = run("enrich", "lookup", "--workspace", workspace, "3.225.16.109", "10.0.0.1")
    assert [json.loads(line) for line in looked_up.stdout.splitlines()] == [
        {
            "address": "3.225.16.109",
            "kind": "aws",
            "aws_region": "us-east-1",
            "aws_service": "EC2",
            "network": "3.224.0.0/12",
            "country": None,
            "asn": None,
            "as_org": None,
        },
        {
            "address": "10.0.0.1",
            "kind": "private",
            "aws_region": None,
            "aws_service": None,
            "network": None,
            "country": None,
            "asn": None,
            "as_org": None,
        },
    ]


def test_update_writes_to_the_configured_file_from_the_configured_url(server: str, tmp_path: Path) -> None:
    (tmp_path / "trailsql.toml").write_text(
        f'[enrich]\nip_ranges = "data/aws.json"\nip_ranges_url = "{server}/ip-ranges.json"\n'
    )
    updated = run("enrich", "update", "--workspace", tmp_path)
    assert updated.exit_code == 0, updated.output
    assert (tmp_path / "data" / "aws.json").read_bytes() == RANGES.read_bytes()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_update_failures_keep_the_old_file(server: str, tmp_path: Path) -> None:
    target = tmp_path / "enrich" / "ip-ranges.json"
    target.parent.mkdir()
    target.write_text('{"prefixes": []}')
    cases: list[tuple[str, type[Exception], str]] = [
        (f"http://127.0.0.1:{free_port()}/ip-ranges.json", SourceError, "could not download AWS's IP ranges"),
        (f"{server}/missing.json", SourceError, "HTTP 404"),
        (f"{server}/broken.json", SourceError, "did not answer with AWS's IP ranges"),
        ("file:///etc/passwd", UsageError, "must be http:// or https://"),
    ]
    for url, error, message in cases:
        failed = run("enrich", "update", "--workspace", tmp_path, "--url", url)
        assert isinstance(failed.exception, error) and message in str(failed.exception), (url, failed.exception)
        assert target.read_text() == '{"prefixes": []}'
        assert [p.name for p in target.parent.iterdir()] == ["ip-ranges.json"]


def test_update_of_a_document_not_in_the_format_is_refused(tmp_path: Path) -> None:
    class _NotRanges(_Handler):
        def do_GET(self) -> None:
            body = b'{"hello": "world"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NotRanges)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        failed = run(
            "enrich", "update", "--workspace", tmp_path, "--url", f"http://127.0.0.1:{httpd.server_address[1]}/"
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert isinstance(failed.exception, BadInputError) and "no 'prefixes' list" in str(failed.exception)
    assert not (tmp_path / "enrich" / "ip-ranges.json").exists()


def test_update_without_a_workspace_says_to_give_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAILSQL_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    failed = run("enrich", "update")
    assert isinstance(failed.exception, UsageError) and "give --workspace" in str(failed.exception)


def test_status_shows_each_database_and_config_show_the_files(tmp_path: Path) -> None:
    write_mmdb(tmp_path / "asn.mmdb", "GeoLite2-ASN", {"81.2.69.0/24": {"autonomous_system_number": 20712}})
    (tmp_path / "trailsql.toml").write_text(f'[enrich]\nip_ranges = "{RANGES}"\nmmdb = ["asn.mmdb", "gone.mmdb"]\n')
    failed = run("enrich", "status", "--workspace", tmp_path)
    assert isinstance(failed.exception, BadInputError) and "gone.mmdb" in str(failed.exception)
    shown = json.loads(run("config", "show", "--workspace", tmp_path, "--format", "json").stdout)
    assert shown["enrich"] == {
        "ip_ranges": str(RANGES),
        "mmdb": f"{tmp_path / 'asn.mmdb'}, {tmp_path / 'gone.mmdb'} (missing)",
    }
    (tmp_path / "trailsql.toml").write_text(f'[enrich]\nip_ranges = "{RANGES}"\nmmdb = "asn.mmdb"\n')
    status = json.loads(run("enrich", "status", "--workspace", tmp_path, "--format", "json").stdout)
    assert status["ip_ranges"] == {
        "path": str(RANGES),
        "syncToken": "1733000000",
        "createDate": "2024-11-30-21-03-13",
        "ipv4_prefixes": 20,
        "ipv6_prefixes": 6,
    }
    [database] = status["mmdb"]
    assert (database["path"], database["database_type"], database["ip_version"]) == (
        str(tmp_path / "asn.mmdb"),
        "GeoLite2-ASN",
        6,
    )
    assert database["description"] == {"en": "trailsql test"}
    text = run("enrich", "status", "--workspace", tmp_path).stdout
    assert f"MaxMind DB: {tmp_path / 'asn.mmdb'}: GeoLite2-ASN, built " in text
