"""``trailsql generate``: realistic synthetic CloudTrail logs in the AWSLogs layout."""

from __future__ import annotations

import datetime as dt

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from trailsql import generate_benign
from trailsql.generate import GenerateOptions
from trailsql.generate import generate as generate_logs


@click.command()
@click.option("--events", default=10_000, show_default=True, help="How many events to write.")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Folder to write AWSLogs/ into.")
@click.option("--accounts", default="123456789012", show_default=True, help="Comma-separated account ids.")
@click.option("--regions", default="us-east-1,us-west-2,eu-west-1", show_default=True, help="Comma-separated regions.")
@click.option("--start", default="2025-02-10", show_default=True, help="First day (YYYY-MM-DD).")
@click.option("--days", type=int, help="How many days the events span (default 3 for mixed, 1 for benign).")
@click.option("--seed", default=7, show_default=True, help="Random seed: the same seed gives the same files.")
@click.option(
    "--profile",
    type=click.Choice(["mixed", "benign"]),
    default="mixed",
    show_default=True,
    help="mixed: random events with some attacks; benign: an ordinary day of one account (the first of --accounts), "
    "for measuring false positives (see docs/benign-background.md).",
)
def generate(
    events: int, out: str, accounts: str, regions: str, start: str, days: int | None, seed: int, profile: str
) -> None:
    """Write EVENTS realistic CloudTrail events under OUT/AWSLogs/."""
    account_ids = tuple(a.strip() for a in accounts.split(",") if a.strip())
    options = GenerateOptions(
        events=events,
        accounts=account_ids[:1] if profile == "benign" else account_ids,
        regions=tuple(r.strip() for r in regions.split(",") if r.strip()),
        start=dt.date.fromisoformat(start),
        days=days or (1 if profile == "benign" else 3),
        seed=seed,
    )
    write = generate_benign.generate if profile == "benign" else generate_logs
    columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("events", total=events)
        written = write(out, options, progress=lambda n: bar.advance(task, n))
    click.echo(f"wrote {written} events to {out}/AWSLogs", err=True)
