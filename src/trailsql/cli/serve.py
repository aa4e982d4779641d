"""``trailsql serve``: the Amazon Athena API over the workspace (see :mod:`trailsql.serve`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from trailsql.catalog.workspace import Workspace, find_workspace
from trailsql.cli.query import open_session, session_options
from trailsql.errors import UsageError
from trailsql.serve.credentials import CREDENTIALS_FILE, PROFILE, load_keys
from trailsql.serve.server import DEFAULT_PORT, Listen, Server


def _share_of_memory(concurrency: int) -> str | None:
    """80% of the machine's memory shared among the workers (None where it cannot be read)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    return f"{max(int(total * 0.8 / concurrency) >> 20, 256)}MB"


@click.command()
@session_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True, help="0 picks a free port."
)
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help="Serve HTTPS with this certificate.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), help="The certificate's private key.")
@click.option("--insecure-http", is_flag=True, help="Allow plain HTTP on a non-loopback --host.")
@click.option(
    "--concurrency", type=click.IntRange(1, 64), default=2, show_default=True, help="Queries run at the same time."
)
@click.option(
    "--queue-limit", type=click.IntRange(1), default=100, show_default=True, help="Queries waiting before refusal."
)
def serve(
    host: str,
    port: int,
    tls_cert: str | None,
    tls_key: str | None,
    insecure_http: bool,
    concurrency: int,
    queue_limit: int,
    **options: Any,
) -> None:
    """Serve the Amazon Athena API over the workspace's tables.

    Point boto3, the AWS CLI, PyAthena or awswrangler at it with
    AWS_ENDPOINT_URL_ATHENA=http://127.0.0.1:8450 (and AWS_ENDPOINT_URL_S3, the same URL,
    for clients that read result files). Requests must be signed by the server's key:
    [serve] in trailsql.toml, $TRAILSQL_SERVE_ACCESS_KEY_ID, or the pair generated into
    WS/serve-credentials on first start (profile trailsql). The SQL is always locked down
    (as --safe): see docs/serve.md.
    """
    listen = Listen(host, port, tls_cert, tls_key, insecure_http)
    listen.check()
    folder, _ = find_workspace(options["workspace"])
    if folder is None:
        raise UsageError("trailsql serve needs a workspace: --workspace WS (it keeps executions and results)")
    options = {**options, "workspace": folder, "safe": True}
    # Each worker's engine has its own memory limit: DuckDB's default (80% of the machine) each
    # would let `concurrency` queries ask for more than there is.
    options["memory_limit"] = options["memory_limit"] or _share_of_memory(concurrency)
    workspace = Workspace(folder)
    keys = load_keys(Path(folder), workspace.serve_config)
    open_session(**options).close()  # (the settings checked, and --logs remembered, before serving)
    options["logs"] = None if options["logs"] is None else str(Path(options["logs"]).resolve())
    server = Server.build(
        Path(folder),
        lambda: open_session(**options),
        keys,
        workspace.serve_config,
        concurrency=concurrency,
        queue_limit=queue_limit,
    )

    def on_listening(url: str) -> None:
        click.echo(f"listening on {url}", err=True)
        if keys.generated:
            (key_id, secret), *_ = keys.secrets.items()
            click.echo(f"generated a key for this server: {key_id} / {secret}", err=True)
            if not keys.source.startswith("generated"):
                click.echo(
                    f"  kept in {keys.source}: AWS_SHARED_CREDENTIALS_FILE={Path(folder) / CREDENTIALS_FILE} "
                    f"AWS_PROFILE={PROFILE}",
                    err=True,
                )
        else:
            click.echo(f"keys from {keys.source}", err=True)
        click.echo(f"console: {url}/?token={server.token}", err=True)

    server.run(listen, on_listening)
