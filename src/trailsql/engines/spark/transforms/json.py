"""JSON: Trino's JSON values as JSON text on Spark, read through Spark's VARIANT.

Spark has no JSON type; a Trino JSON value is held as its JSON text (Trino prints JSON
values as their text). Spark's ``get_json_object`` unquotes strings and returns objects'
text where Trino's ``json_extract_scalar`` is NULL, so both extractions read the value
with ``try_variant_get(try_parse_json(text), path)`` (NULL for invalid JSON and missing
paths, as in Trino) and look at its kind with ``schema_of_variant``. ``json_parse`` writes
the value back with ``to_json``, which orders object keys as Trino does (a VARIANT keeps
its keys sorted); ``json_extract`` of an object keeps its keys in document order, as
``get_json_object`` does. ``CAST(x AS JSON)`` goes through ``CAST(x AS VARIANT)``;
``json_size`` and ``json_array_contains`` read the VARIANT too. A number a VARIANT holds as
a double (``1e2``) would print as ``100.0`` where Trino's ``json_extract_scalar`` gives its
text: refused when met.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from trailsql.engines.duckdb.transforms.common import _call, _is_call, _literal_text
from trailsql.engines.duckdb.transforms.json import duckdb_json_path
from trailsql.errors import NotSupportedError

#: A key written after a dot in a Spark JSON path (others are bracketed).
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_]+")

#: One step of a JSONPath as :func:`~trailsql.engines.duckdb.transforms.json.duckdb_json_path`
#: writes it: a quoted key, a plain key or an array index.
_STEP = re.compile(r'\."((?:[^"\\]|\\.)*)"|\.([^.\[]+)|\[(\d+)\]')


def spark_json_path(path: exp.Expr) -> exp.Literal:
    """A Trino JSONPath as Spark's: ``$.a``, ``$['x-amz-id-2']``, ``$[0]``; no wildcards.

    The DuckDB rewrite reads Trino's path (its bracket keys, quoted or not); its steps are
    written here in Spark's syntax.

    >>> from sqlglot import parse_one
    >>> node = parse_one("SELECT json_extract_scalar(j, '$[\\"a-b\\"].c[0]')", read="athena")
    >>> spark_json_path(node.expressions[0].expression).sql()
    "'$[''a-b''].c[0]'"
    """
    text = str(duckdb_json_path(path).this)
    out, at = "$", 1
    while at < len(text):
        step = _STEP.match(text, at)
        key = None if step is None else (step.group(1) if step.group(1) is not None else step.group(2))
        if step is None or key == "*":
            raise NotSupportedError(f"JSON path element {text[at:]} on the Spark engine")
        at = step.end()
        if key is None:
            out += f"[{step.group(3)}]"
        elif _PLAIN_KEY.fullmatch(key):
            out += "." + key
        elif "'" in key or "\\" in key:
            raise NotSupportedError(f"JSON path key {key!r} on the Spark engine")
        else:
            out += f"['{key}']"
    return exp.Literal.string(out)


def _variant_at(json: exp.Expr, path: exp.Expr) -> exp.Expr:
    """The JSON value at ``path`` of the text ``json`` as a VARIANT; NULL for invalid JSON."""
    return _call("try_variant_get", _call("try_parse_json", json.copy()), path.copy())


def _is_container(variant: exp.Expr) -> exp.Expr:
    """Whether a VARIANT holds an object or an array."""
    return exp.RegexpLike(
        this=_call("schema_of_variant", variant.copy()), expression=exp.Literal.string("^(OBJECT|ARRAY)")
    )


def _case(*branches: tuple[exp.Expr, exp.Expr], default: exp.Expr | None = None) -> exp.Case:
    return exp.Case(ifs=[exp.If(this=c, true=v) for c, v in branches], default=default)


def json_extract_scalar(node: exp.Expr) -> exp.Expr:
    """Trino's ``json_extract_scalar`` is NULL for objects and arrays; Spark's ``get_json_object``
    gives their text.

    >>> from sqlglot import parse_one
    >>> sql = json_extract_scalar(parse_one("json_extract_scalar(j, '$.a')", read="athena")).sql("spark")
    >>> print(sql.replace("TRY_VARIANT_GET(TRY_PARSE_JSON(j), '$.a')", "v"))
    CASE WHEN SCHEMA_OF_VARIANT(v) RLIKE '^OBJECT' THEN NULL WHEN SCHEMA_OF_VARIANT(v) RLIKE '^ARRAY' THEN NULL WHEN SCHEMA_OF_VARIANT(v) = 'DOUBLE' THEN RAISE_ERROR('not supported: the text of a JSON number in exponent form') ELSE VARIANT_GET(v, '$', 'string') END
    """
    if not isinstance(node, exp.JSONExtractScalar):
        return node
    value = _variant_at(node.this, spark_json_path(node.expression))
    return _scalar_text(value, lambda kind: exp.null())


def json_extract(node: exp.Expr) -> exp.Expr:
    """Trino's ``json_extract`` is a JSON value: a string keeps its quotes, JSON null is ``null``.

    Spark's ``get_json_object`` unquotes strings and makes JSON null NULL; it is kept for
    objects and arrays, whose key order it keeps as Trino does.

    >>> from sqlglot import parse_one
    >>> print(json_extract(parse_one("json_extract(j, '$.a')", read="athena")).sql("spark"))
    CASE WHEN SCHEMA_OF_VARIANT(TRY_VARIANT_GET(TRY_PARSE_JSON(j), '$.a')) RLIKE '^(OBJECT|ARRAY)' THEN GET_JSON_OBJECT(j, '$.a') ELSE TO_JSON(TRY_VARIANT_GET(TRY_PARSE_JSON(j), '$.a')) END
    """
    if not isinstance(node, exp.JSONExtract):
        return node
    path = spark_json_path(node.expression)
    value = _variant_at(node.this, path)
    return _case(
        (_is_container(value), _call("get_json_object", node.this.copy(), path.copy())),
        default=_call("to_json", value),
    )


def json_size(node: exp.Expr) -> exp.Expr:
    """``json_size(json, path)``: the members of an object or array there (a bigint), 0 for a scalar,
    NULL for invalid JSON or a path that selects nothing.

    >>> from sqlglot import parse_one
    >>> print(json_size(parse_one("json_size(j, '$.x')", read="athena")).sql("spark").replace("TRY_VARIANT_GET(TRY_PARSE_JSON(j), '$.x')", "v"))
    CAST(CASE WHEN SCHEMA_OF_VARIANT(v) RLIKE '^OBJECT' THEN SIZE(JSON_OBJECT_KEYS(TO_JSON(v))) WHEN SCHEMA_OF_VARIANT(v) RLIKE '^ARRAY' THEN JSON_ARRAY_LENGTH(TO_JSON(v)) WHEN NOT v IS NULL THEN 0 END AS BIGINT)
    """
    if not _is_call(node, "json_size"):
        return node
    from sqlglot.dialects.dialect import Dialect

    json, path = node.expressions
    text = _literal_text(path, "a JSON path")
    parsed = Dialect.get_or_raise("athena").to_json_path(exp.Literal.string(text))
    value = _variant_at(json, spark_json_path(parsed if parsed is not None else path))
    kind = _call("schema_of_variant", value)
    size = _case(
        (
            exp.RegexpLike(this=kind, expression=exp.Literal.string("^OBJECT")),
            exp.ArraySize(this=_call("json_object_keys", _call("to_json", value.copy()))),
        ),
        (
            exp.RegexpLike(this=kind.copy(), expression=exp.Literal.string("^ARRAY")),
            _call("json_array_length", _call("to_json", value.copy())),
        ),
        (exp.not_(value.copy().is_(exp.null())), exp.Literal.number(0)),
    )
    return exp.cast(size, exp.DataType.build("BIGINT"))


def _json_kind(value: exp.Expr) -> tuple[str, str] | None:
    """The VARIANT kind and Spark type of the JSON elements ``json_array_contains`` compares with
    ``value``: a bigint equals integer numbers, a varchar strings, a boolean booleans."""
    from trailsql.engines.spark.transforms.string import numeric_type

    if isinstance(value, exp.Boolean):
        return "BOOLEAN", "boolean"
    if isinstance(value, exp.Literal) and value.is_string:
        return "STRING", "string"
    if numeric_type(value) == "int":
        return "BIGINT", "bigint"
    return None


def json_array_contains(node: exp.Expr) -> exp.Expr:
    """``json_array_contains(json, value)`` compares JSON values of ``value``'s kind (``'[1, 5]'``
    holds no ``'5'``); NULL when ``json`` is not an array. A double ``value`` is refused.

    >>> from sqlglot import parse_one
    >>> print(json_array_contains(parse_one("json_array_contains(j, 'x')", read="athena")).sql("spark"))
    EXISTS(TRY_VARIANT_GET(TRY_PARSE_JSON(j), '$', 'array<variant>'), e -> SCHEMA_OF_VARIANT(e) = 'STRING' AND TRY_VARIANT_GET(e, '$', 'string') = 'x')
    """
    if not isinstance(node, exp.JSONArrayContains):
        return node
    value = node.expression
    if isinstance(value, exp.Null):
        return exp.cast(exp.null(), exp.DataType.build("BOOLEAN"))
    kind = _json_kind(value)
    if kind is None:
        raise NotSupportedError(
            "json_array_contains of a value that is not a bigint, varchar or boolean literal, on the Spark engine"
        )
    elements = _call(
        "try_variant_get",
        _call("try_parse_json", node.this),
        exp.Literal.string("$"),
        exp.Literal.string("array<variant>"),
    )
    element = exp.column("e")
    same = exp.and_(
        exp.EQ(this=_call("schema_of_variant", element), expression=exp.Literal.string(kind[0])),
        exp.EQ(
            this=_call("try_variant_get", element.copy(), exp.Literal.string("$"), exp.Literal.string(kind[1])),
            expression=value,
        ),
    )
    return _call("exists", elements, exp.Lambda(this=same, expressions=[exp.to_identifier("e")]))


def json_array_get(node: exp.Expr) -> exp.Expr:
    """``json_array_get(json, i)``: the element at ``i`` (from the end when negative), a string
    unquoted, an object or array as its text in document order (``get_json_object``); NULL past
    either end, for JSON null, for text that is not a JSON array.

    >>> from sqlglot import parse_one
    >>> sql = json_array_get(parse_one("json_array_get(j, 0)", read="athena")).sql("spark")
    >>> sql.startswith("CASE WHEN TRY_VARIANT_GET(TRY_PARSE_JSON(j), '$', 'array<variant>') IS NULL")
    True
    """
    if not _is_call(node, "json_array_get"):
        return node
    json, index = node.expressions
    items = _call(
        "try_variant_get",
        _call("try_parse_json", json.copy()),
        exp.Literal.string("$"),
        exp.Literal.string("array<variant>"),
    )
    count = exp.ArraySize(this=items.copy())
    outside = exp.or_(
        exp.GTE(this=index.copy(), expression=count.copy()),
        exp.LT(this=index.copy(), expression=exp.Neg(this=count.copy())),
    )
    from_end = exp.Add(
        this=exp.Add(this=count.copy(), expression=exp.paren(index.copy(), copy=False)),
        expression=exp.Literal.number(1),
    )
    position = exp.cast(
        exp.If(
            this=exp.GTE(this=index.copy(), expression=exp.Literal.number(0)),
            true=exp.Add(this=exp.paren(index.copy(), copy=False), expression=exp.Literal.number(1)),
            false=from_end,
        ),
        exp.DataType.build("INT"),
    )
    element = _call("element_at", items.copy(), position)
    path = exp.Concat(
        expressions=[
            exp.Literal.string("$["),
            exp.Sub(this=position.copy(), expression=exp.Literal.number(1)),
            exp.Literal.string("]"),
        ]
    )
    value = _scalar_text(element, lambda kind: _call("get_json_object", json.copy(), path.copy()))
    return _case((items.is_(exp.null()), exp.null()), (outside, exp.null()), default=value)


def json_parse(node: exp.Expr) -> exp.Expr:
    """``json_parse`` (and ``JSON '...'``) writes the value compactly with object keys sorted.

    Spark's ``to_json`` of a VARIANT writes it so. Text that is not JSON fails, as in Trino.

    >>> from sqlglot import parse_one
    >>> json_parse(parse_one("json_parse(s)", read="athena")).sql("spark")
    "CASE WHEN NOT s IS NULL AND TRY_PARSE_JSON(s) IS NULL THEN RAISE_ERROR(CONCAT('Cannot convert value to JSON: \\\\'', s, '\\\\'')) ELSE TO_JSON(PARSE_JSON(s)) END"
    """
    if not isinstance(node, exp.ParseJSON):
        return node
    text = node.this
    invalid = exp.and_(exp.not_(text.copy().is_(exp.null())), _call("try_parse_json", text.copy()).is_(exp.null()))
    message = exp.Concat(
        expressions=[exp.Literal.string("Cannot convert value to JSON: '"), text.copy(), exp.Literal.string("'")]
    )
    return _case((invalid, _call("raise_error", message)), default=_call("to_json", _call("parse_json", text.copy())))


def json_format(node: exp.Expr) -> exp.Expr:
    """``json_format(json)`` is the JSON text, which is how a JSON value is held here."""
    if isinstance(node, exp.JSONFormat):
        text: exp.Expr = node.this
        return text
    return node


def _is_json(node: exp.Expr) -> bool:
    """Whether ``node`` is known to be a Trino JSON value (as sqlglot parsed it)."""
    return isinstance(node, (exp.JSONExtract, exp.ParseJSON)) or (
        isinstance(node, exp.Cast) and node.to.is_type(exp.DType.JSON)
    )


def cast_to_json(node: exp.Expr) -> exp.Expr:
    """``CAST(x AS JSON)`` is ``x`` as a JSON value: a varchar becomes a JSON string, a map an object.

    A ROW is refused: Trino makes an object of it, with keys of its own.

    >>> from sqlglot import parse_one
    >>> cast_to_json(parse_one("CAST(s AS JSON)", read="athena")).sql("spark")
    'TO_JSON(CAST(s AS VARIANT))'
    """
    if not isinstance(node, exp.Cast) or not node.to.is_type(exp.DType.JSON):
        return node
    value = node.this
    if isinstance(value, (exp.Struct, exp.Tuple)) or _is_json(value):
        raise NotSupportedError("CAST of a ROW or a JSON value to JSON on the Spark engine")
    if isinstance(value, exp.Map):
        return _call("to_json", _call("to_variant_object", value))
    return _call("to_json", exp.cast(value, exp.DataType.build("VARIANT", dialect="spark")))


def _scalar_text(value: exp.Expr, on_container: Callable[[str], exp.Expr]) -> exp.Case:
    """The varchar of a JSON scalar held in a VARIANT (a string unquoted, ``null`` NULL); for an
    object or an array, ``on_container("object")`` or ``on_container("array")``."""
    kind = _call("schema_of_variant", value)
    return _case(
        (exp.RegexpLike(this=kind, expression=exp.Literal.string("^OBJECT")), on_container("object")),
        (exp.RegexpLike(this=kind.copy(), expression=exp.Literal.string("^ARRAY")), on_container("array")),
        (exp.EQ(this=kind.copy(), expression=exp.Literal.string("DOUBLE")), _exponent_refused()),
        default=_call("variant_get", value.copy(), exp.Literal.string("$"), exp.Literal.string("string")),
    )


def _exponent_refused() -> exp.Expr:
    """A JSON number a VARIANT holds as a double (``1e2``, or of more than 38 digits) prints as
    ``100.0`` on Spark; Trino gives the number's own text: refused when met."""
    return _call("raise_error", exp.Literal.string("not supported: the text of a JSON number in exponent form"))


