"""``trailsql verify``'s public keys: ``ListPublicKeys`` in each digest's region (botocore's
Stubber: moto's CloudTrail has no ``ListPublicKeys`` and no real peer serves it), kept in the
workspace for offline runs, validity windows; and the AWS CLI's published test vectors."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cryptography.hazmat.primitives.asymmetric import rsa

from cloudtrail_digests import BUCKET, REGION, START, Trail, make_trail, public_der, statuses, verify_json, write_digest
from trailsql.verify import run as verify_run
from trailsql.verify.digests import Digest, PublicKey, load_public_keys, signing_string, verify_signature
from trailsql.verify.keys import FixedKeys
from trailsql.verify.store import LocalStore
from trailsql.verify.validate import validate


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def trail(tmp_path: Path, key: rsa.RSAPrivateKey) -> Trail:
    return make_trail(tmp_path / "logs", key)  # digests ending 01:00 .. 04:00, the newest with its sidecar


def _hour(n: float) -> dt.datetime:
    return START + dt.timedelta(hours=n)


def stubbed(responses: list[dict[str, Any] | str], asked: list[str]) -> Callable[[str | None], Callable[[str], Any]]:
    """A replacement for ``cloudtrail_client``: clients whose ``ListPublicKeys`` answers
    ``responses`` in turn (a string: that error code), each call's region noted in ``asked``."""
    client = boto3.client("cloudtrail", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s")
    stub = Stubber(client)
    for response in responses:
        if isinstance(response, str):
            stub.add_client_error("list_public_keys", service_error_code=response, http_status_code=400)
        else:
            stub.add_response("list_public_keys", response["answer"], response["expect"])
    stub.activate()

    def maker(profile: str | None) -> Callable[[str], Any]:
        def make(region: str) -> Any:
            asked.append(region)
            return client

        return make

    return maker


def key_answer(key: rsa.RSAPrivateKey, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    der = public_der(key)
    return {
        "PublicKeyList": [
            # boto3 gives Value as the raw DER bytes
            {
                "Value": der,
                "ValidityStartTime": start,
                "ValidityEndTime": end,
                "Fingerprint": hashlib.md5(der).hexdigest(),
            }
        ]
    }


def verify(root: Path, workspace: Path, *args: str) -> tuple[int, dict[str, Any]]:
    return verify_json("--logs", str(root), "--workspace", str(workspace), *args)


def test_list_public_keys_fetched_kept_and_reused_offline(
    trail: Trail, tmp_path: Path, key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    # the AWS CLI's range: from the first digest's end to the last one's + 2 h
    expect = {"StartTime": _hour(1), "EndTime": _hour(6)}
    answer = key_answer(key, dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    monkeypatch.setattr(verify_run, "cloudtrail_client", stubbed([{"answer": answer, "expect": expect}], asked))
    workspace = tmp_path / "ws"
    code, result = verify(trail.root, workspace)
    assert code == 0
    assert set(statuses(trail, result).values()) == {"valid"}
    assert asked == [REGION]
    kept = json.loads((workspace / "verify" / "public-keys" / f"{REGION}.json").read_text())
    der = public_der(key)
    assert kept == {
        "PublicKeyList": [
            {
                "Value": base64.b64encode(der).decode(),
                "ValidityStartTime": "2025-01-01T00:00:00+00:00",
                "ValidityEndTime": "2025-03-01T00:00:00+00:00",
                "Fingerprint": hashlib.md5(der).hexdigest(),
            }
        ]
    }
    # the kept keys serve: offline, and online too (nothing missing: nothing asked)
    for args in (["--offline"], []):
        code, result = verify(trail.root, workspace, *args)
        assert code == 0 and set(statuses(trail, result).values()) == {"valid"}
    assert asked == [REGION]


def test_offline_without_kept_keys_says_which_are_missing(trail: Trail, tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    code, result = verify(trail.root, tmp_path / "ws", "--offline")
    assert code == 1
    found = statuses(trail, result)
    assert {found[trail.rel(d)] for d in trail.digests} == {"no public key"}
    fingerprint = hashlib.md5(public_der(key)).hexdigest()
    assert any(f"public keys missing in {REGION}: {fingerprint}" in n and "offline" in n for n in result["notes"])


def test_list_public_keys_failing_is_a_note(
    trail: Trail, tmp_path: Path, key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(verify_run, "cloudtrail_client", stubbed(["AccessDeniedException"], asked))
    code, result = verify(trail.root, tmp_path / "ws")
    assert code == 1 and asked == [REGION]
    assert {statuses(trail, result)[trail.rel(d)] for d in trail.digests} == {"no public key"}
    assert any("ListPublicKeys failed" in n and "AccessDeniedException" in n for n in result["notes"])


def keys_file(path: Path, key: rsa.RSAPrivateKey, start: str, end: str) -> Path:
    der = public_der(key)
    entry = {"Value": base64.b64encode(der).decode(), "ValidityStartTime": start, "ValidityEndTime": end}
    path.write_text(json.dumps({"PublicKeyList": [entry | {"Fingerprint": hashlib.md5(der).hexdigest()}]}))
    return path


@pytest.mark.parametrize(
    ("start", "end", "valid_ends"),
    [
        # valid from 02:00: the digests ending 01:00 .. 04:00 may be signed after their end, up to 2 h
        ("2025-02-12T02:00:00Z", "2025-03-01T00:00:00Z", {1, 2, 3, 4}),
        ("2025-02-12T05:00:00Z", "2025-03-01T00:00:00Z", {3, 4}),
        # valid until 02:30: a key that had been replaced signs nothing after
        ("2025-01-01T00:00:00Z", "2025-02-12T02:30:00Z", {1, 2}),
        ("2025-01-01T00:00:00Z", "2025-02-12T00:30:00Z", set()),
    ],
)
def test_key_validity_window(
    trail: Trail, tmp_path: Path, key: rsa.RSAPrivateKey, start: str, end: str, valid_ends: set[int]
) -> None:
    keys = keys_file(tmp_path / "keys.json", key, start, end)
    code, result = verify(trail.root, tmp_path / "ws", "--public-keys", str(keys))
    found = statuses(trail, result)
    for hour, digest in enumerate(trail.digests, start=1):
        assert found[trail.rel(digest)] == ("valid" if hour in valid_ends else "no public key"), hour
    detail = {f["path"]: f["detail"] for f in result["files"]}
    for hour, digest in enumerate(trail.digests, start=1):
        if hour not in valid_ends:
            at = f"2025-02-12T{hour:02d}:00:00Z"
            assert detail[str(digest)].startswith(f"key {hashlib.md5(public_der(key)).hexdigest()} not valid at {at}")
    assert code == (0 if len(valid_ends) == 4 else 1)


# --- the AWS CLI's test vectors ------------------------------------------------------------------
# Copied from aws/aws-cli (Apache-2.0) at commit 07c4fe366b49c4dde816d674f4941134fc432673:
# tests/unit/customizations/cloudtrail/test_validation.py (VALID_TEST_KEY;
# test_properly_signs_when_no_previous_signature; test_does_not_expose_underlying_validation_error)
# and tests/functional/cloudtrail/test_validation.py (the hashValue of each '_raw_value').

AWS_CLI_VALID_TEST_KEY = (
    "MIIBCgKCAQEAn11L2YZ9h7onug2ILi1MWyHiMRsTQjfWE+pHVRLk1QjfW"
    "hirG+lpOa8NrwQ/r7Ah5bNL6HepznOU9XTDSfmmnP97mqyc7z/upfZdS/"
    "AHhYcGaz7n6Wc/RRBU6VmiPCrAUojuSk6/GjvA8iOPFsYDuBtviXarvuL"
    "PlrT9kAd4Lb+rFfR5peEgBEkhlzc5HuWO7S0y+KunqxX6jQBnXGMtxmPB"
    "PP0FylgWGNdFtks/4YSKcgqwH0YDcawP9GGGDAeCIqPWIXDLG1jOjRRzW"
    "fCmD0iJUkz8vTsn4hq/5ZxRFE7UBAUiVcGbdnDdvVfhF9C3dQiDq3k7ad"
    "QIziLT0cShgQIDAQAB"
)
AWS_CLI_LOG_HASHES = {
    "{}": "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    '{"foo":"bar"}': "7a38bf81f383f69433ad6e900d35b3e2385593f76a7b7ab5d4355b8ba41ee24b",
    '{"baz":"qux"}': "5b1070294963f40cb5b3c7a05d3fbaf7ffe4e5d226632026e39cfeb32d349c0c",
}


def test_aws_cli_signing_string_without_previous_signature() -> None:
    fields = {"digestEndTime": "a", "digestS3Bucket": "b", "digestS3Object": "c", "previousDigestSignature": None}
    assert signing_string(Digest("c", b"abc", fields)) == (
        b"a\nb/c\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nnull"
    )


def test_aws_cli_test_key_loads_and_rejects_a_bad_signature(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"PublicKeyList": [{"Value": AWS_CLI_VALID_TEST_KEY}]}))
    keys = load_public_keys(path)
    der = base64.b64decode(AWS_CLI_VALID_TEST_KEY)
    assert list(keys) == [hashlib.md5(der).hexdigest()]
    [public] = keys.values()
    assert public.load().key_size == 2048  # a PKCS#1 RSAPublicKey DER, as CloudTrail publishes them
    assert verify_signature(public, b"invalid", "aeff") is False


def test_aws_cli_log_hashes(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    """Log files of the AWS CLI's contents, listed with the CLI's hash values: valid."""
    root = tmp_path / "logs"
    folder = root / "AWSLogs" / "123456789012" / "CloudTrail" / REGION / "2025" / "02" / "12"
    folder.mkdir(parents=True)
    listed = []
    for n, (raw, hash_value) in enumerate(AWS_CLI_LOG_HASHES.items()):
        name = f"123456789012_CloudTrail_{REGION}_20250212T00{n}5Z_{n}.json.gz"
        (folder / name).write_bytes(gzip.compress(raw.encode()))
        s3_object = f"AWSLogs/123456789012/CloudTrail/{REGION}/2025/02/12/{name}"
        when = f"2025-02-12T00:{n}5:00Z"
        listed.append(
            {"s3Bucket": BUCKET, "s3Object": s3_object, "hashValue": hash_value, "hashAlgorithm": "SHA-256"}
            | {"newestEventTime": when, "oldestEventTime": when}
        )
    path, _, signature = write_digest(root, key, _hour(1), [], None, listed=listed)
    Path(f"{path}.signature").write_text(signature)
    der = public_der(key)
    fingerprint = hashlib.md5(der).hexdigest()
    report = validate(LocalStore(root), FixedKeys({fingerprint: PublicKey(der, fingerprint, None, None)}))
    assert {r.path.rsplit("/", 1)[-1]: r.status for r in report.results} == {
        path.name: "valid",
        **{f"123456789012_CloudTrail_{REGION}_20250212T00{n}5Z_{n}.json.gz": "valid" for n in range(3)},
    }
    assert report.ok
