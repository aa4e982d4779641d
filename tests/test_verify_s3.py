"""``trailsql verify --logs s3://...``: digest chains in a real S3 server (SeaweedFS on
loopback), each digest's signature in its object metadata (``x-amz-meta-signature``) as
CloudTrail writes it; the same statuses as for a local copy, the newest digest checked
too, and its signature kept in trailsql's S3 cache for a later offline run."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import rsa

from cloudtrail_digests import (
    START,
    Trail,
    make_trail,
    publish,
    signed,
    verify_json,
    write_digest,
    write_hour_logs,
    write_keys,
)
from conftest import write_log
from s3server import S3Server
from trailsql.cli.main import cli

BUCKET = "verify-trails"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def bucket(s3_server: S3Server) -> str:
    s3_server.client().create_bucket(Bucket=BUCKET)
    return BUCKET


class Run:
    """``trailsql verify`` over one prefix of the bucket, with a workspace whose ``[s3]`` reaches SeaweedFS."""

    def __init__(self, server: S3Server, tmp_path: Path, keys: Path, prefix: str) -> None:
        self.keys = keys
        self.uri = f"s3://{BUCKET}/{prefix}"
        self.cache = tmp_path / "cache"
        self.workspace = tmp_path / "ws"
        self.workspace.mkdir()
        self.write_config(server.endpoint)

    def write_config(self, endpoint: str) -> None:
        (self.workspace / "trailsql.toml").write_text(
            f'[s3]\nendpoint_url = "{endpoint}"\nregion = "us-east-1"\ncache_dir = "{self.cache}"\nmax_attempts = 1\n'
        )

    def invoke(self, *args: str) -> Any:
        """The command's result (``--format json`` is for :meth:`__call__`)."""
        base = ["verify", "--logs", self.uri, "--workspace", str(self.workspace), "--public-keys", str(self.keys)]
        return CliRunner().invoke(cli, [*base, *args])

    def __call__(self, *args: str) -> tuple[int, dict[str, Any]]:
        return verify_json(
            "--logs", self.uri, "--workspace", str(self.workspace), "--public-keys", str(self.keys), *args
        )

    def statuses(self, answer: dict[str, Any]) -> dict[str, str]:
        """Each file's status by its key below the prefix (the trail's relative path)."""
        return {f["path"].removeprefix(self.uri): f["status"] for f in answer["files"]}

    def detail(self, answer: dict[str, Any], rel: str) -> str:
        return str(next(f["detail"] for f in answer["files"] if f["path"] == self.uri + rel))


