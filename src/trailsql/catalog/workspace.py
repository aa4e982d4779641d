"""The workspace: a folder that keeps the catalog and settings between calls.

Layout::

    <workspace>/trailsql.toml   settings (TOML): [locations] maps s3:// prefixes to folders
    <workspace>/tables/<name>.sql  the DDL of each table created, replayed on open

Without a folder the workspace lives in memory for one connection.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from trailsql.catalog.table import Table
from trailsql.errors import CatalogError, NotSupportedError

CONFIG_FILE = "trailsql.toml"


class Workspace:
    """Tables created by DDL and the location maps, optionally kept in a folder."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.config: dict[str, Any] = {}
        self.tables: dict[str, Table] = {}
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            config_path = self.folder / CONFIG_FILE
            if config_path.exists():
                with config_path.open("rb") as fh:
                    self.config = tomllib.load(fh)

    @property
    def location_maps(self) -> dict[str, str]:
        """``s3://`` prefixes and the local folders that hold their objects."""
        return dict(self.config.get("locations", {}))

    def add_location_map(self, prefix: str, folder: str) -> None:
        """Map an ``s3://`` prefix to a local folder, and keep it in the workspace."""
        if not prefix.startswith("s3://"):
            raise CatalogError(f"--location-map wants s3://PREFIX=PATH, got {prefix}")
        self.config.setdefault("locations", {})[prefix.rstrip("/")] = str(Path(folder).resolve())
        self._save_config()

    def resolve(self, uri: str) -> str:
        """The local path of a table location (longest mapped prefix wins)."""
        if not uri.startswith("s3://"):
            return uri
        for prefix in sorted(self.location_maps, key=len, reverse=True):
            if uri == prefix or uri.startswith(prefix + "/"):
                return self.location_maps[prefix] + uri[len(prefix) :]
        raise NotSupportedError(
            f"reading {uri} from S3 (map it to a local folder with --location-map s3://PREFIX=PATH)"
        )

    def save_table(self, table: Table) -> None:
        self.tables[table.name] = table
        if self.folder is not None and table.ddl is not None:
            folder = self.folder / "tables"
            folder.mkdir(exist_ok=True)
            _atomic_write(folder / f"{table.name}.sql", table.ddl)

    def drop_table(self, name: str) -> None:
        self.tables.pop(name, None)
        if self.folder is not None:
            (self.folder / "tables" / f"{name}.sql").unlink(missing_ok=True)

    def stored_ddl(self) -> list[str]:
        """The DDL of the tables kept in the folder, to replay when the workspace opens."""
        if self.folder is None or not (self.folder / "tables").is_dir():
            return []
        return [p.read_text() for p in sorted((self.folder / "tables").glob("*.sql"))]

    def _save_config(self) -> None:
        if self.folder is not None:
            _atomic_write(self.folder / CONFIG_FILE, tomli_w.dumps(self.config))


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
