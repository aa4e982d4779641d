"""SigV4 verification and the server's keys (trailsql.serve.sigv4, trailsql.serve.credentials).

Every request here is signed by botocore itself (``SigV4Auth``, ``S3SigV4Auth`` and their
query-string variants, or a real boto3 client whose request is caught before it is sent),
so the verifier is checked against an independent implementation, not against itself.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import boto3
import botocore.session
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials

from trailsql.errors import UsageError
from trailsql.serve import credentials
from trailsql.serve.sigv4 import (
    MISMATCH_MESSAGE,
    S3_CODES,
    SignatureError,
    Verified,
    canonical_path,
    canonical_query,
    verify,
)

CREDS = Credentials("TSQLTESTKEY234567ABC", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SECRETS = {CREDS.access_key: CREDS.secret_key}
AT = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
ENDPOINT = "http://127.0.0.1:8123"
ATHENA_BODY = b'{"QueryString": "SELECT 1", "WorkGroup": "primary"}'


@dataclass(frozen=True)
class Wire:
    """A request as the server receives it: raw path and query, the headers sent, the body."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def verify(self, secrets: dict[str, str] = SECRETS, now: dt.datetime | None = AT) -> Verified:
        return verify(self.method, self.path, self.query, self.headers, self.body, secrets, now=now)

    def with_header(self, name: str, value: str) -> Wire:
        headers = {k: v for k, v in self.headers.items() if k.lower() != name.lower()}
        return replace(self, headers={**headers, name: value})


def wire(request: Any) -> Wire:
    """What goes over the wire for a signed botocore request; the Host header is added the
    way urllib3 adds it (the URL's netloc)."""
    parts = urlsplit(request.url)
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    headers.setdefault("Host", parts.netloc)
    body = request.body or b""
    return Wire(request.method, parts.path, parts.query, headers, body if isinstance(body, bytes) else body.encode())


def sign(
    method: str,
    url: str,
    *,
    service: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    creds: Credentials = CREDS,
    at: dt.datetime = AT,
    region: str = "us-east-1",
    presign_expires: int | None = None,
) -> Wire:
    """Sign a request with botocore's own signer at the frozen time ``at``."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    signer: SigV4Auth
    if presign_expires is not None:
        query_signer = S3SigV4QueryAuth if service == "s3" else SigV4QueryAuth
        signer = query_signer(creds, service, region, expires=presign_expires)
    else:
        signer = (S3SigV4Auth if service == "s3" else SigV4Auth)(creds, service, region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=at.replace(tzinfo=None)):
        signer.add_auth(request)
    return wire(request)


def athena_post(**options: Any) -> Wire:
    headers = {
        "X-Amz-Target": "AmazonAthena.StartQueryExecution",
        "Content-Type": "application/x-amz-json-1.1",
        **options.pop("headers", {}),
    }
    url = options.pop("url", ENDPOINT + "/")
    return sign("POST", url, service="athena", headers=headers, body=options.pop("body", ATHENA_BODY), **options)


def s3_get(key: str = "a%20b%2Bc/%C3%A9~x.csv", query: str = "", **options: Any) -> Wire:
    url = f"{ENDPOINT}/trailsql-results/{key}" + (f"?{query}" if query else "")
    return sign(options.pop("method", "GET"), url, service="s3", **options)


def code_of(request: Wire, **options: Any) -> str:
    with pytest.raises(SignatureError) as caught:
        request.verify(**options)
    return caught.value.code


# --- requests that verify ------------------------------------------------------------------


def test_athena_json_post() -> None:
    request = athena_post()
    assert "x-amz-target" in request.headers["Authorization"]
    assert request.verify() == Verified(CREDS.access_key, "us-east-1", "athena")


def test_athena_with_session_token_and_another_region() -> None:
    creds = Credentials(CREDS.access_key, CREDS.secret_key, token="FwoGZXIvYXdzEXAMPLETOKEN//+=")
    request = athena_post(creds=creds, region="eu-west-3")
    assert "x-amz-security-token" in request.headers["Authorization"]
    assert request.verify() == Verified(CREDS.access_key, "eu-west-3", "athena")


@pytest.mark.parametrize("url", ["http://localhost:4566/", "http://localhost/", "http://[::1]:8123/"])
def test_athena_host_as_sent(url: str) -> None:
    request = athena_post(url=url)
    assert request.headers["Host"] == urlsplit(url).netloc
    assert request.verify().service == "athena"
    assert code_of(request.with_header("Host", "localhost:9999")) == "InvalidSignatureException"


def test_headers_looked_up_in_any_case() -> None:
    request = athena_post()
    lower = replace(request, headers={k.lower(): v for k, v in request.headers.items()})
    upper = replace(request, headers={k.upper(): v for k, v in request.headers.items()})
    assert lower.verify() == upper.verify() == request.verify()


def test_starlette_headers() -> None:
    """The server passes Starlette's ``request.headers``: case-insensitive, multi-valued."""
    datastructures = pytest.importorskip("starlette.datastructures")
    request = athena_post()
    raw = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    headers = datastructures.Headers(raw=raw)
    assert (
        verify(request.method, request.path, request.query, headers, request.body, SECRETS, now=AT).service == "athena"
    )


