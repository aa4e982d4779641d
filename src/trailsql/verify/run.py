"""One validation run over a location, as ``trailsql verify`` and ``trailsql ingest --verify``
make it: the store of the logs (a folder, or an ``s3://`` prefix reached with the workspace's
``[s3]`` settings) and the public keys (a file, or ``ListPublicKeys`` kept in the workspace).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from trailsql.catalog.workspace import Workspace
from trailsql.errors import UsageError
from trailsql.sources.s3 import S3Options, S3Source
from trailsql.verify.digests import load_public_keys
from trailsql.verify.keys import CachedKeys, FixedKeys, KeySource, cloudtrail_client
from trailsql.verify.s3store import S3Store
from trailsql.verify.store import LocalStore
from trailsql.verify.validate import Report, validate

#: Where a workspace keeps the public keys fetched, one file per region.
KEYS_FOLDER = Path("verify", "public-keys")


def key_source(workspace: Workspace, offline: bool, public_keys: Path | None = None) -> KeySource:
    """The keys of ``public_keys`` (a file as ``aws cloudtrail list-public-keys`` prints it),
    else those ``ListPublicKeys`` gives (with the ``[s3]`` profile), kept in the workspace."""
    if public_keys is not None:
        try:
            return FixedKeys(load_public_keys(public_keys))
        except ValueError as error:
            raise UsageError(str(error)) from None
    folder = None if workspace.folder is None else workspace.folder / KEYS_FOLDER
    profile = S3Options.from_config(workspace.s3_config).profile
    return CachedKeys(folder, offline, cloudtrail_client(profile))


def verify_logs(
    logs: str,
    workspace: Workspace,
    *,
    offline: bool = False,
    public_keys: Path | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Report:
    """Validate the logs of ``logs`` (a folder or an ``s3://`` URI)."""
    keys = key_source(workspace, offline, public_keys)
    if not logs.startswith("s3://"):
        if not Path(logs).is_dir():
            raise UsageError(f"--logs: no such folder: {logs}")
        return validate(LocalStore(Path(logs)), keys, since, until)
    source = S3Source(S3Options.from_config(workspace.s3_config), strict=True)
    try:
        return validate(S3Store(source, logs, offline), keys, since, until)
    finally:
        source.close()


def verify_days(logs: str, workspace: Workspace, since: dt.date | None, until: dt.date | None) -> Report:
    """``trailsql ingest --verify``: validate the digests of the days ingested (all without
    ``since``/``until``), the public keys as the workspace keeps them or ``ListPublicKeys`` gives them."""
    if not logs.startswith("s3://") and not Path(logs).is_dir():
        raise UsageError(f"--verify validates a folder or an s3:// URI of logs, not the table {logs}")
    start = None if since is None else dt.datetime.combine(since, dt.time(), dt.UTC)
    end = None if until is None else dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
    return verify_logs(logs, workspace, since=start, until=end)
