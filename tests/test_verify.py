"""``trailsql verify``: digest chains written exactly as CloudTrail writes them, signed with a
test RSA key (signed here with ``cryptography`` directly, over the signing string as AWS
documents it, independently of ``trailsql.verify``), checked file by file."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import rsa

from cloudtrail_digests import (
    ACCOUNT,
    BUCKET,
    REGION,
    START,
    TRAIL,
    Trail,
    make_trail,
    public_der,
    sha256_hex,
    statuses,
    verify_json,
    write_digest,
    write_hour_logs,
    write_keys,
)
from conftest import write_log
from trailsql.cli.main import cli
from trailsql.verify.digests import inflate, load_public_keys, read_digest, signing_string


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def run(root: Path, keys: Path, *args: str) -> tuple[int, dict[str, Any]]:
    return verify_json("--logs", str(root), "--public-keys", str(keys), *args)


def all_files(trail: Trail) -> list[Path]:
    return [*trail.digests, *(log for logs in trail.logs for log in logs)]


@pytest.fixture
def trail(tmp_path: Path, key: rsa.RSAPrivateKey) -> Trail:
    return make_trail(tmp_path / "logs", key)


@pytest.fixture
def keys(tmp_path: Path, key: rsa.RSAPrivateKey) -> Path:
    return write_keys(tmp_path / "keys.json", key)


# --- the parts ---------------------------------------------------------------------------------


def test_signing_string_is_awss(trail: Trail) -> None:
    digest = read_digest(trail.digests[1])
    data = gzip.decompress(trail.digests[1].read_bytes())
    fields = json.loads(data)
    expected = (
        f"{fields['digestEndTime']}\n{BUCKET}/{fields['digestS3Object']}\n{sha256_hex(data)}\n{trail.signatures[0]}"
    )
    assert signing_string(digest) == expected.encode()
    first = read_digest(trail.digests[0])
    assert signing_string(first).endswith(b"\nnull")


@pytest.mark.parametrize("form", ["pkcs1", "spki"])
def test_public_keys_in_both_der_forms(tmp_path: Path, key: rsa.RSAPrivateKey, form: str) -> None:
    keys = load_public_keys(write_keys(tmp_path / "k.json", key, form=form))
    fingerprint = hashlib.md5(public_der(key, form)).hexdigest()
    assert list(keys) == [fingerprint]
    assert keys[fingerprint].load().public_numbers() == key.public_key().public_numbers()


def test_inflate_sees_trailing_bytes() -> None:
    assert inflate(gzip.compress(b"{}")).trailing is False
    assert inflate(gzip.compress(b"{}") + gzip.compress(b"[]")).trailing is True


# --- the statuses ------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["pkcs1", "spki"])
def test_all_valid(tmp_path: Path, key: rsa.RSAPrivateKey, form: str) -> None:
    trail = make_trail(tmp_path / "logs", key, form=form)
    code, answer = run(trail.root, write_keys(tmp_path / "k.json", key, form=form))
    assert code == 0
    assert statuses(trail, answer) == {trail.rel(p): "valid" for p in all_files(trail)}
    assert answer["gaps"] == []


def test_table_format(trail: Trail, keys: Path) -> None:
    result = CliRunner().invoke(cli, ["verify", "--logs", str(trail.root), "--public-keys", str(keys)])
    assert result.exit_code == 0
    assert "4 digest valid" in result.output and "8 log valid" in result.output


def test_json_format(trail: Trail, keys: Path) -> None:
    trail.logs[0][0].unlink()
    code, answer = run(trail.root, keys)
    assert code == 1
    assert set(answer) == {"files", "gaps", "notes"}
    first = next(f for f in answer["files"] if f["path"] == str(trail.logs[0][0]))
    assert set(first) == {"path", "kind", "status", "detail"}
    assert (first["kind"], first["status"]) == ("log", "missing")
    assert {f["kind"] for f in answer["files"]} == {"digest", "log"}


def test_newest_digest_without_and_with_its_signature(trail: Trail, keys: Path) -> None:
    sidecar = Path(f"{trail.digests[-1]}.signature")
    sidecar.unlink()
    code, answer = run(trail.root, keys)
    found = statuses(trail, answer)
    assert found.pop(trail.rel(trail.digests[-1])) == "signature not available offline"
    assert set(found.values()) == {"valid"}
    assert code == 0  # AWS's offline procedure: from the next-to-newest digest down
    sidecar.write_text(trail.signatures[-1])
    assert statuses(trail, run(trail.root, keys)[1])[trail.rel(trail.digests[-1])] == "valid"
    sidecar.write_text(trail.signatures[0])  # another digest's signature
    code, answer = run(trail.root, keys)
    assert (code, statuses(trail, answer)[trail.rel(trail.digests[-1])]) == (1, "bad signature")


def test_altered_log(trail: Trail, keys: Path) -> None:
    altered = trail.logs[1][0]
    write_log(altered.parent, altered.name, [{"eventTime": "2025-02-12T01:05:00Z", "eventName": "Nothing"}])
    code, answer = run(trail.root, keys)
    found = statuses(trail, answer)
    assert code == 1
    assert found.pop(trail.rel(altered)) == "hash mismatch"
    assert set(found.values()) == {"valid"}


def test_deleted_log(trail: Trail, keys: Path) -> None:
    trail.logs[2][1].unlink()
    code, answer = run(trail.root, keys)
    found = statuses(trail, answer)
    assert code == 1
    assert found.pop(trail.rel(trail.logs[2][1])) == "missing"
    assert set(found.values()) == {"valid"}


def test_moved_log(trail: Trail, keys: Path) -> None:
    old = trail.logs[1][1]
    new = old.parent.parent / "20" / old.name
    new.parent.mkdir()
    shutil.move(old, new)
    code, answer = run(trail.root, keys)
    found = statuses(trail, answer)
    assert code == 1
    assert found.pop(trail.rel(old)) == "moved"
    assert trail.rel(new) not in found  # where it went is accounted for, not an injected file
    assert set(found.values()) == {"valid"}
    detail = next(f["detail"] for f in answer["files"] if f["path"] == str(old))
    assert str(new) in detail


def test_digest_altered_after_signing(trail: Trail, keys: Path) -> None:
    altered = trail.digests[1]
    fields = json.loads(gzip.decompress(altered.read_bytes()))
    fields["logFiles"] = fields["logFiles"][:1]  # hide a log file
    altered.write_bytes(gzip.compress(json.dumps(fields).encode()))
    code, answer = run(trail.root, keys)
    found = statuses(trail, answer)
    assert code == 1
    assert found.pop(trail.rel(altered)) == "bad signature"
    assert found.pop(trail.rel(trail.digests[2])) == "hash mismatch"  # its previousDigestHashValue
    assert found.pop(trail.rel(trail.logs[1][1])) == "unexpected file"  # the hidden one
    assert set(found.values()) == {"valid"}
    detail = next(f["detail"] for f in answer["files"] if f["path"] == str(trail.digests[2]))
    assert "previousDigestHashValue" in detail


def test_wrong_key_file(tmp_path: Path, trail: Trail, other_key: rsa.RSAPrivateKey) -> None:
    code, answer = run(trail.root, write_keys(tmp_path / "other.json", other_key))
    found = statuses(trail, answer)
    assert code == 1
    assert {found.pop(trail.rel(d)) for d in trail.digests} == {"no public key"}
    assert set(found.values()) == {"valid"}  # the logs match what the digests say


def test_digest_signed_by_another_key(tmp_path: Path, key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey) -> None:
    """A forged chain signed with another key but naming the real key's fingerprint."""
    root = tmp_path / "logs"
    trail = make_trail(root, key, hours=2)
    forged = write_digest(root, other_key, START + dt.timedelta(hours=2), trail.logs[1], None)
    fields = json.loads(forged[1])
    assert fields["digestPublicKeyFingerprint"] == hashlib.md5(public_der(other_key)).hexdigest()
    fields["digestPublicKeyFingerprint"] = hashlib.md5(public_der(key)).hexdigest()
    fields["previousDigestSignature"] = trail.signatures[0]
    fields["previousDigestS3Object"] = str(trail.digests[0].relative_to(root))
    fields["previousDigestHashValue"] = sha256_hex(gzip.decompress(trail.digests[0].read_bytes()))
    trail.digests[1].write_bytes(gzip.compress(json.dumps(fields).encode()))
    # the real newest signature in the sidecar does not sign the forged content
    code, answer = run(root, write_keys(tmp_path / "k.json", key, other_key))
    found = statuses(trail, answer)
    assert code == 1
    assert found[trail.rel(trail.digests[1])] == "bad signature"
    assert found[trail.rel(trail.digests[0])] == "valid"