def test_repeated_and_spaced_header_values_as_botocore_signs_them() -> None:
    request = athena_post(headers={"X-Custom": "  one   two  "})
    assert request.verify().service == "athena"
    # the same value spaced otherwise is the same canonical header
    assert request.with_header("X-Custom", "one two").verify().service == "athena"


def test_non_s3_path_normalised_and_encoded_again() -> None:
    request = sign("GET", ENDPOINT + "/a/./b/../c%20d/", service="athena")
    assert request.verify().service == "athena"


def test_s3_get_key_needing_encoding() -> None:
    request = s3_get()
    assert request.path == "/trailsql-results/a%20b%2Bc/%C3%A9~x.csv"
    assert request.verify() == Verified(CREDS.access_key, "us-east-1", "s3")


def test_s3_path_signed_as_sent() -> None:
    """S3 signs the path without normalising it: a dot segment is part of a key."""
    request = s3_get(key="a/../b//c")
    assert request.verify().service == "s3"
    assert code_of(replace(request, path="/trailsql-results/b/c")) == "InvalidSignatureException"


def test_s3_list_objects_v2_query() -> None:
    request = s3_get(key="", query="list-type=2&prefix=a%2Fb")
    assert request.verify().service == "s3"
    reordered = replace(request, query="prefix=a%2Fb&list-type=2")
    assert reordered.verify().service == "s3"
    assert code_of(replace(request, query="list-type=2&prefix=a%2Fc")) == "InvalidSignatureException"


def test_s3_head() -> None:
    assert s3_get(method="HEAD").verify().service == "s3"


def test_s3_presigned_get() -> None:
    request = s3_get(presign_expires=3600)
    assert "Authorization" not in request.headers
    assert "X-Amz-Signature=" in request.query
    assert request.verify().service == "s3"
    assert request.verify(now=AT + dt.timedelta(minutes=59)).service == "s3"


def test_presigned_non_s3() -> None:
    request = sign("GET", ENDPOINT + "/?Action=Ping", service="athena", presign_expires=600)
    assert request.verify().service == "athena"


def test_date_header_instead_of_x_amz_date() -> None:
    """botocore signs with ``Date`` (and sends no X-Amz-Date) when the request has one."""
    request = athena_post(headers={"Date": "Thu, 01 Jan 2026 00:00:00 GMT"})
    assert "X-Amz-Date" not in request.headers
    assert request.verify().service == "athena"


# --- real clients, their requests caught before they are sent ---------------------------------


def client(service: str, caught: list[Any], **config: Any) -> Any:
    """A boto3 client whose requests are put in ``caught`` and answered by an empty 200."""
    made = boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id=CREDS.access_key,
        aws_secret_access_key=CREDS.secret_key,
        config=Config(retries={"max_attempts": 1}, **config),
    )

    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield b"{}" if service == "athena" else b""

        def read(self, *_: Any, **__: Any) -> bytes:
            return b"{}" if service == "athena" else b""

    def answer(request: Any, **_: Any) -> AWSResponse:
        caught.append(request)
        return AWSResponse(request.url, 200, {}, Raw())

    made.meta.events.register("before-send", answer)
    return made