@pytest.fixture
def setup(
    s3_server: S3Server, bucket: str, tmp_path: Path, key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> tuple[Trail, Run]:
    """A four-hour chain published below a prefix of its own, and the run over it."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    prefix = f"t{uuid.uuid4().hex[:8]}/"
    trail = make_trail(tmp_path / "logs", key, prefix=prefix, sidecar=False)
    publish(s3_server.client(), BUCKET, trail.root, prefix, signed(trail))
    return trail, Run(s3_server, tmp_path, write_keys(tmp_path / "keys.json", key), prefix)


def expected_all_valid(trail: Trail) -> dict[str, str]:
    return {trail.rel(p): "valid" for p in [*trail.digests, *(log for logs in trail.logs for log in logs)]}


def test_all_valid_including_the_newest_digest(setup: tuple[Trail, Run]) -> None:
    trail, run = setup
    code, answer = run()
    assert code == 0
    assert run.statuses(answer) == expected_all_valid(trail)  # the newest too: its signature is in S3
    assert answer["gaps"] == []


def test_sidecar_in_the_cache_then_offline_run(setup: tuple[Trail, Run], tmp_path: Path) -> None:
    trail, run = setup
    assert run()[0] == 0
    sidecars = {p.read_text() for p in run.cache.rglob("*.signature")}
    assert sidecars == set(trail.signatures)  # every digest's metadata signature, beside its copy
    run.write_config("http://127.0.0.1:9")  # nothing answers there: an offline run asks nothing
    code, answer = run("--offline")
    assert code == 0
    assert run.statuses(answer) == expected_all_valid(trail)  # the newest digest from its sidecar
    assert any("offline" in note for note in answer["notes"])


def test_offline_run_says_what_the_cache_lost(setup: tuple[Trail, Run]) -> None:
    trail, run = setup
    assert run()[0] == 0
    lost = trail.logs[2][0]
    [copy] = [p for p in run.cache.rglob(f"*{lost.name}") if p.is_file()]
    copy.unlink()
    code, answer = run("--offline")
    found = run.statuses(answer)
    assert code == 1
    assert found.pop(trail.rel(lost)) == "missing"
    assert set(found.values()) == {"valid"}
    assert "offline: 1 objects listed are not in the cache (reported as missing)" in answer["notes"]


def test_offline_without_an_earlier_run(setup: tuple[Trail, Run]) -> None:
    _, run = setup
    result = run.invoke("--offline")
    assert result.exit_code == 1
    assert "no listing of" in str(result.exception)


def tamper(trail: Trail) -> Path:
    log = trail.logs[1][0]
    return write_log(log.parent, log.name, [{"eventTime": "2025-02-12T01:05:00Z", "eventName": "Nothing"}])


def inject(trail: Trail) -> Path:
    return write_hour_logs(trail.root, 2, count=1, tag="x")[0]


@pytest.mark.parametrize(("change", "status"), [(tamper, "hash mismatch"), (inject, "unexpected file")])
def test_changed_log(
    setup: tuple[Trail, Run], s3_server: S3Server, change: Callable[[Trail], Path], status: str
) -> None:
    trail, run = setup
    changed = change(trail)
    publish(s3_server.client(), BUCKET, trail.root, run.uri.removeprefix(f"s3://{BUCKET}/"), signed(trail))
    code, answer = run()
    found = run.statuses(answer)
    assert code == 1
    assert found.pop(trail.rel(changed)) == status
    assert set(found.values()) == {"valid"}


def test_deleted_log(setup: tuple[Trail, Run], s3_server: S3Server) -> None:
    trail, run = setup
    gone = trail.logs[2][1]
    s3_server.client().delete_object(Bucket=BUCKET, Key=run.uri.removeprefix(f"s3://{BUCKET}/") + trail.rel(gone))
    code, answer = run()
    found = run.statuses(answer)
    assert code == 1
    assert found.pop(trail.rel(gone)) == "missing"
    assert set(found.values()) == {"valid"}


def _put_metadata(server: S3Server, run: Run, path: Path, trail: Trail, metadata: dict[str, str]) -> None:
    key = run.uri.removeprefix(f"s3://{BUCKET}/") + trail.rel(path)
    server.client().put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes(), Metadata=metadata)


def test_wrong_signature_in_the_metadata(setup: tuple[Trail, Run], s3_server: S3Server) -> None:
    trail, run = setup
    _put_metadata(s3_server, run, trail.digests[1], trail, {"signature": trail.signatures[0]})
    code, answer = run()
    found = run.statuses(answer)
    assert code == 1
    assert found.pop(trail.rel(trail.digests[1])) == "bad signature"
    # the next digest states the real signature: it no longer matches what S3 says
    assert found.pop(trail.rel(trail.digests[2])) == "bad signature"
    assert set(found.values()) == {"valid"}


def test_no_signature_in_the_metadata(setup: tuple[Trail, Run], s3_server: S3Server) -> None:
    trail, run = setup
    newest = trail.digests[-1]
    _put_metadata(s3_server, run, newest, trail, {})
    code, answer = run()
    found = run.statuses(answer)
    assert code == 1
    assert found.pop(trail.rel(newest)) == "bad signature"
    assert run.detail(answer, trail.rel(newest)) == "no signature in the object metadata"
    assert set(found.values()) == {"valid"}
    assert not list(run.cache.rglob(f"*{newest.name[-40:]}.signature"))  # no sidecar kept for it


def test_moved_digest(setup: tuple[Trail, Run], s3_server: S3Server) -> None:
    """In S3 the whole key must be the one the digest states (a copy elsewhere is moved)."""
    trail, run = setup
    client = s3_server.client()
    prefix = run.uri.removeprefix(f"s3://{BUCKET}/")
    old = prefix + trail.rel(trail.digests[-1])
    new = old.replace("/12/", "/13/")
    client.put_object(
        Bucket=BUCKET, Key=new, Body=trail.digests[-1].read_bytes(), Metadata=signed(trail)[trail.digests[-1]]
    )
    client.delete_object(Bucket=BUCKET, Key=old)
    code, answer = run()
    found = run.statuses(answer)
    assert code == 1
    assert found.pop(new.removeprefix(prefix)) == "moved"
    assert set(found.values()) == {"valid"}


def test_organisation_trail(
    s3_server: S3Server, bucket: str, tmp_path: Path, key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    prefix = f"org{uuid.uuid4().hex[:8]}/cloudtrail/"
    trail = make_trail(tmp_path / "logs", key, hours=3, org="o-abc123", prefix=prefix, sidecar=False)
    publish(s3_server.client(), BUCKET, trail.root, prefix, signed(trail))
    run = Run(s3_server, tmp_path, write_keys(tmp_path / "keys.json", key), prefix)
    code, answer = run()
    assert code == 0
    assert run.statuses(answer) == expected_all_valid(trail)
    assert all("/AWSLogs/o-abc123/123456789012/" in f["path"] for f in answer["files"])


def test_backfill_digest(setup: tuple[Trail, Run], s3_server: S3Server, key: rsa.RSAPrivateKey) -> None:
    trail, run = setup
    prefix = run.uri.removeprefix(f"s3://{BUCKET}/")
    late = write_hour_logs(trail.root, 1, count=1, tag="late")
    backfill = write_digest(trail.root, key, START + dt.timedelta(hours=3), late, None, prefix=prefix, backfill=True)
    metadata = signed(trail)
    metadata[backfill[0]] = {
        "signature": backfill[2],
        "signature-algorithm": "SHA256withRSA",
        "backfill-generation-timestamp": "2025-02-12T05:10:00Z",
    }
    publish(s3_server.client(), BUCKET, trail.root, prefix, metadata)
    code, answer = run()
    found = run.statuses(answer)
    assert code == 0
    assert found[trail.rel(backfill[0])] == "valid" and found[trail.rel(late[0])] == "valid"
    assert set(found.values()) == {"valid"}
    # CloudTrail sets the generation time on every backfill digest: without it, as the AWS CLI says, invalid format
    _put_metadata(s3_server, run, backfill[0], trail, {"signature": backfill[2]})
    code, answer = run()
    assert (code, run.statuses(answer)[trail.rel(backfill[0])]) == (1, "invalid format")
    assert "backfill-generation-timestamp" in run.detail(answer, trail.rel(backfill[0]))
