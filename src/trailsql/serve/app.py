"""The HTTP application: one ASGI app (Starlette), two protocols on one port.

Starlette because it is small, typed and well kept, serves the API and, later, the
console's static files from one app, and runs under uvicorn, whose graceful shutdown on
SIGTERM the server relies on. Every request is checked for a SigV4 signature first; then
``POST /`` with ``X-Amz-Target: AmazonAthena.*`` goes to :class:`~trailsql.serve.athena.Athena`,
and ``GET``/``HEAD`` of ``/<bucket>/<key>`` to the S3 facade. The web console's paths
(``/``, ``/static/``, ``/console/api/``, its pages) come first, signed in by its own token
(:mod:`trailsql.serve.console`): a browser does not sign requests.
"""

from __future__ import annotations

import json
import traceback
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trailsql.serve import s3, sigv4
from trailsql.serve.athena import Athena
from trailsql.serve.console import PAGES, Console
from trailsql.serve.protocol import CONTENT_TYPE, TARGET_PREFIX, ApiError

#: HTTP status of each authentication failure on a JSON service (S3 answers 403 to all).
_AUTH_STATUS = {sigv4.MISSING_TOKEN: 403, sigv4.UNRECOGNIZED: 400, sigv4.INVALID: 400, sigv4.INCOMPLETE: 400}


def _json(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": str(uuid.uuid4())},
    )


def _xml(error: s3.S3Error, resource: str) -> Response:
    return Response(error.xml(resource), status_code=error.status, media_type="application/xml")


def create_app(athena: Athena, secrets: Mapping[str, str], console: Console | None = None) -> Starlette:
    """The server's app over ``athena``, accepting requests signed by one of ``secrets``, and
    the web console's pages and API (signed in with its token) where ``console`` is given."""

    async def handle(request: Request) -> Response:
        if console is not None:
            path = request.url.path
            if path.startswith("/console/api/"):
                return await console.api(request)
            if request.method == "GET" and path.startswith("/static/"):
                return await console.static(request)
            if request.method == "GET" and PAGES.fullmatch(path) and "authorization" not in request.headers:
                return await console.page(request)
        body = await request.body()
        target = request.headers.get("x-amz-target")
        is_athena = request.method == "POST" and target is not None
        raw_path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        try:
            sigv4.verify(
                request.method,
                raw_path,
                request.url.query,
                request.headers,
                body,
                secrets,
            )
        except sigv4.SignatureError as error:
            if is_athena:
                return _json({"__type": error.code, "Message": error.message}, _AUTH_STATUS.get(error.code, 400))
            code = sigv4.S3_CODES.get(error.code, "AccessDenied")
            return _xml(s3.S3Error(403, code, error.message), request.url.path)
        if is_athena:
            return await _athena(athena, target or "", body)
        return await run_in_threadpool(
            _s3, athena, request.method, raw_path, dict(request.query_params), request.headers
        )

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "HEAD", "POST", "PUT", "DELETE"])])


async def _athena(athena: Athena, target: str, body: bytes) -> Response:
    if not target.startswith(TARGET_PREFIX):
        return _json({"__type": "UnknownOperationException", "Message": f"unknown target {target}"}, 400)
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        return _json({"__type": "SerializationException", "Message": "the body is not JSON"}, 400)
    try:
        answer = await run_in_threadpool(athena.call, target[len(TARGET_PREFIX) :], params)
    except ApiError as error:
        return _json(error.body(), error.status)
    except Exception as error:  # a bug of ours: said in Athena's shape (clients retry a 500), logged
        traceback.print_exc()
        return _json({"__type": "InternalServerException", "Message": f"{type(error).__name__}: {error}"}, 500)
    return _json(answer)


def _s3(athena: Athena, method: str, raw_path: str, query: dict[str, str], headers: Mapping[str, str]) -> Response:
    """The S3 facade: read-only, over the result files."""
    root = athena.store.s3_root()
    bucket, key = s3.bucket_and_key(raw_path.split("?", 1)[0])
    resource = f"/{bucket}/{key}"
    try:
        if method not in ("GET", "HEAD"):
            raise s3.S3Error(405, "MethodNotAllowed", "trailsql serve's S3 facade is read-only: results only")
        if not key:
            if method == "GET" and query.get("list-type") == "2":
                listed = s3.list_objects(
                    root,
                    bucket,
                    query.get("prefix", ""),
                    min(int(query.get("max-keys", "1000") or 1000), 1000),
                    query.get("continuation-token") or query.get("start-after", ""),
                )
                return Response(listed, media_type="application/xml")
            if method == "HEAD" and (root / bucket).is_dir():
                return Response(b"", status_code=200)
            raise s3.S3Error(404, "NoSuchBucket", "The specified bucket does not exist")
        path, found = s3.object_headers(root, bucket, key)
        if method == "HEAD":
            return Response(b"", headers=found)
        status, data, extra = s3.read_range(path, headers.get("range"))
        found = {**found, **extra, "Content-Length": str(len(data))}
        return Response(data, status_code=status, headers=found)
    except s3.S3Error as error:
        if method == "HEAD":  # (HEAD has no body: the status says it)
            return Response(b"", status_code=error.status)
        return _xml(error, resource)
