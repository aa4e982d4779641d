"""JSON: Trino's JSON functions, JSONPath syntax and casts to and from JSON.

Trino's ``json_extract`` and ``json_extract_scalar`` are NULL for invalid JSON (and the
latter for objects and arrays), where DuckDB fails or returns JSON text; Trino's JSONPath
brackets keys that DuckDB wants quoted; ``json_parse`` sorts object keys; ``CAST(varchar AS
JSON)`` makes a JSON string rather than parsing the text; and ``CAST(json AS varchar)`` (also
of arrays and maps of JSON) is the scalar's value, not its JSON text.
"""

from __future__ import annotations

import re

from sqlglot import exp

from trailsql.engines.duckdb.transforms.common import _call, _is_call, _literal_text
from trailsql.errors import NotSupportedError


def duckdb_json_path(path: exp.Expr) -> exp.Expr:
    """A Trino JSONPath as DuckDB's JSONPath: bracketed keys become quoted keys.

    Trino accepts ``$["x-amz-id-2"]`` and ``$.a[0]``; DuckDB wants ``$."x-amz-id-2"``.

    >>> from sqlglot import parse_one
    >>> node = parse_one("SELECT json_extract_scalar(j, '$[\\"a-b\\"].c[0]')", read="athena")
    >>> duckdb_json_path(node.expressions[0].expression).sql()
    '\\'$."a-b"."c"[0]\\''
    """
    if not isinstance(path, exp.JSONPath):
        if isinstance(path, exp.Literal) and path.is_string:
            # sqlglot leaves Trino's unquoted bracket keys ($[name]) unparsed.
            return exp.Literal.string(re.sub(r"\[([A-Za-z_][A-Za-z0-9_]*)\]", r'."\1"', path.this))
        raise NotSupportedError("a JSON path that is not a string literal")
    out = ""
    for part in path.expressions:
        if isinstance(part, exp.JSONPathRoot):
            out += "$"
        elif isinstance(part, exp.JSONPathKey):
            if part.this == "*":
                out += ".*"
            else:
                out += '."' + str(part.this).replace('"', '\\"') + '"'
        elif isinstance(part, exp.JSONPathSubscript) and isinstance(part.this, int):
            out += f"[{part.this}]"
        elif isinstance(part, exp.JSONPathWildcard):
            out += "[*]"
        else:
            raise NotSupportedError(f"JSON path element {part.sql()}")
    return exp.Literal.string(out)


def json_extract_scalar(node: exp.Expr) -> exp.Expr:
    """Trino's ``json_extract_scalar`` is NULL for objects, arrays and invalid JSON.

    DuckDB's ``->>`` returns an object's JSON text and fails on invalid JSON.

    >>> from sqlglot import parse_one
    >>> json_extract_scalar(parse_one("json_extract_scalar(j, '$.a')", read="athena")).sql("duckdb")
    'TRINO_JSON_EXTRACT_SCALAR(j, \\'$."a"\\')'
    """
    if isinstance(node, exp.JSONExtractScalar):
        return _call("trino_json_extract_scalar", node.this, duckdb_json_path(node.expression))
    return node


def json_extract(node: exp.Expr) -> exp.Expr:
    """Trino's ``json_extract`` is NULL for invalid JSON; paths use Trino's syntax."""
    if isinstance(node, exp.JSONExtract):
        return _call("trino_json_extract", node.this, duckdb_json_path(node.expression))
    return node


