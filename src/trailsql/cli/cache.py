"""``trailsql cache stats|clear``: the local cache of objects fetched from S3."""

from __future__ import annotations

import click
import orjson

from trailsql.catalog.workspace import Workspace
from trailsql.sources.cache import ObjectCache
from trailsql.sources.s3 import S3Options, S3Source


def _cache(workspace: str | None, cache_dir: str | None) -> ObjectCache:
    options = S3Options.from_config(Workspace(workspace).s3_config if workspace else {}, cache_dir=cache_dir)
    return S3Source(options).cache


_workspace = click.option("--workspace", type=click.Path(file_okay=False), help="Workspace whose [s3] settings apply.")
_cache_dir = click.option("--cache-dir", type=click.Path(file_okay=False), help="The cache's folder.")


@click.group()
def cache() -> None:
    """The local cache of objects fetched from S3."""


@cache.command()
@_workspace
@_cache_dir
def stats(workspace: str | None, cache_dir: str | None) -> None:
    """Print the cache's folder, objects, bytes and size cap as one JSON line."""
    found = _cache(workspace, cache_dir).stats()
    click.echo(orjson.dumps(found.__dict__).decode())


@cache.command()
@_workspace
@_cache_dir
def clear(workspace: str | None, cache_dir: str | None) -> None:
    """Remove every cached object."""
    removed = _cache(workspace, cache_dir).clear()
    click.echo(f"removed {removed} cached objects")
