"""The one error reporter of every edge: metrics + short code + public message, sanitized.

`report(exc, metrics, transport)` counts the error in ``cadenza_errors_total``, logs our
own faults in full (never the client's mistakes: they are the client's to read), and
returns an `ErrorReport` whose every string is safe to put on any wire:

* ASCII only: non-ASCII and control characters are written as Python escapes
  (``café`` -> ``caf\\xe9``), so no trailer or terminal is ever broken by input;
* bounded: at most `MAX_MESSAGE` (message) / `MAX_FIELD` (field) characters, cut with
  ``...`` at the end, so an error never echoes unbounded input (a 16 KB session id);
* gRPC's ``cadenza-field`` trailer additionally percent-encodes the (bounded) original
  field as UTF-8 (`trailer_field`), which the SDKs decode back;
* an error with ``retry_after_s`` (overload, an engine warming up) carries it on: gRPC
  trailer ``cadenza-retry-after`` (decimal seconds), WebSocket error field
  ``retry_after_s``.

Our faults say only "internal error" (details go to the log). Thread: any.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

from ..errors import SceneError, SceneIssue
from .status import Status, status_of

log = logging.getLogger("cadenza.edge")
MAX_MESSAGE = 300
MAX_FIELD = 120
ELLIPSIS = "..."
INTERNAL_MESSAGE = "internal error"


class ErrorCounter(Protocol):
    def error(self, transport: str, code: str) -> None: ...


def sanitize(text: object, limit: int = MAX_MESSAGE) -> str:
    """``text`` as printable ASCII of at most ``limit`` characters (see the module doc)."""
    value = text if isinstance(text, str) else str(text)
    if len(value) > 4 * limit:  # never escape megabytes only to cut them
        value = value[: 4 * limit]
    out = "".join(ch if " " <= ch <= "~" else _escape(ch) for ch in value)
    if len(out) > limit:
        out = out[: max(0, limit - len(ELLIPSIS))] + ELLIPSIS
    return out


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def trailer_field(field: str) -> str:
    """The ``cadenza-field`` gRPC trailer value: the field bounded to `MAX_FIELD`
    characters, then percent-encoded (UTF-8; RFC 3986 unreserved characters and
    ``[]./:*`` kept) — always valid ASCII metadata."""
    bounded = field if len(field) <= MAX_FIELD else field[: MAX_FIELD - len(ELLIPSIS)] + ELLIPSIS
    return quote(bounded.encode("utf-8", "surrogatepass"), safe="[]./:*")


@dataclass(frozen=True)
class ErrorReport:
    status: Status
    message: str  # sanitized public message
    field: str  # sanitized field ("" when none)
    raw_field: str  # the field as raised (for `trailer_field`)
    issues: tuple[SceneIssue, ...] = ()
    retry_after_s: float | None = None  # when the client may retry (overload, warm-up)

    @property
    def code(self) -> str:
        return self.status.code

    @property
    def grpc(self) -> str:
        return self.status.grpc

    @property
    def ws_close(self) -> int:
        return self.status.ws_close

    @property
    def trailer(self) -> str:
        return trailer_field(self.raw_field)

    @property
    def close_reason(self) -> str:
        """A WebSocket close reason: at most 123 bytes by RFC 6455."""
        return sanitize(self.message, 120)


def describe(exc: BaseException) -> ErrorReport:
    """The report for ``exc`` without counting or logging it."""
    row = status_of(exc)
    message = sanitize(str(exc)) if row.public else INTERNAL_MESSAGE
    raw = getattr(exc, "field", None) if row.public else None
    raw = raw if isinstance(raw, str) else ""
    issues = tuple(exc.issues) if isinstance(exc, SceneError) else ()
    retry = getattr(exc, "retry_after_s", None) if row.public else None
    retry = float(retry) if isinstance(retry, (int, float)) and math.isfinite(retry) \
        and retry >= 0 else None
    return ErrorReport(row, message, sanitize(raw, MAX_FIELD), raw, issues, retry)


def report(exc: BaseException, metrics: ErrorCounter | None, transport: str) -> ErrorReport:
    """Count, log (our faults only) and describe ``exc``: the one call at every edge."""
    result = describe(exc)
    if metrics is not None:
        metrics.error(transport, result.code)
    if not result.status.public:
        log.error("internal error on %s", transport, exc_info=exc)
    return result


__all__ = ["ELLIPSIS", "MAX_FIELD", "MAX_MESSAGE", "ErrorReport", "describe", "report",
           "sanitize", "trailer_field"]
