"""``trailsql config show``: the effective settings, and where each came from."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from trailsql import engines
from trailsql.catalog.workspace import CONFIG_FILE, WORKSPACE_ENV, Workspace, find_workspace


@click.group()
def config() -> None:
    """The workspace's settings."""


@config.command()
@click.option(
    "--workspace",
    type=click.Path(file_okay=False),
    help=f"Workspace folder (else ${WORKSPACE_ENV}, else a {CONFIG_FILE} up from here).",
)
@click.option("--logs", help="Logs given on the command line (shown as they would be used).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show(workspace: str | None, logs: str | None, fmt: str) -> None:
    """Print the effective settings: the workspace and how it was found, the logs of
    cloudtrail_logs and where they come from, location maps, S3, library folders, the data of
    ip_info ([enrich]), channels, jobs and suppressions."""
    folder, found_by = find_workspace(workspace)
    settings = effective(Workspace(folder) if folder is not None else None, logs, found_by)
    if fmt == "json":
        click.echo(json.dumps(settings, indent=2, default=str))
        return
    for name, value in settings.items():
        if isinstance(value, dict):
            click.echo(f"{name}:" + ("" if value else " none"))
            for key, item in value.items():
                click.echo(f"  {key} = {item}")
        else:
            click.echo(f"{name}: {value}")


def effective(workspace: Workspace | None, logs: str | None, found_by: str) -> dict[str, Any]:
    """The settings a command would use, each with its origin where it has one."""
    remembered = workspace.default_logs if workspace is not None else None
    origin = "--logs" if logs else f"[logs] default in {CONFIG_FILE}" if remembered else "not set"
    config = workspace.config if workspace is not None else {}
    return {
        "workspace": f"{workspace.folder} ({found_by})" if workspace is not None else "none",
        "logs": f"{logs or remembered} ({origin})" if (logs or remembered) else "not set: give --logs PATH",
        "engine": (workspace.engine_name if workspace is not None else None) or engines.DEFAULT,
        "location maps": dict(config.get("locations", {})),
        "event data stores": ", ".join(config.get("cloudtrail_lake", {}).get("event_data_stores", [])) or "none",
        "s3": dict(config.get("s3", {})),
        "library paths": ", ".join(str(p) for p in workspace.library_paths)
        if workspace is not None and workspace.library_paths
        else "none",
        "enrich": _enrich(workspace),
        "channels": {name: table.get("type", "?") for name, table in config.get("channels", {}).items()},
        "jobs": {name: table.get("cron", "?") for name, table in config.get("jobs", {}).items()},
        "suppressions": {
            name: f"{table.get('reason', '')}" + (f" (expires {table['expires']})" if table.get("expires") else "")
            for name, table in config.get("suppress", {}).items()
        },
    }


def _enrich(workspace: Workspace | None) -> dict[str, str]:
    """The files ip_info reads ([enrich]), each said to be there or not."""
    sources = (workspace or Workspace()).enrich_sources

    def shown(path: str) -> str:
        return path + ("" if os.path.exists(path) else " (missing)")

    return {
        "ip_ranges": shown(sources.ip_ranges) if sources.ip_ranges else "none (no workspace)",
        "mmdb": ", ".join(shown(p) for p in sources.mmdb) or "none",
    }
