"""``trailsql generate``: realistic synthetic CloudTrail logs in the AWSLogs layout."""

from __future__ import annotations

import datetime as dt

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from trailsql.generate import GenerateOptions
from trailsql.generate import generate as generate_logs


@click.command()
@click.option("--events", default=10_000, show_default=True, help="How many events to write.")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Folder to write AWSLogs/ into.")
@click.option("--accounts", default="123456789012", show_default=True, help="Comma-separated account ids.")
@click.option("--regions", default="us-east-1,us-west-2,eu-west-1", show_default=True, help="Comma-separated regions.")
@click.option("--start", default="2025-02-10", show_default=True, help="First day (YYYY-MM-DD).")
@click.option("--days", default=3, show_default=True, help="How many days the events span.")
@click.option("--seed", default=7, show_default=True, help="Random seed: the same seed gives the same files.")
def generate(events: int, out: str, accounts: str, regions: str, start: str, days: int, seed: int) -> None:
    """Write EVENTS realistic CloudTrail events under OUT/AWSLogs/."""
    options = GenerateOptions(
        events=events,
        accounts=tuple(a.strip() for a in accounts.split(",") if a.strip()),
        regions=tuple(r.strip() for r in regions.split(",") if r.strip()),
        start=dt.date.fromisoformat(start),
        days=days,
        seed=seed,
    )
    columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("events", total=events)
        written = generate_logs(out, options, progress=lambda n: bar.advance(task, n))
    click.echo(f"wrote {written} events to {out}/AWSLogs", err=True)