def test_trailing_data_after_the_gzip_stream(trail: Trail, keys: Path) -> None:
    log = trail.logs[0][1]
    log.write_bytes(log.read_bytes() + gzip.compress(b'{"Records": []}'))  # an appended second member
    code, answer = run(trail.root, keys)
    found = statuses(trail, answer)
    assert code == 1
    assert found.pop(trail.rel(log)) == "trailing data"
    assert set(found.values()) == {"valid"}


def test_digest_with_trailing_data(trail: Trail, keys: Path) -> None:
    digest = trail.digests[0]
    digest.write_bytes(digest.read_bytes() + b"\0" * 8)
    code, answer = run(trail.root, keys)
    assert code == 1
    assert statuses(trail, answer)[trail.rel(digest)] == "trailing data"


def test_moved_digest(trail: Trail, keys: Path) -> None:
    old = trail.digests[-1]
    new = old.parent.parent / "20" / old.name
    new.parent.mkdir()
    shutil.move(old, new)
    shutil.move(f"{old}.signature", f"{new}.signature")
    code, answer = run(trail.root, keys)
    found = statuses(trail, answer)
    assert code == 1
    assert found.pop(trail.rel(new)) == "moved"
    assert set(found.values()) == {"valid"}
    detail = next(f["detail"] for f in answer["files"] if f["path"] == str(new))
    assert f"digestS3Object is {trail.rel(old)}" in detail


