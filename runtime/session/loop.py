"""The generation loop, shaped like a serving engine's step:

    schedule(now)  -> SchedulerOutput   which sessions need a block, with their styles
    execute(out)   -> EngineOutput      one batched engine call (may run in a worker thread)
    deliver(out, result) -> chunks      gain, declick, chunk, fan-out, events

Every playing session is kept ``lookahead_s`` ahead of real time and no further. Control
(state updates, pause, reset, close) is applied to sessions between steps by the owner
of the loop, so it never waits behind audio longer than one engine call.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..engines.base import Engine, EngineOutput, Knobs, StyleChange
from ..errors import CadenzaError, NotFound
from ..musictime import BeatClock
from ..scene import Blend, Scene
from ..scene.model import TimeSpec
from .chunk import Chunk, EventKind
from .clock import Clock, MonotonicClock
from .lifecycle import SessionState
from .session import Session
from .stingers import load_audio
from .styles import StyleCache
from .tempo import TempoMeter

log = logging.getLogger("cadenza.loop")

DECLICK_TAU = 96.0  # samples (2 ms): how fast a reset's jump to the new stream decays


@dataclass
class BlockRequest:
    """One session's share of a step: what to generate, and how to shape it after."""

    session: Session
    blend: Blend
    style: np.ndarray
    knobs: Knobs
    gain_from: float
    gain_to: float
    clock: BeatClock | None = None
    change: StyleChange | None = None  # a quantized switch inside this block
    weights: Mapping[str, float] | None = None  # the blend reported with the chunk


@dataclass
class SchedulerOutput:
    requests: list[BlockRequest]
    frames: int


@dataclass
class LoopStats:
    steps: int = 0
    blocks: int = 0
    underruns: int = 0
    engine_seconds: float = 0.0
    last_step_seconds: float = 0.0
    last_batch: int = 0
    failures: int = 0
    cost_per_row: float = 0.0  # recent engine seconds per session-block (moving average)


