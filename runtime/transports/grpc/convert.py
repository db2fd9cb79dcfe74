"""proto <-> domain conversions for the gRPC codec. Pure functions, no I/O.

Decoding builds the edge kit's `Command`s (`command_of` for stream messages); encoding
renders its views (`SessionView`, `ClockView`, `EventView`) and the live config.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from cadenza.v1 import runtime_pb2 as pb

from ...edge import commands as C
from ...edge.views import BlendEntry, ClockView, EventView, SessionView, blend_entries
from ...engines.base import KNOB_NAMES, EngineInfo
from ...errors import InvalidArgument, SceneIssue
from ...musictime import BeatClock
from ...session import SessionState
from ...session.chunk import Chunk, EventKind, SessionEvent
from ...vocabulary import CONFIG_FIELDS, MODES
from .. import opus

STATE = {
    SessionState.CREATED: pb.CREATED, SessionState.PLAYING: pb.PLAYING,
    SessionState.PAUSED: pb.PAUSED, SessionState.FAILED: pb.FAILED,
    SessionState.CLOSED: pb.CLOSED,
}
ACTION = {pb.PLAY: "play", pb.PAUSE: "pause", pb.STOP: "stop", pb.RESET_CONTEXT: "reset"}
EVENT = {
    EventKind.BEAT: pb.Event.BEAT,
    EventKind.BAR: pb.Event.BAR,
    EventKind.STINGER: pb.Event.STINGER,
    EventKind.TEMPO: pb.Event.TEMPO,
    EventKind.BLEND_CHANGED: pb.Event.BLEND_CHANGED,
    EventKind.UNKNOWN_WORDS: pb.Event.UNKNOWN_WORDS,
    EventKind.UNDERRUN: pb.Event.UNDERRUN,
    EventKind.STATE_CHANGED: pb.Event.STATE_CHANGED,
    EventKind.ERROR: pb.Event.SESSION_ERROR,
    EventKind.ENDED: pb.Event.SESSION_ENDED,
    EventKind.CONCEALED: pb.Event.CONCEALED,
}
BEATS = {pb.BEAT_EVENTS_NONE: None, pb.BEAT_EVENTS_BEATS: "beats", pb.BEAT_EVENTS_BARS: "bars"}
ENCODING = {pb.ENCODING_UNSPECIFIED: "s16le", pb.PCM_S16LE: "s16le", pb.PCM_F32LE: "f32le"}
ENCODING_PB = {"s16le": pb.PCM_S16LE, "f32le": pb.PCM_F32LE, "opus": pb.OPUS}
if opus.available():  # else OPUS is refused at attach as an unknown encoding
    ENCODING[pb.OPUS] = "opus"


def values_from_pb(values: Mapping[str, pb.Value]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in values.items():
        kind = value.WhichOneof("kind")
        if kind is None:
            raise InvalidArgument(f"input {name!r} has no value (set number, text or flag)",
                                  field=name)
        out[name] = getattr(value, kind)
    return out


def value_to_pb(value: object) -> pb.Value:
    if isinstance(value, bool):
        return pb.Value(flag=value)
    if isinstance(value, (int, float)):
        return pb.Value(number=float(value))
    return pb.Value(text=str(value))


def prompts_from_pb(prompts) -> dict[str, float]:
    out: dict[str, float] = {}
    for p in prompts:
        if not math.isfinite(p.weight):
            raise InvalidArgument(f"weight of prompt {p.text!r} must be finite",
                                  field=f"prompts[{p.text}]")
        out[p.text] = out.get(p.text, 0.0) + p.weight
    return out


def blend_pb(entries: tuple[BlendEntry, ...]) -> list[pb.BlendEntry]:
    return [pb.BlendEntry(name=e.name, text=e.text, weight=e.weight) for e in entries]


def clock_pb(clock: BeatClock | ClockView | None) -> pb.BeatInfo | None:
    view = ClockView.of(clock) if isinstance(clock, BeatClock) else clock
    if view is None:
        return None
    return pb.BeatInfo(beat=view.beat, bar=view.bar, beat_in_bar=view.beat_in_bar,
                       phase=view.phase, bpm=view.bpm, beats_per_bar=view.beats_per_bar,
                       beat_unit=view.beat_unit)


STATE_NAMES = {s.value: s for s in SessionState}


def session_pb(view: SessionView) -> pb.SessionInfo:
    info = pb.SessionInfo(
        session_id=view.session_id, scene=view.scene, engine=view.engine, seed=view.seed,
        state=STATE[STATE_NAMES[view.state]], sample_rate=view.sample_rate,
        channels=view.channels, seq=view.seq, stream_time=view.stream_time,
        underruns=view.underruns, listeners=view.listeners, uptime_seconds=view.uptime_s,
        input_names=list(view.input_names), error=view.error, clock=clock_pb(view.clock),
        stingers=list(view.stingers), recording=view.recording,
        heard_bpm=view.heard_bpm or 0.0, config=config_pb(view.config),
    )
    for name, value in view.inputs.items():
        info.inputs[name].CopyFrom(value_to_pb(value))
    info.blend.extend(blend_pb(view.blend))
    return info


# ------------------------------------------------------------------- live config
SCALE_NAMES = {pb.Scale.Name(v): v for v in pb.Scale.values()}
MODE_PB = {m: pb.GenerationMode.Value(m.upper()) for m in MODES}
MODE_NAMES = {v: k for k, v in MODE_PB.items()}


def config_from_pb(config: pb.GenerationConfig) -> dict[str, object]:
    """The fields set in ``config`` (validated later, by the session). An enum value
    this server does not know is refused here, naming the field."""
    out: dict[str, object] = {}
    for name in CONFIG_FIELDS:
        if not config.HasField(name):
            continue
        value = getattr(config, name)
        if name == "scale":
            if value not in SCALE_NAMES.values():
                raise InvalidArgument(f"unknown scale {value}", field="config.scale")
            value = pb.Scale.Name(value)
        elif name == "mode":
            if value not in MODE_NAMES:
                raise InvalidArgument(f"mode must be one of {', '.join(m.upper() for m in MODES)}",
                                      field="config.mode")
            value = MODE_NAMES[value]
        out[name] = value
    return out


def config_pb(config: Mapping[str, object]) -> pb.GenerationConfig:
    msg = pb.GenerationConfig()
    for name, value in config.items():
        if name == "scale":
            msg.scale = SCALE_NAMES[str(value)]
        elif name == "mode":
            msg.mode = MODE_PB[str(value)]
        elif name in CONFIG_FIELDS:
            setattr(msg, name, value)
    return msg


def command_of(message: pb.ClientMessage, session_id: str) -> C.Command:
    """The edge command of a message on an attached stream (InvalidArgument for one
    that has no place there)."""
    kind = message.WhichOneof("message")
    if kind == "state":
        return C.Update(session_id, values_from_pb(message.state.values))
    if kind == "prompts":
        return C.SetPrompts(session_id, prompts_from_pb(message.prompts.prompts))
    if kind == "control":
        return C.Control(session_id, action_of(message.control.action))
    if kind == "trigger":
        return C.Trigger(session_id, message.trigger.stinger)
    if kind == "config":
        return C.SetConfig(session_id, config_from_pb(message.config.config),
                           tuple(message.config.clear))
    raise InvalidArgument(f"unexpected message {kind!r} on an attached stream",
                          field=kind or "message")


def action_of(action: int) -> str:
    name = ACTION.get(action)
    if name is None:
        raise InvalidArgument("action must be PLAY, PAUSE, STOP or RESET_CONTEXT",
                              field="action")
    return name


def chunk_pb(chunk: Chunk, encoding: str) -> pb.AudioChunk:
    return pb.AudioChunk(
        session_id=chunk.session_id, seq=chunk.seq, stream_time=chunk.stream_time,
        sample_rate=chunk.sample_rate, channels=chunk.channels,
        encoding=ENCODING_PB[encoding],
        pcm=opus.SHARED.payload(chunk) if encoding == "opus" else chunk.encoded(encoding),
        blend=blend_pb(blend_entries(chunk.weights, chunk.prompts)), clock=clock_pb(chunk.clock),
    )


def event_pb(event: SessionEvent | EventView) -> pb.Event:
    view = EventView.of(event) if isinstance(event, SessionEvent) else event
    kind = view.kind
    msg = pb.Event(kind=EVENT[kind], session_id=view.session_id, stream_time=view.stream_time)
    if kind == EventKind.BLEND_CHANGED:
        msg.blend.extend(blend_pb(view.blend))
    elif kind == EventKind.UNKNOWN_WORDS:
        msg.prompt = view.text("prompt")
        msg.words.extend(str(w) for w in view.detail.get("words", []))
    elif kind == EventKind.UNDERRUN:
        msg.late_seconds = view.number("late_s")
    elif kind == EventKind.STATE_CHANGED:
        msg.state = STATE[SessionState(view.detail["state"])]
    elif kind == EventKind.ERROR:
        msg.message = view.text("message")
    elif kind == EventKind.ENDED:
        msg.message = view.text("reason")
    elif kind == EventKind.CONCEALED:
        msg.message = view.text("state")
        msg.reason = view.text("reason")
        msg.concealed_seconds = view.number("seconds")
    elif view.clock is not None:
        msg.clock.CopyFrom(clock_pb(view.clock))
    elif kind == EventKind.STINGER:
        msg.stinger = view.text("stinger")
        msg.stinger_status = view.text("status")
        msg.message = view.text("message")
        msg.stream_time = view.at
    elif kind == EventKind.TEMPO:
        msg.heard_bpm = view.number("heard_bpm")
        msg.clock.bpm = view.number("clock_bpm")
        msg.clock.beat_unit = 4  # tempos compare in quarter notes whatever the signature
    return msg


def engine_pb(info: EngineInfo, available: list[str]) -> pb.EngineInfo:
    return pb.EngineInfo(
        name=info.name, version=info.version, sample_rate=info.sample_rate,
        channels=info.channels, block_frames=info.block_frames, max_batch=info.max_batch,
        prompt_kinds=sorted(info.prompt_kinds), knobs=sorted(info.knobs),
        control_latency_seconds=info.control_latency_s, description=info.description,
        available_engines=available,
        unsupported_knobs=[k for k in KNOB_NAMES if k not in info.knobs],
        beat_grid=info.has_beat_grid,
    )


def issue_pb(issue: SceneIssue) -> pb.SceneIssue:
    return pb.SceneIssue(file=issue.file, line=issue.line or 0, field=issue.path,
                         message=issue.message, severity=issue.severity,
                         column=issue.column or 0, text=str(issue))
