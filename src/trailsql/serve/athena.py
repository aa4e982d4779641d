"""Athena's operations over the workspace: one method an operation, Athena's shapes in and out.

botocore's service model is the reference for every shape (``tests/test_serve_protocol.py``
checks each answer against it); the behaviours beyond the model (error codes and messages,
the header row, what ``OutputLocation`` names) are those measured on Athena, in
``docs/serve.md``.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trailsql.errors import SqlSyntaxError
from trailsql.serve import metadata, named, results
from trailsql.serve.protocol import ApiError, invalid, validate
from trailsql.serve.runner import Runner
from trailsql.serve.s3 import split_location
from trailsql.serve.statements import bind, classify
from trailsql.serve.store import Execution, Store
from trailsql.session import Session
from trailsql.sql.parse import parse

ENGINE_VERSION = {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}
WORKGROUP = "primary"
CATALOG = "awsdatacatalog"


@dataclass
class Settings:
    """What ``[serve]`` says about the API (see docs/serve.md)."""

    #: Where results go when a request names no OutputLocation: the primary workgroup's.
    output_location: str = "s3://trailsql-results/"
    #: The database names that reach the workspace's tables (Athena's ``default``, and aliases).
    databases: tuple[str, ...] = ("default",)
    created: float = field(default_factory=time.time)


def _page(items: list[Any], token: str | None, size: int, kind: str) -> tuple[list[Any], str | None]:
    """A page of a list operation and its NextToken (never ``""``: Grafana loops until null)."""
    offset = 0
    if token is not None:
        found = results.token_offset(kind, token)
        if found is None:
            raise invalid(f"Malformed nextPageToken {token}")
        offset = found
    chosen = items[offset : offset + size]
    following = offset + len(chosen)
    return chosen, (results.next_token(kind, following) if following < len(items) else None)


def _athena_syntax(error: SqlSyntaxError) -> str:
    """A syntax error as Athena words it: ``line L:C: what``."""
    text = re.sub(r"^syntax error: (line \d+, column \d+: )?", "", str(error))
    return f"line {error.line}:{error.column}: {text}" if error.line is not None else text


class Athena:
    """The API: ``call(operation, params)`` -> the response body."""

    def __init__(self, store: Store, runner: Runner, settings: Settings) -> None:
        self.store = store
        self.runner = runner
        self.settings = settings
        self._lock = threading.Lock()
        self._catalog: Session | None = None
        self.operations: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            name: getattr(self, name) for name in dir(self) if name[:1].isupper() and callable(getattr(self, name))
        }

    def call(self, operation: str, params: Any) -> dict[str, Any]:
        handler = self.operations.get(operation)
        if handler is None:
            raise ApiError("UnknownOperationException", f"{operation} is not an operation this server supports")
        validate(operation, params)
        return handler(params)

    def catalog(self) -> Session:
        """A session for the catalog operations, made again when the catalog changed on disk."""
        with self._lock:
            return self.runner.catalog_session()

    # --- executions ----------------------------------------------------------------------

    def _execution(self, execution_id: str) -> Execution:
        execution = self.store.get(execution_id)
        if execution is None:
            raise invalid(f"QueryExecution {execution_id} was not found", "QUERY_EXECUTION_NOT_FOUND")
        return execution

    def _workgroup(self, name: str | None) -> str:
        if name not in (None, WORKGROUP):
            raise invalid("WorkGroup is not found.")
        return WORKGROUP

    def StartQueryExecution(self, params: dict[str, Any]) -> dict[str, Any]:
        query = params["QueryString"]
        context = params.get("QueryExecutionContext", {})
        location = params.get("ResultConfiguration", {}).get("OutputLocation")
        token = params.get("ClientRequestToken")
        asked = (query, context.get("Database"), context.get("Catalog"), location, params.get("ExecutionParameters"))
        if token is not None and (earlier := self.store.by_token(token)) is not None:
            if earlier.request != list(asked):
                raise invalid("Idempotent parameters do not match", "IDEMPOTENT_PARAMETER_MISMATCH")
            return {"QueryExecutionId": earlier.id}
        workgroup = self._workgroup(params.get("WorkGroup"))
        prefix = location or self.settings.output_location
        if split_location(prefix) is None:
            raise invalid("outputLocation is not a valid S3 path.")
        parameters = list(params.get("ExecutionParameters", []))
        try:
            parse(bind(query, parameters) if parameters else query)
        except SqlSyntaxError as error:
            raise invalid(_athena_syntax(error), "MALFORMED_QUERY") from None
        if self.runner.full():
            raise ApiError("TooManyRequestsException", "too many queries are waiting to run; retry later")
        statement_type, substatement_type = classify(query)
        execution = Execution(
            id=str(uuid.uuid4()),
            query=query,
            statement_type=statement_type,
            substatement_type=substatement_type,
            database=context.get("Database", "default"),
            catalog=context.get("Catalog", CATALOG).lower(),
            workgroup=workgroup,
            output_prefix=prefix if prefix.endswith("/") else prefix + "/",
            parameters=parameters,
            token=token,
            request=list(asked),
        )
        self.store.add(execution)
        missing = self._missing_namespace(execution)
        if missing is not None:
            reason, athena_error = missing
            self.store.finish(execution, "FAILED", reason, error=athena_error)
        else:
            self.runner.submit(execution)
        return {"QueryExecutionId": execution.id}

    def _missing_namespace(self, execution: Execution) -> tuple[str, dict[str, Any]] | None:
        """A catalog or database that does not exist fails the query, as on Athena."""
        if execution.catalog != CATALOG:
            reason = f"CATALOG_NOT_FOUND: Catalog '{execution.catalog}' does not exist"
        elif execution.database.lower() not in self.settings.databases:
            reason = f"SCHEMA_NOT_FOUND: Schema '{execution.database}' does not exist"
        else:
            return None
        error = {"ErrorCategory": 2, "ErrorType": 1301 if "SCHEMA" in reason else 1006, "Retryable": False}
        return reason, {**error, "ErrorMessage": reason}

    def GetQueryExecution(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"QueryExecution": self._execution(params["QueryExecutionId"]).describe()}

    def BatchGetQueryExecution(self, params: dict[str, Any]) -> dict[str, Any]:
        found, missing = [], []
        for execution_id in params["QueryExecutionIds"]:
            execution = self.store.get(execution_id)
            if execution is None:
                missing.append(
                    {
                        "QueryExecutionId": execution_id,
                        "ErrorCode": "INVALID_INPUT",
                        "ErrorMessage": f"QueryExecution {execution_id} was not found",
                    }
                )
            else:
                found.append(execution.describe())
        return {"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing}

    def ListQueryExecutions(self, params: dict[str, Any]) -> dict[str, Any]:
        workgroup = self._workgroup(params.get("WorkGroup"))
        ids = [e.id for e in self.store.newest_first(workgroup)]
        chosen, following = _page(ids, params.get("NextToken"), params.get("MaxResults") or 50, "executions")
        return {"QueryExecutionIds": chosen, **({"NextToken": following} if following else {})}

    def StopQueryExecution(self, params: dict[str, Any]) -> dict[str, Any]:
        self.runner.stop(self._execution(params["QueryExecutionId"]))
        return {}

    def GetQueryResults(self, params: dict[str, Any]) -> dict[str, Any]:
        execution = self._execution(params["QueryExecutionId"])
        limit = params.get("MaxResults", results.MAX_RESULTS)
        if limit > results.MAX_RESULTS:
            raise invalid(f"MaxResults is more than maximum allowed length {results.MAX_RESULTS}")
        if not execution.finished:
            raise invalid(
                f"Query has not yet finished. Current state: {execution.state}", "INVALID_QUERY_EXECUTION_STATE"
            )
        if execution.state == "FAILED":
            raise invalid(
                "Query did not finish successfully. Final query state: FAILED", "INVALID_QUERY_EXECUTION_STATE"
            )
        table = self.store.load_rows(execution.id) if execution.state == "SUCCEEDED" else None
        if table is None:
            raise invalid("Could not find results", "RESULT_NOT_FOUND")
        offset = 0
        if "NextToken" in params:
            found = results.token_offset(execution.id, params["NextToken"])
            if found is None:
                raise invalid(f"Malformed nextPageToken {params['NextToken']}")
            offset = found
        header = execution.statement_type == "DML" and table.num_columns > 0
        rows, following = results.page(table, header, offset, limit)
        response: dict[str, Any] = {
            "ResultSet": {"Rows": rows, "ResultSetMetadata": {"ColumnInfo": execution.columns or []}}
        }
        if execution.statement_type != "DDL":
            response["UpdateCount"] = 0
        if following is not None:
            response["NextToken"] = results.next_token(execution.id, following)
        return response

    def GetQueryRuntimeStatistics(self, params: dict[str, Any]) -> dict[str, Any]:
        execution = self._execution(params["QueryExecutionId"])
        timeline = execution.describe()["Statistics"]
        return {
            "QueryRuntimeStatistics": {
                "Timeline": {
                    key: timeline[key]
                    for key in (
                        "QueryQueueTimeInMillis",
                        "ServicePreProcessingTimeInMillis",
                        "QueryPlanningTimeInMillis",
                        "EngineExecutionTimeInMillis",
                        "ServiceProcessingTimeInMillis",
                        "TotalExecutionTimeInMillis",
                    )
                },
                "Rows": {
                    "InputRows": int(execution.stats.get("events_scanned", 0)),
                    "InputBytes": execution.scanned_bytes,
                    "OutputBytes": self._output_bytes(execution),
                    "OutputRows": execution.rows or 0,
                },
            }
        }

    def _output_bytes(self, execution: Execution) -> int:
        path = self.runner.result_path(execution)
        return path.stat().st_size if path is not None and path.exists() else 0

    # --- workgroups ----------------------------------------------------------------------

    def GetWorkGroup(self, params: dict[str, Any]) -> dict[str, Any]:
        self._workgroup(params["WorkGroup"])
        return {
            "WorkGroup": {
                "Name": WORKGROUP,
                "State": "ENABLED",
                "Configuration": {
                    "ResultConfiguration": {"OutputLocation": self.settings.output_location},
                    "EnforceWorkGroupConfiguration": False,
                    "PublishCloudWatchMetricsEnabled": False,
                    "RequesterPaysEnabled": False,
                    "EngineVersion": ENGINE_VERSION,
                    "EnableMinimumEncryptionConfiguration": False,
                },
                "Description": "trailsql serve: the workspace's tables",
                "CreationTime": self.settings.created,
            }
        }

    def ListWorkGroups(self, params: dict[str, Any]) -> dict[str, Any]:
        summary = {
            "Name": WORKGROUP,
            "State": "ENABLED",
            "Description": "trailsql serve: the workspace's tables",
            "CreationTime": self.settings.created,
            "EngineVersion": ENGINE_VERSION,
        }
        return {"WorkGroups": [summary]}

    # --- the catalog ---------------------------------------------------------------------

    def ListDataCatalogs(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"DataCatalogsSummary": [{"CatalogName": "AwsDataCatalog", "Type": "GLUE"}]}

    def _database(self, catalog: str, database: str) -> None:
        if catalog.lower() != CATALOG:
            raise ApiError("MetadataException", f"Catalog {catalog} was not found")
        if database.lower() not in self.settings.databases:
            raise ApiError("MetadataException", f"Database {database} was not found")

    def ListDatabases(self, params: dict[str, Any]) -> dict[str, Any]:
        self._database(params["CatalogName"], "default")
        databases = [metadata.database(name) for name in self.settings.databases]
        chosen, following = _page(databases, params.get("NextToken"), params.get("MaxResults") or 50, "databases")
        return {"DatabaseList": chosen, **({"NextToken": following} if following else {})}

    def GetDatabase(self, params: dict[str, Any]) -> dict[str, Any]:
        self._database(params["CatalogName"], params["DatabaseName"])
        return {"Database": metadata.database(params["DatabaseName"].lower())}

    def ListTableMetadata(self, params: dict[str, Any]) -> dict[str, Any]:
        self._database(params["CatalogName"], params["DatabaseName"])
        session = self.catalog()
        names = metadata.matching(session.names(), params.get("Expression"))
        chosen, following = _page(names, params.get("NextToken"), params.get("MaxResults") or 50, "tables")
        tables = [metadata.table_metadata(session, name) for name in chosen]
        return {"TableMetadataList": tables, **({"NextToken": following} if following else {})}

    def GetTableMetadata(self, params: dict[str, Any]) -> dict[str, Any]:
        self._database(params["CatalogName"], params["DatabaseName"])
        session = self.catalog()
        name = params["TableName"].lower()
        if name not in session.names():
            raise ApiError(
                "MetadataException", f"Table {params['TableName']} was not found in {params['DatabaseName']}"
            )
        return {"TableMetadata": metadata.table_metadata(session, name)}

    # --- named queries: the workspace's library --------------------------------------------

    def _library(self) -> named.Library:
        return named.Library(self.catalog().workspace, self.store)

    def CreateNamedQuery(self, params: dict[str, Any]) -> dict[str, Any]:
        self._workgroup(params.get("WorkGroup"))
        return {"NamedQueryId": named.named_id(self._library().create(params))}

    def GetNamedQuery(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"NamedQuery": self._library().get(params["NamedQueryId"])}

    def ListNamedQueries(self, params: dict[str, Any]) -> dict[str, Any]:
        self._workgroup(params.get("WorkGroup"))
        ids = self._library().ids()
        chosen, following = _page(ids, params.get("NextToken"), params.get("MaxResults") or 50, "named")
        return {"NamedQueryIds": chosen, **({"NextToken": following} if following else {})}

    def BatchGetNamedQuery(self, params: dict[str, Any]) -> dict[str, Any]:
        library = self._library()
        found, missing = [], []
        for named_id in params["NamedQueryIds"]:
            try:
                found.append(library.get(named_id))
            except ApiError as error:
                missing.append({"NamedQueryId": named_id, "ErrorCode": "INVALID_INPUT", "ErrorMessage": error.message})
        return {"NamedQueries": found, "UnprocessedNamedQueryIds": missing}

    def UpdateNamedQuery(self, params: dict[str, Any]) -> dict[str, Any]:
        self._library().update(params)
        return {}

    def DeleteNamedQuery(self, params: dict[str, Any]) -> dict[str, Any]:
        self._library().delete(params["NamedQueryId"])
        return {}
