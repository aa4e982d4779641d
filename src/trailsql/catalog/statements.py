"""Catalog statements: DDL and SHOW/DESCRIBE, answered from the workspace.

``CREATE EXTERNAL TABLE``, ``CREATE [OR REPLACE] VIEW``, ``DROP TABLE|VIEW``,
``ALTER TABLE ... ADD|DROP PARTITION``, ``MSCK REPAIR TABLE``, ``SHOW TABLES``,
``SHOW PARTITIONS``, ``SHOW CREATE TABLE|VIEW``, ``SHOW COLUMNS`` and ``DESCRIBE``.
sqlglot parses some of these only as generic commands; their text is read here.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

import pyarrow as pa
from sqlglot import exp

from trailsql import schema
from trailsql.catalog import projection
from trailsql.catalog.ddl import table_from_ddl
from trailsql.catalog.table import Table, partition_value
from trailsql.catalog.workspace import Partition, Workspace, identifier
from trailsql.errors import CatalogError, NotSupportedError


def message(text: str) -> pa.Table:
    """The one-row result of a statement that returns no rows."""
    return pa.table({"result": [text]})


def _rows(**columns: list[str]) -> pa.Table:
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def run(statement: exp.Expr, text: str, workspace: Workspace, default: Table | None = None) -> pa.Table | None:
    """The result of a catalog statement, or None when ``statement`` is not one. ``default`` is
    the table ``--logs`` defines: the statements that read the catalog (SHOW TABLES, DESCRIBE,
    SHOW COLUMNS, SHOW CREATE TABLE) see it too; those that change it do not."""
    if isinstance(statement, exp.Create):
        return _create(statement, text, workspace)
    if isinstance(statement, exp.Drop):
        return _drop(statement, workspace)
    if isinstance(statement, exp.Alter) and statement.kind == "TABLE":
        return _alter(statement, workspace)
    if isinstance(statement, exp.Describe):
        return _describe(_readable(workspace, _table_name(statement.this), default))
    if isinstance(statement, exp.Command):
        return _command(statement.name.upper(), _command_text(statement), text, workspace, default)
    return None


def load(statement: exp.Expr, text: str, workspace: Workspace) -> None:
    """A table's stored DDL back into ``workspace`` as it was created, writing nothing (opening
    a workspace must not change it: it may be read-only, or shared)."""
    if not (isinstance(statement, exp.Create) and isinstance(statement.this, exp.Schema)):
        raise CatalogError(f"a stored table's DDL is not CREATE TABLE: {text.strip()[:60]}")
    table = table_from_ddl(statement, text)
    workspace.tables[table.name] = table


def _table_name(node: exp.Expr) -> str:
    """The name of the table a parsed statement names, every part (``db.table``) checked to be
    an identifier before anything looks for it on disk."""
    parts = node.parts if isinstance(node, exp.Table) else [node]
    for part in parts:
        identifier(part.name)
    return identifier(node.name)


def _readable(workspace: Workspace, name: str, default: Table | None) -> Table:
    """A table a catalog-reading statement names: the workspace's, or the default table."""
    if default is not None and identifier(name) == default.name and name.lower() not in workspace.tables:
        return default
    return _existing(workspace, name)


def _existing(workspace: Workspace, name: str) -> Table:
    table = workspace.tables.get(identifier(name))
    if table is None:
        raise CatalogError(f"TABLE_NOT_FOUND: Table '{name}' does not exist")
    return table


def _create(statement: exp.Create, text: str, workspace: Workspace) -> pa.Table:
    kind = (statement.kind or "").upper()
    if kind == "TABLE":
        target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
        name = _table_name(target)
        if statement.args.get("exists") and name in workspace.tables:
            return message(f"table {name} exists")
        if not isinstance(statement.this, exp.Schema):
            raise NotSupportedError("CREATE TABLE AS SELECT (CTAS)")
        table = table_from_ddl(statement, text)
        workspace.resolve(table.location)  # (a location that leaves its mapped folder is refused)
        if table.projected:
            projection.validate(table)
        workspace.save_table(table)
        return message(f"table {table.name} created")
    if kind == "VIEW":
        name = _table_name(statement.this)
        query = statement.expression
        if name in workspace.views and not statement.args.get("replace"):
            raise CatalogError(f"View '{name}' already exists")
        if not isinstance(query, exp.Query):
            raise NotSupportedError(f"CREATE VIEW {name} without a query")
        workspace.save_view(name, query.sql("athena"))
        return message(f"view {name} created")
    raise NotSupportedError(f"CREATE {kind}")


