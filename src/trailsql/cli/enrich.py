"""``trailsql enrich``: the data of ``ip_info`` (AWS's IP ranges, ``.mmdb`` databases).

``update`` downloads AWS's ``ip-ranges.json`` to the workspace's ranges file (``[enrich]
ip_ranges``, else ``<workspace>/enrich/ip-ranges.json``); ``status`` says what a query would
load; ``lookup`` classifies addresses as ``ip_info`` does.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from trailsql.catalog.workspace import CONFIG_FILE, WORKSPACE_ENV, Workspace, find_workspace
from trailsql.enrich import EnrichSources, enricher_for
from trailsql.enrich.update import download
from trailsql.errors import UsageError

_WORKSPACE = click.option(
    "--workspace",
    type=click.Path(file_okay=False),
    help=f"Workspace folder (else ${WORKSPACE_ENV}, else a {CONFIG_FILE} up from here).",
)


def _sources(workspace: str | None) -> tuple[Workspace | None, EnrichSources]:
    folder, _ = find_workspace(workspace)
    found = Workspace(folder) if folder is not None else None
    return found, found.enrich_sources if found is not None else Workspace().enrich_sources


@click.group()
def enrich() -> None:
    """The data of ip_info(address): AWS's IP ranges and MaxMind/IPinfo databases."""


@enrich.command()
@_WORKSPACE
@click.option("--url", help="Where to download from (default: [enrich] ip_ranges_url, else AWS's ip-ranges.json).")
def update(workspace: str | None, url: str | None) -> None:
    """Download AWS's ip-ranges.json into the workspace (replacing the old file only once it is whole)."""
    found, sources = _sources(workspace)
    if found is None or sources.ip_ranges is None:
        raise UsageError(f"no workspace to keep the ranges in: give --workspace (or ${WORKSPACE_ENV})")
    ranges = download(url or sources.url, Path(sources.ip_ranges))
    click.echo(
        f"{ranges.path}: syncToken {ranges.sync_token}, created {ranges.create_date},"
        f" {ranges.ipv4_count} IPv4 and {ranges.ipv6_count} IPv6 prefixes"
    )


def status_of(sources: EnrichSources) -> dict[str, Any]:
    """What ``ip_info`` would load from ``sources``: the ranges' publication and counts, each
    database's metadata (a missing or bad file fails, naming it)."""
    enricher = enricher_for(sources)
    ranges = enricher.ranges
    return {
        "ip_ranges": None
        if ranges is None
        else {
            "path": ranges.path,
            "syncToken": ranges.sync_token,
            "createDate": ranges.create_date,
            "ipv4_prefixes": ranges.ipv4_count,
            "ipv6_prefixes": ranges.ipv6_count,
        },
        "ip_ranges_expected_at": sources.ip_ranges if ranges is None else None,
        "mmdb": enricher.geo.describe() if enricher.geo is not None else [],
    }


@enrich.command()
@_WORKSPACE
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def status(workspace: str | None, fmt: str) -> None:
    """Say what ip_info loads: the AWS ranges (syncToken, createDate, counts) and each .mmdb's metadata."""
    _, sources = _sources(workspace)
    found = status_of(sources)
    if fmt == "json":
        click.echo(json.dumps(found, indent=2))
        return
    ranges = found["ip_ranges"]
    if ranges is None:
        where = found["ip_ranges_expected_at"]
        click.echo(
            "AWS IP ranges: none"
            + (f" (none at {where}: run `trailsql enrich update`)" if where else " (no workspace)")
            + "; the kind 'aws' and aws_region, aws_service, network are NULL"
        )
    else:
        click.echo(
            f"AWS IP ranges: {ranges['path']}: syncToken {ranges['syncToken']}, created {ranges['createDate']},"
            f" {ranges['ipv4_prefixes']} IPv4 and {ranges['ipv6_prefixes']} IPv6 prefixes"
        )
    if not found["mmdb"]:
        click.echo("MaxMind DB: none ([enrich] mmdb); country, asn and as_org are NULL")
    for db in found["mmdb"]:
        click.echo(
            f"MaxMind DB: {db['path']}: {db['database_type']}, built {db['build_time']},"
            f" IPv{db['ip_version']}, {db['node_count']} nodes"
        )


@enrich.command()
@_WORKSPACE
@click.argument("addresses", nargs=-1, required=True)
def lookup(workspace: str | None, addresses: tuple[str, ...]) -> None:
    """Print ip_info of each ADDRESS (as JSON lines), with the workspace's data."""
    _, sources = _sources(workspace)
    enricher = enricher_for(sources)
    for address in addresses:
        click.echo(json.dumps({"address": address, **asdict(enricher.classify(address))}))
