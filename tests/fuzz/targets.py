"""Fuzz targets and input strategies, shared by the bounded CI suite (tests/fuzz) and the
long campaign (benchmarks/fuzz.py).

A target takes one input and returns its outcome: ``"ok"`` or ``"refused:<Error>"`` for
the errors its contract allows. Anything else it raises is a crash (a bug): the caller
records the input. Inputs are text or bytes, so that any of them can be saved in the
regression corpus (tests/data/fuzz-corpus/<target>/) and replayed.
"""

from __future__ import annotations

import contextlib
import json
import struct
from collections.abc import Callable
from pathlib import Path

import yaml
from hypothesis import strategies as st
from pythonosc.osc_message_builder import OscMessageBuilder

from cadenza.runtime.errors import SceneError
from cadenza.runtime.scene import compile_scene
from cadenza.runtime.scene.expr import Compiler, EnumType, ExprError
from cadenza.runtime.scene.source import YamlSyntaxError, parse_yaml
from cadenza.runtime.sources.binding import Binding
from cadenza.runtime.sources.osc_codec import OscCodec
from cadenza.runtime.sources.payload import PayloadError, coerce, decode_mqtt, osc_value
from cadenza.runtime.transports.websocket.protocol import ProtocolError, decode_audio, parse_client

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "fuzz-corpus"
SCENES = sorted((ROOT / "scenes").glob("*.yaml"))

# ---------------------------------------------------------------------------- targets


def yaml_loader(text: str) -> str:
    try:
        parse_yaml(text)
    except YamlSyntaxError:
        return "refused:YamlSyntaxError"
    return "ok"


def scene_compiler(text: str) -> str:
    try:
        compile_scene(text, "fuzz.yaml", check_files=False, untrusted=True)
    except SceneError as exc:
        issue = exc.issues[0]
        assert issue.file == "fuzz.yaml" and issue.message, exc
        return "refused:SceneError"
    return "ok"


_NAMES = {"x": "number", "y": "number", "on": "bool",
          "biome": EnumType("biome", ("cave", "forest", "town"))}


def expression(text: str) -> str:
    try:
        compiled = Compiler(_NAMES).compile(text)
    except ExprError as exc:
        assert exc.column >= 0
        return "refused:ExprError"
    for env in ({"x": 0.0, "y": 1.0, "on": False, "biome": "cave"},
                {"x": 1.0, "y": -1.0, "on": True, "biome": "town"}):
        value = compiled.fn(env)  # evaluation never raises either
        assert isinstance(value, (bool, int, float, str)), value
    return "ok"


def websocket_codec(text: str) -> str:
    try:
        parse_client(text)
    except ProtocolError as exc:
        assert exc.code and isinstance(exc.field, str)
        return "refused:ProtocolError"
    return "ok"


def websocket_audio(data: bytes) -> str:
    try:
        decode_audio(data)
    except ProtocolError:
        return "refused:ProtocolError"
    return "ok"


def mqtt_payload(data: bytes) -> str:
    field = None
    if data[:1] == b"\x01":  # the first byte picks a JSON field path, for variety
        field, data = "a.b.0", data[1:]
    try:
        value = decode_mqtt(data, field)
    except PayloadError:
        return "refused:PayloadError"
    for kind in ("number", "bool", "enum"):
        coerce(value, kind)
    return "ok"


_CODEC = OscCodec([Binding("visitors", "osc:9000", "/gallery/visitors"),
                   Binding("light", "osc:9000", "/pad/xy", arg=1)])


def osc_datagram(data: bytes) -> str:
    events = _CODEC.decode(data)  # never raises, by contract
    assert isinstance(events, list)
    for event in events:
        if hasattr(event, "value"):
            with contextlib.suppress(PayloadError):
                osc_value((event.value,), 0)
    return "ok" if events and all(type(e).__name__ != "Rejected" for e in events) \
        else "refused:Rejected"


