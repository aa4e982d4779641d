"""The ``trailsql`` command line.

Exit codes: 0 success (and when the reader of the output goes away, ``| head``); 1 a query or
command failed (bad SQL, unsupported construct, unreadable input under ``--strict``); 2 wrong
usage (unknown option, missing argument); 3 ``alert`` could not reach a channel (its message
is spooled for the next run); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import os
import sys

import click

from trailsql import __version__
from trailsql.cli.alerts import alert, report, schedule
from trailsql.cli.cache import cache
from trailsql.cli.config import config
from trailsql.cli.demo import demo
from trailsql.cli.enrich import enrich
from trailsql.cli.generate import generate
from trailsql.cli.lake import compact, ingest, lake
from trailsql.cli.queries import queries
from trailsql.cli.query import query
from trailsql.cli.serve import serve
from trailsql.cli.tables import tables
from trailsql.cli.timeline import timeline
from trailsql.cli.verify import verify
from trailsql.errors import TrailsqlError


class _Interrupted(Exception):
    """Ctrl-C during a command (click would print a blank line and abort with 1)."""


class _ReaderGone(Exception):
    """The reader of stdout went away (``| head -1``; click would exit 1)."""


class _Cli(click.Group):
    """The command group, with Ctrl-C and a closed pipe taken out of click's hands."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise _Interrupted from None
        except BrokenPipeError:
            raise _ReaderGone from None


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trailsql")
def cli() -> None:
    """Athena SQL over AWS CloudTrail logs, without Athena."""


cli.add_command(query)
cli.add_command(generate)
cli.add_command(demo)
cli.add_command(cache)
cli.add_command(config)
cli.add_command(ingest)
cli.add_command(compact)
cli.add_command(lake)
cli.add_command(queries)
cli.add_command(report)
cli.add_command(alert)
cli.add_command(schedule)
cli.add_command(tables)
cli.add_command(serve)
cli.add_command(verify)
cli.add_command(enrich)
cli.add_command(timeline)


def main() -> None:
    """Entry point: errors of trailsql print one line and exit with their code."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except TrailsqlError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(error.exit_code)
    except (_Interrupted, KeyboardInterrupt):  # Ctrl-C: the engine's query is cancelled; one line
        click.echo("interrupted", err=True)
        sys.exit(130)
    except _ReaderGone:  # quiet, as Unix tools are; nothing more may reach the closed pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
