"""Planning: from one parsed Athena query to a plan, without reading a file or the network.

Each reference to a CloudTrail table is replaced by a named :class:`Scan`: the table, the
columns the query reads of it, and the predicates that filter that reference, from which
the listing stage (:mod:`trailsql.sources.listing`) decides which partitions' files to
read (see :mod:`trailsql.sql.pruning`). The plan's query stays a sqlglot tree in Trino's
dialect: each engine turns it into what it runs (DuckDB: :mod:`trailsql.engines.duckdb`).
"""

from __future__ import annotations

import difflib
import functools
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import sqlglot
from sqlglot import exp

from trailsql.catalog.table import Table
from trailsql.errors import CatalogError, NotSupportedError
from trailsql.library.window import Window
from trailsql.schema import PATH_COLUMN, RECORD_COLUMN, HiveType, Struct
from trailsql.sql.parse import parse_one, run_deep
from trailsql.sql.pruning import Pruner, applicable_predicate, decimal_or_text

_scan_ids = itertools.count(1)

FieldPath = tuple[str, ...]
"""Field names from a struct column down to a nested field, as the table declares them."""


@dataclass(frozen=True, eq=False)
class Scan:
    """One table reference of a query: the name it has in the plan's tree and what it reads.

    ``columns`` are the data columns the query names, ``partitions`` the partition
    columns, ``path`` whether it reads ``"$path"`` and ``record`` whether it reads the
    event's JSON text (``"$record"``); nothing else is extracted. ``predicate`` is what
    filters this reference (its conjuncts on its own columns), from which
    :meth:`allows` decides which partitions may hold its rows.
    """

    name: str
    table: Table
    columns: tuple[str, ...]
    partitions: tuple[str, ...]
    path: bool
    record: bool = False
    predicate: exp.Expr | None = None
    #: The names a column of this reference may be qualified with (its table's name and alias).
    qualifiers: frozenset[str] = frozenset()
    #: Struct columns the query reads only through fields the table declares, and their paths
    #: (see :func:`fields_only`).
    fields_only: Mapping[str, frozenset[FieldPath]] = field(default_factory=dict)

    def allows(self, values: Mapping[str, str | None]) -> bool:
        """Whether a partition with these (text) values may hold rows the query wants; values
        are compared as the partition columns' declared types.

        >>> from trailsql.catalog.table import default_table
        >>> where = parse_one("SELECT 1 FROM t WHERE day > '10'").args["where"].this
        >>> scan = Scan("s", default_table("/logs"), (), ("day",), False, predicate=where, qualifiers=frozenset({"t"}))
        >>> [scan.allows({"day": day}) for day in ("09", "11")]
        [False, True]
        """
        types = self._partition_types
        typed = {k: (decimal_or_text(v, types.get(k, "STRING")) if v is not None else None) for k, v in values.items()}
        return self._pruner.may_match(typed)

    @functools.cached_property
    def _partition_types(self) -> dict[str, str]:
        return {name.lower(): typ for name, typ in self.table.partitions}

    @functools.cached_property
    def _pruner(self) -> Pruner:
        return Pruner(self.predicate, set(self.table.partition_names), set(self.qualifiers))


@dataclass(frozen=True)
class Plan:
    """A query in Trino's dialect whose CloudTrail table references name :attr:`scans`."""

    tree: exp.Expr
    scans: tuple[Scan, ...]

    def scan(self, name: str) -> Scan:
        return next(s for s in self.scans if s.name == name)


class Catalog(Protocol):
    """What the planner needs to know of tables and views (metadata only: no file is read)."""

    def table(self, name: str) -> Table | None: ...

    def view(self, name: str) -> str | None: ...

    def names(self) -> list[str]:
        """Every table and view name a query may use (for "did you mean")."""
        ...


#: Views that name views: how deep before we call it a cycle.
_MAX_VIEW_DEPTH = 16


def _cte_names(statement: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}


def _referenced_names(statement: exp.Expr) -> set[str]:
    """Every identifier in the query, lower-cased: the columns it may read."""
    return {ident.name.lower() for ident in statement.find_all(exp.Identifier)}


