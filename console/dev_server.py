"""A stand-in for `trailsql serve` to develop and check the console without the engine.

Serves ../src/trailsql/serve/console/ the way the real server does (index.html at /,
/queries/<id> and /findings; the other files at /static/<file>) with the console's strict
CSP, and answers /console/api/... with canned JSON: 100,000 rows holding XSS strings, a
syntax error for SQL containing `SELEC `, a slow query for SQL containing `sleep`, a
failing one for `not_supported`. Run: python3 console/dev_server.py [port]
"""

import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parent.parent / "src" / "trailsql" / "serve" / "console"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
MIME = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
CSRF = "dev-csrf-token"
XSS = ["<script>alert(1)</script>", '<img src=x onerror="alert(2)">', "javascript:alert(3)", '=HYPERLINK("http://x")']
N = 100_000
COLUMNS = [
    {"name": "eventtime", "type": "varchar"},
    {"name": "eventname", "type": "varchar"},
    {"name": "n", "type": "bigint"},
    {"name": "useridentity", "type": "row(type varchar, arn varchar)"},
    {"name": "requestparameters", "type": "varchar"},
]


def row(i):
    return [
        f"2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
        XSS[i % len(XSS)] if i % 10 == 0 else f"Event{i % 37}",
        (i * 7919) % 1000,
        {"type": "IAMUser", "arn": f"arn:aws:iam::123456789012:user/u{i % 5}"},
        json.dumps({"bucketName": f"b{i % 3}", "key": XSS[i % len(XSS)]}),
    ]


EXECUTIONS = {}
LOCK = threading.Lock()
CATALOG = {
    "tables": [
        {
            "name": "cloudtrail_logs",
            "kind": "table",
            "columns": [
                {"name": "eventtime", "type": "string", "fields": []},
                {"name": "eventname", "type": "string", "fields": []},
                {
                    "name": "useridentity",
                    "type": "struct<type:string,arn:string,sessioncontext:struct<mfa:string>>",
                    "fields": [
                        {"name": "type", "type": "string", "fields": []},
                        {"name": "arn", "type": "string", "fields": []},
                        {
                            "name": "sessioncontext",
                            "type": "struct<mfa:string>",
                            "fields": [{"name": "mfa", "type": "string", "fields": []}],
                        },
                    ],
                },
                {"name": "requestparameters", "type": "string", "fields": []},
            ],
            "partitions": [{"name": "account", "type": "string"}, {"name": "region", "type": "string"}],
            "ddl": "CREATE EXTERNAL TABLE cloudtrail_logs (\n  eventtime string, ...\n) -- <script>alert('ddl')</script>",
        },
        {
            "name": "<img src=x onerror=alert(4)>",
            "kind": "view",
            "columns": [{"name": "x", "type": "bigint", "fields": []}],
            "partitions": [],
            "ddl": "CREATE VIEW ...",
        },
    ]
}
LIBRARY = {
    "queries": [
        {
            "id": "console-logins",
            "title": "Console logins",
            "kind": "hunt",
            "severity": "low",
            "tags": ["iam", "<b>x</b>"],
            "description": "Who signed in.",
            "params": [
                {"name": "since", "type": "duration", "default": "7d"},
                {"name": "user", "type": "string", "default": None},
            ],
            "sql": "SELECT eventtime, eventname FROM cloudtrail_logs WHERE eventname = 'ConsoleLogin'",
        },
        {
            "id": "root-usage",
            "title": "Root account used",
            "kind": "detection",
            "severity": "high",
            "tags": ["root"],
            "description": "<script>alert(5)</script>",
            "params": [
                {"name": "since", "type": "duration", "default": "24h"},
                {"name": "threshold", "type": "int", "default": "1"},
            ],
        },
    ]
}

FINDINGS = {
    "window": {"start": "2024-01-01T00:00:00+00:00", "end": "2024-01-02T00:00:00+00:00"},
    "findings": [
        {
            "detection": "root-usage",
            "title": "Root account used",
            "severity": "high",
            "summary": "root signed in from <img src=x onerror=alert(6)>",
            "first_seen": "2024-01-01T03:00:00Z",
            "last_seen": "2024-01-01T04:00:00Z",
            "count": 2,
            "event_ids": ["e1", "e2"],
            "evidence_sql": "SELECT * FROM cloudtrail_logs\nWHERE eventid IN ('e1', 'e2')\nORDER BY eventtime few",
        },
        {
            "detection": "console-no-mfa",
            "title": "Console login without MFA",
            "severity": "medium",
            "summary": "alice signed in without MFA",
            "first_seen": "2024-01-01T05:00:00Z",
            "last_seen": "2024-01-01T05:00:00Z",
            "count": 1,
            "event_ids": ["e3"],
            "evidence_sql": "",
        },
    ],
    "overview": {
        "events_per_hour": [[f"2024-01-01T{h:02d}:00:00Z", 10 + h * 3] for h in range(24)],
        "top_principals": [["alice", 40], ["<script>alert(7)</script>", 12]],
        "errors_by_code": [["AccessDenied", 5]],
        "findings_timeline": [],
    },
}


