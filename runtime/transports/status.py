"""The one table from runtime errors to wire codes (gRPC status, WebSocket close codes).

Client mistakes carry their own message; our faults are reported as "internal error"
without internals (the details go to the log).
"""

from __future__ import annotations

import grpc

from .. import errors

# error class -> (gRPC status, WebSocket close code, short code used in JSON messages)
_TABLE: list[tuple[type[errors.CadenzaError], grpc.StatusCode, int, str]] = [
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT, 4400, "invalid_argument"),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED, 4401, "unauthenticated"),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED, 4403, "permission_denied"),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND, 4404, "not_found"),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION, 4409, "failed_precondition"),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED, 4429, "resource_exhausted"),
    (errors.ClientError, grpc.StatusCode.INVALID_ARGUMENT, 4400, "invalid_argument"),
    (errors.EngineUnavailable, grpc.StatusCode.UNAVAILABLE, 4503, "unavailable"),
    (errors.CadenzaError, grpc.StatusCode.INTERNAL, 4500, "internal"),
]
WS_NORMAL = 1000  # the session ended normally
WS_GOING_AWAY = 1001  # the server is shutting down


def _row(exc: BaseException):
    for cls, status, close, code in _TABLE:
        if isinstance(exc, cls):
            return status, close, code
    return grpc.StatusCode.INTERNAL, 4500, "internal"


def public_message(exc: BaseException) -> str:
    """What a client may see: the message of a client error, never our internals."""
    if isinstance(exc, errors.ClientError | errors.EngineUnavailable):
        return str(exc)
    return "internal error"


def grpc_status(exc: BaseException) -> grpc.StatusCode:
    return _row(exc)[0]


def ws_close_code(exc: BaseException) -> int:
    return _row(exc)[1]


def short_code(exc: BaseException) -> str:
    return _row(exc)[2]


def field_of(exc: BaseException) -> str:
    return getattr(exc, "field", None) or ""
