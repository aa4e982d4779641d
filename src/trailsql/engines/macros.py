"""Trino functions DuckDB lacks or answers differently, as DuckDB macros.

The rewrites in :mod:`trailsql.sql.transforms` call these by name. Each follows Trino's
documentation for the function of the same name without the ``trino_`` prefix,
including its NULL handling; invalid JSON gives NULL, as in Trino.

Timestamps with time zone are held in UTC (CloudTrail writes every time in UTC); a value
in another zone would print and extract fields differently from Trino, so the functions
that could make one refuse it with ``not supported``.
"""

MACROS = r"""
CREATE OR REPLACE MACRO trino_json_extract_scalar(j, p) AS (
    CASE WHEN TRY(json_type(j, p)) IN ('OBJECT', 'ARRAY', 'NULL') THEN NULL
         ELSE TRY(json_extract_string(j, p)) END
);
CREATE OR REPLACE MACRO trino_json_extract(j, p) AS (
    TRY(json_extract(j, p))
);
CREATE OR REPLACE MACRO trino_json_size(j, p) AS (
    CASE TRY(json_type(j, p))
        WHEN 'ARRAY' THEN json_array_length(j, p)::BIGINT
        WHEN 'OBJECT' THEN len(json_keys(j, p))::BIGINT
        ELSE (CASE WHEN TRY(json_type(j, p)) IS NOT NULL THEN 0::BIGINT END) END
);
CREATE OR REPLACE MACRO trino_json_array_contains(j, v) AS (
    CASE WHEN TRY(json_type(j)) = 'ARRAY'
         THEN list_contains(list_transform(json_extract(j, '$[*]'), lambda e: e::VARCHAR), to_json(v)::VARCHAR) END
);
CREATE OR REPLACE MACRO trino_regexp_extract(s, p, g) AS (
    CASE WHEN regexp_matches(s, p) THEN regexp_extract(s, p, g) END
);
CREATE OR REPLACE MACRO trino_url_extract_host(u) AS (
    CASE WHEN regexp_matches(u, '[ "<>\\^`{|}]|%([^0-9A-Fa-f]|[0-9A-Fa-f][^0-9A-Fa-f]|[0-9A-Fa-f]?$)') THEN NULL
         ELSE regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://([^@/?#]*@)?([^/:?#]*)', 2) END
);
CREATE OR REPLACE MACRO trino_from_iso8601_timestamp(s) AS (
    CASE WHEN regexp_matches(s, 'T[0-9:.,]+([+-][0-9]{2}(:?[0-9]{2})?)$')
              AND NOT regexp_matches(s, 'T[0-9:.,]+[+-]00(:?00)?$')
         THEN error('not supported: timestamps with a time zone other than UTC (' || s || ')')
         ELSE CAST(s AS TIMESTAMPTZ) END
);
CREATE OR REPLACE MACRO trino_to_iso8601(x) AS (
    CASE WHEN typeof(x) = 'DATE' THEN strftime(x::DATE, '%Y-%m-%d')
         WHEN typeof(x) = 'TIMESTAMP WITH TIME ZONE'
              THEN strftime(timezone('UTC', x::TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%gZ')
         ELSE strftime(x::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%g') END
);
CREATE OR REPLACE MACRO trailsql_lake_map(j) AS (
    CASE WHEN TRY(json_type(j)) = 'OBJECT' THEN map_from_entries(list_transform(json_keys(j),
        lambda k: {'key': k, 'value': json_extract_string(j, '$."' || replace(k, '"', '\\"') || '"')}))
    END
);
"""
