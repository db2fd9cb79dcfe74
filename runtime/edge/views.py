"""What every codec renders: one `SessionView`, `ClockView` and `EventView`.

Built from the live objects on the event loop's thread (they read the session; they
never change it) and frozen, so the gRPC, WebSocket and console codecs show one and the
same picture, each in its own wire form. Untrusted text inside (prompt words, stinger
names the client sent) is carried as is; codecs bound what they echo in *errors* only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..musictime import BeatClock
from ..session import Session
from ..session.chunk import EventKind, SessionEvent
from ..vocabulary import CONFIG_FIELDS


@dataclass(frozen=True)
class BlendEntry:
    name: str
    text: str
    weight: float


def blend_entries(weights: Mapping[str, float], prompts: Mapping[str, str]) -> tuple[BlendEntry, ...]:
    return tuple(BlendEntry(n, prompts.get(n, n), float(w)) for n, w in weights.items())


@dataclass(frozen=True)
class ClockView:
    """Where a sample sits on the session's beat grid (beats of ``beat_unit``)."""

    beat: float
    bar: int
    beat_in_bar: int
    phase: float
    bpm: float
    beats_per_bar: int
    beat_unit: int

    @classmethod
    def of(cls, clock: BeatClock | None) -> ClockView | None:
        if clock is None:
            return None
        return cls(clock.beat, max(0, clock.bar), clock.beat_in_bar, clock.phase, clock.bpm,
                   clock.beats_per_bar, clock.beat_unit)

    @classmethod
    def of_event(cls, d: Mapping[str, Any]) -> ClockView:
        """The beat a BEAT/BAR event announces (it falls on the beat: phase 0)."""
        return cls(float(d["beat"]), int(d["bar"]), int(d["beat_in_bar"]), 0.0, float(d["bpm"]),
                   int(d["beats_per_bar"]), int(d["beat_unit"]))


@dataclass(frozen=True)
class SessionView:
    session_id: str
    scene: str
    engine: str
    seed: int
    state: str
    sample_rate: int
    channels: int
    seq: int
    stream_time: int
    inputs: Mapping[str, float | str | bool]
    input_names: tuple[str, ...]
    blend: tuple[BlendEntry, ...]
    underruns: int
    listeners: int
    uptime_s: float
    error: str
    clock: ClockView | None
    stingers: tuple[str, ...]
    recording: str
    heard_bpm: float | None
    config: Mapping[str, object] = field(default_factory=dict)
    unsupported_knobs: tuple[str, ...] = ()

    @classmethod
    def of(cls, session: Session, listeners: int = 0, uptime_s: float = 0.0,
           engine_knobs: frozenset[str] | None = None) -> SessionView:
        """``engine_knobs``: the knobs the session's engine honours (to report the rest)."""
        blend = session.blend
        config = dict(getattr(session, "config_override", {}) or {})
        unsupported = () if engine_knobs is None else tuple(
            k for k in CONFIG_FIELDS if k not in engine_knobs)
        return cls(
            session_id=session.id, scene=session.scene.name, engine=session.engine_name,
            seed=session.seed, state=session.state.value, sample_rate=session.sample_rate,
            channels=2, seq=session.seq, stream_time=session.stream_time,
            inputs=dict(session.inputs), input_names=tuple(session.scene.inputs),
            blend=blend_entries(blend.weights, {n: p.key for n, p in blend.prompts.items()})
            if blend is not None else (),
            underruns=session.counters.underruns, listeners=listeners, uptime_s=uptime_s,
            error=session.error or "", clock=ClockView.of(session.clock),
            stingers=tuple(session.scene.stingers),
            recording=str(session.recorder.path) if session.recorder else "",
            heard_bpm=session.heard_bpm, config=config, unsupported_knobs=unsupported,
        )


@dataclass(frozen=True)
class EventView:
    """A session event, normalised: ``kind`` (the `EventKind` value), the stream time it
    refers to, and its detail. Typed accessors give what the gRPC codec needs; the
    WebSocket codec renders ``detail`` (its documented JSON fields)."""

    kind: EventKind
    session_id: str
    stream_time: int
    detail: Mapping[str, Any]

    @classmethod
    def of(cls, event: SessionEvent) -> EventView:
        return cls(event.kind, event.session_id, event.stream_time, dict(event.detail))

    @property
    def blend(self) -> tuple[BlendEntry, ...]:
        return blend_entries(self.detail.get("weights", {}), self.detail.get("prompts", {}))

    @property
    def clock(self) -> ClockView | None:
        if self.kind in (EventKind.BEAT, EventKind.BAR):
            return ClockView.of_event(self.detail)
        return None

    @property
    def at(self) -> int:
        """Where the event is heard: a stinger's start sample, else the event's time."""
        return int(self.detail.get("at", self.stream_time))

    def text(self, key: str) -> str:
        return str(self.detail.get(key, ""))

    def number(self, key: str) -> float:
        value = self.detail.get(key, 0.0)
        return float(value) if isinstance(value, (int, float)) else 0.0


__all__ = ["BlendEntry", "ClockView", "EventView", "SessionView", "blend_entries"]
