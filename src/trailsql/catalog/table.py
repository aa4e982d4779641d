"""A table over CloudTrail logs: its columns, partitions and where its files are."""

from __future__ import annotations

from dataclasses import dataclass, field

from trailsql import schema
from trailsql.errors import CatalogError
from trailsql.schema import HiveType


def partition_value(column: str, value: str) -> str:
    """A partition value given by a user (DDL, ``ALTER TABLE``, an injected predicate), once
    it is known not to be a path: it is joined into a location, where ``/``, ``..`` or NUL
    would reach files outside the table.

    >>> partition_value("account", "123456789012")
    '123456789012'
    """
    if "/" in value or ".." in value or "\x00" in value:
        raise CatalogError(f"partition value {value!r} of {column} is not allowed: it may not hold '/', '..' or NUL")
    return value


@dataclass(frozen=True)
class Table:
    """A table as Athena's DDL declares it.

    ``columns`` keep the declared names and types, with struct fields renamed to the
    JSON keys CloudTrail writes (see :func:`trailsql.schema.reconcile`). A table with
    ``properties['projection.enabled'] == 'true'`` finds its partitions by projection;
    the default table (``layout == 'awslogs'``) reads them from CloudTrail's folder names.
    """

    name: str
    columns: tuple[tuple[str, HiveType], ...]
    partitions: tuple[tuple[str, str], ...]
    location: str
    properties: dict[str, str] = field(default_factory=dict)
    serde: str | None = None
    layout: str = "projection"
    ddl: str | None = None
    input_format: str | None = None
    serde_properties: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> tuple[str, HiveType] | None:
        """The data column named ``name`` in any case."""
        lowered = name.lower()
        return next(((n, t) for n, t in self.columns if n.lower() == lowered), None)

    def json_key(self, column: str) -> str:
        """The JSON key a column reads: a SerDe ``mapping.<column>``, else CloudTrail's spelling."""
        mapped = self.serde_properties.get(f"mapping.{column.lower()}")
        return mapped if mapped is not None else schema.json_key(column)

    @property
    def delimiter(self) -> str | None:
        """The field delimiter of a ``ROW FORMAT DELIMITED`` table, None for JSON tables."""
        if self.serde is not None and self.serde.endswith("LazySimpleSerDe"):
            return self.serde_properties.get("field.delim", "\x01")
        return None

    @property
    def unwraps_records(self) -> bool:
        """Whether each file's ``Records`` array holds the rows (CloudTrail's input format).

        Athena's ``CloudTrailInputFormat`` (or the old ``CloudTrailSerde``) unwraps it. A
        DDL naming another input format (``TextInputFormat``) reads each JSON value as a
        row, and so does one that declares a ``Records`` column itself. A DDL naming no
        input format is read as CloudTrail logs, which is what its author meant.
        """
        if any(name.lower() == "records" for name, _ in self.columns):
            return False
        if self.input_format is None or (self.serde or "").endswith("CloudTrailSerde"):
            return True
        return self.input_format.endswith("CloudTrailInputFormat")

    @property
    def partition_names(self) -> tuple[str, ...]:
        return tuple(name.lower() for name, _ in self.partitions)

    @property
    def projected(self) -> bool:
        return self.properties.get("projection.enabled", "").lower() == "true"


#: The name of the table that ``--logs`` defines without any DDL.
DEFAULT_TABLE = "cloudtrail_logs"


def default_table(location: str) -> Table:
    """The ``cloudtrail_logs`` table over a logs root, as the CLI's ``--logs`` gives it."""
    return Table(
        name=DEFAULT_TABLE,
        columns=tuple(schema.default_columns()),
        partitions=tuple((name, "STRING") for name in schema.PARTITION_COLUMNS),
        location=location,
        serde="org.apache.hive.hcatalog.data.JsonSerDe",
        layout="awslogs",
    )