def _reads_all_columns(statement: exp.Expr) -> bool:
    """``SELECT *`` or ``t.*`` somewhere (``count(*)`` reads no column)."""
    return any(isinstance(star.parent, (exp.Select, exp.Column)) for star in statement.find_all(exp.Star))


def _base_refs(tree: exp.Expr) -> list[exp.Table]:
    """Table references that are neither CTEs nor table functions."""
    ctes = _cte_names(tree)
    return [
        ref
        for ref in tree.find_all(exp.Table)
        if ref.name and not isinstance(ref.this, exp.Func) and (ref.args.get("db") or ref.name.lower() not in ctes)
    ]


def restrict_to_window(tree: exp.Expr, catalog: Catalog, window: Window) -> exp.Expr:
    """Each reference to a CloudTrail table (one with an ``eventtime`` column) replaced by its
    rows in ``window``: ``--since``/``--until`` of ``trailsql query``. The predicate is the
    library's (:meth:`Window.predicate`): on ``eventtime`` and, where the table has them, on
    the ``year``/``month``/``day`` partitions, so pruning opens only the window's folders.

    >>> class C:
    ...     def table(self, name):
    ...         from trailsql.catalog.table import default_table
    ...         return default_table("/logs")
    >>> import datetime as dt
    >>> w = Window(dt.datetime(2025, 2, 12, tzinfo=dt.UTC), dt.datetime(2025, 2, 13, tzinfo=dt.UTC))
    >>> restrict_to_window(parse_one("SELECT count(*) FROM cloudtrail_logs"), C(), w).sql("athena")[:76]
    "SELECT COUNT(*) FROM (SELECT * FROM cloudtrail_logs WHERE ((year = '2025' AN"
    """
    named = {c.name.lower() for c in tree.find_all(exp.Column)}
    pseudo = [exp.column(exp.to_identifier(c, quoted=True)) for c in (PATH_COLUMN, RECORD_COLUMN) if c in named]
    for ref in _base_refs(tree):
        table = catalog.table(ref.name.lower())
        columns = {name.lower() for name, _ in table.columns} if table is not None else set()
        if table is None or "eventtime" not in columns:
            continue
        partitioned = {"year", "month", "day"} <= set(table.partition_names)
        predicate = window.predicate() if partitioned else window.event_predicate()
        source = exp.Table(this=ref.this.copy(), db=ref.args["db"].copy() if ref.args.get("db") else None)
        inner = exp.select(exp.Star(), *pseudo).from_(source).where(sqlglot.condition(predicate, dialect="athena"))
        ref.replace(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(ref.alias or ref.name))))
    return tree


def expand_views(tree: exp.Expr, catalog: Catalog) -> exp.Expr:
    """Each reference to a view replaced by the view's query, as a subquery."""
    for _ in range(_MAX_VIEW_DEPTH):
        views = [(ref, catalog.view(ref.name.lower())) for ref in _base_refs(tree)]
        views = [(ref, sql) for ref, sql in views if sql is not None and catalog.table(ref.name.lower()) is None]
        if not views:
            return tree
        for ref, sql in views:
            query = parse_one(sql or "")
            ref.replace(exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(ref.alias or ref.name))))
    raise CatalogError(f"views nest deeper than {_MAX_VIEW_DEPTH} levels (a view that names itself?)")


#: What to do when the default table is not there: it is defined by the logs' location.
_DEFAULT_TABLE_HINT = (
    ": give the logs with --logs PATH (a folder or a file of CloudTrail logs, or s3://bucket/prefix),"
    " or a workspace that remembers them ([logs] default in its trailsql.toml)"
)


def _table_hint(name: str, catalog: Catalog) -> str:
    """What to say after TABLE_NOT_FOUND: the closest names, or how to give the logs.

    >>> class C:
    ...     def names(self): return ["cloudtrail_logs", "vpc_flow"]
    >>> _table_hint("cloudtrail_log", C())  # doctest: +ELLIPSIS
    '; did you mean `cloudtrail_logs`?'
    """
    if name.lower() == "cloudtrail_logs":
        return _DEFAULT_TABLE_HINT
    close = difflib.get_close_matches(name.lower(), catalog.names(), n=3, cutoff=0.75)
    return "; did you mean " + " or ".join(f"`{c}`" for c in close) + "?" if close else ""


