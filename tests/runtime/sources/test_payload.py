"""Payload parsing is pure: byte strings in, values or PayloadError out (no sockets)."""

from __future__ import annotations

import math
import re

import pytest

from cadenza.runtime.sources.payload import (
    MAX_PAYLOAD_BYTES,
    PayloadError,
    coerce,
    decode_mqtt,
    lookup,
    osc_value,
)


@pytest.mark.parametrize("payload, value", [
    (b"42", 42), (b" 0.75\n", 0.75), (b"-3e2", -300.0), (b"true", True), (b"cave", "cave"),
    (b'"cave"', "cave"), (b"12 people", "12 people"),
])
def test_plain_payloads(payload, value):
    assert decode_mqtt(payload) == value


def test_nan_parses_and_is_left_to_validation():
    # JSON's NaN extension parses; the scene's validation rejects it ("must be finite"),
    # exactly as it rejects a NaN sent over gRPC.
    assert math.isnan(decode_mqtt(b"NaN"))
    assert math.isinf(decode_mqtt(b'{"v": 1e999}', "v"))


@pytest.mark.parametrize("payload, field, message", [
    (b"", None, "empty payload"),
    (b"   ", None, "empty payload"),
    (b"\xff\xfe", None, "not UTF-8"),
    (b"x" * (MAX_PAYLOAD_BYTES + 1), None, "over the 1024-byte limit"),
    (b"y" * 200, None, "text payload of 200 characters"),
    (b'{"count": 3}', None, "JSON object, not a plain value"),
    (b"[1, 2]", None, "JSON array"),
    (b"null", None, "payload is null"),
    (b"{not json", "count", "not JSON"),
    (b"42", "count", "payload is not a JSON object (field 'count' expected)"),
    (b'{"a": 1}', "a.b", "field 'a' is not an object"),
    (b'{"count": 3}', "visitors", "no field 'visitors'"),
    (b'{"a": {"b": [1]}}', "a.b.3", "no field 'a.b.3'"),
    (b'{"count": {"now": 3}}', "count", "is a JSON object"),
    (b'{"count": null}', "count", "is null"),
    (b'{"count": "' + b"z" * 100 + b'"}', "count", "string of 100 characters"),
    (b"[" * 510 + b"]" * 510, None, "JSON array"),
])
def test_garbage_is_an_error_that_names_the_problem(payload, field, message):
    with pytest.raises(PayloadError, match=re.escape(message)):
        decode_mqtt(payload, field)


def test_field_paths():
    doc = {"sensors": [{"count": 4}, {"count": 9}], "room": {"lux": 0.3}}
    assert lookup(doc, "room.lux") == 0.3
    assert lookup(doc, "sensors.1.count") == 9
    assert lookup(doc, "sensors.-1.count") == 9
    assert decode_mqtt(b'{"data": {"count": 17}}', "data.count") == 17


def test_a_long_payload_error_quotes_only_a_prefix():
    with pytest.raises(PayloadError) as err:
        decode_mqtt(b"{" + b"q" * 900, "x")
    assert len(str(err.value)) < 120


def test_osc_arguments():
    assert osc_value((0.5,)) == 0.5
    assert osc_value((1, "x"), 1) == "x"
    with pytest.raises(PayloadError, match="no arguments"):
        osc_value(())
    with pytest.raises(PayloadError, match="argument 2"):
        osc_value((1.0,), 2)
    with pytest.raises(PayloadError, match="blob"):
        osc_value((b"\x00\x01",))


@pytest.mark.parametrize("value, kind, out", [
    ("42", "number", 42.0), (7, "number", 7.0), (10**400, "number", math.inf),
    ("x", "number", "x"), (True, "number", True),
    (1, "bool", True), (0.0, "bool", False), ("on", "bool", True), ("False", "bool", False),
    (0.5, "bool", 0.5), ("maybe", "bool", "maybe"),
    ("cave", "enum", "cave"), (3, "enum", 3),
])
def test_coerce_converts_only_the_obvious(value, kind, out):
    assert coerce(value, kind) == out