@dataclass
class GenerationLoop:
    engine: Engine
    lookahead_s: float = 0.5
    clock: Clock = field(default_factory=MonotonicClock)
    styles: StyleCache | None = None
    sessions: dict[str, Session] = field(default_factory=dict)
    stats: LoopStats = field(default_factory=LoopStats)

    def __post_init__(self) -> None:
        self._stinger_files: dict[str, np.ndarray] = {}
        if self.styles is None:
            self.styles = StyleCache(self.engine)
        self.frames = self.engine.info.block_frames
        self.rate = self.engine.info.sample_rate

    # ----------------------------------------------------------------------- sessions
    def open(self, scene: Scene, seed: int | None = None, session_id: str | None = None) -> Session:
        """Create a session for ``scene`` on this loop's engine (state CREATED). The seed
        defaults to the scene's, else a random one (reported on the session)."""
        if seed is None:
            seed = scene.seed if scene.seed is not None else secrets.randbelow(2**31)
        session = Session(session_id or uuid.uuid4().hex[:12], scene, self.engine.info.name,
                          seed, self.engine.init_state(seed), self.rate)
        if not self.engine.info.has_beat_grid:
            session.attach(TempoMeter(session))
        self.sessions[session.id] = session
        return session

    def get(self, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise NotFound(f"no session {session_id!r}")
        return session

    def control(self, session: Session, event: str, reason: str = "closed") -> None:
        """Apply a lifecycle event now (between steps); anchors real-time pacing on play.
        ``reason`` is reported in the ENDED event when the event closes the session."""
        before = session.state
        session.transition(event)
        if session.state == SessionState.PLAYING and before != SessionState.PLAYING:
            # Unanchored until the first block after (re)starting is delivered: playback
            # of that block starts when it exists, not when play was asked for.
            session.pacing.time = None
            session.pacing.sample = session.stream_time
        if session.state == SessionState.CLOSED:
            session.emit(EventKind.ENDED, reason=reason)
            self.sessions.pop(session.id, None)

    # ---------------------------------------------------------------------- the step
    def step(self, now: float | None = None) -> list[Chunk]:
        """One whole step in the caller's thread. ``now=None``: offline, every playing
        session gets a block regardless of real time."""
        out = self.schedule(now)
        if not out.requests:
            return []
        return self.deliver(out, self.execute(out))

    def playhead(self, session: Session, now: float) -> float:
        """Samples of ``session`` that a listener should have heard by ``now``."""
        if session.pacing.time is None:
            return float(session.pacing.sample)
        return session.pacing.sample + (now - session.pacing.time) * self.rate

    def schedule(self, now: float | None = None) -> SchedulerOutput:
        """Pick the sessions that need a block now, most urgent first (least audio left
        before their listeners run dry), up to the engine's batch limit and to a time
        budget of half a block, estimated from recent steps: a crowd of new sessions
        cannot starve one that is already playing."""
        ahead = self.lookahead_s * self.rate
        due: list[tuple[float, Session]] = []
        for session in self.sessions.values():
            if session.state != SessionState.PLAYING:
                continue
            slack = ahead
            if now is not None and session.pacing.time is not None:
                heard = self.playhead(session, now)
                if session.stream_time >= heard + ahead:
                    continue
                if session.stream_time < heard - self.frames and session.seq > 0:
                    self._underrun(session, heard)
                    heard = self.playhead(session, now)
                slack = session.stream_time - heard
            due.append((slack, session))
        due.sort(key=lambda item: item[0])
        limit = self.engine.info.max_batch
        if now is not None and self.stats.cost_per_row > 0:
            budget = 0.5 * self.frames / self.rate
            limit = min(limit, max(1, int(budget / self.stats.cost_per_row)))
        requests = []
        for _, session in due[:limit]:
            if session.reset_requested:
                self._reset(session)
            requests.append(self._request(session))
        return SchedulerOutput(requests, self.frames)

    def _underrun(self, session: Session, heard: float) -> None:
        """Generation fell behind real time: count it, tell listeners, re-anchor so the
        stream continues from where it is (lateness is reported, never hidden)."""
        late = (heard - session.stream_time) / self.rate
        session.counters.underruns += 1
        self.stats.underruns += 1
        session.emit(EventKind.UNDERRUN, late_s=round(late, 4))
        session.pacing.sample = session.stream_time
        session.pacing.time += late

    def _reset(self, session: Session) -> None:
        session.reset_requested = False
        session.engine_state = self.engine.init_state(session.seed)
        session.declick = session.last_frame

    def _clock(self, session: Session, style: np.ndarray | None = None,
               knobs: Knobs | None = None) -> BeatClock:
        """Where the next block starts on the beat grid: the engine's own grid when it has
        one (exact; with the block's style, at the tempo and meter it will play), else the
        session's output-side clock at the scene's (or knob's) tempo and signature."""
        if self.engine.info.has_beat_grid:
            grid = self.engine.beat_clock(  # type: ignore[attr-defined]
                session.engine_state, style, knobs)
            return BeatClock(session.stream_time, grid.beat, grid.bpm, grid.beats_per_bar,
                             grid.beat_unit, self.rate)
        time_spec = session.scene.time
        if session.clock is None:
            session.clock = BeatClock(session.stream_time, 0.0,
                                      _unit_bpm(time_spec.bpm, time_spec.beat_unit),
                                      time_spec.beats_per_bar, time_spec.beat_unit, self.rate)
        elif (session.clock.beats_per_bar, session.clock.beat_unit) != (
                time_spec.beats_per_bar, time_spec.beat_unit):
            session.clock = _new_meter(session.clock, time_spec, self.frames)
        return session.clock

    def _request(self, session: Session) -> BlockRequest:
        assert self.styles is not None
        info = self.engine.info
        # The blend needs the grid (quantized changes), and the grid's tempo the style:
        # decide with the previous block's style, then read the grid the block will play.
        clock = self._clock(session, session.last_style, session.last_knobs)
        lead = round(info.control_latency_s * self.rate)
        blend = session.next_blend(clock, horizon=self.frames, lead=lead)
        for name in blend.weights:
            self._announce(session, blend.prompts[name])
        style = self.styles.mix(blend.weights, blend.prompts)
        if info.has_beat_grid:
            clock = self._clock(session, style, blend.knobs)
        session.last_style, session.last_knobs = style, blend.knobs
        weights, change = blend.weights, None
        if blend.switch is not None:
            after = self.styles.mix(blend.switch.weights, blend.prompts)
            if info.sample_accurate:
                change = StyleChange(blend.switch.offset, after)
            elif blend.switch.offset < self.frames // 2:
                style = after  # nearest block boundary for engines without offsets
            if blend.switch.offset < self.frames // 2:
                weights = blend.switch.weights
        self._stingers(session, blend, clock)
        target = 1.0 if (weights or blend.weights) else 0.0
        request = BlockRequest(session, blend, style, blend.knobs, session.gain, target, clock,
                               change, weights)
        session.gain = target
        session.in_flight = self.frames
        return request

    def _announce(self, session: Session, prompt) -> None:
        assert self.styles is not None
        if prompt.key not in session.announced:
            session.announced.add(prompt.key)
            unknown = self.styles.embed(prompt).unknown_words
            if unknown:
                session.emit(EventKind.UNKNOWN_WORDS, prompt=prompt.text or prompt.key,
                             words=list(unknown))

    def _stingers(self, session: Session, blend: Blend, clock: BeatClock) -> None:
        """Schedule the stingers triggered since the last block (by clients or by the
        scene's conditions) on their quantized sample, unless cooling down."""
        names = session.pending_triggers + list(blend.fired)
        session.pending_triggers = []
        now = session.stream_time
        for name in names:
            stinger = session.scene.stingers[name]
            if session.stingers.cooling(name, now, stinger.cooldown_s * self.rate):
                session.emit(EventKind.STINGER, stinger=name, status="suppressed", at=now)
                continue
            try:
                pcm = self._stinger_audio(session, stinger)
            except Exception as exc:  # a missing file must not stop the music
                log.warning("session %s: stinger %s unavailable: %s", session.id, name, exc)
                session.emit(EventKind.STINGER, stinger=name, status="unavailable", at=now,
                             message=str(exc))
                continue
            start = clock.boundary(now, stinger.play_at)
            session.stingers.schedule(name, start, pcm, stinger.gain,
                                      10 ** (stinger.duck_db / 20), fired_at=now)
            session.emit(EventKind.STINGER, stinger=name, status="scheduled", at=start)

    def _stinger_audio(self, session: Session, stinger) -> np.ndarray:
        if stinger.audio is not None:
            cached = self._stinger_files.get(stinger.audio)
            if cached is None:
                cached = self._stinger_files[stinger.audio] = load_audio(
                    stinger.audio, self.rate, self.engine.info.channels)
            return cached
        phrase = getattr(self.engine, "phrase", None)
        if phrase is None:
            raise ValueError(f"engine {self.engine.info.name!r} cannot play phrase stingers; "
                             f"use an audio file")
        return phrase(session.engine_state, stinger.phrase, stinger.beats)

    def execute(self, out: SchedulerOutput) -> EngineOutput | Exception:
        """The batched engine call. Safe to run in a worker thread: touches only the
        engine and the requests' engine states. Returns the exception on failure."""
        started = time.perf_counter()
        try:
            args = ([r.session.engine_state for r in out.requests],
                    np.stack([r.style for r in out.requests]),
                    [r.knobs for r in out.requests], out.frames)
            changes = [r.change for r in out.requests]
            if any(c is not None for c in changes):
                result = self.engine.generate(*args, changes=changes)  # type: ignore[call-arg]
            else:
                result = self.engine.generate(*args)
        except Exception as exc:  # isolated per row in deliver
            result = exc
        elapsed = time.perf_counter() - started
        stats = self.stats
        stats.engine_seconds += elapsed
        stats.last_step_seconds = elapsed
        stats.last_batch = len(out.requests)
        per_row = elapsed / max(1, len(out.requests))
        stats.cost_per_row = per_row if stats.cost_per_row == 0 else \
            0.8 * stats.cost_per_row + 0.2 * per_row
        return result

    def deliver(self, out: SchedulerOutput, result: EngineOutput | Exception) -> list[Chunk]:
        if isinstance(result, Exception):
            return self._recover(out, result)
        self.stats.steps += 1
        chunks = []
        for row, request in enumerate(out.requests):
            session = request.session
            session.engine_state = result.states[row]
            session.in_flight = 0
            if session.state == SessionState.CLOSED:
                continue  # closed while its block was being generated
            if session.pacing.time is None:
                session.pacing.time = self.clock.now()
                session.pacing.sample = session.stream_time
            pcm = self._shape(session, result.pcm[row], request)
            pcm = session.stingers.mix(pcm, session.stream_time)
            if request.clock is not None:
                # Where the next block starts (the grid engines re-read theirs exactly).
                bpm = None if self.engine.info.has_beat_grid else _unit_bpm(
                    request.knobs.bpm or session.scene.time.bpm, request.clock.beat_unit)
                session.clock = request.clock.advanced(len(pcm), bpm)
            chunk = session.make_chunk(pcm, request.blend, request.weights, request.clock)
            session.publish(chunk)
            chunks.append(chunk)
        self.stats.blocks += len(chunks)
        return chunks

    def _shape(self, session: Session, pcm: np.ndarray, request: BlockRequest) -> np.ndarray:
        pcm = np.array(pcm, dtype=np.float32, copy=True)
        if request.gain_from != 1.0 or request.gain_to != 1.0:
            ramp = np.linspace(request.gain_from, request.gain_to, len(pcm), endpoint=False)
            pcm *= ramp[:, None].astype(np.float32)
        if session.declick is not None:
            # After a reset the new stream starts from silence; let the old stream's last
            # sample decay over a few ms instead of jumping (no click).
            t = np.arange(min(len(pcm), int(10 * DECLICK_TAU)))
            pcm[: len(t)] += (session.declick[None, :] * np.exp(-t / DECLICK_TAU)[:, None]).astype(
                np.float32)
            session.declick = None
        session.last_frame = pcm[-1].copy()
        return pcm

    def _recover(self, out: SchedulerOutput, error: Exception) -> list[Chunk]:
        """A batched call failed: retry each row alone so one bad session cannot end the
        others; sessions that still fail end with an error event."""
        self.stats.failures += 1
        if len(out.requests) == 1:
            self.fail(out.requests[0].session, error)
            return []
        chunks = []
        for request in out.requests:
            single = SchedulerOutput([request], out.frames)
            result = self.execute(single)
            if isinstance(result, Exception):
                self.fail(request.session, result)
            else:
                chunks.extend(self.deliver(single, result))
        return chunks

    def fail(self, session: Session, error: BaseException) -> None:
        session.in_flight = 0
        log.error("session %s failed in engine %s: %r", session.id, session.engine_name, error)
        message = str(error) if isinstance(error, CadenzaError) else "engine failure"
        session.error = message
        if session.state.live:
            session.transition("fail")
        session.emit(EventKind.ERROR, message=message)
        session.emit(EventKind.ENDED, reason="error")
        self.sessions.pop(session.id, None)

    def next_deadline(self) -> float | None:
        """Earliest clock time at which some playing session needs its next block."""
        ahead = self.lookahead_s * self.rate
        times = [
            (s.pacing.time + (s.stream_time - s.pacing.sample - ahead) / self.rate)
            if s.pacing.time is not None else float("-inf")
            for s in self.sessions.values() if s.state == SessionState.PLAYING
        ]
        return min(times) if times else None

    def playing(self) -> Iterable[Session]:
        return (s for s in self.sessions.values() if s.state == SessionState.PLAYING)


def _unit_bpm(tempo: float, beat_unit: int) -> float:
    """Beats of the signature's unit per minute for a quarter-note tempo (6/8 at 120: 240)."""
    return tempo * beat_unit / 4.0


def _new_meter(clock: BeatClock, time_spec: TimeSpec, frames: int) -> BeatClock:
    """A swapped-in scene's signature, for an output-side clock: taken at the first block
    that starts on or just after a bar line (within one block of it), where the beat count
    moves on to the next whole bar of the new meter; until then the old meter runs on."""
    since_bar = clock.at - clock.sample_of(math.floor(clock.beat / clock.beats_per_bar + 1e-9)
                                           * clock.beats_per_bar)
    if since_bar >= frames:
        return clock
    beats, unit = time_spec.beats_per_bar, time_spec.beat_unit
    beat = math.ceil(clock.beat * unit / clock.beat_unit / beats - 1e-9) * beats
    return BeatClock(clock.at, float(beat), clock.bpm * unit / clock.beat_unit, beats, unit,
                     clock.rate)
