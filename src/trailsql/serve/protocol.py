"""Athena's wire protocol (AWS JSON 1.1): errors in Athena's shapes, requests checked
against botocore's service model (the reference every client is generated from)."""

from __future__ import annotations

import functools
from typing import Any

from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape
from botocore.validate import ParamValidator

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "AmazonAthena."


class ApiError(Exception):
    """An error answered in Athena's shape: HTTP ``status`` with ``{"__type", "Message"}``, and
    ``AthenaErrorCode``/``ErrorCode`` where Athena gives them (InvalidRequestException)."""

    def __init__(self, kind: str, message: str, athena_code: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.athena_code = athena_code
        self.status = status

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"__type": self.kind, "Message": self.message}
        if self.athena_code is not None:
            body["AthenaErrorCode"] = self.athena_code
            body["ErrorCode"] = self.athena_code
        return body


def invalid(message: str, code: str = "INVALID_INPUT") -> ApiError:
    """Athena's InvalidRequestException, the error of every bad request."""
    return ApiError("InvalidRequestException", message, code)


@functools.cache
def service_model() -> ServiceModel:
    """Athena's model as botocore ships it: the operations, their inputs and outputs."""
    loader = Loader()
    return ServiceModel(loader.load_service_model("athena", "service-2"), service_name="athena")


def input_shape(operation: str) -> Shape | None:
    """The input shape of ``operation``, or None for an operation Athena does not have."""
    model = service_model()
    if operation not in model.operation_names:
        return None
    return model.operation_model(operation).input_shape


def validate(operation: str, params: Any) -> None:
    """Refuse a request the model refuses (a missing required member, a wrong type, a value
    out of range) as Athena does: InvalidRequestException, INVALID_INPUT."""
    shape = input_shape(operation)
    if shape is None:
        raise ApiError("UnknownOperationException", f"{operation} is not an operation of this server")
    if not isinstance(params, dict):
        raise ApiError("SerializationException", "the request body must be a JSON object")
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        errors = report.generate_report().splitlines()
        raise invalid(f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected: " + "; ".join(errors))