#: DuckDB functions that read files, run SQL text, or show the engine's settings and catalog.
#: Trino has none of these names; only trailsql's own scans may reach DuckDB's file access.
_ENGINE_FUNCTIONS = re.compile(
    r"(read_\w*|parquet_\w*|duckdb_\w*|pragma_\w*|iceberg_\w*|delta_\w*|sqlite_\w*|postgres_\w*|mysql_\w*"
    r"|glob|query|query_table|sniff_csv|current_setting|getenv|getvariable|which_secret|load_aws_credentials"
    r"|json_execute_serialized_sql|json_serialize_sql|json_deserialize_sql|checkpoint|force_checkpoint"
    r"|enable_\w*|disable_\w*|install_\w*|load_\w*|current_schemas?|current_database|error"
    # the SQL text and catalog of the engine's own run (the scans' views and their files), its
    # grammar and resources, its statistics and Postgres-compatibility catalog functions:
    r"|sql_auto_complete|current_query(?:_id)?|pg_\w*|has_\w*_privilege|(?:col|obj|shobj)_description"
    r"|in_search_path|\w*_external_resources?(?:_type)?|\w*_grammar_extension|truncate_duckdb_logs"
    r"|extension_versions|database_size|database_list|user_agent|stats|add_parquet_key|copy_database"
    r"|import_database|test_\w*_types|summary|seq_scan|arrow_scan\w*|pandas_scan|python_\w*"
    r"|__trailsql_\w*)"  # (the engine's own: its tally of the files a scan read)
)


def _function_name(node: exp.Func) -> str:
    """The name a call is written with: an unknown function's own, else sqlglot's for its class."""
    return node.name if isinstance(node, exp.Anonymous) else node.sql_name()


def refuse_engine_access(tree: exp.Expr) -> None:
    """User SQL (and the views and library queries it expands to) may not reach DuckDB's files.

    A function in FROM is a table function (``read_text('/proc/self/environ')``); Athena's FROM
    takes tables, views, subqueries and UNNEST only, so every one is refused. Scalar calls of
    DuckDB's file, SQL-text and settings functions are refused by name. A table named as a WITH
    query but outside that query's scope (``FROM "/logs/x.csv", (WITH "/logs/x.csv" AS ...)``)
    is refused too: the planner leaves it alone as the WITH query's, DuckDB would scan the file.

    >>> refuse_engine_access(parse_one("SELECT * FROM read_csv('/etc/shadow')"))
    Traceback (most recent call last):
    ...
    trailsql.errors.NotSupportedError: not supported: table function READ_CSV in FROM (Athena reads tables, views and UNNEST)
    """
    ctes = _cte_names(tree)
    for ref in tree.find_all(exp.Table):
        if isinstance(ref.this, exp.Func):
            name = _function_name(ref.this)
            raise NotSupportedError(f"table function {name} in FROM (Athena reads tables, views and UNNEST)")
        if not ref.args.get("db") and ref.name.lower() in ctes and not _cte_in_scope(ref):
            # (the planner takes it for the WITH query and leaves it alone, and DuckDB would read a
            # name such as "/logs/secret.csv" out of that query's scope as a file)
            raise NotSupportedError(f"table {ref.name} named as a WITH query outside that query's scope")
    for call in tree.find_all(exp.Func):
        name = _function_name(call)
        if _ENGINE_FUNCTIONS.fullmatch(name.lower()):
            raise NotSupportedError(f"function {name}: not a Trino function")


def _cte_in_scope(ref: exp.Table) -> bool:
    """Whether a table reference names a WITH query it can see: one of an enclosing query's,
    before the one it is in (Trino's WITH sees only the queries before it; RECURSIVE is refused).

    >>> tree = parse_one("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a, b")
    >>> [(ref.name, _cte_in_scope(ref)) for ref in tree.find_all(exp.Table)]
    [('a', True), ('b', True), ('b', False)]
    """
    name = ref.name.lower()
    held: exp.Expr | None = None
    child: exp.Expr = ref
    node = ref.parent
    while node is not None:
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            ctes = list(with_.expressions)
            if child is with_ and not with_.args.get("recursive"):  # (in a WITH query: those before it)
                ctes = ctes[: next(i for i, cte in enumerate(ctes) if cte is held)]
            if any(cte.alias_or_name.lower() == name for cte in ctes):
                return True
        held, child, node = child, node, node.parent
    return False


