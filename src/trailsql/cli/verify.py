"""``trailsql verify``: CloudTrail log file integrity validation of a local copy of the logs.

Reads the digest files below ``--logs`` (every account, region, trail and organisation),
checks their signatures with the keys of ``--public-keys`` (a file as ``aws cloudtrail
list-public-keys`` prints it), follows each chain backwards and hashes every log file they
list (see :mod:`trailsql.verify.validate`). Exit 1 when any file is invalid or the chain has
a gap, 0 when everything checked is valid.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from trailsql.errors import UsageError
from trailsql.output import terminal_text
from trailsql.verify.digests import PublicKey, load_public_keys, parse_time
from trailsql.verify.validate import OK, validate


def _time(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise UsageError(f"{name}: not a time (give 2025-02-12 or 2025-02-12T10:00:00Z): {value!r}") from None


def _shown(path: str, root: str) -> str:
    """A path as the table shows it: below the logs root (JSON keeps it whole)."""
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


@click.command()
@click.option("--logs", type=click.Path(exists=True), required=True, help="Local copy of the logs (holding AWSLogs/).")
@click.option("--since", help="Check the digests from this time on (default: every digest found).")
@click.option("--until", help="Check the digests up to this time (default: every digest found).")
@click.option(
    "--public-keys",
    "public_keys",
    type=click.Path(exists=True, dir_okay=False),
    help="CloudTrail's public keys, as `aws cloudtrail list-public-keys --output json` prints them.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def verify(logs: str, since: str | None, until: str | None, public_keys: str | None, fmt: str) -> None:
    """Validate CloudTrail digest files and the log files they list (exit 1 if anything is invalid)."""
    keys: dict[str, PublicKey] = {}
    if public_keys is not None:
        try:
            keys = load_public_keys(Path(public_keys))
        except ValueError as error:
            raise UsageError(str(error)) from None
    report = validate(Path(logs), keys, _time(since, "--since"), _time(until, "--until"))
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
        console.print(table)
        for gap in report.gaps:
            start = "(before the oldest digest)" if gap.start is None else gap.to_json()["start"]
            console.print(
                f"[red]gap[/] {gap.account} {gap.region} {gap.trail}: {start} to {gap.to_json()['end']}: {gap.detail}"
            )
        counts: dict[str, int] = {}
        for result in report.results:
            counts[f"{result.kind} {result.status}"] = counts.get(f"{result.kind} {result.status}", 0) + 1
        summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "no digest files found"
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