def test_unexpected_file(trail: Trail, keys: Path) -> None:
    injected = write_hour_logs(trail.root, 2, count=1, tag="x")[0]
    code, answer = run(trail.root, keys)
    found = statuses(trail, answer)
    assert code == 1
    assert found.pop(trail.rel(injected)) == "unexpected file"
    assert set(found.values()) == {"valid"}


def test_logs_after_the_newest_digest_are_not_unexpected(trail: Trail, keys: Path) -> None:
    """The current hour's files are in no digest yet: they are not reported."""
    later = write_hour_logs(trail.root, 6, count=1)[0]
    code, answer = run(trail.root, keys)
    assert code == 0
    assert trail.rel(later) not in statuses(trail, answer)


def test_missing_digest_in_the_middle(trail: Trail, keys: Path) -> None:
    gone = trail.digests[1]
    gone.unlink()
    code, answer = run(trail.root, keys)
    found = statuses(trail, answer)
    assert code == 1
    assert found.pop(trail.rel(gone)) == "missing"
    # nothing states the signature of the digest before the missing one any more
    assert found.pop(trail.rel(trail.digests[0])) == "signature not available offline"
    for log in trail.logs[1]:  # the missing digest's logs are listed nowhere now
        assert found.pop(trail.rel(log)) == "unexpected file"
    assert set(found.values()) == {"valid"}
    assert answer["gaps"] == [
        {
            "account": ACCOUNT,
            "region": REGION,
            "trail": TRAIL,
            "start": "2025-02-12T01:00:00Z",
            "end": "2025-02-12T02:00:00Z",
            "detail": f"previous digest {trail.rel(gone)} is missing",
        }
    ]


