"""proto <-> domain conversions. Pure functions, no I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping

from cadenza.v1 import runtime_pb2 as pb

from ...engines.base import KNOB_NAMES, EngineInfo
from ...errors import InvalidArgument, SceneIssue
from ...musictime import BeatClock
from ...session import Session, SessionState
from ...session.chunk import Chunk, EventKind, SessionEvent

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
}
BEATS = {pb.BEAT_EVENTS_NONE: None, pb.BEAT_EVENTS_BEATS: "beats", pb.BEAT_EVENTS_BARS: "bars"}
ENCODING = {pb.ENCODING_UNSPECIFIED: "s16le", pb.PCM_S16LE: "s16le", pb.PCM_F32LE: "f32le"}
ENCODING_PB = {"s16le": pb.PCM_S16LE, "f32le": pb.PCM_F32LE}


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


def blend_pb(weights: Mapping[str, float], prompts: Mapping[str, str]) -> list[pb.BlendEntry]:
    return [pb.BlendEntry(name=n, text=prompts.get(n, n), weight=w) for n, w in weights.items()]


def clock_pb(clock: BeatClock | None) -> pb.BeatInfo | None:
    if clock is None:
        return None
    return pb.BeatInfo(beat=clock.beat, bar=max(0, clock.bar), beat_in_bar=clock.beat_in_bar,
                       phase=clock.phase, bpm=clock.bpm, beats_per_bar=clock.beats_per_bar,
                       beat_unit=clock.beat_unit)


def session_pb(session: Session, listeners: int = 0, uptime: float = 0.0) -> pb.SessionInfo:
    blend = session.blend
    info = pb.SessionInfo(
        session_id=session.id, scene=session.scene.name, engine=session.engine_name,
        seed=session.seed, state=STATE[session.state], sample_rate=session.sample_rate,
        channels=2, seq=session.seq, stream_time=session.stream_time,
        underruns=session.counters.underruns, listeners=listeners, uptime_seconds=uptime,
        input_names=list(session.scene.inputs), error=session.error or "",
        clock=clock_pb(session.clock), stingers=list(session.scene.stingers),
        recording=str(session.recorder.path) if session.recorder else "",
        heard_bpm=session.heard_bpm or 0.0,
    )
    for name, value in session.inputs.items():
        info.inputs[name].CopyFrom(value_to_pb(value))
    if blend is not None:
        info.blend.extend(blend_pb(blend.weights, {n: p.key for n, p in blend.prompts.items()}))
    return info


def chunk_pb(chunk: Chunk, encoding: str) -> pb.AudioChunk:
    return pb.AudioChunk(
        session_id=chunk.session_id, seq=chunk.seq, stream_time=chunk.stream_time,
        sample_rate=chunk.sample_rate, channels=chunk.channels,
        encoding=ENCODING_PB[encoding], pcm=chunk.encoded(encoding),
        blend=blend_pb(chunk.weights, chunk.prompts), clock=clock_pb(chunk.clock),
    )


def event_pb(event: SessionEvent) -> pb.Event:
    d = event.detail
    msg = pb.Event(kind=EVENT[event.kind], session_id=event.session_id,
                   stream_time=event.stream_time)
    if event.kind == EventKind.BLEND_CHANGED:
        msg.blend.extend(blend_pb(d.get("weights", {}), d.get("prompts", {})))
    elif event.kind == EventKind.UNKNOWN_WORDS:
        msg.prompt = str(d.get("prompt", ""))
        msg.words.extend(str(w) for w in d.get("words", []))
    elif event.kind == EventKind.UNDERRUN:
        msg.late_seconds = float(d.get("late_s", 0.0))
    elif event.kind == EventKind.STATE_CHANGED:
        msg.state = STATE[SessionState(d["state"])]
    elif event.kind == EventKind.ERROR:
        msg.message = str(d.get("message", ""))
    elif event.kind == EventKind.ENDED:
        msg.message = str(d.get("reason", ""))
    elif event.kind in (EventKind.BEAT, EventKind.BAR):
        msg.clock.CopyFrom(pb.BeatInfo(
            beat=float(d["beat"]), bar=int(d["bar"]), beat_in_bar=int(d["beat_in_bar"]),
            phase=0.0, bpm=float(d["bpm"]), beats_per_bar=int(d["beats_per_bar"]),
            beat_unit=int(d["beat_unit"])))
    elif event.kind == EventKind.STINGER:
        msg.stinger = str(d.get("stinger", ""))
        msg.stinger_status = str(d.get("status", ""))
        msg.message = str(d.get("message", ""))
        if "at" in d:
            msg.stream_time = int(d["at"])
    elif event.kind == EventKind.TEMPO:
        msg.heard_bpm = float(d.get("heard_bpm", 0.0))
        msg.clock.bpm = float(d.get("clock_bpm", 0.0))
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