def test_boto3_athena_client() -> None:
    caught: list[Any] = []
    athena = client("athena", caught)
    athena.start_query_execution(QueryString="SELECT 'é'", WorkGroup="primary")
    athena.list_work_groups()
    assert [verify_now(request).service for request in caught] == ["athena", "athena"]


def test_boto3_s3_client() -> None:
    caught: list[Any] = []
    s3 = client("s3", caught, s3={"addressing_style": "path"}, signature_version="s3v4")
    key = "a b+c/é~x (1).csv"
    s3.get_object(Bucket="trailsql-results", Key=key)
    s3.head_object(Bucket="trailsql-results", Key=key)
    s3.list_objects_v2(Bucket="trailsql-results", Prefix="a/b", Delimiter="/")
    s3.get_object(Bucket="trailsql-results", Key=key, Range="bytes=0-9")
    assert [verify_now(request).service for request in caught] == ["s3"] * 4
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "trailsql-results", "Key": key})
    parts = urlsplit(url)
    assert "X-Amz-Signature" in parts.query
    headers = {"Host": parts.netloc}
    assert verify("GET", parts.path, parts.query, headers, b"", SECRETS).service == "s3"


def verify_now(request: Any) -> Verified:
    return wire(request).verify(now=None)


# --- the canonical forms, against botocore's -------------------------------------------------


@pytest.mark.parametrize("path", ["/", "", "/a/./b/../c", "//a//b/", "/a%20b/%2B~x", "/%C3%A9/x.csv", "/a/b/..", "/.."])
def test_canonical_path_as_botocore(path: str) -> None:
    signer = SigV4Auth(CREDS, "athena", "us-east-1")
    assert canonical_path(path, "athena") == signer._normalize_url_path(path)
    assert canonical_path(path, "s3") == S3SigV4Auth(CREDS, "s3", "us-east-1")._normalize_url_path(path)


@pytest.mark.parametrize(
    "params",
    [
        {"list-type": "2", "prefix": "a/b", "delimiter": "/"},
        {"key": "a b+c=d&e", "z": "", "A": "é~*"},
        {"uploads": "", "max-keys": "1000"},
    ],
)
def test_canonical_query_as_botocore(params: dict[str, str]) -> None:
    """The query as botocore sends it (encoded by percent_encode_sequence) canonicalises as
    botocore signs it both from a URL and from params."""
    from botocore.utils import percent_encode_sequence

    query = percent_encode_sequence(params)
    signer = SigV4Auth(CREDS, "s3", "us-east-1")
    from_url = signer._canonical_query_string_url(urlsplit(f"{ENDPOINT}/?{query}"))
    assert canonical_query(query) == from_url == signer._canonical_query_string_params(params)


# --- failures, each with its exact code ---------------------------------------------------


def test_no_authentication() -> None:
    request = replace(athena_post(), headers={"Host": "127.0.0.1:8123", "X-Amz-Target": "AmazonAthena.ListWorkGroups"})
    with pytest.raises(SignatureError) as caught:
        request.verify()
    assert (caught.value.code, caught.value.message) == (
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
    )
    assert S3_CODES[caught.value.code] == "AccessDenied"


@pytest.mark.parametrize(
    "authorization",
    [
        "garbage",
        "Basic dXNlcjpwYXNz",
        "AWS4-HMAC-SHA256 garbage",
        "AWS4-HMAC-SHA256 Credential=TSQLTESTKEY234567ABC/20260101/us-east-1/athena/aws4_request",
        "AWS4-HMAC-SHA256 Credential=TSQLTESTKEY234567ABC/20260101/us-east-1/athena, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=TSQLTESTKEY234567ABC/20260101/us-east-1/athena/aws5_request, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=TSQLTESTKEY234567ABC/20251231/us-east-1/athena/aws4_request, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=TSQLTESTKEY234567ABC/20260101/us-east-1/athena/aws4_request, SignedHeaders=x-amz-date, Signature=00",
    ],
)
def test_malformed_authorization(authorization: str) -> None:
    request = athena_post().with_header("Authorization", authorization)
    assert code_of(request) == "IncompleteSignatureException"
    assert S3_CODES["IncompleteSignatureException"] == "AuthorizationHeaderMalformed"