TARGETS: dict[str, tuple[Callable, str]] = {
    # name: (target, input kind)
    "yaml_loader": (yaml_loader, "text"),
    "scene_compiler": (scene_compiler, "text"),
    "expression": (expression, "text"),
    "websocket_codec": (websocket_codec, "text"),
    "websocket_audio": (websocket_audio, "bytes"),
    "mqtt_payload": (mqtt_payload, "bytes"),
    "osc_datagram": (osc_datagram, "bytes"),
}

# ------------------------------------------------------------------------- strategies
_SCENE_KEYS = ["scene", "description", "engine", "time", "inputs", "derived", "prompts", "mix",
               "transitions", "stingers", "knobs", "type", "min", "max", "default", "values",
               "weight", "when", "curve", "points", "glide", "at", "ease", "fill", "audio",
               "phrase", "beats", "density", "brightness", "bpm", "seed", "slew", "dwell",
               "enter biome == 'cave'", "leave on", "x", "biome", "a", "<<"]
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["x", "x * 2", "on and x > 0.5", "biome == 'cave'", "1s", "2 bars",
                     "number", "enum", "bool", "-6dB", "bar", "in_out", "/etc/passwd",
                     "curve(x, [0, 0], [1, 1])", "(((x)))", "x if on else 1", ".nan"]),
    st.text(max_size=40),
)
_DOCS = st.recursive(
    _SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=5),
                               st.dictionaries(st.sampled_from(_SCENE_KEYS) | st.text(max_size=8),
                                               children, max_size=6)),
    max_leaves=40)


def _dump(doc: object) -> str:
    try:
        return yaml.safe_dump(doc, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return "scene: unprintable\n"


def _mutate(text: str, data: st.DataObject) -> str:
    for _ in range(data.draw(st.integers(1, 4))):
        if not text:
            break
        at = data.draw(st.integers(0, len(text) - 1))
        op = data.draw(st.sampled_from(["insert", "delete", "replace", "repeat"]))
        piece = data.draw(st.sampled_from(["[", "{", "(", "*a", "&a ", "<<: *a", "\n  ",
                                           ": ", "'", '"', "-", "9" * 50, "\x00", "\ufffe",
                                           "nan", "if", " else ", "#", "!!python/object "]))
        if op == "insert":
            text = text[:at] + piece + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + data.draw(st.integers(1, 20)):]
        elif op == "replace":
            text = text[:at] + piece + text[at + len(piece):]
        else:
            text = text[:at] + piece * data.draw(st.integers(2, 200)) + text[at:]
    return text


@st.composite
def scene_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["structured", "mutated", "raw"]))
    if kind == "structured":
        return _dump(draw(_DOCS))
    if kind == "mutated":
        base = SCENES[draw(st.integers(0, len(SCENES) - 1))].read_text(encoding="utf-8")
        return _mutate(base, draw(st.data()))
    return draw(st.text(max_size=300))


_ATOMS = st.sampled_from(["x", "y", "on", "biome", "1", "0.5", "'cave'", "'nowhere'", "true",
                          "9" * 39, "unknown", "min", "curve"])
_EXPRS = st.recursive(
    _ATOMS,
    lambda e: st.one_of(
        st.tuples(e, st.sampled_from(["+", "-", "*", "/", "%", "<", ">=", "==", "!=", "and",
                                      "or"]), e).map(" ".join),
        e.map(lambda s: f"({s})"), e.map(lambda s: f"-{s}"), e.map(lambda s: f"not {s}"),
        st.tuples(e, e, e).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}"),
        st.tuples(st.sampled_from(["min", "max", "abs", "clamp", "lerp", "smoothstep", "nope"]),
                  st.lists(e, max_size=4)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        e.map(lambda s: f"curve({s}, [0, 0], [1, 1])"),
        e.map(lambda s: f"{s} in ['cave', 'town']"),
    ),
    max_leaves=30)


