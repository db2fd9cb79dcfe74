"""The session routing header (``x-cadenza-session``), grpc- and redis-free.

A cluster's Envoy hashes on it. On ``CreateSession`` the SDKs send a fresh id in it; the
gRPC servicer puts it in `REQUESTED` and the runtime adopts it as the new session's id
(`requested_id`), so the create and every later call of the session hash to the same
worker. Without the header (or with a malformed one) the server picks the id, as always.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

SESSION_HEADER = "x-cadenza-session"
_VALID = re.compile(r"[A-Za-z0-9_-]{8,64}")
REQUESTED: ContextVar[str | None] = ContextVar("cadenza_requested_session_id", default=None)


def from_metadata(metadata) -> str | None:
    for key, value in metadata or ():
        if key == SESSION_HEADER and isinstance(value, str) and _VALID.fullmatch(value):
            return value
    return None


def requested_id() -> str | None:
    """The id the current CreateSession asked for (valid and set by the servicer), once."""
    value = REQUESTED.get()
    REQUESTED.set(None)
    return value