@pytest.mark.parametrize("x_amz_date", [None, "yesterday", "20260101T120000", "20261301T120000Z"])
def test_missing_or_bad_x_amz_date(x_amz_date: str | None) -> None:
    request = athena_post()
    headers = {k: v for k, v in request.headers.items() if k != "X-Amz-Date"}
    if x_amz_date is not None:
        headers["X-Amz-Date"] = x_amz_date
    with pytest.raises(SignatureError) as caught:
        replace(request, headers=headers).verify()
    assert caught.value.code == "IncompleteSignatureException"
    assert "Date" in caught.value.message


def test_unknown_access_key() -> None:
    request = athena_post(creds=Credentials("TSQLNOSUCHKEY0000000", "x"))
    with pytest.raises(SignatureError) as caught:
        request.verify()
    assert caught.value.code == "UnrecognizedClientException"
    assert caught.value.message == "The security token included in the request is invalid."
    assert S3_CODES[caught.value.code] == "InvalidAccessKeyId"
    assert code_of(s3_get(creds=Credentials("TSQLNOSUCHKEY0000000", "x"))) == "UnrecognizedClientException"


def test_wrong_secret() -> None:
    with pytest.raises(SignatureError) as caught:
        athena_post().verify(secrets={CREDS.access_key: "not the secret"})
    assert (caught.value.code, caught.value.message) == ("InvalidSignatureException", MISMATCH_MESSAGE)
    assert S3_CODES[caught.value.code] == "SignatureDoesNotMatch"
    assert code_of(s3_get(), secrets={CREDS.access_key: "not the secret"}) == "InvalidSignatureException"


def test_body_altered_after_signing() -> None:
    request = athena_post()
    assert code_of(replace(request, body=ATHENA_BODY.replace(b"SELECT 1", b"SELECT 2"))) == "InvalidSignatureException"


@pytest.mark.parametrize(
    ("name", "value"),
    [("X-Amz-Target", "AmazonAthena.StopQueryExecution"), ("Content-Type", "application/json"), ("Host", "evil:80")],
)
def test_signed_header_altered(name: str, value: str) -> None:
    assert code_of(athena_post().with_header(name, value)) == "InvalidSignatureException"


def test_unsigned_header_may_change() -> None:
    """Only the headers in SignedHeaders count (botocore leaves User-Agent out)."""
    request = athena_post(headers={"User-Agent": "Boto3/1.44"})
    assert "user-agent" not in request.headers["Authorization"]
    assert request.with_header("User-Agent", "something else").verify().service == "athena"


def test_method_altered() -> None:
    assert code_of(replace(s3_get(), method="DELETE")) == "InvalidSignatureException"


@pytest.mark.parametrize("minutes", [16, -16])
def test_clock_skew_refused(minutes: int) -> None:
    request = athena_post(at=AT - dt.timedelta(minutes=minutes))
    with pytest.raises(SignatureError) as caught:
        request.verify()
    assert caught.value.code == "InvalidSignatureException"
    if minutes > 0:
        assert caught.value.message == (
            "Signature expired: 20260101T114400Z is now earlier than 20260101T114500Z (20260101T120000Z - 15 min.)"
        )
    else:
        assert caught.value.message == (
            "Signature not yet current: 20260101T121600Z is still later than 20260101T121500Z (20260101T120000Z + 15 min.)"
        )
    assert code_of(s3_get(at=AT - dt.timedelta(minutes=minutes))) == "InvalidSignatureException"


@pytest.mark.parametrize("minutes", [14, -14])
def test_clock_skew_within_15_minutes_accepted(minutes: int) -> None:
    assert athena_post(at=AT - dt.timedelta(minutes=minutes)).verify().service == "athena"
    naive_now = AT.replace(tzinfo=None)  # a naive `now` is taken as UTC
    assert athena_post(at=AT - dt.timedelta(minutes=minutes)).verify(now=naive_now).service == "athena"
    paris = AT.astimezone(dt.timezone(dt.timedelta(hours=1)))  # any time zone: the same instant
    assert athena_post(at=AT - dt.timedelta(minutes=minutes)).verify(now=paris).service == "athena"


def test_skew_message_in_utc_whatever_the_zone_of_now() -> None:
    paris = AT.astimezone(dt.timezone(dt.timedelta(hours=1)))
    with pytest.raises(SignatureError, match=r"\(20260101T120000Z - 15 min\.\)"):
        athena_post(at=AT - dt.timedelta(minutes=20)).verify(now=paris)


