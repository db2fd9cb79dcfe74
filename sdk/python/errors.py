"""The SDK's exceptions: one class per status, all under `CadenzaError`.

Every error keeps ``code`` (the gRPC status name, e.g. "INVALID_ARGUMENT"), ``message``
and ``field`` (the input or field the server named, "" when none), so
``except CadenzaError as e: e.code`` keeps working; catch a subclass for one case::

    try:
        session.update(dangr=1)
    except InvalidArgument as e:
        print(e.field)          # "dangr"

A client that finds no server raises `ServerUnavailable` with one line naming the fix
(``cadenza serve``), never a chain of gRPC internals.
"""

from __future__ import annotations

import contextlib
from urllib.parse import unquote

import grpc


class CadenzaError(Exception):
    """A call failed. ``code`` is the gRPC status name (e.g. "INVALID_ARGUMENT"),
    ``field`` the input or field the server named (empty when none)."""

    def __init__(self, code: str, message: str, field: str = "",
                 retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after  # seconds the server asks to wait before retrying

    @classmethod
    def from_rpc(cls, error: grpc.RpcError, address: str | None = None) -> CadenzaError:
        """The SDK error for a failed call (the subclass of its status)."""
        status = error.code() if hasattr(error, "code") else None
        code = status.name if status is not None else "UNKNOWN"
        details = (error.details() if hasattr(error, "details") else str(error)) or ""
        field = ""
        retry_after = None
        trailing = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
        for key, value in trailing or ():
            if key == "cadenza-field":
                field = unquote(value) if isinstance(value, str) else ""
            elif key == "cadenza-retry-after":
                with contextlib.suppress(TypeError, ValueError):
                    retry_after = float(value)
        if code == "UNAVAILABLE" and address is not None and _no_server(details):
            return ServerUnavailable(code, f"no Cadenza server at {address} (start one with "
                                           f"`cadenza serve`, or pass the right address)")
        return BY_CODE.get(code, cls)(code, details, field, retry_after)


def _no_server(details: str) -> bool:
    text = details.lower()
    return any(s in text for s in ("failed to connect", "connection refused", "connect failed",
                                   "dns resolution failed", "no address", "unavailable"))


class InvalidArgument(CadenzaError):
    """A value, scene or request was malformed; ``field`` names it."""


class NotFound(CadenzaError):
    """No such session, scene or engine."""


class Unauthenticated(CadenzaError):
    """The server wants a token (``Client(token=...)``), or it was wrong."""


class PermissionDenied(CadenzaError):
    pass


class ResourceExhausted(CadenzaError):
    """Over a limit: sessions, listeners, update rate, message size, a slow stream."""


class FailedPrecondition(CadenzaError):
    """Valid, but not in the session's state (e.g. a closed session)."""


class DeadlineExceeded(CadenzaError):
    pass


class Unavailable(CadenzaError):
    """The server (or an engine on it) cannot serve now; retry later."""


class ServerUnavailable(Unavailable):
    """No server answers at the address: start one with ``cadenza serve``."""


class Internal(CadenzaError):
    """The server's fault (its log has the details)."""


BY_CODE: dict[str, type[CadenzaError]] = {
    "INVALID_ARGUMENT": InvalidArgument, "NOT_FOUND": NotFound,
    "UNAUTHENTICATED": Unauthenticated, "PERMISSION_DENIED": PermissionDenied,
    "RESOURCE_EXHAUSTED": ResourceExhausted, "FAILED_PRECONDITION": FailedPrecondition,
    "DEADLINE_EXCEEDED": DeadlineExceeded, "UNAVAILABLE": Unavailable, "INTERNAL": Internal,
}
RETRYABLE = ("UNAVAILABLE",)

__all__ = ["BY_CODE", "RETRYABLE", "CadenzaError", "DeadlineExceeded", "FailedPrecondition",
           "Internal", "InvalidArgument", "NotFound", "PermissionDenied", "ResourceExhausted",
           "ServerUnavailable", "Unauthenticated", "Unavailable"]
