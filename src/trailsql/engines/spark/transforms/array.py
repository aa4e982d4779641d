"""Arrays, maps and rows: subscripts, ``UNNEST`` and Trino's array predicates on Spark.

``a[i]`` fails out of bounds in both (ANSI mode; :mod:`..errors` gives Trino's message), but
``m[k]`` of a missing key is NULL on Spark where Trino fails, and sqlglot shifts an index to
Spark's 0-based one only when it is a literal. ``UNNEST`` becomes a lateral table function
in the same place of the ``FROM`` clause (``CROSS JOIN LATERAL explode(a) AS t(x)``), so
that it is in scope of a later ``JOIN ... ON`` (sqlglot's ``LATERAL VIEW`` is applied after
every join) and a ``LEFT JOIN ... ON TRUE`` keeps rows whose array is empty or NULL.
``any_match``, ``all_match`` and ``none_match`` are Spark's three-valued ``exists`` and
``forall``.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types

from trailsql.engines.duckdb.transforms.common import _call, _is_call
from trailsql.errors import NotSupportedError


def _shifted_by_sqlglot(index: exp.Expr) -> bool:
    """Whether sqlglot writes ``index`` 0-based for Spark: it shifted an integer literal when it
    parsed it, and shifts an index it types as an integer (``cardinality(a)``) when it writes it."""
    number = index.this if isinstance(index, exp.Neg) else index
    if isinstance(number, exp.Literal):
        return not number.is_string
    typed = annotate_types(index.copy(), dialect="athena").type
    return typed is not None and typed.is_type(*exp.DataType.INTEGER_TYPES)


def subscript(node: exp.Expr) -> exp.Expr:
    """``m[k]`` fails for a missing key (Spark: NULL). ``a[i]`` fails out of bounds in both, and
    sqlglot makes ``i`` 0-based where it knows ``i`` is an integer: a subscript by anything
    else (a column of unknown type: an array's index or a map's key?) is refused. A map with
    integer keys would be misread: CloudTrail's maps have string keys.

    >>> from sqlglot import parse_one
    >>> print(subscript(parse_one("SELECT m['k']", read="athena").expressions[0]).sql("spark"))
    CASE WHEN m IS NULL THEN NULL WHEN MAP_CONTAINS_KEY(m, 'k') THEN m['k'] ELSE RAISE_ERROR(CONCAT('Key not present in map: ', 'k')) END
    """
    if not isinstance(node, exp.Bracket) or node.args.get("safe") or len(node.expressions) != 1:
        return node
    (index,) = node.expressions
    if _shifted_by_sqlglot(index):
        return node
    if not (isinstance(index, exp.Literal) and index.is_string):
        raise NotSupportedError("a subscript by a value whose type is not known from the query, on the Spark engine")
    missing = _call(
        "raise_error", exp.Concat(expressions=[exp.Literal.string("Key not present in map: "), index.copy()])
    )
    return exp.Case(
        ifs=[
            exp.If(this=node.this.copy().is_(exp.null()), true=exp.null()),
            exp.If(this=_call("map_contains_key", node.this.copy(), index.copy()), true=node),
        ],
        default=missing,
    )


def contains_null(node: exp.Expr) -> exp.Expr:
    """``contains(a, NULL)`` is NULL; Spark refuses a NULL literal as ``array_contains``'s value.

    >>> from sqlglot import parse_one
    >>> contains_null(parse_one("contains(a, NULL)", read="athena")).sql("spark")
    'CAST(NULL AS BOOLEAN)'
    """
    if isinstance(node, exp.ArrayContains) and isinstance(node.expression, exp.Null):
        return exp.cast(exp.null(), exp.DataType.build("BOOLEAN"))
    return node


def match_functions(node: exp.Expr) -> exp.Expr:
    """``any_match``, ``all_match`` and ``none_match``, three-valued like Trino's, as Spark's
    ``exists`` and ``forall`` (also three-valued).

    >>> from sqlglot import parse_one
    >>> match_functions(parse_one("none_match(a, x -> x > 1)", read="athena")).sql("spark")
    'NOT EXISTS(a, x -> x > 1)'
    """
    if not _is_call(node, "any_match", "all_match", "none_match"):
        return node
    array, predicate = node.expressions
    name = node.name.lower()
    call = _call("forall" if name == "all_match" else "exists", array, predicate)
    return exp.Not(this=call) if name == "none_match" else call


def _columns(unnest: exp.Unnest) -> list[exp.Identifier]:
    alias = unnest.args.get("alias")
    columns = list(alias.columns) if isinstance(alias, exp.TableAlias) else []
    if not columns:
        raise NotSupportedError("UNNEST without column names on the Spark engine")
    return columns


def _generator(unnest: exp.Unnest, columns: list[exp.Identifier]) -> exp.Expr:
    """The Spark table function giving an UNNEST's rows, its columns in order."""
    arrays = [a.copy() for a in unnest.expressions]
    ordinality = unnest.args.get("offset")
    if len(arrays) > 1:
        if ordinality or len(columns) != len(arrays):
            raise NotSupportedError("UNNEST of several arrays of rows, or WITH ORDINALITY, on the Spark engine")
        return _call("inline", _call("arrays_zip", *arrays))
    (array,) = arrays
    if ordinality:
        if len(columns) != 1:
            raise NotSupportedError("UNNEST of an array of rows WITH ORDINALITY on the Spark engine")
        return _call("posexplode", array)
    if len(columns) == 1 or isinstance(array, exp.Map):
        return _call("explode", array)
    return _call("inline", array)


