"""The web console's side of the server: its pages, its JSON API, its sign-in.

The console is a static bundle (``serve/console/``, built from ``console/`` by ``make
console``) talking to ``/console/api/...``, a thin shell over the same executions, library
and catalog the Athena API serves. A browser signs in with the token printed at start
(``/?token=...`` on any page, Jupyter-style), exchanged for an HttpOnly, SameSite=Strict
cookie; every state-changing request also carries the CSRF token of a second cookie in a
header. Every answer carries a strict Content-Security-Policy: the bundle runs no inline
script and reaches no other origin.
"""

from __future__ import annotations

import collections
import hmac
import io
import json
import os
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

import pyarrow as pa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from trailsql import output, schema
from trailsql.alerts.report import build_report
from trailsql.catalog.athena_ddl import athena_ddl
from trailsql.dbapi import sql_literal
from trailsql.errors import TrailsqlError, UsageError
from trailsql.library.query import LibraryQuery, load_library
from trailsql.serve import metadata, named, results
from trailsql.serve.athena import Athena
from trailsql.serve.protocol import ApiError

SESSION_COOKIE = "trailsql_console"
CSRF_COOKIE = "trailsql_csrf"
CSRF_HEADER = "x-csrf-token"
TOKEN_ENV = "TRAILSQL_SERVE_TOKEN"
#: Pages the bundle's router shows; each answers index.html.
PAGES = re.compile(r"/|/findings|/history|/queries/[A-Za-z0-9_.-]+")
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_MEDIA = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".txt": "text/plain"}
_POSITION = re.compile(r"^line (\d+):(\d+): ")
#: A CSV cell a spreadsheet would run as a formula (OWASP's list): prefixed with ' in downloads.
_FORMULA = re.compile(r"^[=+\-@\t\r]")


