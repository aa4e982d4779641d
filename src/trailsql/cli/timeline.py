"""``trailsql timeline``: every event of one subject in time order, with summaries on top, and
with ``--follow`` the sessions it opened and what they did.

Exit codes: 0 with the timeline, also when it holds no event (said on stderr: an empty answer
is an answer to an investigator); 2 for a subject that is not well formed (an ARN, an address
or CIDR, an access key id) or not exactly one subject; 1 when a query fails.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from trailsql.cli import render
from trailsql.cli.query import open_session, progress, session_options
from trailsql.errors import UsageError
from trailsql.investigate import render as timeline_render
from trailsql.investigate.subject import from_options
from trailsql.investigate.timeline import DEFAULT_DEPTH, Timeline, build_timeline
from trailsql.library.window import Window


def _text(timeline: Timeline, to_terminal: bool, to_file: bool, wide: bool) -> str:
    lines = timeline_render.head_lines(timeline)
    if timeline.events:
        width = None if to_file else render.screen_width(to_terminal)
        limit = None if to_file else render.ROW_LIMIT
        lines += render.table_lines(timeline_render.events_table(timeline), width, wide, limit)
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--access-key", metavar="KEY", help="Events made with an access key (AKIA..., ASIA...).")
@click.option(
    "--principal",
    metavar="ARN",
    help="Events of a user, root, a role (its sessions too) or one assumed-role session, by ARN.",
)
@click.option("--session", metavar="NAME", help="Events of an assumed-role session name, or a sourceIdentity.")
@click.option("--ip", metavar="ADDRESS|CIDR", help="Events from an address, or from any address of a network.")
@click.option(
    "--resource", metavar="ARN|NAME", help="Events naming a resource: in resources[], or a request parameter value."
)
@click.option("--since", help="Only events from then: a duration before now (24h, 7d) or an ISO date/time.")
@click.option("--until", help="Only events before then (default: now); with --since.")
@click.option(
    "--follow", is_flag=True, help="Follow the sessions the subject opened (AssumeRole..., console sign-ins)."
)
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    default=DEFAULT_DEPTH,
    show_default=True,
    help="With --follow: how many levels of sessions to follow.",
)
@click.option("--format", "fmt", type=click.Choice(timeline_render.FORMATS), default="table", show_default=True)
@click.option("--output", "out_path", type=click.Path(dir_okay=False), help="Write the timeline to FILE.")
@click.option("--wide", is_flag=True, help="Table: every value whole, lines as long as they need.")
@session_options
def timeline(
    access_key: str | None,
    principal: str | None,
    session: str | None,
    ip: str | None,
    resource: str | None,
    since: str | None,
    until: str | None,
    follow: bool,
    depth: int,
    fmt: str,
    out_path: str | None,
    wide: bool,
    **where: Any,
) -> None:
    """Every event of one subject in time order across accounts and regions, with summaries
    (first and last seen, regions, addresses, user agents, APIs, errors, what was new)."""
    subject = from_options(
        {"access_key": access_key, "principal": principal, "session": session, "ip": ip, "resource": resource}
    )
    if until is not None and since is None:
        raise UsageError("--until needs --since")
    window = Window.parse(since, until) if since is not None else None
    with open_session(**where) as opened, progress("", opened):
        found = build_timeline(opened, subject, window, follow_sessions=follow, depth=depth)
    for note in found.notes:
        click.echo(f"note: {note}", err=True)
    if not found.events:
        click.echo(f"note: no event of {subject.text()} {'in the window' if window else 'in the logs'}", err=True)
    to_file = out_path is not None
    to_terminal = not to_file and sys.stdout.isatty()
    text = _text(found, to_terminal, to_file, wide) if fmt == "table" else timeline_render.render(found, fmt)
    if out_path is None:
        sys.stdout.write(text)
        return
    with open(out_path, "w", encoding="utf-8", newline="") as out:
        out.write(text)
