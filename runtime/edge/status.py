"""The one status table: short error code -> gRPC status name and WebSocket close code.

Driven by each error class's own ``code`` attribute (`cadenza.runtime.errors`), so a new
error class (say ``DeviceUnavailable``, code "unavailable") maps correctly without a row
naming it. Imports nothing of gRPC: the gRPC codec turns the *name* into
``grpc.StatusCode[name]`` itself, and the WebSocket bridge and console use it grpc-free.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import errors


@dataclass(frozen=True)
class Status:
    code: str         # the short code of JSON error frames, e.g. "not_found"
    grpc: str         # a grpc.StatusCode name, e.g. "NOT_FOUND"
    ws_close: int     # the WebSocket close code when the error ends a connection
    public: bool      # whether the exception's own message may be shown to the client


TABLE: dict[str, Status] = {s.code: s for s in (
    Status("invalid_argument", "INVALID_ARGUMENT", 4400, True),
    Status("unauthenticated", "UNAUTHENTICATED", 4401, True),
    Status("permission_denied", "PERMISSION_DENIED", 4403, True),
    Status("not_found", "NOT_FOUND", 4404, True),
    Status("failed_precondition", "FAILED_PRECONDITION", 4409, True),
    Status("resource_exhausted", "RESOURCE_EXHAUSTED", 4429, True),
    Status("unavailable", "UNAVAILABLE", 4503, True),
    Status("deadline_exceeded", "DEADLINE_EXCEEDED", 4504, True),
    Status("internal", "INTERNAL", 4500, False),
)}
INTERNAL = TABLE["internal"]
WS_NORMAL = 1000  # the session ended normally
WS_GOING_AWAY = 1001  # the server is shutting down
BY_GRPC = {s.grpc: s for s in TABLE.values()}


def status_of(exc: BaseException) -> Status:
    """The row for ``exc``: its class's ``code`` when it is one of ours and known; anything
    else (a bug, a library's exception) is internal."""
    if not isinstance(exc, errors.CadenzaError):
        return INTERNAL
    return TABLE.get(getattr(exc, "code", "internal"), INTERNAL)


def short_code(exc: BaseException) -> str:
    return status_of(exc).code


def grpc_name(exc: BaseException) -> str:
    return status_of(exc).grpc


def ws_close_code(exc: BaseException) -> int:
    return status_of(exc).ws_close


def field_of(exc: BaseException) -> str:
    value = getattr(exc, "field", None)
    return value if isinstance(value, str) else ""


__all__ = ["BY_GRPC", "INTERNAL", "TABLE", "WS_GOING_AWAY", "WS_NORMAL", "Status", "field_of",
           "grpc_name", "short_code", "status_of", "ws_close_code"]