def console_token(serve: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> str:
    """The token a browser signs in with: ``$TRAILSQL_SERVE_TOKEN``, the variable ``[serve]
    token_env`` names, else a new random one for this run."""
    name = serve.get("token_env")
    if name is not None:
        if not isinstance(name, str) or not environ.get(name):
            raise UsageError(f"[serve] token_env names {name!r}, which is not set in the environment")
        return environ[name]
    return environ.get(TOKEN_ENV) or secrets.token_urlsafe(24)


def _asset(name: str) -> bytes | None:
    """A file of the built bundle, or None (no such file, or a name that is not one file)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name.startswith("."):
        return None
    found = resources.files("trailsql.serve").joinpath("console", name)
    return found.read_bytes() if found.is_file() else None


def _error(message: str, status: int = 400, line: int | None = None, column: int | None = None) -> Response:
    body = {"error": {"message": message, "line": line, "column": column}}
    return JSONResponse(body, status_code=status, headers=HEADERS)


def _position(message: str) -> tuple[str, int | None, int | None]:
    """A message's ``line L:C:`` position, as the editor marks it."""
    match = _POSITION.match(message)
    if match is None:
        return message, None, None
    return message[match.end() :], int(match.group(1)), int(match.group(2))


def _fields(typ: schema.HiveType) -> list[dict[str, Any]]:
    """The struct fields of a column's type (through arrays), for completion of ``a.b``."""
    if isinstance(typ, schema.Array):
        return _fields(typ.element)
    if isinstance(typ, schema.Struct):
        return [{"name": n.lower(), "type": schema.athena_type(t), "fields": _fields(t)} for n, t in typ.fields]
    return []


def _csv_cell(text: str | None) -> str:
    """A downloaded CSV value: Athena's quoting, and no formula a spreadsheet would run.

    >>> _csv_cell("=HYPERLINK(\\"http://x\\")"), _csv_cell("a"), _csv_cell(None)
    ('"\\'=HYPERLINK(""http://x"")"', '"a"', '')
    """
    if text is not None and _FORMULA.match(text):
        text = "'" + text
    return output.csv_field(text)


def _rendered(query: LibraryQuery) -> str:
    """A library query's SQL with its default parameters, to open in the editor (as written,
    placeholders and all, when a parameter has no default)."""
    try:
        return query.render()
    except TrailsqlError:
        return query.sql


class Console:
    """The console's routes over one server's :class:`~trailsql.serve.athena.Athena`."""

    def __init__(self, athena: Athena, token: str) -> None:
        self.athena = athena
        self.token = token

    # --- sign-in ---------------------------------------------------------------------------

    def signed_in(self, request: Request) -> bool:
        given = request.cookies.get(SESSION_COOKIE, "")
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    def sign_in(self, request: Request) -> Response | None:
        """``?token=`` on any page: the cookies set and the same URL without it (None: no token)."""
        given = request.query_params.get("token")
        if given is None:
            return None
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return self.page_refused()
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        query = urlencode(kept, quote_via=quote)
        target = request.url.path + (f"?{query}" if query else "")
        answer = RedirectResponse(target, status_code=303, headers=HEADERS)
        answer.set_cookie(SESSION_COOKIE, self.token, httponly=True, samesite="strict", path="/")
        answer.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(16), httponly=False, samesite="strict", path="/")
        return answer

    def page_refused(self) -> Response:
        text = "trailsql console: open the URL trailsql serve printed at start (it carries ?token=...)\n"
        return Response(text, status_code=401, media_type="text/plain", headers=HEADERS)

    # --- pages and files -------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        signed = self.sign_in(request)
        if signed is not None:
            return signed
        if not self.signed_in(request):
            return self.page_refused()
        body = _asset("index.html")
        if body is None:
            return Response("the console is not built: make console\n", status_code=500, headers=HEADERS)
        return Response(body, media_type="text/html", headers=HEADERS)

    async def static(self, request: Request) -> Response:
        name = request.url.path.removeprefix("/static/")
        body = _asset(name)
        if body is None:
            return Response(b"", status_code=404, headers=HEADERS)
        media = _MEDIA.get(os.path.splitext(name)[1], "application/octet-stream")
        return Response(body, media_type=media, headers=HEADERS)

    # --- the API ---------------------------------------------------------------------------

    async def api(self, request: Request) -> Response:
        if not self.signed_in(request):
            return _error("not signed in: open the URL trailsql serve printed at start", 401)
        if request.method != "GET":
            given = request.headers.get(CSRF_HEADER, "")
            expected = request.cookies.get(CSRF_COOKIE, "")
            if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
                return _error("missing or wrong CSRF token", 403)
        path = request.url.path.removeprefix("/console/api/").strip("/").split("/")
        body: dict[str, Any] = {}
        if request.method == "POST":
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError:
                return _error("the body is not JSON")
            if not isinstance(body, dict):
                return _error("the body must be a JSON object")
        route = self._route(request.method, path)
        if route is None:
            return _error("no such console API path", 404)
        try:
            return await route(request, path, body)
        except ApiError as error:
            message, line, column = _position(error.message)
            return _error(message, 404 if "was not found" in error.message else 400, line, column)
        except TrailsqlError as error:
            return _error(str(error))

    def _route(
        self, method: str, path: list[str]
    ) -> Callable[[Request, list[str], dict[str, Any]], Awaitable[Response]] | None:
        routes: dict[tuple[str, str, int], Callable[[Request, list[str], dict[str, Any]], Awaitable[Response]]] = {
            ("GET", "catalog", 1): self._catalog,
            ("POST", "executions", 1): self._start,
            ("GET", "executions", 2): self._execution,
            ("GET", "executions", 3): self._execution_part,
            ("POST", "executions", 3): self._cancel,
            ("GET", "history", 1): self._history,
            ("GET", "library", 1): self._library,
            ("POST", "library", 1): self._save,
            ("POST", "library", 3): self._run_library,
            ("GET", "findings", 1): self._findings,
        }
        return routes.get((method, path[0], len(path)))

    async def _catalog(self, request: Request, path: list[str], body: dict[str, Any]) -> Response:
        return JSONResponse(await run_in_threadpool(self.catalog), headers=HEADERS)

    def catalog(self) -> dict[str, Any]:
        """Tables and views with their columns (struct fields nested), partitions and DDL."""
        session = self.athena.catalog()
        tables = []
        for name in session.names():
            table = session.table(name)
            if table is not None:
                tables.append(
                    {
                        "name": name,
                        "kind": "table",
                        "columns": [
                            {"name": n.lower(), "type": schema.athena_type(t), "fields": _fields(t)}
                            for n, t in table.columns
                        ],
                        "partitions": [{"name": n.lower(), "type": t.lower()} for n, t in table.partitions],
                        "ddl": athena_ddl(table),
                    }
                )
                continue
            described = metadata.table_metadata(session, name)
            view = session.view(name) or ""
            tables.append(
                {
                    "name": name,
                    "kind": "view",
                    "columns": [{"name": c["Name"], "type": c["Type"], "fields": []} for c in described["Columns"]],
                    "partitions": [],
                    "ddl": f"CREATE VIEW {name} AS\n{view}",
                }
            )
        return {"tables": tables}

    def _submit(self, sql: str, source: str = "console") -> Response:
        answer = self.athena.call("StartQueryExecution", {"QueryString": sql})
        execution = self.athena.store.get(answer["QueryExecutionId"])
        if execution is not None:
            self.athena.store.update(execution, source=source)
        return JSONResponse({"id": answer["QueryExecutionId"]}, headers=HEADERS)

    async def _start(self, request: Request, path: list[str], body: dict[str, Any]) -> Response:
        sql = body.get("sql")
        if not isinstance(sql, str) or not sql.strip():
            return _error('give the SQL to run: {"sql": "..."}')
        return await run_in_threadpool(self._submit, sql)

    def _found(self, execution_id: str) -> Any:
        execution = self.athena.store.get(execution_id)
        if execution is None:
            raise ApiError("InvalidRequestException", f"QueryExecution {execution_id} was not found")
        return execution

    async def _execution(self, request: Request, path: list[str], body: dict[str, Any]) -> Response:
        execution = self._found(path[1])
        described = execution.describe()
        error = None
        if execution.state == "FAILED" and execution.reason:
            _, line, column = _position(execution.reason.split(": ", 1)[-1])
            error = {"message": execution.reason, "line": line, "column": column}
        stats = execution.stats
        return JSONResponse(
            {
                "id": execution.id,
                "sql": execution.query,
                "state": execution.state,
                "reason": execution.reason,
                "error": error,
                "submitted": execution.submitted,
                "completed": execution.completed,
                "elapsed_ms": described["Statistics"]["TotalExecutionTimeInMillis"],
                "rows": execution.rows,
                "columns": None
                if execution.columns is None
                else [{"name": c["Name"], "type": c["Type"]} for c in execution.columns],
                "stats": {
                    "files_scanned": stats.get("files_scanned", 0),
                    "bytes_scanned": execution.scanned_bytes,
                    "events_from_lake": stats.get("events_from_lake", 0),
                    "events_from_logs": stats.get("events_from_logs", 0),
                    "athena_cost_usd": stats.get("athena_cost_usd", 0.0),
                },
            },
            headers=HEADERS,
        )

    def _table(self, execution_id: str) -> pa.Table:
        execution = self._found(execution_id)
        table = self.athena.store.load_rows(execution.id) if execution.state == "SUCCEEDED" else None
        if table is None:
            raise ApiError("InvalidRequestException", f"QueryExecution {execution_id} has no rows ({execution.state})")
        return table

    async def _execution_part(self, request: Request, path: list[str], body: dict[str, Any]) -> Response:
        if path[2] == "rows":
            return await run_in_threadpool(self._rows, path[1], request.query_params)
        if path[2] == "download":
            return await run_in_threadpool(self._download, path[1], request.query_params.get("format", "csv"))
        return _error("no such console API path", 404)

    def _rows(self, execution_id: str, params: Mapping[str, str]) -> Response:
        """A page of rows as JSON values, sorted on the server (the grid never holds them all)."""
        table = self._table(execution_id)
        try:
            offset = max(int(params.get("offset", "0")), 0)
            limit = min(max(int(params.get("limit", "200")), 1), 1000)
        except ValueError:
            return _error("offset and limit are integers")
        column = params.get("sort")
        if column is not None:
            if column not in table.column_names:
                return _error(f"no column {column!r} to sort by")
            order = "descending" if params.get("order") == "desc" else "ascending"
            table = table.sort_by([(column, order)], null_placement="at_end")
        piece = table.slice(offset, limit)
        rows = [[output.json_value(v) for v in row.values()] for row in piece.to_pylist()]
        columns = [{"name": f.name, "type": metadata.hive_type(f.type)} for f in table.schema]
        body = {"columns": columns, "rows": rows, "offset": offset, "total": table.num_rows}
        return Response(json.dumps(body, default=str), media_type="application/json", headers=HEADERS)

    def _download(self, execution_id: str, fmt: str) -> Response:
        table = self._table(execution_id)
        out = io.StringIO()
        if fmt == "json":
            output.write(table, "json", out)
            media = "application/json"
        elif fmt == "csv":
            out.writelines(line + "\n" for line in results.csv_lines(table, _csv_cell))
            media = "text/csv"
        else:
            return _error("format is csv or json")
        headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{execution_id}.{fmt}"'}
        return Response(out.getvalue(), media_type=media, headers=headers)

    async def _cancel(self, request: Request, path: list[str], body: dict[str, Any]) -> Response:
        if path[2] != "cancel":
            return _error("no such console API path", 404)
        self.athena.call("StopQueryExecution", {"QueryExecutionId": path[1]})
        return JSONResponse({}, headers=HEADERS)

    async def _history(self, request: Request, path: list[str], body: dict[str, Any]) -> Response:
        wanted = request.query_params.get("q", "").lower()
        found = [
            {
                "id": e.id,
                "sql": e.query,
                "state": e.state,
                "submitted": e.submitted,
                "elapsed_ms": e.describe()["Statistics"]["TotalExecutionTimeInMillis"],
                "scanned_bytes": e.scanned_bytes,
                "rows": e.rows,
                "source": e.source,
            }
            for e in self.athena.store.newest_first()
            if wanted in e.query.lower()
        ]
        return JSONResponse({"executions": found[:500]}, headers=HEADERS)

    def _queries(self) -> dict[str, Any]:
        workspace = self.athena.catalog().workspace
        return load_library([p for p in workspace.library_paths if p.is_dir()])

    async def _library(self, request: Request, path: list[str], body: dict[str, Any]) -> Response:
        queries = await run_in_threadpool(self._queries)
        listed = [
            {
                "id": q.id,
                "title": q.title,
                "kind": q.kind,
                "severity": q.severity,
                "tags": list(q.tags),
                "description": q.description,
                "sql": _rendered(q),
                "params": [
                    {"name": "since", "type": "duration", "default": q.values({})["since"]},
                    *({"name": p.name, "type": p.type, "default": p.default} for p in q.params if p.name != "since"),
                ],
            }
            for q in queries.values()
        ]
        return JSONResponse({"queries": listed}, headers=HEADERS)

    async def _save(self, request: Request, path: list[str], body: dict[str, Any]) -> Response:
        name, sql = body.get("name"), body.get("sql")
        if not isinstance(name, str) or not name.strip() or not isinstance(sql, str) or not sql.strip():
            return _error("give a name and the SQL to save")
        params = {"Name": name[:128], "QueryString": sql, "Description": str(body.get("description") or "")[:1024]}
        library = named.Library(self.athena.catalog().workspace, self.athena.store)
        return JSONResponse({"id": await run_in_threadpool(library.create, params)}, headers=HEADERS)

    async def _findings(self, request: Request, path: list[str], body: dict[str, Any]) -> Response:
        given = {"since": request.query_params.get("since") or "24h", "until": request.query_params.get("until")}
        return JSONResponse(await run_in_threadpool(self.findings, given), headers=HEADERS)

    def findings(self, given: Mapping[str, str | None]) -> dict[str, Any]:
        """Every detection over a window: its findings (why, first and last seen, the query of
        their evidence events) and the report's overview counts, from live queries."""
        session = self.athena.runner.factory()
        try:
            detections = [q for q in self._queries().values() if q.kind == "detection"]
            report = build_report(session, detections, given)
        finally:
            session.close()
        found = []
        for finding in report.findings:
            ids = ", ".join(sql_literal(i) for i in finding.event_ids)
            evidence = (
                f"SELECT * FROM cloudtrail_logs\nWHERE {report.window.predicate()}\n  AND eventid IN ({ids})\n"
                "ORDER BY eventtime"
                if ids
                else ""
            )
            found.append(
                {
                    "detection": finding.query_id,
                    "title": finding.title,
                    "severity": finding.severity,
                    "summary": finding.summary,
                    "first_seen": finding.first_seen,
                    "last_seen": finding.last_seen,
                    "count": finding.count,
                    "event_ids": list(finding.event_ids),
                    "evidence_sql": evidence,
                }
            )
        window = {"start": report.window.start.isoformat(), "end": report.window.end.isoformat()}
        overview = {name: [[label, n] for label, n in rows] for name, rows in report.overview.items()}
        # The report's timeline of findings: how many were first seen in each hour.
        hours = collections.Counter(f.first_seen[:13] for f in report.findings if f.first_seen)
        overview["findings_timeline"] = [[hour, n] for hour, n in sorted(hours.items())]
        return {"window": window, "findings": found, "overview": overview}

    async def _run_library(self, request: Request, path: list[str], body: dict[str, Any]) -> Response:
        if path[2] != "run":
            return _error("no such console API path", 404)
        queries = await run_in_threadpool(self._queries)
        query = queries.get(path[1])
        if query is None:
            return _error(f"no query {path[1]!r} in the library", 404)
        given = body.get("params") or {}
        if not isinstance(given, dict):
            return _error("params is an object of names and values")
        sql = query.render({str(k): None if v in (None, "") else str(v) for k, v in given.items()})
        return await run_in_threadpool(self._submit, sql)