def _relation(unnest: exp.Unnest) -> tuple[exp.Expr, exp.TableAlias]:
    """An UNNEST as a Spark relation and its alias: ``explode(a)``, ``t(x)``; with ordinality a
    query numbering from 1 (``posexplode`` counts from 0 and puts the position first), ``t``."""
    columns = _columns(unnest)
    name = unnest.args["alias"].this
    generator = _generator(unnest, columns)
    ordinality = unnest.args.get("offset")
    if not ordinality:
        return generator, exp.TableAlias(this=name, columns=columns)
    if not isinstance(ordinality, exp.Identifier):
        raise NotSupportedError("UNNEST WITH ORDINALITY without a name for the ordinal, on the Spark engine")
    position = ordinality.name
    names = [exp.to_identifier("__pos"), exp.to_identifier("__val")]
    numbered = exp.select(
        exp.alias_(exp.column("__val"), columns[0].name),
        exp.alias_(exp.Add(this=exp.column("__pos"), expression=exp.Literal.number(1)), position),
    ).from_(exp.Table(this=generator, alias=exp.TableAlias(this=exp.to_identifier("__p"), columns=names)))
    return numbered.subquery(), exp.TableAlias(this=name)


def _is_true(condition: exp.Expr | None) -> bool:
    return condition is None or (isinstance(condition, exp.Boolean) and condition.this is True)


def unnest(node: exp.Expr) -> exp.Expr:
    """``UNNEST`` as a lateral Spark table function in its place: ``explode`` of an array (a row
    kept whole), ``inline`` of an array of rows (each field a column) or of zipped arrays
    (the shorter padded with NULLs), ``posexplode`` renumbered from 1 for ``WITH ORDINALITY``.

    >>> from sqlglot import parse_one
    >>> sql = "SELECT * FROM t LEFT JOIN UNNEST(a) AS u(x) ON TRUE"
    >>> unnest(parse_one(sql, read="athena")).sql("spark")
    'SELECT * FROM t LEFT JOIN LATERAL EXPLODE(a) AS u(x) ON TRUE'
    """
    if not isinstance(node, exp.Select):
        return node
    source = node.args.get("from_")
    if source is not None and isinstance(source.this, exp.Unnest):
        relation, alias = _relation(source.this)
        source.set(
            "this",
            relation.as_(alias.this) if isinstance(relation, exp.Subquery) else exp.Table(this=relation, alias=alias),
        )
    for join in node.args.get("joins") or []:
        if not isinstance(join.this, exp.Unnest):
            continue
        side = (join.side or "").upper()
        if side not in ("", "LEFT") or not _is_true(join.args.get("on")):
            raise NotSupportedError(
                "an UNNEST joined other than by CROSS JOIN or LEFT JOIN ... ON TRUE, on the Spark engine"
            )
        relation, alias = _relation(join.this)
        join.set("this", exp.Lateral(this=relation, alias=alias))
        if not side:
            join.set("kind", "CROSS")
    return node