@st.composite
def expression_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["grammar", "grammar", "deep", "raw"]))
    if kind == "grammar":
        return draw(_EXPRS)
    if kind == "deep":
        op = draw(st.sampled_from(["(", "-", "not ", "x if on else "]))
        n = draw(st.integers(1, 2000))
        return op * n + "x" + (")" * n if op == "(" else "")
    return draw(st.text(alphabet=st.sampled_from(list("xy0123456789.+-*/%()[],<>=! '\"abcdefginortu_")),
                        max_size=200))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
    max_leaves=20)
_WS_KEYS = ["type", "id", "scene", "scene_yaml", "engine", "seed", "state", "paused", "record",
            "session_id", "encoding", "resume_from_seq", "beat_events", "values", "prompts",
            "action", "stinger", "config", "clear", "text", "weight"]
_WS_TYPES = ["create", "attach", "state", "prompts", "control", "trigger", "config", "ping",
             "nope"]


@st.composite
def websocket_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["message", "message", "json", "raw"]))
    if kind == "message":
        message = draw(st.dictionaries(st.sampled_from(_WS_KEYS), _JSON, max_size=6))
        message["type"] = draw(st.sampled_from(_WS_TYPES))
        return json.dumps(message)
    if kind == "json":
        return json.dumps(draw(_JSON))
    return draw(st.text(max_size=200))


@st.composite
def audio_frames(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        header = struct.pack("<4sHHQQIBBH", draw(st.sampled_from([b"CDZA", b"XXXX"])),
                             draw(st.integers(0, 3)), draw(st.sampled_from([32, 48, 0, 65535])),
                             draw(st.integers(0, 2**64 - 1)), draw(st.integers(0, 2**64 - 1)),
                             draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 255)),
                             draw(st.integers(0, 255)), draw(st.integers(0, 65535)))
        return header + draw(st.binary(max_size=64))
    return draw(st.binary(max_size=100))


@st.composite
def mqtt_payloads(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["json", "text", "raw"]))
    if kind == "json":
        body = json.dumps(draw(_JSON)).encode()
    elif kind == "text":
        body = draw(st.sampled_from(["12", "NaN", "1e999", "9" * 1000, "on", "cave", "-0",
                                     ""])).encode()
    else:
        body = draw(st.binary(max_size=1500))
    return (b"\x01" if draw(st.booleans()) else b"") + body


_OSC_ARGS = st.one_of(st.integers(-2**31, 2**31 - 1), st.floats(width=32), st.text(max_size=20),
                      st.booleans(), st.binary(max_size=10))


@st.composite
def osc_datagrams(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["message", "typetag", "raw"]))
    if kind == "raw":
        return draw(st.binary(max_size=200))
    builder = OscMessageBuilder(draw(st.sampled_from(["/gallery/visitors", "/pad/xy",
                                                      "/cadenza/play", "/nope"])))
    for arg in draw(st.lists(_OSC_ARGS, max_size=4)):
        builder.add_arg(arg)
    try:
        data = bytearray(builder.build().dgram)
    except Exception:  # python-osc cannot build every argument (e.g. a NUL in a string)
        return draw(st.binary(max_size=200))
    if kind == "typetag" and b"," in data:  # unknown type tags (c, h, d, S ...) and damage
        at = data.index(b",") + 1
        if at < len(data) and data[at] != 0:
            data[at] = ord(draw(st.sampled_from("chdSrmt[]XN")))
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] if draw(st.booleans()) else data
    return bytes(data)


STRATEGIES = {
    "yaml_loader": scene_texts(),
    "scene_compiler": scene_texts(),
    "expression": expression_texts(),
    "websocket_codec": websocket_texts(),
    "websocket_audio": audio_frames(),
    "mqtt_payload": mqtt_payloads(),
    "osc_datagram": osc_datagrams(),
}


def corpus(target: str) -> list[Path]:
    folder = CORPUS / target
    return sorted(folder.iterdir()) if folder.is_dir() else []


def load(path: Path, kind: str) -> str | bytes:
    data = path.read_bytes()
    return data.decode("utf-8", "surrogatepass") if kind == "text" else data
