"""``trailsql verify``: CloudTrail log file integrity validation of a copy of the logs, in a
folder or in S3.

Reads the digest files below ``--logs`` (every account, region, trail and organisation),
checks their signatures with the keys of ``--public-keys`` (a file as ``aws cloudtrail
list-public-keys`` prints it) or of ``ListPublicKeys`` (kept in the workspace for offline
runs), follows each chain backwards and hashes every log file they list (see
:mod:`trailsql.verify.validate`). Exit 1 when any file is invalid or the chain has a gap, 0
when everything checked is valid.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from trailsql.catalog.workspace import Workspace, find_workspace
from trailsql.errors import UsageError
from trailsql.output import terminal_text
from trailsql.verify.digests import parse_time
from trailsql.verify.run import verify_logs
from trailsql.verify.validate import OK, tally


def _time(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise UsageError(f"{name}: not a time (give 2025-02-12 or 2025-02-12T10:00:00Z): {value!r}") from None


def _shown(path: str, root: str) -> str:
    """A location as the table shows it: below the logs root (JSON keeps it whole)."""
    base = root if root.startswith("s3://") else os.path.abspath(root)
    prefix = base.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


@click.command()
@click.option("--logs", required=True, help="The logs (holding AWSLogs/): a local folder or s3://bucket/prefix/.")
@click.option("--since", help="Check the digests from this time on (default: every digest found).")
@click.option("--until", help="Check the digests up to this time (default: every digest found).")
@click.option(
    "--public-keys",
    "public_keys",
    type=click.Path(exists=True, dir_okay=False),
    help="CloudTrail's public keys, as `aws cloudtrail list-public-keys --output json` prints them"
    " (default: ListPublicKeys in each digest's region, kept in the workspace).",
)
@click.option(
    "--offline",
    is_flag=True,
    help="No network: the public keys kept in the workspace, and for s3:// logs the S3 cache of an earlier run.",
)
@click.option("--workspace", type=click.Path(file_okay=False), help="Keeps the public keys and the [s3] settings.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def verify(
    logs: str,
    since: str | None,
    until: str | None,
    public_keys: str | None,
    offline: bool,
    workspace: str | None,
    fmt: str,
) -> None:
    """Validate CloudTrail digest files and the log files they list (exit 1 if anything is invalid)."""
    folder, _ = find_workspace(workspace)
    report = verify_logs(
        logs,
        Workspace(folder),
        offline=offline,
        public_keys=None if public_keys is None else Path(public_keys),
        since=_time(since, "--since"),
        until=_time(until, "--until"),
    )
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        console = Console()
        table = Table("status", "kind", f"path (below {logs})", "detail", title="CloudTrail integrity validation")
        for result in report.results:
            style = "green" if result.status == "valid" else "yellow" if result.status in OK else "red"
            # (file names and details as plain text: no markup or escape sequence of theirs reaches the terminal)
            table.add_row(
                Text(result.status, style=style),
                result.kind,
                Text(terminal_text(_shown(result.path, logs))),
                Text(terminal_text(result.detail)),
            )
        if report.results:
            console.print(table)
        for gap in report.gaps:
            start = "(before the oldest digest)" if gap.start is None else gap.to_json()["start"]
            console.print(
                f"[red]gap[/] {gap.account} {gap.region} {gap.trail}: {start} to {gap.to_json()['end']}: {gap.detail}"
            )
        summary = tally(f"{r.kind} {r.status}" for r in report.results) or "no digest files found"
        console.print(summary + (f", {len(report.gaps)} gaps" if report.gaps else ""))
    if not any(result.kind == "digest" for result in report.results):
        click.echo(
            f"error: no digest file under {logs} (CloudTrail-Digest/): nothing could be validated"
            " (is log file validation on for the trail, and were the digests copied?)",
            err=True,
        )
        sys.exit(1)
    if not report.ok:
        sys.exit(1)
