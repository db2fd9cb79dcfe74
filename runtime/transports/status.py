"""Compatibility names for the edge kit's status table (`cadenza.runtime.edge.status`).

grpc-free: the WebSocket bridge and the console import this without grpc installed.
"""

from __future__ import annotations

from ..edge.report import describe
from ..edge.status import WS_GOING_AWAY, WS_NORMAL, field_of, grpc_name, short_code, ws_close_code


def public_message(exc: BaseException) -> str:
    """What a client may see: the sanitized message of a client error, never our internals."""
    return describe(exc).message


__all__ = ["WS_GOING_AWAY", "WS_NORMAL", "field_of", "grpc_name", "public_message", "short_code",
           "ws_close_code"]
