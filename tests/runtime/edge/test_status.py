"""The grpc-free status table: every error class maps by its own ``code``."""

from __future__ import annotations

import grpc
import pytest

from cadenza.runtime import errors
from cadenza.runtime.edge import status
from cadenza.runtime.sinks.device import DeviceUnavailable


@pytest.mark.parametrize(("exc", "code", "grpc_name", "close"), [
    (errors.InvalidArgument("x", field="f"), "invalid_argument", "INVALID_ARGUMENT", 4400),
    (errors.SceneError([errors.SceneIssue("s.yaml", 3, "mix", "bad")]), "invalid_argument",
     "INVALID_ARGUMENT", 4400),
    (errors.NotFound("x"), "not_found", "NOT_FOUND", 4404),
    (errors.Unauthenticated("x"), "unauthenticated", "UNAUTHENTICATED", 4401),
    (errors.PermissionDenied("x"), "permission_denied", "PERMISSION_DENIED", 4403),
    (errors.FailedPrecondition("x"), "failed_precondition", "FAILED_PRECONDITION", 4409),
    (errors.ResourceExhausted("x"), "resource_exhausted", "RESOURCE_EXHAUSTED", 4429),
    (errors.EngineUnavailable("x"), "unavailable", "UNAVAILABLE", 4503),
    (DeviceUnavailable("no sound card"), "unavailable", "UNAVAILABLE", 4503),  # was INTERNAL
    (errors.EngineError("x"), "internal", "INTERNAL", 4500),
    (errors.ServerError("x"), "internal", "INTERNAL", 4500),
    (RecursionError("deep"), "internal", "INTERNAL", 4500),
    (KeyError("k"), "internal", "INTERNAL", 4500),
])
def test_each_error_maps_by_its_code(exc, code, grpc_name, close):
    assert status.short_code(exc) == code
    assert status.grpc_name(exc) == grpc_name
    assert status.ws_close_code(exc) == close


def test_every_row_names_a_real_grpc_status_and_a_private_close_code():
    for row in status.TABLE.values():
        assert grpc.StatusCode[row.grpc].name == row.grpc
        assert 4000 <= row.ws_close < 5000  # RFC 6455's range for applications
    assert len({r.ws_close for r in status.TABLE.values()}) == len(status.TABLE)


def test_a_new_error_class_needs_no_new_row():
    class Throttled(errors.ClientError):
        code = "resource_exhausted"

    class Weird(errors.CadenzaError):
        code = "no_such_code"

    assert status.grpc_name(Throttled("slow down")) == "RESOURCE_EXHAUSTED"
    assert status.grpc_name(Weird("?")) == "INTERNAL"


def test_field_of_only_returns_text():
    assert status.field_of(errors.InvalidArgument("x", field="danger")) == "danger"
    assert status.field_of(errors.NotFound("x")) == ""
    assert status.field_of(ValueError("x")) == ""
