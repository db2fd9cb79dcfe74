"""One error hierarchy for the whole runtime.

Client mistakes (`ClientError` and subclasses) carry a message that is safe to show to
the caller; our own faults (`ServerError`) are reported with a generic message at the
edges and logged in full. Transports map these classes to their own codes with the
tables in `cadenza.runtime.transports.status`; nothing else decides a status code.
"""

from __future__ import annotations

from dataclasses import dataclass


class CadenzaError(Exception):
    """Base of every error the runtime raises on purpose. ``retry_after_s``: when set,
    the condition is temporary and the edges pass the hint on (gRPC trailer
    ``cadenza-retry-after``, WebSocket error field ``retry_after_s``)."""

    code: str = "internal"
    retry_after_s: float | None = None


class ClientError(CadenzaError):
    """The caller did something wrong; the message says what, precisely."""

    code = "invalid_argument"


class InvalidArgument(ClientError):
    """A value, a scene or a request is malformed. `field` names the culprit."""

    code = "invalid_argument"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(ClientError):
    code = "not_found"


class Unauthenticated(ClientError):
    code = "unauthenticated"


class PermissionDenied(ClientError):
    code = "permission_denied"


class ResourceExhausted(ClientError):
    code = "resource_exhausted"

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class FailedPrecondition(ClientError):
    """The request is valid but not in the session's current state (e.g. closed)."""

    code = "failed_precondition"


class ServerError(CadenzaError):
    """Our fault. Reported to clients without internals."""

    code = "internal"


class EngineError(ServerError):
    """An engine failed while generating; the affected sessions end, the server stays up."""

    code = "internal"


class EngineUnavailable(ServerError):
    """An engine cannot be constructed here (missing optional package or weights), or
    is still starting (then with ``retry_after_s``)."""

    code = "unavailable"

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class SceneIssue:
    """One problem found in a scene: where it is and what is wrong.

    `str()` gives the form the CLI prints and the API returns:
    ``scenes/dungeon.yaml:14 mix[2].weight: unknown input 'dangr' (did you mean 'danger'?)``
    """

    file: str
    line: int | None
    path: str
    message: str
    severity: str = "error"  # "error" | "warning"
    column: int | None = None  # within an expression, 1-based, when known

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" {self.path}:" if self.path else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}{field} {prefix}{self.message}"


class SceneError(InvalidArgument):
    """A scene failed to compile. `issues` lists every error found, in file order."""

    def __init__(self, issues: list[SceneIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.line or 0, i.path))
        first = self.issues[0] if self.issues else None
        more = f" (and {len(self.issues) - 1} more)" if len(self.issues) > 1 else ""
        super().__init__(f"{first}{more}", field=first.path if first else None)

    def report(self) -> str:
        return "\n".join(str(i) for i in self.issues)