def plan_query(statement: exp.Expr, catalog: Catalog) -> Plan:
    """The plan for a query over the tables and views of ``catalog``, made in a thread deep
    enough for a deeply nested query (see :func:`trailsql.sql.parse.run_deep`)."""
    return run_deep(lambda: _plan_query(statement, catalog))


def _plan_query(statement: exp.Expr, catalog: Catalog) -> Plan:
    """:func:`plan_query`."""
    tree = expand_views(statement.copy(), catalog)
    refuse_engine_access(tree)
    refuse_select_aliases_in_filters(tree, catalog)
    names = _referenced_names(tree)
    read_all = _reads_all_columns(tree)
    scans: list[Scan] = []
    databases: dict[str, str] = {}
    for ref in _base_refs(tree):
        table = catalog.table(ref.name.lower())
        if table is None:
            raise CatalogError(f"TABLE_NOT_FOUND: Table '{ref.name}' does not exist{_table_hint(ref.name, catalog)}")
        alias = ref.alias or ref.name
        if ref.args.get("db") and not ref.alias:
            databases[alias.lower()] = ref.db.lower()
        fields = {} if read_all else fields_only(tree, table)
        scan = Scan(
            name=f"__trailsql_scan_{next(_scan_ids)}",
            table=table,
            columns=tuple(n for n, _ in table.columns if read_all or n.lower() in names),
            partitions=tuple(p for p in table.partition_names if read_all or p in names),
            path=read_all or PATH_COLUMN in names,
            record=RECORD_COLUMN in names,
            predicate=applicable_predicate(ref),
            qualifiers=frozenset({alias, ref.name}),
            fields_only={column: frozenset(paths) for column, paths in fields.items()},
        )
        scans.append(scan)
        ref.replace(
            exp.Table(
                this=exp.to_identifier(scan.name, quoted=True), alias=exp.TableAlias(this=exp.to_identifier(alias))
            )
        )
    _drop_database_qualifiers(tree, databases)
    name_unnamed_columns(tree)
    return Plan(tree, tuple(scans))


def fields_only(tree: exp.Expr, table: Table) -> dict[str, set[FieldPath]]:
    """The struct columns of ``table`` that ``tree`` reads only through fields the table declares,
    each with the paths of those fields (as the table declares their names).

    A source with more fields (the lake) can then give such a column as a struct of just those
    fields, which reads no other nested field (a cast to the declared type would read them all).

    >>> from trailsql.catalog.table import default_table
    >>> tree = parse_one("SELECT useridentity.arn, userIdentity.sessionContext.attributes FROM t WHERE tlsdetails IS NULL")
    >>> {column: sorted(paths) for column, paths in fields_only(tree, default_table("/l")).items()}
    {'useridentity': [('arn',), ('sessionContext', 'attributes')]}
    """
    types = {name.lower(): typ for name, typ in table.columns}
    structs = {name for name, typ in types.items() if isinstance(typ, Struct)}
    found: dict[str, set[FieldPath]] = {}
    bare: set[str] = set()
    for column in tree.find_all(exp.Column):
        parts = [part.name for part in column.parts]
        at = next((i for i, part in enumerate(parts) if part.lower() in structs), None)
        if at is None:
            continue
        name = parts[at].lower()
        path: list[str] = parts[at + 1 :]
        node: exp.Expr = column
        while isinstance(node.parent, exp.Dot) and node.parent.this is node:
            node = node.parent
            path.append(node.expression.name)
        declared = _declared_path(types[name], path) if path else None
        if declared is None:
            bare.add(name)
        else:
            found.setdefault(name, set()).add(declared)
    return {name: paths for name, paths in found.items() if name not in bare}


def _declared_path(typ: HiveType, path: list[str]) -> FieldPath | None:
    """``path`` as ``typ`` names its fields, or None if a field is not declared."""
    names = []
    for name in path:
        if not isinstance(typ, Struct):
            return None
        declared = typ.field(name)
        if declared is None:
            return None
        names.append(declared[0])
        typ = declared[1]
    return tuple(names)


