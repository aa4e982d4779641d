"""Verify AWS Signature Version 4 on requests to ``trailsql serve``.

Clients sign with botocore (or another AWS SDK) and never learn they talk to a local server,
so the server must rebuild the canonical request byte for byte as the signer built it. This
module does that with the standard library only: the server should not depend on botocore's
private signing internals, and the tests check this code against botocore itself (an
independent implementation), which a copy of botocore's code could not show.

Two ways of carrying a signature are accepted: the ``Authorization`` header
(``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``) and a presigned query
string (``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``,
``X-Amz-SignedHeaders``, ``X-Amz-Signature``), which is what ``generate_presigned_url`` gives.

Errors are raised as :class:`SignatureError` with the code and message AWS's JSON services
answer; :data:`S3_CODES` gives the S3 facade S3's codes for the same faults.

>>> canonical_query("prefix=a%2Fb&list-type=2")
'list-type=2&prefix=a%2Fb'
>>> canonical_path("/a/./b/../c%20d", "athena")
'/a/c%2520d'
>>> canonical_path("/bucket/a/../c%20d", "s3")
'/bucket/a/../c%20d'
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"  # botocore's SIGV4_TIMESTAMP
MAX_SKEW = datetime.timedelta(minutes=15)  # what AWS allows between the client's clock and ours
MAX_EXPIRES = 604800  # a presigned URL lives a week at most (S3's limit)
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
TERMINATOR = "aws4_request"

MISSING_TOKEN = "MissingAuthenticationTokenException"
INCOMPLETE = "IncompleteSignatureException"
UNRECOGNIZED = "UnrecognizedClientException"
INVALID = "InvalidSignatureException"
CONTENT_SHA256_MISMATCH = "XAmzContentSHA256Mismatch"  # S3 only: its own code for a wrong body hash

MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

S3_CODES: dict[str, str] = {
    MISSING_TOKEN: "AccessDenied",
    INCOMPLETE: "AuthorizationHeaderMalformed",
    UNRECOGNIZED: "InvalidAccessKeyId",
    INVALID: "SignatureDoesNotMatch",
    CONTENT_SHA256_MISMATCH: CONTENT_SHA256_MISMATCH,
}
"""AWS JSON services' error codes -> S3's, so the S3 facade answers in S3's words."""


@dataclass(frozen=True)
class Verified:
    """Who signed a request that verified, and for what: the server routes on ``service``."""

    access_key_id: str
    region: str
    service: str  # "athena" or "s3" (from the credential scope)


class SignatureError(Exception):
    """A request whose signature does not verify.

    code: the AWS error code (``InvalidSignatureException``...); message: AWS's text.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class _Signed:
    """What a request claims about its signature, from the header or the presigned query."""

    access_key_id: str
    date: str  # yyyymmdd of the credential scope
    region: str
    service: str
    timestamp: str  # the X-Amz-Date, as signed
    when: datetime.datetime  # that timestamp, parsed (UTC)
    signed_headers: list[str]
    signature: str
    expires: int | None  # presigned only: X-Amz-Expires


def verify(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Mapping[str, str],
    now: datetime.datetime | None = None,
) -> Verified:
    """Check a request's SigV4 signature against ``secrets`` (access key id -> secret).

    ``path`` and ``query`` are raw, as sent (percent-encoded; the query without ``?``);
    ``headers`` is looked up case-insensitively. Raises :class:`SignatureError`.
    """
    params = _query_pairs(query)
    presigned = any(key == "X-Amz-Algorithm" or key == "X-Amz-Signature" for key, _ in params)
    authorization = _header(headers, "authorization")
    if authorization is not None and presigned:
        raise SignatureError(
            INCOMPLETE,
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "or the Authorization header should be specified",
        )
    if authorization is not None:
        signed = _from_header(authorization, headers)
    elif presigned:
        signed = _from_query(dict(params))
    else:
        raise SignatureError(MISSING_TOKEN, "Missing Authentication Token")

    secret = secrets.get(signed.access_key_id)
    if secret is None:
        raise SignatureError(UNRECOGNIZED, "The security token included in the request is invalid.")
    _check_time(signed, now)
    payload = _payload_hash(headers, body, signed.service, presigned)

    canonical = "\n".join(
        [
            method.upper(),
            canonical_path(path, signed.service),
            canonical_query(query, drop="X-Amz-Signature" if presigned else None),
            "".join(f"{name}:{_header_value(headers, name)}\n" for name in signed.signed_headers),
            ";".join(signed.signed_headers),
            payload,
        ]
    )
    scope = f"{signed.date}/{signed.region}/{signed.service}/{TERMINATOR}"
    string_to_sign = "\n".join(
        [ALGORITHM, signed.timestamp, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    key = signing_key(secret, signed.date, signed.region, signed.service)
    expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signed.signature.encode("utf-8")):
        raise SignatureError(INVALID, MISMATCH_MESSAGE)
    return Verified(signed.access_key_id, signed.region, signed.service)


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The key a signature is made with: HMAC chained over the scope's date, region, service.

    >>> signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam").hex()
    'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d'
    """
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, TERMINATOR):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def canonical_path(path: str, service: str) -> str:
    """The path as the signer put it in the canonical request.

    S3 signs the path as sent; every other service signs it with dot segments and empty
    segments removed and URI-encoded once more (botocore's ``_normalize_url_path``: the
    already-encoded path quoted again, so ``%20`` is signed as ``%2520``).
    """
    if service == "s3":
        return path
    return quote(_remove_dot_segments(path) or "/", safe="/~")


