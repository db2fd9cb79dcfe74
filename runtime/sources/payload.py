"""Sensor payloads -> values. Pure: bytes or OSC arguments in, a value or PayloadError out.

No sockets, no asyncio, no clock: every rule here is tested with byte strings. What a
value *means* (its range, whether the input exists) is decided afterwards by the scene's
own validation (`Scene.validate_update`), the same check gRPC and WebSocket updates pass,
so a sensor and a game get the same error for the same mistake.

Wire formats carry less type information than scenes, so `coerce` converts the obvious
cases toward the input's type before validation: text "42" for a number input, 0/1 or
"on"/"off" for a bool input (OSC toggles in Max and TouchDesigner send 0/1). Anything not
obvious is passed through unchanged and validation rejects it with its usual message.
"""

from __future__ import annotations

import json
import math

MAX_PAYLOAD_BYTES = 1024  # a sensor reading is a number or a small JSON object
MAX_TEXT_CHARS = 64       # longest plain-text value kept (enum values are short names)

_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0"})


class PayloadError(ValueError):
    """A payload that cannot be a reading. The message is safe to log as-is (it quotes at
    most a short prefix of the payload)."""


def preview(data: bytes | str, limit: int = 32) -> str:
    """A short, printable excerpt of a payload for log lines."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = text.replace("\n", "\\n")
    return repr(text if len(text) <= limit else text[:limit] + "...")


def decode_mqtt(payload: bytes, field: str | None = None,
                max_bytes: int = MAX_PAYLOAD_BYTES) -> object:
    """The value in an MQTT payload.

    ``field`` None: the payload is a plain value (``42``, ``0.7``, ``true``, ``cave``, or
    a JSON scalar such as ``"cave"``). ``field`` "a.b.0": the payload is a JSON object and
    the value sits at that dotted path (integers index lists).
    """
    if len(payload) > max_bytes:
        raise PayloadError(f"payload of {len(payload)} bytes is over the {max_bytes}-byte limit")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PayloadError(f"payload is not UTF-8 text: {preview(payload)}") from None
    if not text:
        raise PayloadError("empty payload")
    if field is None:
        return _plain_value(text)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise PayloadError(f"payload is not JSON (field {field!r} expected): {preview(text)}") from None
    return _scalar(lookup(document, field), f"field {field!r}")


def _plain_value(text: str) -> object:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        # Not JSON: a bare word such as `cave`, or text like `12 people`.
        if len(text) > MAX_TEXT_CHARS:
            raise PayloadError(f"text payload of {len(text)} characters is not a value: "
                               f"{preview(text)}") from None
        return text
    if isinstance(value, (dict, list)):
        kind = "object" if isinstance(value, dict) else "array"
        raise PayloadError(f"payload is a JSON {kind}, not a plain value (bind a `field:` "
                           f"to read a value inside it): {preview(text)}")
    return _scalar(value, "payload")


def lookup(document: object, path: str) -> object:
    """The value at a dotted path (``sensors.0.count``) in parsed JSON."""
    current = document
    walked: list[str] = []
    for part in path.split("."):
        walked.append(part)
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit() and \
                -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            where = ".".join(walked)
            if isinstance(current, (dict, list)):
                raise PayloadError(f"no field {where!r} in payload")
            parent = ".".join(walked[:-1])
            raise PayloadError(f"field {parent!r} is not an object" if parent else
                               f"payload is not a JSON object (field {path!r} expected)")
    return current


def _scalar(value: object, what: str) -> object:
    if value is None:
        raise PayloadError(f"{what} is null")
    if isinstance(value, (dict, list)):
        raise PayloadError(f"{what} is a JSON {'object' if isinstance(value, dict) else 'array'}, "
                           f"not a value")
    if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        raise PayloadError(f"{what} is a string of {len(value)} characters, not a value")
    return value


def osc_value(args: tuple | list, index: int = 0) -> object:
    """The value an OSC message carries in argument ``index``."""
    if not args:
        raise PayloadError("OSC message has no arguments")
    if not -len(args) <= index < len(args):
        raise PayloadError(f"OSC message has {len(args)} argument(s), the binding reads "
                           f"argument {index}")
    value = args[index]
    if isinstance(value, bytes):
        raise PayloadError(f"OSC argument {index} is a blob, not a value")
    if isinstance(value, (tuple, list)):
        raise PayloadError(f"OSC argument {index} is a {type(value).__name__}, not a value")
    return _scalar(value, f"OSC argument {index}")


def coerce(value: object, input_type: str) -> object:
    """Convert an unambiguous wire value toward ``input_type`` ("number", "bool", "enum").
    Never raises: what cannot be converted is returned as is, for validation to reject."""
    if input_type == "number":
        if isinstance(value, str):
            try:
                return float(value.strip())  # "nan" -> nan: validation says "must be finite"
            except ValueError:
                return value
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # a 400-digit JSON integer
                return math.inf
        return value
    if input_type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
        return value
    return value