def test_chain_restart_is_a_gap(tmp_path: Path, key: rsa.RSAPrivateKey, keys: Path) -> None:
    root = tmp_path / "logs"
    trail = make_trail(root, key, hours=2, sidecar=False)
    logs = write_hour_logs(root, 5)
    newest = write_digest(root, key, START + dt.timedelta(hours=6), logs, None)  # validation back on at 05:00
    Path(f"{newest[0]}.signature").write_text(newest[2])
    code, answer = run(root, keys)
    assert code == 1
    found = statuses(trail, answer)
    assert found[trail.rel(newest[0])] == "valid"
    assert found[trail.rel(trail.digests[1])] == "signature not available offline"
    assert [(g["start"], g["end"]) for g in answer["gaps"]] == [("2025-02-12T02:00:00Z", "2025-02-12T05:00:00Z")]
    assert "restarts" in answer["gaps"][0]["detail"]


def test_organisation_trail(tmp_path: Path, key: rsa.RSAPrivateKey, keys: Path) -> None:
    root = tmp_path / "logs"
    trail = make_trail(root, key, hours=3, org="o-abc123", prefix="cloudtrail/")
    assert "AWSLogs/o-abc123/123456789012/CloudTrail-Digest/" in str(trail.digests[0])
    code, answer = run(root, keys)
    assert code == 0
    assert statuses(trail, answer) == {trail.rel(p): "valid" for p in all_files(trail)}
    trail.logs[2][0].unlink()
    code, answer = run(root, keys)
    assert (code, statuses(trail, answer)[trail.rel(trail.logs[2][0])]) == (1, "missing")


def test_backfill_digest(trail: Trail, keys: Path, key: rsa.RSAPrivateKey) -> None:
    late = write_hour_logs(trail.root, 1, count=1, tag="late")
    backfill = write_digest(trail.root, key, START + dt.timedelta(hours=3), late, None, backfill=True)
    assert backfill[0].name.endswith("Z_backfill.json.gz")
    code, answer = run(trail.root, keys)
    found = statuses(trail, answer)
    assert found[trail.rel(backfill[0])] == "signature not available offline"
    assert found[trail.rel(late[0])] == "valid"  # listed by the backfill digest: not unexpected
    assert code == 0 and answer["gaps"] == []  # a backfill digest is not a link of the hourly chain
    Path(f"{backfill[0]}.signature").write_text(backfill[2])
    code, answer = run(trail.root, keys)
    found = statuses(trail, answer)
    assert code == 0
    assert set(found.values()) == {"valid"}
    assert trail.rel(backfill[0]) in found
    Path(f"{backfill[0]}.signature").write_text(trail.signatures[0])
    assert statuses(trail, run(trail.root, keys)[1])[trail.rel(backfill[0])] == "bad signature"


def test_since_until_limit_the_digests_checked(trail: Trail, keys: Path) -> None:
    trail.logs[0][0].unlink()  # outside the window: not reported
    write_hour_logs(trail.root, 3, count=1, tag="x")  # injected outside the window: not reported
    code, answer = run(trail.root, keys, "--since", "2025-02-12T01:30:00Z", "--until", "2025-02-12T02:30:00Z")
    assert code == 0
    expected = [trail.digests[1], trail.digests[2], *trail.logs[1], *trail.logs[2]]
    assert statuses(trail, answer) == {trail.rel(p): "valid" for p in expected}
    code, answer = run(trail.root, keys, "--until", "2025-02-12T00:30:00Z")
    assert code == 1
    assert statuses(trail, answer)[trail.rel(trail.logs[0][0])] == "missing"
    assert trail.rel(trail.digests[1]) not in statuses(trail, answer)


def test_bad_time_is_usage_error(trail: Trail, keys: Path) -> None:
    result = CliRunner().invoke(cli, ["verify", "--logs", str(trail.root), "--since", "yesterday"])
    assert result.exit_code != 0


def test_logs_without_any_digest_are_not_called_valid() -> None:
    samples = Path(__file__).resolve().parents[1] / "src" / "trailsql" / "samples" / "AWSLogs"
    result = CliRunner().invoke(cli, ["verify", "--logs", str(samples)])
    assert result.exit_code == 1
    assert "no digest file" in result.output and "nothing could be validated" in result.output