def test_presigned_expired() -> None:
    request = s3_get(presign_expires=600)
    with pytest.raises(SignatureError) as caught:
        request.verify(now=AT + dt.timedelta(seconds=601))
    assert caught.value.code == "InvalidSignatureException"
    assert caught.value.message.startswith("Signature expired: 20260101T120000Z is now earlier than")
    assert request.verify(now=AT + dt.timedelta(seconds=600)).service == "s3"


def test_presigned_not_yet_current() -> None:
    assert code_of(s3_get(presign_expires=600, at=AT + dt.timedelta(minutes=16))) == "InvalidSignatureException"


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("X-Amz-Signature", "0" * 64, "InvalidSignatureException"),
        ("X-Amz-Expires", "604801", "IncompleteSignatureException"),
        ("X-Amz-Expires", "soon", "IncompleteSignatureException"),
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA512", "IncompleteSignatureException"),
        ("X-Amz-SignedHeaders", "", "IncompleteSignatureException"),
    ],
)
def test_presigned_tampered(name: str, value: str, code: str) -> None:
    request = s3_get(presign_expires=600)
    pairs = [pair.partition("=") for pair in request.query.split("&")]
    query = "&".join(f"{k}={value if k == name else v}" for k, _, v in pairs)
    assert code_of(replace(request, query=query)) == code


def test_presigned_and_authorization_header_both() -> None:
    request = s3_get(presign_expires=600).with_header("Authorization", athena_post().headers["Authorization"])
    assert code_of(request) == "IncompleteSignatureException"


def test_x_amz_content_sha256_mismatch() -> None:
    """The body's hash is signed in X-Amz-Content-SHA256; a body not matching it is S3's
    XAmzContentSHA256Mismatch (the signature itself still matches)."""
    request = sign("PUT", ENDPOINT + "/trailsql-results/k.csv", service="s3", body=b"a,b\n1,2\n")
    assert request.verify().service == "s3"
    with pytest.raises(SignatureError) as caught:
        replace(request, body=b"a,b\n1,3\n").verify()
    assert caught.value.code == "XAmzContentSHA256Mismatch"
    assert S3_CODES[caught.value.code] == "XAmzContentSHA256Mismatch"
    # for Athena the same fault is a signature mismatch
    athena = athena_post(headers={"X-Amz-Content-SHA256": "0" * 64})
    assert code_of(athena) == "InvalidSignatureException"


def test_unsigned_payload_accepted() -> None:
    """A client that does not sign the body says so in X-Amz-Content-SHA256; the body is not checked."""
    request = sign(
        "GET",
        ENDPOINT + "/trailsql-results/k.csv",
        service="athena",
        headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
    )
    assert request.verify().service == "athena"
    assert replace(request, body=b"anything").verify().service == "athena"


def test_signature_error_carries_code_and_message() -> None:
    error = SignatureError("InvalidSignatureException", "text")
    assert (error.code, error.message, str(error)) == ("InvalidSignatureException", "text", "text")
    assert set(S3_CODES) >= {
        "MissingAuthenticationTokenException",
        "IncompleteSignatureException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
    }


# --- the server's keys ----------------------------------------------------------------------


def write_credentials(folder: Path, key: str = "TSQLFILEKEY", secret: str = "file-secret", mode: int = 0o600) -> Path:
    path = folder / credentials.CREDENTIALS_FILE
    path.write_text(credentials.profile_text(key, secret))
    path.chmod(mode)
    return path


CONFIG = {"access_key_id": "TSQLCONFIGKEY", "secret_env": "MY_SERVE_SECRET"}
ENV = {credentials.ACCESS_KEY_ENV: "TSQLENVKEY", credentials.SECRET_ENV: "env-secret"}


def test_keys_from_config_first(tmp_path: Path) -> None:
    write_credentials(tmp_path)
    keys = credentials.load_keys(tmp_path, CONFIG, {"MY_SERVE_SECRET": "config-secret", **ENV})
    assert keys == credentials.ServeKeys({"TSQLCONFIGKEY": "config-secret"}, "[serve] in trailsql.toml", False)