def canonical_query(query: str, drop: str | None = None) -> str:
    """The canonical query string: each name and value URI-encoded (unreserved characters
    only left as they are), the pairs sorted by name then value; ``drop`` names a parameter
    left out (``X-Amz-Signature`` of a presigned URL).

    What botocore sends is already encoded this way, so decoding and encoding again gives
    back exactly what it signed; other clients' spellings (``%2f``, a bare ``~`` encoded)
    come out as the spec says.

    >>> canonical_query("b=2&a=%7e&a=1&uploads")
    'a=1&a=~&b=2&uploads='
    """
    pairs = [(quote(key, safe="-_.~"), quote(value, safe="-_.~")) for key, value in _query_pairs(query) if key != drop]
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """The decoded (name, value) pairs of a raw query string, blank values kept."""
    pairs = []
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


def _remove_dot_segments(path: str) -> str:
    """RFC 3986's remove_dot_segments, plus dropping empty segments as AWS does (botocore's
    ``remove_dot_segments``).

    >>> _remove_dot_segments("//a/./b/../c/")
    '/a/c/'
    """
    if not path:
        return ""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and segments else ""
    return first + "/".join(segments) + last


def _from_header(authorization: str, headers: Mapping[str, str]) -> _Signed:
    """Parse ``Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``."""
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureError(
            INCOMPLETE, f"Unsupported Authorization Type: {algorithm!r} (only {ALGORITHM} is accepted)"
        )
    fields: dict[str, str] = {}
    for item in rest.split(","):
        item = item.strip()
        if not item:
            continue
        name, equals, value = item.partition("=")
        if not equals:
            raise SignatureError(
                INCOMPLETE,
                f"'{item}' not a valid key=value pair (missing equal-sign) in Authorization header: '{authorization}'.",
            )
        fields[name.strip()] = value.strip()
    missing = [name for name in ("Credential", "Signature", "SignedHeaders") if not fields.get(name)]
    if missing:
        raise SignatureError(
            INCOMPLETE,
            " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
            + f" Authorization={authorization}",
        )
    timestamp = _header(headers, "x-amz-date")
    source = "X-Amz-Date"
    if timestamp is None:
        date_header = _header(headers, "date")
        if date_header is None:
            raise SignatureError(
                INCOMPLETE, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
            )
        timestamp, source = _from_http_date(date_header), "Date"
    return _signed(fields["Credential"], timestamp, source, fields["SignedHeaders"], fields["Signature"], None)


def _from_query(params: Mapping[str, str]) -> _Signed:
    """Parse the ``X-Amz-*`` parameters of a presigned URL."""
    required = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders")
    missing = [name for name in (*required, "X-Amz-Signature") if not params.get(name)]
    if missing:
        raise SignatureError(INCOMPLETE, f"Query-string authentication requires the {', '.join(missing)} parameter(s).")
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise SignatureError(
            INCOMPLETE, f"X-Amz-Algorithm only supports {ALGORITHM}, not {params['X-Amz-Algorithm']!r}."
        )
    raw_expires = params["X-Amz-Expires"]
    if not raw_expires.isdigit() or not 0 < int(raw_expires) <= MAX_EXPIRES:
        raise SignatureError(
            INCOMPLETE, f"X-Amz-Expires must be a number of seconds from 1 to {MAX_EXPIRES}, not {raw_expires!r}."
        )
    return _signed(
        params["X-Amz-Credential"],
        params["X-Amz-Date"],
        "X-Amz-Date",
        params["X-Amz-SignedHeaders"],
        params["X-Amz-Signature"],
        int(raw_expires),
    )


def _signed(
    credential: str, timestamp: str, source: str, signed_headers: str, signature: str, expires: int | None
) -> _Signed:
    """Check the credential scope and the date of a signature, wherever they were carried."""
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise SignatureError(
            INCOMPLETE,
            f"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'",
        )
    access_key_id, date, region, service, terminator = parts
    if terminator != TERMINATOR:
        raise SignatureError(
            INCOMPLETE, f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'."
        )
    when = _parse_timestamp(timestamp)
    if when is None:
        raise SignatureError(
            INCOMPLETE, f"{source} must be in ISO-8601 basic format (yyyyMMdd'T'HHmmss'Z'), got '{timestamp}'."
        )
    if date != timestamp[:8]:
        raise SignatureError(
            INCOMPLETE,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{date}' != '{timestamp[:8]}', from '{source}'.",
        )
    names = signed_headers.split(";")
    if not all(names) or "host" not in [name.lower() for name in names]:
        raise SignatureError(
            INCOMPLETE, f"'Host' must be a 'SignedHeader' in the AWS Authorization: '{signed_headers}'."
        )
    return _Signed(access_key_id, date, region, service, timestamp, when, names, signature, expires)