def _drop(statement: exp.Drop, workspace: Workspace) -> pa.Table:
    kind = (statement.kind or "").upper()
    target = statement.this or (statement.args.get("tables") or [None])[0]
    if target is None:
        raise NotSupportedError(f"DROP {kind} without a name")
    name = _table_name(target)
    store = workspace.tables if kind == "TABLE" else workspace.views if kind == "VIEW" else None
    if store is None:
        raise NotSupportedError(f"DROP {kind}")
    if name not in store:
        if statement.args.get("exists"):
            return message(f"{kind.lower()} {name} does not exist")
        raise CatalogError(f"{kind.title()} '{name}' does not exist")
    (workspace.drop_table if kind == "TABLE" else workspace.drop_view)(name)
    return message(f"{kind.lower()} {name} dropped")


def _partition_values(spec: exp.Expr) -> tuple[tuple[str, str], ...]:
    values = []
    for eq in spec.expressions:
        if not isinstance(eq, exp.EQ):
            raise NotSupportedError(f"partition spec {eq.sql('athena')}")
        values.append((eq.this.name.lower(), partition_value(eq.this.name, eq.expression.name)))
    return tuple(values)


def _alter(statement: exp.Alter, workspace: Workspace) -> pa.Table:
    table = _existing(workspace, _table_name(statement.this))
    actions = statement.args.get("actions") or []
    if actions and all(isinstance(a, exp.AddPartition) for a in actions):
        specs = []
        for action in actions:
            location = action.args.get("location")
            specs.append((_partition_values(action.this), location.this.name if location is not None else None))
        return _add_partitions(table, specs, workspace)
    dropped = 0
    for action in actions:
        if not isinstance(action, exp.DropPartition):
            raise NotSupportedError(f"ALTER TABLE {action.key.upper()}")
        for spec in action.expressions:
            wanted = dict(_partition_values(spec))
            kept = [p for p in workspace.partitions.get(table.name, []) if not _matches(p, wanted)]
            dropped += len(workspace.partitions.get(table.name, [])) - len(kept)
            workspace.set_partitions(table.name, kept)
    return message(f"{dropped} partitions dropped from {table.name}")


def _matches(partition: Partition, wanted: dict[str, str]) -> bool:
    values = dict(partition.values)
    return all(values.get(k) == v for k, v in wanted.items())


def _command_text(statement: exp.Command) -> str:
    rest = statement.expression
    if isinstance(rest, exp.Expr):
        return (rest.name if isinstance(rest, exp.Literal) else rest.sql("athena")).strip()
    return str(rest or "").strip()


_PART = r"(?:`[^`]*`|\"[^\"]*\"|[^\s.`\"()]+)"
_NAME = rf"({_PART}(?:\.{_PART})*)"
_ADD = re.compile(rf"^TABLE\s+{_NAME}\s+ADD\s+(IF\s+NOT\s+EXISTS\s+)?(PARTITION.*)$", re.IGNORECASE | re.DOTALL)
_PARTITION = re.compile(r"PARTITION\s*\((.*?)\)\s*(?:LOCATION\s*'([^']*)')?", re.IGNORECASE | re.DOTALL)
_VALUE = re.compile(r"[`\"]?(\w+)[`\"]?\s*=\s*(?:'((?:[^']|'')*)'|\"([^\"]*)\"|([^,\s]+))")


def _bare(name: str) -> str:
    """The table name of a command's ``[db.]table``, every part checked to be an identifier.

    >>> _bare('mydb."Trail"')
    'trail'
    """
    if not re.fullmatch(_NAME, name.strip()):
        identifier(name.strip())
    parts = [part.strip('`"') for part in re.findall(_PART, name.strip())]
    for part in parts:
        identifier(part)
    return identifier(parts[-1])


def _name_after(words: str, rest: str) -> str:
    """The checked table name that follows the keywords ``words`` (a regex) in a command."""
    match = re.match(rf"{words}\s+({_PART}(?:\.{_PART})*)", rest, re.IGNORECASE)
    return _bare(match.group(1) if match else rest)


def _command(word: str, rest: str, text: str, workspace: Workspace, default: Table | None) -> pa.Table:
    if word == "ALTER":
        match = _ADD.match(rest)
        if not match:
            raise NotSupportedError(f"ALTER {rest[:60]}")
        specs = [(_spec_values(spec), location or None) for spec, location in _PARTITION.findall(match.group(3))]
        return _add_partitions(_existing(workspace, _bare(match.group(1))), specs, workspace)
    if word == "MSCK REPAIR" or (word == "MSCK" and rest.upper().startswith("REPAIR")):
        name = re.sub(r"^(REPAIR\s+)?TABLE\s+", "", rest, flags=re.IGNORECASE)
        return _repair(_existing(workspace, _bare(name)), workspace)
    if word == "SHOW":
        return _show(rest, workspace, default)
    raise NotSupportedError(f"statement {text.strip().split()[0].upper()} {rest.split()[0] if rest else ''}".strip())


