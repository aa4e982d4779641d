"""The CloudTrail event schema: the one source of truth.

Every documented top-level field of a CloudTrail record up to eventVersion 1.11 is
declared once here, under the JSON key CloudTrail writes (``eventID``, ``ARN``), with the
type Athena's table gives it. Everything else is derived:

- the Athena column list of the default table (:func:`default_columns`),
- the structure DuckDB's ``from_json`` reads (:func:`duckdb_type`), which must use
  CloudTrail's exact keys because DuckDB matches JSON keys case-sensitively,
- the JSON key of a column or struct field that a user's DDL spells in another case
  (:func:`json_key`), as the Hive JsonSerDe matches keys case-insensitively.

Types are Hive/Athena types: ``STRING``, ``BIGINT``, ``BOOLEAN`` ... or nested
:class:`Struct`, :class:`Array` and :class:`Map`. A field that CloudTrail fills with
arbitrary JSON (``requestParameters``) is a ``STRING``: the SerDe gives its JSON text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Struct:
    """A STRUCT type: ordered (name, type) pairs. Names are JSON keys."""

    fields: tuple[tuple[str, HiveType], ...]

    def field(self, name: str) -> tuple[str, HiveType] | None:
        """The field whose name matches ``name`` case-insensitively."""
        lowered = name.lower()
        for key, typ in self.fields:
            if key.lower() == lowered:
                return key, typ
        return None


@dataclass(frozen=True)
class Array:
    """An ARRAY type."""

    element: HiveType


@dataclass(frozen=True)
class Map:
    """A MAP type."""

    key: HiveType
    value: HiveType


#: A Hive type: a primitive type name (upper case) or a nested type.
HiveType = str | Struct | Array | Map

STRING = "STRING"


def struct(**fields: HiveType) -> Struct:
    """Shorthand: ``struct(arn=STRING)`` is ``STRUCT<arn: STRING>``."""
    return Struct(tuple(fields.items()))


_SESSION_ISSUER = struct(type=STRING, principalId=STRING, arn=STRING, accountId=STRING, userName=STRING)

#: userIdentity as documented for eventVersion 1.11.
USER_IDENTITY = struct(
    type=STRING,
    principalId=STRING,
    arn=STRING,
    accountId=STRING,
    invokedBy=STRING,
    accessKeyId=STRING,
    userName=STRING,
    identityProvider=STRING,
    credentialId=STRING,
    sessionContext=struct(
        attributes=struct(mfaAuthenticated=STRING, creationDate=STRING),
        sessionIssuer=_SESSION_ISSUER,
        webIdFederationData=struct(federatedProvider=STRING, attributes=Map(STRING, STRING)),
        sourceIdentity=STRING,
        ec2RoleDelivery=STRING,
        ec2IssuedInVPC=STRING,
        assumedRoot=STRING,
    ),
    onBehalfOf=struct(userId=STRING, identityStoreArn=STRING),
    inScopeOf=struct(sourceArn=STRING, sourceAccount=STRING, issuerType=STRING, credentialsIssuedTo=STRING),
)

#: Every top-level field of a CloudTrail record, in the order of Athena's table.
EVENT = struct(
    eventVersion=STRING,
    userIdentity=USER_IDENTITY,
    eventTime=STRING,
    eventSource=STRING,
    eventName=STRING,
    awsRegion=STRING,
    sourceIPAddress=STRING,
    userAgent=STRING,
    errorCode=STRING,
    errorMessage=STRING,
    requestParameters=STRING,
    responseElements=STRING,
    additionalEventData=STRING,
    requestID=STRING,
    eventID=STRING,
    readOnly=STRING,
    resources=Array(struct(ARN=STRING, accountId=STRING, type=STRING)),
    eventType=STRING,
    apiVersion=STRING,
    managementEvent=STRING,
    recipientAccountId=STRING,
    serviceEventDetails=STRING,
    sharedEventID=STRING,
    vpcEndpointId=STRING,
    vpcEndpointAccountId=STRING,
    eventCategory=STRING,
    addendum=struct(reason=STRING, updatedFields=STRING, originalRequestID=STRING, originalEventID=STRING),
    sessionCredentialFromConsole=STRING,
    edgeDeviceDetails=STRING,
    tlsDetails=struct(tlsVersion=STRING, cipherSuite=STRING, clientProvidedHostHeader=STRING),
    insightDetails=STRING,
)

#: Partition columns of the default table, taken from the AWSLogs path.
PARTITION_COLUMNS: tuple[str, ...] = ("account", "region", "year", "month", "day")

#: Athena's pseudo-column holding the file an event came from.
PATH_COLUMN = "$path"

#: trailsql's pseudo-column holding an event's JSON text as CloudTrail wrote it
#: (CloudTrail Lake's ``eventJson``).
RECORD_COLUMN = "$record"

_PRIMITIVES_TO_DUCKDB = {
    "STRING": "VARCHAR",
    "VARCHAR": "VARCHAR",
    "CHAR": "VARCHAR",
    "INT": "INTEGER",
    "INTEGER": "INTEGER",
    "TINYINT": "TINYINT",
    "SMALLINT": "SMALLINT",
    "BIGINT": "BIGINT",
    "FLOAT": "FLOAT",
    "DOUBLE": "DOUBLE",
    "BOOLEAN": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMP",
    "DATE": "DATE",
    "BINARY": "BLOB",
}


def duckdb_type(typ: HiveType) -> str:
    """The DuckDB type for a Hive type, with struct field names quoted verbatim.

    >>> duckdb_type(struct(ARN=STRING, tags=Array(STRING)))
    'STRUCT("ARN" VARCHAR, "tags" VARCHAR[])'
    """
    if isinstance(typ, Struct):
        inner = ", ".join(f'"{name}" {duckdb_type(t)}' for name, t in typ.fields)
        return f"STRUCT({inner})"
    if isinstance(typ, Array):
        return f"{duckdb_type(typ.element)}[]"
    if isinstance(typ, Map):
        return f"MAP({duckdb_type(typ.key)}, {duckdb_type(typ.value)})"
    return _primitive(typ, _PRIMITIVES_TO_DUCKDB)


def spark_type(typ: HiveType) -> str:
    """The Spark SQL type for a Hive type, with struct field names quoted verbatim (Spark's
    JSON reader, like DuckDB's, matches keys case-sensitively). TIMESTAMP is Spark's
    TIMESTAMP_NTZ: Hive's and Trino's timestamp has no zone.

    >>> spark_type(struct(ARN=STRING, tags=Array(STRING), at="TIMESTAMP"))
    'STRUCT<`ARN`: STRING, `tags`: ARRAY<STRING>, `at`: TIMESTAMP_NTZ>'
    """
    if isinstance(typ, Struct):
        inner = ", ".join(f"`{name.replace('`', '``')}`: {spark_type(t)}" for name, t in typ.fields)
        return f"STRUCT<{inner}>"
    if isinstance(typ, Array):
        return f"ARRAY<{spark_type(typ.element)}>"
    if isinstance(typ, Map):
        return f"MAP<{spark_type(typ.key)}, {spark_type(typ.value)}>"
    return _primitive(typ, _PRIMITIVES_TO_SPARK)


def _primitive(typ: str, names: dict[str, str]) -> str:
    """A primitive Hive type by an engine's ``names`` for them (DECIMAL(p, s) as it is)."""
    base = typ.split("(")[0].strip().upper()
    if base == "DECIMAL":
        return typ.upper()
    if base not in names:
        from trailsql.errors import NotSupportedError

        raise NotSupportedError(f"column type {typ}")
    return names[base]


_PRIMITIVES_TO_SPARK = {
    **{name: name for name in ("STRING", "TINYINT", "SMALLINT", "BIGINT", "FLOAT", "DOUBLE", "BOOLEAN", "DATE")},
    "VARCHAR": "STRING",
    "CHAR": "STRING",
    "INT": "INT",
    "INTEGER": "INT",
    "TIMESTAMP": "TIMESTAMP_NTZ",
    "BINARY": "BINARY",
}


def athena_type(typ: HiveType) -> str:
    """The type as Athena's DDL and DESCRIBE print it (field names lower-cased).

    >>> athena_type(Array(struct(ARN=STRING)))
    'array<struct<arn:string>>'
    """
    if isinstance(typ, Struct):
        return "struct<" + ",".join(f"{n.lower()}:{athena_type(t)}" for n, t in typ.fields) + ">"
    if isinstance(typ, Array):
        return f"array<{athena_type(typ.element)}>"
    if isinstance(typ, Map):
        return f"map<{athena_type(typ.key)},{athena_type(typ.value)}>"
    return typ.lower()


def reconcile(declared: HiveType, known: HiveType | None) -> HiveType:
    """Rename the struct fields of a declared type to CloudTrail's JSON keys.

    A user's DDL may say ``resources ARRAY<STRUCT<arn: STRING>>`` where the logs say
    ``"ARN"``; the Hive JsonSerDe matches keys case-insensitively, DuckDB does not.
    Fields unknown to the schema keep the spelling the DDL gives them.

    >>> reconcile(Array(struct(arn=STRING)), EVENT.field("resources")[1])
    Array(element=Struct(fields=(('ARN', 'STRING'),)))
    """
    if isinstance(declared, Struct):
        known_struct = known if isinstance(known, Struct) else None
        fields = []
        for name, typ in declared.fields:
            match = known_struct.field(name) if known_struct else None
            fields.append((match[0], reconcile(typ, match[1])) if match else (name, reconcile(typ, None)))
        return Struct(tuple(fields))
    if isinstance(declared, Array):
        return Array(reconcile(declared.element, known.element if isinstance(known, Array) else None))
    if isinstance(declared, Map):
        return Map(declared.key, reconcile(declared.value, known.value if isinstance(known, Map) else None))
    return declared


def json_key(column: str) -> str:
    """The JSON key CloudTrail writes for a top-level column name in any case.

    >>> json_key("eventid")
    'eventID'
    """
    match = EVENT.field(column)
    return match[0] if match else column


def default_columns() -> list[tuple[str, HiveType]]:
    """The data columns of the default ``cloudtrail_logs`` table: every schema field."""
    return list(EVENT.fields)