def name_unnamed_columns(tree: exp.Expr) -> None:
    """Result columns that are neither named nor columns are ``_col0``, ``_col1``... as in Athena.

    >>> tree = parse_one("SELECT eventname, count(*), 1 AS one FROM t")
    >>> name_unnamed_columns(tree); tree.sql()
    'SELECT eventname, COUNT(*) AS _col1, 1 AS one FROM t'
    """
    select = tree
    while isinstance(select, (exp.SetOperation, exp.Subquery)):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    for index, expression in enumerate(select.expressions):
        if isinstance(expression, exp.Dot) and isinstance(_dereferenced(expression), exp.Func):
            # a field of a call's row (ip_info(a).country) is named by the field, as in Trino
            expression.replace(exp.alias_(expression.copy(), expression.name))
        elif not isinstance(expression, (exp.Alias, exp.Column, exp.Star, exp.Dot)):
            expression.replace(exp.alias_(expression.copy(), f"_col{index}"))


def _dereferenced(node: exp.Expr) -> exp.Expr:
    """What a chain of field accesses starts from: ``f(x)`` of ``f(x).a.b``."""
    while isinstance(node, exp.Dot):
        node = node.this
    return node


def _source_columns(select: exp.Select, catalog: Catalog, ctes: dict[str, exp.Query]) -> set[str] | None:
    """The column names the FROM clause of ``select`` provides, or None if we cannot tell."""
    sources = [select.args["from_"].this] if select.args.get("from_") else []
    sources += [join.this for join in select.args.get("joins") or []]
    names: set[str] = set()
    for source in sources:
        alias = source.args.get("alias")
        if isinstance(alias, exp.TableAlias) and alias.columns:
            names |= {c.name.lower() for c in alias.columns}
        elif isinstance(source, exp.Table) and source.name.lower() in ctes:
            names |= {n.lower() for n in ctes[source.name.lower()].named_selects}
        elif isinstance(source, exp.Table) and (table := catalog.table(source.name.lower())) is not None:
            names |= {n.lower() for n, _ in table.columns} | set(table.partition_names) | {PATH_COLUMN, RECORD_COLUMN}
        elif isinstance(source, exp.Subquery) and isinstance(source.this, exp.Query) and not source.this.find(exp.Star):
            names |= {n.lower() for n in source.this.named_selects}
        else:
            return None
    return names


def refuse_select_aliases_in_filters(tree: exp.Expr, catalog: Catalog) -> None:
    """Trino resolves WHERE and HAVING against the FROM clause only, never SELECT aliases.

    DuckDB would quietly accept ``HAVING n > 10`` for ``count(*) AS n``; Athena answers
    ``COLUMN_NOT_FOUND``, and so do we.
    """
    ctes = {cte.alias_or_name.lower(): cte.this for cte in tree.find_all(exp.CTE) if isinstance(cte.this, exp.Query)}
    for select in tree.find_all(exp.Select):
        aliases = {e.alias.lower() for e in select.expressions if isinstance(e, exp.Alias)}
        clauses = [select.args.get(k) for k in ("where", "having") if select.args.get(k) is not None]
        if not aliases or not clauses:
            continue
        suspects = [
            column
            for clause in clauses
            if clause is not None
            for column in clause.find_all(exp.Column)
            if not column.table and column.name.lower() in aliases and column.find_ancestor(exp.Select) is select
        ]
        if not suspects:
            continue
        provided = _source_columns(select, catalog, ctes)
        for column in suspects:
            if provided is not None and column.name.lower() not in provided:
                raise CatalogError(
                    f"COLUMN_NOT_FOUND: Column '{column.name}' cannot be resolved (a SELECT alias is not visible in WHERE or HAVING)"
                )


def _drop_database_qualifiers(tree: exp.Expr, databases: dict[str, str]) -> None:
    """``"db"."t".col.field`` as ``t.col.field``: the scans that replace tables live in no database.

    ``databases`` maps each table alias (lower case) to the database it was named with.
    """
    for column in list(tree.find_all(exp.Column)):
        parts = column.parts
        if len(parts) >= 3 and databases.get(parts[1].name.lower()) == parts[0].name.lower():
            head: exp.Expr = exp.Column(this=parts[2], table=parts[1])
            for field in parts[3:]:
                head = exp.Dot(this=head, expression=field)
            column.replace(head)