def cast_from_json(node: exp.Expr) -> exp.Expr:
    """``CAST(json AS varchar)`` is the value of a JSON scalar (a string unquoted, ``null`` NULL);
        an object or an array fails (``try_cast``: NULL). ``CAST(json AS ARRAY(varchar))`` is that
        of each element, in order. Casts of JSON to other types are refused (a map's keys would
        come in another order; numbers are rounded as Trino does not), but for ``ARRAY(JSON)``, the
    JSON text of each element.

        >>> from sqlglot import parse_one
        >>> cast = parse_one("TRY_CAST(json_extract(j, '$.a') AS varchar)", read="athena")
        >>> sql = cast_from_json(cast).sql("spark").replace("GET_JSON_OBJECT(j, '$.a')", "x")
        >>> print(sql.replace("SCHEMA_OF_VARIANT(PARSE_JSON(x))", "kind"))
        CASE WHEN kind RLIKE '^OBJECT' THEN NULL WHEN kind RLIKE '^ARRAY' THEN NULL WHEN kind = 'DOUBLE' THEN RAISE_ERROR('not supported: the text of a JSON number in exponent form') ELSE VARIANT_GET(PARSE_JSON(x), '$', 'string') END
    """
    if not isinstance(node, exp.Cast) or not _is_json(node.this) or node.to.is_type(exp.DType.JSON):
        return node
    fail = isinstance(node, exp.TryCast)
    value = _call("parse_json", node.this)
    if node.to.is_type(*exp.DataType.TEXT_TYPES):

        def refused(kind: str) -> exp.Expr:
            return (
                exp.null() if fail else _call("raise_error", exp.Literal.string(f"Cannot cast JSON {kind} to varchar"))
            )

        return _scalar_text(value, refused)
    elements = node.to.expressions
    if not fail and node.to.is_type(exp.DType.ARRAY) and elements and elements[0].is_type(*exp.DataType.TEXT_TYPES):

        def element_refused(kind: str) -> exp.Expr:
            return _call("raise_error", exp.Literal.string(f"Cannot cast to array(varchar): a JSON {kind} element"))

        items = _call("variant_get", value, exp.Literal.string("$"), exp.Literal.string("array<variant>"))
        text = _scalar_text(exp.column("e"), element_refused)
        return exp.Transform(this=items, expression=exp.Lambda(this=text, expressions=[exp.to_identifier("e")]))
    if node.to.is_type(exp.DType.ARRAY) and elements and elements[0].is_type(exp.DType.JSON):
        # ARRAY(JSON): each element's JSON text, keys sorted as Trino's JSON values print them.
        get = "try_variant_get" if fail else "variant_get"
        items = _call(get, value, exp.Literal.string("$"), exp.Literal.string("array<variant>"))
        as_json = _call("to_json", exp.column("e"))
        return exp.Transform(this=items, expression=exp.Lambda(this=as_json, expressions=[exp.to_identifier("e")]))
    raise NotSupportedError(f"CAST of JSON to {node.to.sql('athena')} on the Spark engine")


def lake_map(node: exp.Expr) -> exp.Expr:
    """CloudTrail Lake's map columns (``requestParameters`` of an event data store, see
    :mod:`trailsql.catalog.event_data_store`): an object's top-level values as text, a
    nested object as its JSON text, anything but an object NULL, as the DuckDB macro does.

    >>> from sqlglot import parse_one
    >>> lake_map(parse_one("trailsql_lake_map(requestparameters)", read="athena")).sql("spark")
    "FROM_JSON(requestparameters, 'MAP<STRING, STRING>')"
    """
    if not _is_call(node, "trailsql_lake_map"):
        return node
    return _call("FROM_JSON", node.expressions[0], exp.Literal.string("MAP<STRING, STRING>"))
