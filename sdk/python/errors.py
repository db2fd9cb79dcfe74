"""One exception for SDK users, carrying the gRPC status name and the offending field."""

from __future__ import annotations

import grpc


class CadenzaError(Exception):
    """A call failed. ``code`` is the gRPC status name (e.g. "INVALID_ARGUMENT"),
    ``field`` the input or field the server named (empty when none)."""

    def __init__(self, code: str, message: str, field: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field

    @classmethod
    def from_rpc(cls, error: grpc.RpcError) -> CadenzaError:
        code = error.code().name if hasattr(error, "code") and error.code() else "UNKNOWN"
        details = error.details() if hasattr(error, "details") else str(error)
        field = ""
        trailing = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
        for key, value in trailing or ():
            if key == "cadenza-field":
                field = value
        return cls(code, details or "", field)


RETRYABLE = ("UNAVAILABLE",)