def test_config_secret_env_not_set(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="MY_SERVE_SECRET"):
        credentials.load_keys(tmp_path, CONFIG, ENV)


@pytest.mark.parametrize("config", [{"access_key_id": "K"}, {"secret_env": "S"}])
def test_config_half_set(tmp_path: Path, config: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        credentials.load_keys(tmp_path, config, {"S": "x"})


def test_config_secret_in_toml_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="secret_env"):
        credentials.load_keys(tmp_path, {"access_key_id": "K", "secret_access_key": "s"}, {})


def test_keys_from_environment_second(tmp_path: Path) -> None:
    write_credentials(tmp_path)
    keys = credentials.load_keys(tmp_path, {}, ENV)
    assert keys == credentials.ServeKeys({"TSQLENVKEY": "env-secret"}, "$TRAILSQL_SERVE_ACCESS_KEY_ID", False)


@pytest.mark.parametrize("present", [credentials.ACCESS_KEY_ENV, credentials.SECRET_ENV])
def test_environment_half_set(tmp_path: Path, present: str) -> None:
    with pytest.raises(UsageError, match="TRAILSQL_SERVE_"):
        credentials.load_keys(tmp_path, {}, {present: ENV[present]})


def test_keys_from_file_third(tmp_path: Path) -> None:
    path = write_credentials(tmp_path)
    keys = credentials.load_keys(tmp_path, {}, {})
    assert keys == credentials.ServeKeys({"TSQLFILEKEY": "file-secret"}, str(path), False)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_file_readable_by_others_refused(tmp_path: Path, mode: int) -> None:
    write_credentials(tmp_path, mode=mode)
    with pytest.raises(UsageError, match="chmod 600"):
        credentials.load_keys(tmp_path, {}, {})


def test_file_without_the_profile_refused(tmp_path: Path) -> None:
    path = tmp_path / credentials.CREDENTIALS_FILE
    path.write_text("[default]\naws_access_key_id = K\naws_secret_access_key = S\n")
    path.chmod(0o600)
    with pytest.raises(UsageError, match=r"\[trailsql\]"):
        credentials.load_keys(tmp_path, {}, {})


def test_generated_file(tmp_path: Path) -> None:
    first = credentials.load_keys(tmp_path, {}, {})
    path = tmp_path / credentials.CREDENTIALS_FILE
    assert first.generated and first.source == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    [(key, secret)] = first.secrets.items()
    assert key.startswith("TSQL") and len(key) == 20 and key.isupper() and key.isalnum()
    assert len(secret) == 40
    second = credentials.load_keys(tmp_path, {}, {})
    assert second == replace(first, generated=False)
    assert sorted(os.listdir(tmp_path)) == [credentials.CREDENTIALS_FILE]  # no temporary file left


def test_generated_pairs_differ() -> None:
    assert credentials.load_keys(None, {}, {}).secrets != credentials.load_keys(None, {}, {}).secrets


def test_generated_in_memory_without_workspace() -> None:
    keys = credentials.load_keys(None, {}, {})
    assert keys.generated and len(keys.secrets) == 1


def test_race_reads_the_file_that_appeared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two servers starting at once: the one that loses the race reads the winner's pair."""
    real_link = os.link

    def link_after_the_other(source: Any, target: Any) -> None:
        write_credentials(tmp_path, key="TSQLWINNER", secret="winner-secret")
        real_link(source, target)

    monkeypatch.setattr(credentials.os, "link", link_after_the_other)
    keys = credentials.load_keys(tmp_path, {}, {})
    assert keys.secrets == {"TSQLWINNER": "winner-secret"} and not keys.generated
    assert sorted(os.listdir(tmp_path)) == [credentials.CREDENTIALS_FILE]


def test_botocore_uses_the_generated_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = credentials.load_keys(tmp_path, {}, {})
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / credentials.CREDENTIALS_FILE))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    found = botocore.session.Session(profile=credentials.PROFILE).get_credentials()
    assert found is not None
    assert {found.access_key: found.secret_key} == keys.secrets
    # and what is signed with them verifies against the server's keys
    request = athena_post(creds=Credentials(found.access_key, found.secret_key))
    assert request.verify(secrets=keys.secrets).access_key_id == found.access_key
