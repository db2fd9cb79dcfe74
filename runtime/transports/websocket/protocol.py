"""The Cadenza WebSocket protocol, sans-I/O: bytes/text in, typed messages out, and back.

No sockets, no asyncio: `parse_client` turns a text frame into a message dataclass (or a
`ProtocolError` carrying the close/ack code — it never raises anything else), and the
`encode_*` functions build what the server sends. docs/websocket-protocol.md specifies
every byte of it; clients in C#, GDScript and JavaScript implement the same page.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAGIC = b"CDZA"
VERSION = 1
HEADER = struct.Struct("<4sHHQQIBBH")  # magic, version, header size, seq, time, rate, ch, enc, flags
HEADER_SIZE = HEADER.size  # 32
CLOCK = struct.Struct("<dfBBH")  # beat, bpm, beats per bar, beat unit, reserved
FLAG_CLOCK = 1  # the 16-byte clock block follows the base header (header size 48)
ENCODINGS = {"s16le": 1, "f32le": 2, "opus": 3}  # opus: see transports/opus.py
ENCODING_NAMES = {v: k for k, v in ENCODINGS.items()}
ACTIONS = ("play", "pause", "stop", "reset")
MAX_ID = 2**53


class ProtocolError(Exception):
    """A malformed or invalid client message. ``code`` is the short error code of
    docs/websocket-protocol.md (e.g. invalid_argument); ``id`` echoes the request id."""

    def __init__(self, message: str, field: str = "", id: int | None = None,
                 code: str = "invalid_argument") -> None:
        super().__init__(message)
        self.field = field
        self.id = id
        self.code = code


# ------------------------------------------------------------------ client messages
@dataclass(frozen=True)
class Create:
    scene: str | None = None
    scene_yaml: str | None = None
    engine: str | None = None
    seed: int | None = None
    state: Mapping[str, Any] = field(default_factory=dict)
    paused: bool = False
    encoding: str = "s16le"
    id: int | None = None
    beat_events: str | None = None  # None, "beats" or "bars"
    record: bool = False


@dataclass(frozen=True)
class Attach:
    session_id: str
    encoding: str = "s16le"
    resume_from_seq: int | None = None
    id: int | None = None
    beat_events: str | None = None


@dataclass(frozen=True)
class State:
    values: Mapping[str, Any]
    id: int | None = None


@dataclass(frozen=True)
class Prompts:
    prompts: Mapping[str, float]
    id: int | None = None


@dataclass(frozen=True)
class Trigger:
    stinger: str
    id: int | None = None


@dataclass(frozen=True)
class Control:
    action: str
    id: int | None = None


@dataclass(frozen=True)
class Config:
    """Live generation config: ``config`` fields to set (a None value clears one) and
    ``clear`` names to hand back to the scene. Values are checked by the session."""

    config: Mapping[str, Any] = field(default_factory=dict)
    clear: tuple[str, ...] = ()
    id: int | None = None


@dataclass(frozen=True)
class Ping:
    id: int | None = None


ClientMessage = Create | Attach | State | Prompts | Control | Trigger | Config | Ping


def parse_client(text: str | bytes) -> ClientMessage:
    """Parse one client text frame. Raises ProtocolError (only) on any problem."""
    if isinstance(text, bytes):
        raise ProtocolError("clients send JSON text frames, not binary frames", "frame")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"not valid JSON: {exc}", "frame") from None
    if not isinstance(data, dict):
        raise ProtocolError("a message is a JSON object with a 'type'", "type")
    msg_id = _id(data)
    kind = data.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise ProtocolError(f"unknown message type {kind!r}; types: {', '.join(_PARSERS)}",
                            "type", msg_id)
    return parser(data, msg_id)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number here")


def _id(data: dict) -> int | None:
    value = data.get("id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_ID:
        raise ProtocolError("'id' must be a whole number >= 0", "id")
    return value


def _encoding(data: dict, msg_id) -> str:
    encoding = data.get("encoding", "s16le")
    if encoding not in ENCODINGS:
        raise ProtocolError(f"encoding must be s16le, f32le or opus, got {encoding!r}", "encoding",
                            msg_id)
    return encoding


def _beat_events(data: dict, msg_id) -> str | None:
    value = data.get("beat_events", "none")
    if value not in ("none", "beats", "bars"):
        raise ProtocolError(f"beat_events must be none, beats or bars, got {value!r}",
                            "beat_events", msg_id)
    return None if value == "none" else value


def _str(data: dict, key: str, msg_id, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ProtocolError(f"'{key}' is required", key, msg_id)
        return None
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"'{key}' must be a non-empty string", key, msg_id)
    return value


def _values(data: dict, key: str, msg_id) -> dict[str, Any]:
    values = data.get(key, {})
    if not isinstance(values, dict):
        raise ProtocolError(f"'{key}' must be an object of name: value", key, msg_id)
    for name, value in values.items():
        if not isinstance(value, (bool, int, float, str)):
            raise ProtocolError(f"input {name!r} must be a number, a string or a bool", name,
                                msg_id)
    return values


def _create(data: dict, msg_id) -> Create:
    scene, scene_yaml = _str(data, "scene", msg_id), _str(data, "scene_yaml", msg_id)
    if (scene is None) == (scene_yaml is None):
        raise ProtocolError("give exactly one of 'scene' (a name) or 'scene_yaml'", "scene",
                            msg_id)
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ProtocolError("'seed' must be a whole number >= 0", "seed", msg_id)
    flags = {}
    for key in ("paused", "record"):
        flags[key] = data.get(key, False)
        if not isinstance(flags[key], bool):
            raise ProtocolError(f"'{key}' must be true or false", key, msg_id)
    return Create(scene, scene_yaml, _str(data, "engine", msg_id), seed,
                  _values(data, "state", msg_id), flags["paused"], _encoding(data, msg_id), msg_id,
                  _beat_events(data, msg_id), flags["record"])


def _attach(data: dict, msg_id) -> Attach:
    resume = data.get("resume_from_seq")
    if resume is not None and (isinstance(resume, bool) or not isinstance(resume, int)
                               or resume < 0):
        raise ProtocolError("'resume_from_seq' must be a whole number >= 0", "resume_from_seq",
                            msg_id)
    return Attach(_str(data, "session_id", msg_id, required=True), _encoding(data, msg_id),
                  resume, msg_id, _beat_events(data, msg_id))


def _state(data: dict, msg_id) -> State:
    return State(_values(data, "values", msg_id), msg_id)


def _prompts(data: dict, msg_id) -> Prompts:
    prompts = data.get("prompts", {})
    if isinstance(prompts, list):  # [{"text": ..., "weight": ...}] is accepted too
        try:
            prompts = {p["text"]: p["weight"] for p in prompts}
        except (TypeError, KeyError):
            raise ProtocolError("each prompt needs 'text' and 'weight'", "prompts", msg_id) from None
    if not isinstance(prompts, dict):
        raise ProtocolError("'prompts' must map prompt text to a weight", "prompts", msg_id)
    for text, weight in prompts.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or \
                not math.isfinite(weight):
            raise ProtocolError(f"weight of prompt {text!r} must be a finite number",
                                f"prompts[{text}]", msg_id)
    return Prompts({str(k): float(v) for k, v in prompts.items()}, msg_id)


def _control(data: dict, msg_id) -> Control:
    action = data.get("action")
    if action not in ACTIONS:
        raise ProtocolError(f"'action' must be one of {', '.join(ACTIONS)}, got {action!r}",
                            "action", msg_id)
    return Control(action, msg_id)


def _trigger(data: dict, msg_id) -> Trigger:
    return Trigger(_str(data, "stinger", msg_id, required=True), msg_id)


def _config(data: dict, msg_id) -> Config:
    config = data.get("config", {})
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ProtocolError("'config' must be an object of field: value", "config", msg_id)
    for name, value in config.items():
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise ProtocolError(f"config field {name[:40]!r} must be a number, a string or a "
                                f"bool (null clears it)", f"config.{name}", msg_id)
    clear = data.get("clear", [])
    if clear is None:
        clear = []
    if not isinstance(clear, list) or not all(isinstance(c, str) for c in clear):
        raise ProtocolError("'clear' must be a list of config field names", "clear", msg_id)
    return Config(config, tuple(clear), msg_id)


_PARSERS = {"create": _create, "attach": _attach, "state": _state, "prompts": _prompts,
            "control": _control, "trigger": _trigger, "config": _config,
            "ping": lambda data, msg_id: Ping(msg_id)}


# ------------------------------------------------------------------ server messages
def encode_audio(seq: int, stream_time: int, sample_rate: int, channels: int, encoding: str,
                 pcm: bytes, clock: tuple[float, float, int, int] | None = None) -> bytes:
    """A binary audio frame (docs/websocket-protocol.md): the 32-byte base header, the
    16-byte clock block when ``clock`` = (beat, bpm, beats per bar, beat unit) is given,
    then the PCM."""
    if clock is None:
        return HEADER.pack(MAGIC, VERSION, HEADER_SIZE, seq, stream_time, sample_rate, channels,
                           ENCODINGS[encoding], 0) + pcm
    beat, bpm, per_bar, unit = clock
    return (HEADER.pack(MAGIC, VERSION, HEADER_SIZE + CLOCK.size, seq, stream_time, sample_rate,
                        channels, ENCODINGS[encoding], FLAG_CLOCK)
            + CLOCK.pack(beat, bpm, per_bar, unit, 0) + pcm)


@dataclass(frozen=True)
class AudioFrame:
    seq: int
    stream_time: int
    sample_rate: int
    channels: int
    encoding: str
    pcm: bytes
    beat: float | None = None  # beats since the session started, at the first sample
    bpm: float | None = None
    beats_per_bar: int | None = None
    beat_unit: int | None = None

    @property
    def frames(self) -> int:
        """PCM frames in this frame (for opus: the samples its packets decode to)."""
        if self.encoding == "opus":
            from ..opus import unpack
            p = unpack(self.pcm)
            return len(p.packets) * p.frame_size
        return len(self.pcm) // (self.channels * (2 if self.encoding == "s16le" else 4))


def decode_audio(data: bytes) -> AudioFrame:
    """Parse a binary audio frame (for clients and tests). Raises ProtocolError."""
    if len(data) < HEADER_SIZE:
        raise ProtocolError(f"audio frame shorter than its {HEADER_SIZE}-byte header", "frame")
    magic, version, size, seq, time, rate, channels, encoding, flags = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ProtocolError(f"bad magic {magic!r}", "frame")
    if version != VERSION or size < HEADER_SIZE or size > len(data):
        raise ProtocolError(f"unsupported frame version {version} / header size {size}", "frame")
    if encoding not in ENCODING_NAMES:
        raise ProtocolError(f"unknown encoding {encoding}", "frame")
    clock: tuple = (None, None, None, None)
    if flags & FLAG_CLOCK and size >= HEADER_SIZE + CLOCK.size:
        clock = CLOCK.unpack_from(data, HEADER_SIZE)[:4]
    return AudioFrame(seq, time, rate, channels, ENCODING_NAMES[encoding], bytes(data[size:]),
                      *clock)


def encode_json(message_type: str, /, **fields: Any) -> str:
    return json.dumps({"type": message_type, **fields}, separators=(",", ":"), allow_nan=False)


def encode_error(message: str, code: str, field: str = "", id: int | None = None,
                 retry_after_s: float | None = None) -> str:
    fields: dict[str, Any] = {"code": code, "message": message, "field": field}
    if id is not None:
        fields["id"] = id
    if retry_after_s is not None:
        fields["retry_after_s"] = round(retry_after_s, 3)
    return encode_json("error", **fields)


def encode_ack(id: int | None, **fields: Any) -> str | None:
    """The success reply to a message with an id (None without one); a config message's
    ack also carries ``config`` (the override in effect) and ``unsupported``."""
    return None if id is None else encode_json("ack", id=id, **fields)


def blend_list(weights: Mapping[str, float], prompts: Mapping[str, str]) -> list[dict]:
    return [{"name": n, "text": prompts.get(n, n), "weight": round(w, 6)}
            for n, w in weights.items()]