def new_execution(sql, slow=False):
    eid = uuid.uuid4().hex[:12]
    x = {
        "id": eid,
        "sql": sql,
        "state": "RUNNING",
        "reason": None,
        "error": None,
        "submitted": time.time(),
        "completed": None,
        "elapsed_ms": 0,
        "rows": None,
        "columns": None,
        "stats": {
            "files_scanned": 12,
            "bytes_scanned": 3_456_789,
            "events_from_lake": 90_000,
            "events_from_logs": 10_000,
            "athena_cost_usd": 0.0000172,
        },
        "_until": time.time() + (30 if slow else 0.6),
    }
    if "not_supported" in sql:
        x.update(
            state="FAILED", completed=time.time(), error={"message": "not supported: MERGE", "line": 1, "column": 1}
        )
    if "few" in sql:
        x["_few"] = True
    with LOCK:
        EXECUTIONS[eid] = x
    return eid


def public(x):
    with LOCK:
        if x["state"] == "RUNNING" and time.time() >= x["_until"]:
            few = x.get("_few")
            x.update(
                state="SUCCEEDED",
                completed=time.time(),
                rows=12 if few else N,
                columns=(
                    [{"name": "eventname", "type": "varchar"}, {"name": "n", "type": "bigint"}] if few else COLUMNS
                ),
            )
        x["elapsed_ms"] = int(((x["completed"] or time.time()) - x["submitted"]) * 1000)
        return {k: v for k, v in x.items() if not k.startswith("_")}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):  # quiet
        pass

    def send(self, status, body, ctype="application/json", extra=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Set-Cookie", f"trailsql_csrf={CSRF}; Path=/; SameSite=Strict")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urlparse(self.path)
        p, q = u.path, {k: v[0] for k, v in parse_qs(u.query).items()}
        if p in ("/", "/findings", "/history") or p.startswith("/queries/"):
            return self.send(200, (ROOT / "index.html").read_bytes(), MIME[".html"])
        if p.startswith("/static/"):
            f = ROOT / p[len("/static/") :]
            if f.parent == ROOT and f.is_file():
                return self.send(200, f.read_bytes(), MIME.get(f.suffix, "application/octet-stream"))
            return self.send(404, b"not found", "text/plain")
        parts = p.strip("/").split("/")
        if parts[:2] != ["console", "api"]:
            return self.send(404, b"not found", "text/plain")
        parts = parts[2:]
        if parts == ["catalog"]:
            return self.send(200, CATALOG)
        if parts == ["library"]:
            return self.send(200, LIBRARY)
        if parts == ["findings"]:
            return self.send(200, FINDINGS)
        if parts == ["history"]:
            with LOCK:
                xs = list(EXECUTIONS.values())
            xs = [public(x) for x in reversed(xs) if q.get("q", "").lower() in x["sql"].lower()]
            return self.send(
                200,
                {
                    "executions": [
                        {
                            "id": x["id"],
                            "sql": x["sql"],
                            "state": x["state"],
                            "submitted": x["submitted"],
                            "elapsed_ms": x["elapsed_ms"],
                            "scanned_bytes": 3_456_789,
                            "rows": x["rows"],
                            "source": "console",
                        }
                        for x in xs
                    ]
                },
            )
        if len(parts) >= 2 and parts[0] == "executions" and parts[1] in EXECUTIONS:
            x = public(EXECUTIONS[parts[1]])
            if len(parts) == 2:
                return self.send(200, x)
            if parts[2] == "rows":
                off, lim = int(q.get("offset", 0)), min(1000, int(q.get("limit", 200)))
                if x["rows"] == 12:
                    rows = [[f"Event{i}", 100 - i * 7] for i in range(12)]
                else:
                    idx = range(N)
                    if q.get("sort") == "n":
                        idx = sorted(idx, key=lambda i: ((i * 7919) % 1000, i), reverse=q.get("order") == "desc")
                    elif q.get("order") == "desc":
                        idx = range(N - 1, -1, -1)
                    rows = [row(i) for i in list(idx[off : off + lim])]
                return self.send(200, {"columns": x["columns"], "rows": rows, "offset": off, "total": x["rows"]})
            if parts[2] == "download":
                return self.send(
                    200,
                    b'"eventname","n"\n"a","1"\n',
                    "text/csv",
                    {"Content-Disposition": f'attachment; filename="{x["id"]}.csv"'},
                )
        return self.send(404, {"error": {"message": "not found"}})

    def do_POST(self):
        if self.headers.get("X-CSRF-Token") != CSRF:
            return self.send(403, {"error": {"message": "bad CSRF token"}})
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        parts = urlparse(self.path).path.strip("/").split("/")[2:]
        if parts == ["executions"]:
            sql = body.get("sql", "")
            if "SELEC " in sql:
                return self.send(
                    400,
                    {
                        "error": {
                            "message": "mismatched input 'SELEC'",
                            "line": sql[: sql.index("SELEC ")].count("\n") + 1,
                            "column": 1,
                        }
                    },
                )
            return self.send(200, {"id": new_execution(sql, slow="sleep" in sql)})
        if parts == ["library"]:
            return self.send(200, {"id": body.get("name", "q")})
        if len(parts) == 3 and parts[0] == "library" and parts[2] == "run":
            return self.send(
                200, {"id": new_execution(f"-- library {parts[1]} {json.dumps(body.get('params'))}\nSELECT 1")}
            )
        if len(parts) == 3 and parts[0] == "executions" and parts[2] == "cancel" and parts[1] in EXECUTIONS:
            with LOCK:
                x = EXECUTIONS[parts[1]]
                if x["state"] == "RUNNING":
                    x.update(state="CANCELLED", reason="cancelled by the user", completed=time.time())
            return self.send(200, {})
        return self.send(404, {"error": {"message": "not found"}})


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    print(f"console dev server on http://127.0.0.1:{port}/", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