def _spec_values(spec: str) -> tuple[tuple[str, str], ...]:
    """``region='us-east-1', year=2019`` as (column, value) pairs."""
    return tuple(
        (key.lower(), partition_value(key, quoted.replace("''", "'") if quoted or not (dq or bare) else dq or bare))
        for key, quoted, dq, bare in _VALUE.findall(spec)
    )


def _add_partitions(
    table: Table, specs: list[tuple[tuple[tuple[str, str], ...], str | None]], workspace: Workspace
) -> pa.Table:
    partitions = list(workspace.partitions.get(table.name, []))
    added = 0
    for values, location in specs:
        if [k for k, _ in values] != list(table.partition_names):
            raise CatalogError(
                f"partition spec {values} does not name the partition columns {list(table.partition_names)}"
            )
        if any(p.values == values for p in partitions):
            continue
        where = location or table.location.rstrip("/") + "".join(f"/{k}={v}" for k, v in values) + "/"
        workspace.resolve(where)  # (a location that leaves its mapped folder is refused)
        partitions.append(Partition(values, where))
        added += 1
    workspace.set_partitions(table.name, partitions)
    return message(f"{added} partitions added to {table.name}")


def _repair(table: Table, workspace: Workspace) -> pa.Table:
    """Hive's MSCK REPAIR: add the ``key=value`` folders found below the location."""
    root = Path(workspace.resolve(table.location))
    names = list(table.partition_names)
    found: list[Partition] = list(workspace.partitions.get(table.name, []))
    known = {p.values for p in found}
    added = 0
    for dirpath, dirnames, _ in os.walk(root):
        relative = Path(dirpath).relative_to(root).parts
        if len(relative) == len(names):
            dirnames[:] = []
            pairs = [part.split("=", 1) for part in relative]
            if all(len(p) == 2 and p[0].lower() == n for p, n in zip(pairs, names, strict=True)):
                values = tuple((n, p[1]) for p, n in zip(pairs, names, strict=True))
                if values not in known:
                    location = table.location.rstrip("/") + "/" + "/".join(relative) + "/"
                    found.append(Partition(values, location))
                    known.add(values)
                    added += 1
    workspace.set_partitions(table.name, found)
    return message(f"{added} partitions added to {table.name} (only key=value folders are found, as in Athena)")


def _show(rest: str, workspace: Workspace, default: Table | None) -> pa.Table:
    words = rest.split()
    head = words[0].upper() if words else ""
    if head == "TABLES":
        like = re.search(r"LIKE\s+'([^']*)'", rest, re.IGNORECASE)
        names = sorted({*workspace.tables, *([default.name] if default is not None else [])})
        if like:
            names = [n for n in names if fnmatch.fnmatch(n, like.group(1).replace("%", "*").lower())]
        return _rows(tab_name=names)
    if head == "VIEWS":
        return _rows(views=sorted(workspace.views))
    if head == "PARTITIONS" and len(words) > 1:
        table = _existing(workspace, _name_after("PARTITIONS", rest))
        return _rows(
            partition=["/".join(f"{k}={v}" for k, v in p.values) for p in workspace.partitions.get(table.name, [])]
        )
    if head == "CREATE" and len(words) > 2 and words[1].upper() in ("TABLE", "VIEW"):
        name = _name_after(r"CREATE\s+\w+", rest)
        if words[1].upper() == "VIEW":
            if name not in workspace.views:
                raise CatalogError(f"View '{name}' does not exist")
            return _rows(createstmt=[f"CREATE VIEW {name} AS\n{workspace.views[name]}"])
        table = _readable(workspace, name, default)
        return _rows(createtab_stmt=[table.ddl or ""])
    if head == "COLUMNS" and len(words) > 2:
        table = _readable(workspace, _name_after(r"COLUMNS\s+\w+", rest), default)
        return _rows(field=[n.lower() for n, _ in table.columns] + list(table.partition_names))
    raise NotSupportedError(f"SHOW {head}")


def _describe(table: Table) -> pa.Table:
    names = [n.lower() for n, _ in table.columns]
    types = [schema.athena_type(t) for _, t in table.columns]
    if table.partitions:
        names += ["", "# Partition Information", "# col_name", *table.partition_names]
        types += ["", "", "data_type", *(t.lower() for _, t in table.partitions)]
    return _rows(col_name=names, data_type=types, comment=[""] * len(names))
