"""``trailsql ingest --verify``: each source file's integrity status kept in the lake's
manifest (``Manifest.verification()``, ``trailsql lake status``), from a local copy and
from S3; a source read again loses the status of its old content; a lake of manifest
version 4 is migrated."""

from __future__ import annotations

import gzip
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import rsa

from cloudtrail_digests import REGION, Trail, make_trail, publish, signed, write_hour_logs, write_keys
from conftest import write_log
from s3server import S3Server
from trailsql.catalog.workspace import Workspace
from trailsql.cli.main import cli
from trailsql.errors import UsageError
from trailsql.lake.manifest import MANIFEST_NAME, SCHEMA_VERSION, Manifest, lake_folder
from trailsql.verify.digests import load_public_keys
from trailsql.verify.keys import FixedKeys
from trailsql.verify.run import verify_days
from trailsql.verify.store import LocalStore
from trailsql.verify.validate import validate

BUCKET = "verify-ingest"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def workspace_with_keys(path: Path, key: rsa.RSAPrivateKey, config: str = "") -> Path:
    """A workspace keeping the trail's public key as ``ListPublicKeys`` would have left it."""
    folder = path / "verify" / "public-keys"
    folder.mkdir(parents=True)
    write_keys(folder / f"{REGION}.json", key)
    (path / "trailsql.toml").write_text(config)
    return path


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def lake_status(workspace: Path) -> dict[str, Any]:
    result = invoke("lake", "status", "--workspace", str(workspace), "--format", "json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def recorded(workspace: Path) -> dict[str, str]:
    manifest = Manifest(lake_folder(workspace))
    try:
        return manifest.verification()
    finally:
        manifest.close()


def test_ingest_verify_keeps_each_files_status(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    trail = make_trail(tmp_path / "logs", key)
    tampered = trail.logs[1][0]
    write_log(tampered.parent, tampered.name, [{"eventTime": "2025-02-12T01:05:00Z", "eventName": "Nothing"}])
    injected = write_hour_logs(trail.root, 2, count=1, tag="x")[0]
    later = write_hour_logs(trail.root, 6, count=1)[0]  # after the newest digest: in none yet
    workspace = workspace_with_keys(tmp_path / "ws", key)
    result = invoke("ingest", "--workspace", str(workspace), "--logs", str(trail.root), "--verify")
    assert result.exit_code == 0, result.output
    assert f"hash mismatch: {tampered}:" in result.stderr
    assert f"unexpected file: {injected}:" in result.stderr
    expected = {str(log): "valid" for logs in trail.logs for log in logs}
    expected |= {str(tampered): "hash mismatch", str(injected): "unexpected file", str(later): "not validated"}
    assert recorded(workspace) == expected
    assert "validated: 1 hash mismatch, 1 not validated, 1 unexpected file, 7 valid" in result.stderr
    assert lake_status(workspace) == {
        "sources": 10,
        "statuses": {"valid": 7, "hash mismatch": 1, "unexpected file": 1, "not validated": 1},
    }
    # read again without --verify, the changed file has no status any more (it was of the old content)
    write_log(tampered.parent, tampered.name, [{"eventTime": "2025-02-12T01:05:00Z", "eventName": "Other"}])
    assert invoke("ingest", "--workspace", str(workspace), "--logs", str(trail.root)).exit_code == 0
    assert str(tampered) not in recorded(workspace)
    assert lake_status(workspace)["statuses"] == {
        "valid": 7,
        "not checked": 1,
        "unexpected file": 1,
        "not validated": 1,
    }


def test_ingest_verify_of_a_table_is_refused() -> None:
    with pytest.raises(UsageError, match="not the table cloudtrail_logs"):
        verify_days("cloudtrail_logs", Workspace(None), None, None)


def test_logs_of_an_invalid_digest_are_not_validated(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    """A log whose hash matches a digest whose signature fails is no evidence: ``not validated``
    (the next digest's logs are: its own signature holds, though it states another previous hash)."""
    trail = make_trail(tmp_path / "logs", key)
    altered = trail.digests[1]
    fields = json.loads(gzip.decompress(altered.read_bytes()))
    fields["logFiles"] = fields["logFiles"][:1]  # hide a log file: the digest's signature fails
    altered.write_bytes(gzip.compress(json.dumps(fields).encode()))
    report = validate(LocalStore(trail.root), FixedKeys(load_public_keys(write_keys(tmp_path / "k.json", key))))
    found = report.statuses(str(log) for logs in trail.logs for log in logs)
    assert {location: status for location, (status, _) in found.items()} == {
        **{str(log): "valid" for logs in trail.logs for log in logs},
        str(trail.logs[1][0]): "not validated",
        str(trail.logs[1][1]): "unexpected file",
    }
    assert "whose signature is not verified (bad signature)" in found[str(trail.logs[1][0])][1]


def test_manifest_of_version_4_is_migrated(tmp_path: Path) -> None:
    folder = tmp_path / "lake"
    Manifest(folder).close()
    db = sqlite3.connect(folder / MANIFEST_NAME)
    db.execute("DROP TABLE verification")
    db.execute("PRAGMA user_version = 4")
    db.commit()
    db.close()
    manifest = Manifest(folder)
    assert manifest.verification() == {}
    manifest.record_verification({"s3://b/k": ("valid", "listed by d")}, "2025-02-12T00:00:00+00:00")
    assert manifest.verification() == {"s3://b/k": "valid"}
    assert manifest.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
    manifest.close()


def test_ingest_verify_from_s3(
    s3_server: S3Server, tmp_path: Path, key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = s3_server.client()
    client.create_bucket(Bucket=BUCKET)
    prefix = f"ingest{uuid.uuid4().hex[:8]}/"
    trail: Trail = make_trail(tmp_path / "logs", key, hours=2, prefix=prefix, sidecar=False)
    publish(client, BUCKET, trail.root, prefix, signed(trail))
    gone = trail.logs[0][1]
    client.delete_object(Bucket=BUCKET, Key=prefix + trail.rel(gone))
    config = f'[s3]\nendpoint_url = "{s3_server.endpoint}"\nregion = "us-east-1"\ncache_dir = "{tmp_path / "cache"}"\n'
    workspace = workspace_with_keys(tmp_path / "ws", key, config)
    uri = f"s3://{BUCKET}/{prefix}"
    result = invoke("ingest", "--workspace", str(workspace), "--logs", uri, "--verify")
    assert result.exit_code == 0, result.output
    present = [log for logs in trail.logs for log in logs if log != gone]
    assert recorded(workspace) == {uri + trail.rel(log): "valid" for log in present}  # the newest digest's too
    assert lake_status(workspace) == {"sources": 3, "statuses": {"valid": 3}}