def json_size(node: exp.Expr) -> exp.Expr:
    """``json_size(json, path)``: elements of an array or object there, 0 for a scalar."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "json_size":
        json, path = node.expressions
        return _call("trino_json_size", json, _json_path_of_literal(path))
    return node


def _json_path_of_literal(path: exp.Expr) -> exp.Expr:
    from sqlglot.dialects.dialect import Dialect

    text = _literal_text(path, "a JSON path")
    return duckdb_json_path(Dialect.get_or_raise("athena").to_json_path(exp.Literal.string(text)) or path)


def json_array_contains(node: exp.Expr) -> exp.Expr:
    """``json_array_contains(json, value)``: compares JSON values, not their text."""
    if isinstance(node, exp.JSONArrayContains):
        return _call("trino_json_array_contains", node.this, node.expression)
    return node


#: Functions whose answer does not depend on the order of an object's keys.
_KEY_ORDER_BLIND = (exp.JSONExtractScalar, exp.JSONArrayContains)


def json_parse(node: exp.Expr) -> exp.Expr:
    """``json_parse`` (and a ``JSON '...'`` literal) writes objects with their keys sorted.

    Trino re-serializes the parsed value compactly with every object's keys in order;
    DuckDB's ``json()`` keeps the input order. Functions that read one value out of the
    document cannot tell, so they get the cheaper ``json()``.

    >>> from sqlglot import parse_one
    >>> json_parse(parse_one("json_parse(s)", read="athena")).sql("duckdb")
    'TRINO_JSON_PARSE(s)'
    """
    if not isinstance(node, exp.ParseJSON):
        return node
    if isinstance(node.parent, _KEY_ORDER_BLIND) or _is_call(node.parent, "json_size", "json_array_length"):
        return _call("json", node.this)
    return _call("trino_json_parse", node.this)


def cast_to_json(node: exp.Expr) -> exp.Expr:
    """``CAST(x AS JSON)`` makes a JSON value of ``x``: a varchar becomes a JSON string.

    DuckDB parses a varchar as JSON text instead (Trino: ``CAST('[1]' AS JSON)`` is ``"[1]"``).

    A row with no field names is refused: Presto made it a JSON array, Trino an object
    (since its row-to-JSON change), with keys of its own; DuckDB would name the keys
    ``field0``, ``field1``... which neither does.

    >>> from sqlglot import parse_one
    >>> cast_to_json(parse_one("CAST(s AS JSON)", read="athena")).sql("duckdb")
    'TO_JSON(s)'
    >>> cast_to_json(parse_one("CAST(ROW(1, 2) AS JSON)", read="athena"))
    Traceback (most recent call last):
    ...
    trailsql.errors.NotSupportedError: not supported: CAST of a ROW without field names to JSON
    """
    if isinstance(node, exp.Cast) and node.to.this == exp.DType.JSON:
        if isinstance(node.this, exp.Struct) and not all(isinstance(e, exp.PropertyEQ) for e in node.this.expressions):
            raise NotSupportedError("CAST of a ROW without field names to JSON")
        return _call("to_json", node.this)
    return node


def _type_name(data_type: exp.DataType) -> str:
    return data_type.sql("duckdb").upper()


#: Casts that read a JSON value as Trino does, each a macro dispatching on the operand's type.
_CASTS_FROM_JSON = {
    "TEXT": "trino_to_varchar",  # also a timestamp's text
    "VARCHAR": "trino_to_varchar",
    "TEXT[]": "trino_to_varchar_array",
    "VARCHAR[]": "trino_to_varchar_array",
    "JSON[]": "trino_to_json_array",
    "MAP(TEXT, TEXT)": "trino_to_varchar_map",
    "MAP(VARCHAR, VARCHAR)": "trino_to_varchar_map",
    "MAP(TEXT, JSON)": "trino_to_json_map",
    "MAP(VARCHAR, JSON)": "trino_to_json_map",
}


def cast_from_json(node: exp.Expr) -> exp.Expr:
    """``CAST(json AS varchar)`` is the value a JSON scalar holds, not the JSON text.

    ``CAST(JSON '"abc"' AS varchar)`` is ``abc`` and JSON ``null`` is NULL; an object or
    array cannot be cast. The same holds for the elements of ``ARRAY(varchar)`` and the
    values of ``MAP(varchar, varchar)``; in ``ARRAY(JSON)`` and ``MAP(varchar, JSON)`` a
    JSON ``null`` stays a JSON value. ``try_cast`` to varchar is NULL where the cast fails.
    A timestamp becomes Trino's text of it, ``2020-05-11 11:15:05.055 UTC``.

    >>> from sqlglot import parse_one
    >>> cast_from_json(parse_one("CAST(j AS varchar)", read="athena")).sql("duckdb")
    'TRINO_TO_VARCHAR(j)'
    """
    if not isinstance(node, exp.Cast) or (isinstance(node.this, exp.Literal) and node.this.is_string):
        return node
    macro = _CASTS_FROM_JSON.get(_type_name(node.to))
    if isinstance(node, exp.TryCast):
        return _call("trino_try_to_varchar", node.this) if macro == "trino_to_varchar" else node
    return _call(macro, node.this) if macro is not None else node
