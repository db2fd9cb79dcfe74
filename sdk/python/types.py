"""Plain data the SDK hands out (no protobuf types leak to users)."""

from __future__ import annotations

import array
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from cadenza.v1 import runtime_pb2 as pb

ENCODINGS = {"s16le": pb.PCM_S16LE, "f32le": pb.PCM_F32LE, "opus": pb.OPUS}
BEAT_EVENTS = {None: pb.BEAT_EVENTS_NONE, "none": pb.BEAT_EVENTS_NONE,
               "beats": pb.BEAT_EVENTS_BEATS, "bars": pb.BEAT_EVENTS_BARS}
ENCODING_NAMES = {pb.PCM_S16LE: "s16le", pb.PCM_F32LE: "f32le", pb.OPUS: "opus",
                  pb.ENCODING_UNSPECIFIED: "s16le"}
STATES = {pb.CREATED: "created", pb.PLAYING: "playing", pb.PAUSED: "paused",
          pb.FAILED: "failed", pb.CLOSED: "closed", pb.SESSION_STATE_UNSPECIFIED: "unknown"}
EVENT_KINDS = {
    pb.Event.BEAT: "beat", pb.Event.BAR: "bar", pb.Event.STINGER: "stinger",
    pb.Event.TEMPO: "tempo",
    pb.Event.BLEND_CHANGED: "blend_changed", pb.Event.UNKNOWN_WORDS: "unknown_words",
    pb.Event.UNDERRUN: "underrun", pb.Event.STATE_CHANGED: "state_changed",
    pb.Event.SESSION_ERROR: "error", pb.Event.SESSION_ENDED: "ended",
    pb.Event.CONCEALED: "concealed",
}


def _value(v: pb.Value) -> float | str | bool | None:
    kind = v.WhichOneof("kind")
    return getattr(v, kind) if kind else None


def _blend(entries) -> dict[str, float]:
    return {e.name: e.weight for e in entries}


@dataclass(frozen=True)
class BeatInfo:
    """Where a sample sits on the session's beat grid."""

    beat: float  # beats since the session started
    bar: int
    beat_in_bar: int
    phase: float
    bpm: float
    beats_per_bar: int
    beat_unit: int

    @classmethod
    def from_pb(cls, b: pb.BeatInfo) -> BeatInfo | None:
        if b.bpm == 0 and b.beats_per_bar == 0:
            return None
        return cls(b.beat, b.bar, b.beat_in_bar, b.phase, b.bpm, b.beats_per_bar, b.beat_unit)


@dataclass(frozen=True)
class AudioChunk:
    """One block of audio: interleaved little-endian PCM plus where it sits in the stream."""

    session_id: str
    seq: int
    stream_time: int
    sample_rate: int
    channels: int
    encoding: str
    pcm: bytes
    blend: Mapping[str, float]
    prompts: Mapping[str, str] = field(default_factory=dict)
    clock: BeatInfo | None = None  # the beat grid at the chunk's first sample
    wire_bytes: int = 0  # audio bytes received for it (an Opus stream's are decoded to s16le)

    @property
    def frames(self) -> int:
        return len(self.pcm) // (self.channels * (2 if self.encoding == "s16le" else 4))

    def samples(self) -> array.array:
        """The samples as a flat array (int16 'h' or float32 'f'), no numpy needed."""
        out = array.array("h" if self.encoding == "s16le" else "f")
        out.frombytes(self.pcm)
        if sys.byteorder == "big":
            out.byteswap()
        return out

    def to_numpy(self):
        """float32 ``[frames, channels]`` in [-1, 1] (imports numpy)."""
        import numpy as np

        if self.encoding == "s16le":
            data = np.frombuffer(self.pcm, dtype="<i2").astype(np.float32) / 32767.0
        else:
            data = np.frombuffer(self.pcm, dtype="<f4").astype(np.float32)
        return data.reshape(-1, self.channels)

    @classmethod
    def from_pb(cls, c: pb.AudioChunk) -> AudioChunk:
        return cls(c.session_id, c.seq, c.stream_time, c.sample_rate, c.channels,
                   ENCODING_NAMES.get(c.encoding, "s16le"), c.pcm, _blend(c.blend),
                   {e.name: e.text for e in c.blend},
                   BeatInfo.from_pb(c.clock) if c.HasField("clock") else None, len(c.pcm))


@dataclass(frozen=True)
class Event:
    """A session event: kind is blend_changed, unknown_words, underrun, state_changed,
    stinger, tempo, beat, bar, concealed, error or ended (stream_time: where it happens)."""

    kind: str
    session_id: str
    stream_time: int
    message: str = ""
    blend: Mapping[str, float] = field(default_factory=dict)
    prompt: str = ""
    words: tuple[str, ...] = ()
    late_seconds: float = 0.0
    state: str = ""
    clock: BeatInfo | None = None
    stinger: str = ""
    stinger_status: str = ""  # scheduled | suppressed | unavailable
    heard_bpm: float = 0.0
    reason: str = ""  # concealed: why the engine was late (message: start | end)
    concealed_seconds: float = 0.0  # concealed (end): how long the fallback voice played

    @classmethod
    def from_pb(cls, e: pb.Event) -> Event:
        return cls(EVENT_KINDS.get(e.kind, "unknown"), e.session_id, e.stream_time, e.message,
                   _blend(e.blend), e.prompt, tuple(e.words), e.late_seconds,
                   STATES.get(e.state, "") if e.state else "",
                   BeatInfo.from_pb(e.clock) if e.HasField("clock") else None,
                   e.stinger, e.stinger_status, e.heard_bpm, e.reason, e.concealed_seconds)


