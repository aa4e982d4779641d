"""AWS Lambda entry point: ``trailsql.aws_lambda.handler`` runs a report or an alert over S3 logs.

It replaces the seed's scheduled Lambda that ran Athena and mailed the result through
SNS. Set by environment variables; the invoking event may override any of them by its
lower-case name without the prefix (``{"since": "7d", "kind": "alert"}``):

=====================  ==========================================================================
TRAILSQL_LOGS          ``s3://bucket/prefix/`` of the CloudTrail logs (required)
TRAILSQL_KIND          ``report`` (default) or ``alert``
TRAILSQL_SINCE         the window, ``24h`` by default (``TRAILSQL_UNTIL``: its end, default now)
TRAILSQL_QUERIES       comma-separated query ids; ``TRAILSQL_TAGS`` tags; default: every detection
TRAILSQL_FORMAT        ``html`` (default), ``md``, ``json`` or ``csv``
TRAILSQL_REPORT_URI    where a report is written: ``s3://bucket/reports/{date}.html``
TRAILSQL_WORKSPACE     ``s3://bucket/trailsql/``: a workspace kept in S3. Its ``trailsql.toml``
                       (channels, ``[s3]``) is read first; its ``alerts.sqlite`` (what was sent,
                       the spool) is read first and written back, so each finding is sent once
                       across invocations.
TRAILSQL_CHANNELS      comma-separated channel names a report is also sent to
=====================  ==========================================================================

The function's role needs ``s3:ListBucket`` and ``s3:GetObject`` on the logs,
``s3:PutObject`` (and ``GetObject``) on the report and workspace prefixes, and
``sns:Publish`` for SNS channels. Scratch files go to ``/tmp``; see docs/lambda.md.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Any

from trailsql.alerts.alert import run_alerts, send_report
from trailsql.alerts.channels import channels_from_config
from trailsql.alerts.report import build_report, render
from trailsql.alerts.state import STATE_NAME, AlertState
from trailsql.catalog.workspace import CONFIG_FILE
from trailsql.errors import UsageError
from trailsql.library import choose_queries, load_library
from trailsql.session import Session
from trailsql.sources.s3 import split_uri

_CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown",
    "json": "application/json",
    "csv": "text/csv",
}


def _setting(event: dict[str, Any], name: str, default: str | None = None) -> str | None:
    value = event.get(name, os.environ.get(f"TRAILSQL_{name.upper()}", default))
    return None if value in (None, "") else str(value)


def _listed(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def handler(event: dict[str, Any] | None, context: Any = None) -> dict[str, Any]:
    """Run the configured report or alert; return what it did (Lambda logs it)."""
    import boto3

    event = dict(event or {})
    logs = _setting(event, "logs")
    if not logs or not logs.startswith("s3://"):
        raise UsageError("TRAILSQL_LOGS must be the s3:// location of the CloudTrail logs")
    kind = _setting(event, "kind", "report")
    s3 = boto3.client("s3")
    scratch = Path(tempfile.mkdtemp(prefix="trailsql-", dir=os.environ.get("TRAILSQL_SCRATCH")))
    workspace = scratch / "workspace"
    workspace.mkdir()
    remote = _setting(event, "workspace")
    if remote:
        _pull(s3, remote, workspace)
    library = load_library()
    queries = choose_queries(library, _listed(_setting(event, "queries")), _listed(_setting(event, "tags")))
    given = {"since": _setting(event, "since", "24h"), "until": _setting(event, "until")}
    now = dt.datetime.now(dt.UTC)
    state = AlertState(workspace)
    outcome: dict[str, Any] = {"kind": kind}
    try:
        with Session(logs=logs, workspace=workspace, s3={"cache_dir": str(scratch / "cache")}) as session:
            channels = channels_from_config(session.workspace.config)
            if kind == "alert":
                done = run_alerts(session, queries, given, channels, state, now)
                outcome.update(findings=done.findings, new=done.new, sent=done.sent, spooled=list(done.spooled))
                outcome.update(still_failing=list(done.still_failing), dropped=done.dropped)
            else:
                report = build_report(session, queries, given, now)
                fmt = _setting(event, "format", "html") or "html"
                target = _setting(event, "report_uri")
                if target:
                    uri = target.format(date=f"{now:%Y-%m-%d}", time=f"{now:%H%M%S}")
                    bucket, key = split_uri(uri)
                    s3.put_object(
                        Bucket=bucket, Key=key, Body=render(report, fmt).encode(), ContentType=_CONTENT_TYPES[fmt]
                    )
                    outcome["report"] = uri
                names = _listed(_setting(event, "channels"))
                unknown = [n for n in names if n not in channels]
                if unknown:
                    raise UsageError(f"TRAILSQL_CHANNELS names {unknown[0]!r}, which the workspace does not define")
                sent = send_report(report, "report", {n: channels[n] for n in names}, state)
                outcome["sent"] = {name: error is None for name, error in sent.items()}
                outcome.update(findings=len(report.findings), events=report.events)
    finally:
        state.close()
    if remote:
        bucket, prefix = split_uri(remote.rstrip("/") + "/")
        s3.upload_file(str(workspace / STATE_NAME), bucket, prefix + STATE_NAME)
    return outcome


def _pull(s3: Any, remote: str, workspace: Path) -> None:
    """The workspace's settings and alert state from S3 (either may be missing)."""
    bucket, prefix = split_uri(remote.rstrip("/") + "/")
    for name in (CONFIG_FILE, STATE_NAME):
        try:
            s3.download_file(bucket, prefix + name, str(workspace / name))
        except Exception as error:  # a missing object: a first run, or no settings
            if "404" not in str(error) and "Not Found" not in str(error):
                raise
