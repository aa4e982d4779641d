"""``trailsql demo``: the seed's security queries over the bundled real sample logs."""

from __future__ import annotations

import click
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from trailsql import output
from trailsql.alerts.report import render_html
from trailsql.cli import render
from trailsql.demo import SAMPLE_ACCOUNT, SAMPLE_DAY, demo_report, run_demo, samples_root

_SHOWN_ROWS = 5
_SHOWN_FINDINGS = 15


@click.command()
@click.option(
    "--output",
    "out_path",
    default="trailsql-demo-report.html",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Where to write the HTML report of the detections' findings.",
)
def demo(out_path: str) -> None:
    """Run the seed's security queries and the library's detections over bundled real CloudTrail logs."""
    console = Console()
    console.print(
        Panel.fit(
            f"Sample: real CloudTrail logs of account {SAMPLE_ACCOUNT} on {SAMPLE_DAY} ({samples_root()})\n"
            "Queries: the Athena security workload (seed.sql), run verbatim but for the account and day.",
            title="trailsql demo",
        )
    )
    for step in run_demo():
        rows = step.result.table
        console.rule(f"[bold]{step.name}[/bold]: {rows.num_rows} rows in {step.result.stats.elapsed_s * 1000:.0f} ms")
        console.print(f"[dim]{step.description}[/dim]")
        if rows.num_rows == 0:
            console.print("nothing found")
            continue
        console.print(Text("\n".join(render.body_lines(rows.slice(0, _SHOWN_ROWS), console.width))))
        if rows.num_rows > _SHOWN_ROWS:
            console.print(f"[dim]… and {rows.num_rows - _SHOWN_ROWS} more rows[/dim]")

    report = demo_report()
    console.rule(f"[bold]Detections[/bold]: {len(report.findings)} findings over {report.events:,} events")
    table = Table("severity", "detection", "why (one finding per attack: actor, target, technique)", "events")
    for f in report.findings[:_SHOWN_FINDINGS]:
        table.add_row(f.severity, f.query_id, Text(output.terminal_text(f.summary)), str(f.count))
    console.print(table)
    if len(report.findings) > _SHOWN_FINDINGS:
        console.print(f"[dim]… and {len(report.findings) - _SHOWN_FINDINGS} more findings in the HTML report[/dim]")
    with open(out_path, "w", encoding="utf-8") as out:
        out.write(render_html(report))
    console.print(f"HTML report written to [bold]{out_path}[/bold] (one file: open it in a browser or mail it)")
    samples = samples_root() / "AWSLogs"
    console.print(
        "The web console over the same logs: [bold]trailsql serve --workspace demo-ws "
        f"--logs {samples}[/bold], then open the console URL it prints (http://127.0.0.1:8450/?token=...)"
    )
