"""trailsql: Athena SQL over AWS CloudTrail logs, without Athena.

>>> import trailsql
>>> from trailsql.demo import samples_root
>>> conn = trailsql.connect(logs=samples_root())
>>> cursor = conn.cursor()
>>> _ = cursor.execute("SELECT count(*) AS n FROM cloudtrail_logs WHERE eventname = %(name)s", {"name": "ConsoleLogin"})
>>> cursor.fetchone()
(2,)
"""

from trailsql.dbapi import Connection, apilevel, connect, paramstyle, threadsafety
from trailsql.errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)

__version__ = "0.1.0"
__all__ = [
    "Connection",
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Warning",
    "__version__",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]