@dataclass(frozen=True)
class SessionInfo:
    session_id: str
    scene: str
    engine: str
    seed: int
    state: str
    sample_rate: int
    channels: int
    seq: int
    stream_time: int
    inputs: Mapping[str, float | str | bool | None]
    blend: Mapping[str, float]
    underruns: int
    listeners: int
    uptime_seconds: float
    error: str = ""
    clock: BeatInfo | None = None
    stingers: tuple[str, ...] = ()
    recording: str = ""
    heard_bpm: float = 0.0
    config: Mapping[str, object] = field(default_factory=dict)  # the live generation config

    @classmethod
    def from_pb(cls, s: pb.SessionInfo) -> SessionInfo:
        return cls(s.session_id, s.scene, s.engine, s.seed, STATES.get(s.state, "unknown"),
                   s.sample_rate, s.channels, s.seq, s.stream_time,
                   {k: _value(v) for k, v in s.inputs.items()}, _blend(s.blend), s.underruns,
                   s.listeners, s.uptime_seconds, s.error,
                   BeatInfo.from_pb(s.clock) if s.HasField("clock") else None,
                   tuple(s.stingers), s.recording, s.heard_bpm,
                   config_from_pb(s.config) if s.HasField("config") else {})


@dataclass(frozen=True)
class EngineInfo:
    name: str
    version: str
    sample_rate: int
    channels: int
    block_frames: int
    max_batch: int
    prompt_kinds: tuple[str, ...]
    knobs: tuple[str, ...]
    control_latency_seconds: float
    description: str
    available_engines: tuple[str, ...]
    unsupported_knobs: tuple[str, ...] = ()
    beat_grid: bool = False

    @classmethod
    def from_pb(cls, e: pb.EngineInfo) -> EngineInfo:
        return cls(e.name, e.version, e.sample_rate, e.channels, e.block_frames, e.max_batch,
                   tuple(e.prompt_kinds), tuple(e.knobs), e.control_latency_seconds,
                   e.description, tuple(e.available_engines), tuple(e.unsupported_knobs),
                   e.beat_grid)


@dataclass(frozen=True)
class SceneIssue:
    file: str
    line: int
    field: str
    message: str
    severity: str
    column: int
    text: str

    @classmethod
    def from_pb(cls, i: pb.SceneIssue) -> SceneIssue:
        return cls(i.file, i.line, i.field, i.message, i.severity, i.column, i.text)


def value_pb(value: object) -> pb.Value:
    if isinstance(value, bool):
        return pb.Value(flag=value)
    if isinstance(value, (int, float)):
        return pb.Value(number=float(value))
    if isinstance(value, str):
        return pb.Value(text=value)
    raise TypeError(f"state values are numbers, strings or bools, got {type(value).__name__}")


def state_pb(values: Mapping[str, object]) -> dict[str, pb.Value]:
    return {name: value_pb(v) for name, v in values.items()}


def prompts_pb(prompts: Mapping[str, float]) -> list[pb.WeightedPrompt]:
    return [pb.WeightedPrompt(text=t, weight=float(w)) for t, w in prompts.items()]


CONFIG_FIELDS = ("temperature", "top_k", "guidance", "seed", "bpm", "density", "brightness",
                 "scale", "mute_bass", "mute_drums", "only_bass_and_drums", "mode")


@dataclass(frozen=True)
class GenerationConfig:
    """What `Session.set_generation_config` answers: the whole live override now in
    effect (Lyria RealTime's field names), the fields in it the session's engine does not
    honour, and the stream time (samples) from which it is heard."""

    config: Mapping[str, object]
    unsupported: tuple[str, ...] = ()
    stream_time: int = 0


def config_pb(values: Mapping[str, object]) -> pb.GenerationConfig:
    """A GenerationConfig message; ``scale`` and ``mode`` are names ("C_MAJOR_A_MINOR",
    "quality", case-insensitive). Raises ValueError for an unknown field or name."""
    msg = pb.GenerationConfig()
    for name, value in values.items():
        if name not in CONFIG_FIELDS:
            raise ValueError(f"unknown config field {name!r}; fields: {', '.join(CONFIG_FIELDS)}")
        if name == "scale":
            msg.scale = pb.Scale.Value(str(value).upper())
        elif name == "mode":
            msg.mode = pb.GenerationMode.Value(str(value).upper())
        else:
            setattr(msg, name, value)
    return msg


def config_from_pb(msg: pb.GenerationConfig) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in CONFIG_FIELDS:
        if msg.HasField(name):
            value = getattr(msg, name)
            if name == "scale":
                value = pb.Scale.Name(value)
            elif name == "mode":
                value = pb.GenerationMode.Name(value).lower()
            out[name] = value
    return out


def create_request(scene: str | None, scene_yaml: str | None, engine: str | None,
                   seed: int | None, state: Mapping[str, object] | None, paused: bool,
                   record: bool) -> pb.CreateSessionRequest:
    request = pb.CreateSessionRequest(engine=engine or "", paused=paused, record=record,
                                      state=state_pb(state or {}))
    if scene_yaml is not None:
        request.scene_yaml = scene_yaml
    else:
        request.scene = scene or ""
    if seed is not None:
        request.seed = seed
    return request