def _parse_timestamp(timestamp: str) -> datetime.datetime | None:
    """An X-Amz-Date as an aware UTC datetime, or None if it is not one."""
    if len(timestamp) != 16:
        return None
    try:
        parsed = datetime.datetime.strptime(timestamp, TIMESTAMP_FORMAT)
    except ValueError:
        return None
    return parsed.replace(tzinfo=datetime.UTC)


def _from_http_date(value: str) -> str:
    """A ``Date`` header (RFC 7231) in X-Amz-Date's form: botocore signs with ``Date`` instead of
    ``X-Amz-Date`` when the request has one."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise SignatureError(INCOMPLETE, f"Date must be an HTTP date, got '{value}'.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.astimezone(datetime.UTC).strftime(TIMESTAMP_FORMAT)


def _check_time(signed: _Signed, now: datetime.datetime | None) -> None:
    """Refuse a signature made more than 15 minutes from our clock (a replayed or badly dated
    request), or a presigned URL past its X-Amz-Expires. Messages are AWS's."""
    current = now or datetime.datetime.now(datetime.UTC)
    current = current.replace(tzinfo=datetime.UTC) if current.tzinfo is None else current.astimezone(datetime.UTC)
    when, stamp = signed.when, signed.timestamp
    now_text = current.strftime(TIMESTAMP_FORMAT)
    if when > current + MAX_SKEW:
        limit = (current + MAX_SKEW).strftime(TIMESTAMP_FORMAT)
        raise SignatureError(
            INVALID, f"Signature not yet current: {stamp} is still later than {limit} ({now_text} + 15 min.)"
        )
    if signed.expires is not None:
        if when + datetime.timedelta(seconds=signed.expires) < current:
            limit = (current - datetime.timedelta(seconds=signed.expires)).strftime(TIMESTAMP_FORMAT)
            raise SignatureError(
                INVALID,
                f"Signature expired: {stamp} is now earlier than {limit} ({now_text} - {signed.expires} sec.)",
            )
    elif when < current - MAX_SKEW:
        limit = (current - MAX_SKEW).strftime(TIMESTAMP_FORMAT)
        raise SignatureError(INVALID, f"Signature expired: {stamp} is now earlier than {limit} ({now_text} - 15 min.)")


def _payload_hash(headers: Mapping[str, str], body: bytes, service: str, presigned: bool) -> str:
    """The payload line of the canonical request, as botocore computes it: the
    ``X-Amz-Content-SHA256`` header when sent (checked against the body unless it says the
    body is unsigned or streamed), else ``UNSIGNED-PAYLOAD`` for an S3 presigned URL, else the
    body's SHA-256.

    A ``STREAMING-...`` body is accepted with its chunk signatures unchecked: the S3 facade is
    read-only, so such a body is never used.
    """
    declared = _header(headers, "x-amz-content-sha256")
    if declared is None:
        if presigned and service == "s3":
            return UNSIGNED_PAYLOAD
        return hashlib.sha256(body).hexdigest()
    if declared != UNSIGNED_PAYLOAD and not declared.startswith("STREAMING-"):
        actual = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(declared.lower().encode("utf-8"), actual.encode()):
            if service == "s3":
                raise SignatureError(
                    CONTENT_SHA256_MISMATCH,
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                )
            raise SignatureError(INVALID, MISMATCH_MESSAGE)
    return declared


def _header_values(headers: Mapping[str, str], name: str) -> list[str]:
    """Every value of a header, looked up case-insensitively (``name`` is lowercase). A
    multi-valued mapping (Starlette's ``Headers``) gives each value of a repeated header."""
    getlist = getattr(headers, "getlist", None)
    if callable(getlist):
        return [str(value) for value in getlist(name)]
    return [value for key, value in headers.items() if key.lower() == name]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's first value, or None."""
    values = _header_values(headers, name)
    return values[0] if values else None


def _header_value(headers: Mapping[str, str], name: str) -> str:
    """A signed header's canonical value: each value trimmed with inner whitespace collapsed,
    a repeated header's values joined by commas (botocore's ``canonical_headers``).

    >>> _header_value({"X-Amz-Target": "  AmazonAthena.ListWorkGroups   x "}, "x-amz-target")
    'AmazonAthena.ListWorkGroups x'
    """
    return ",".join(" ".join(value.split()) for value in _header_values(headers, name.lower()))
