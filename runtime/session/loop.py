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
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..engines.base import Engine, EngineOutput, Knobs
from ..errors import CadenzaError, NotFound
from ..scene import Blend, Scene
from .chunk import Chunk, EventKind
from .clock import Clock, MonotonicClock
from .lifecycle import SessionState
from .session import Session
from .styles import StyleCache

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

    def _request(self, session: Session) -> BlockRequest:
        blend = session.next_blend()
        assert self.styles is not None
        for name in blend.weights:
            prompt = blend.prompts[name]
            if prompt.key not in session.announced:
                session.announced.add(prompt.key)
                unknown = self.styles.embed(prompt).unknown_words
                if unknown:
                    session.emit(EventKind.UNKNOWN_WORDS, prompt=name, words=list(unknown))
        style = self.styles.mix(blend.weights, blend.prompts)
        target = 1.0 if blend.weights else 0.0
        request = BlockRequest(session, blend, style, blend.knobs, session.gain, target)
        session.gain = target
        return request

    def execute(self, out: SchedulerOutput) -> EngineOutput | Exception:
        """The batched engine call. Safe to run in a worker thread: touches only the
        engine and the requests' engine states. Returns the exception on failure."""
        started = time.perf_counter()
        try:
            result = self.engine.generate(
                [r.session.engine_state for r in out.requests],
                np.stack([r.style for r in out.requests]),
                [r.knobs for r in out.requests], out.frames)
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
            if session.state == SessionState.CLOSED:
                continue  # closed while its block was being generated
            if session.pacing.time is None:
                session.pacing.time = self.clock.now()
                session.pacing.sample = session.stream_time
            pcm = self._shape(session, result.pcm[row], request)
            chunk = session.make_chunk(pcm, request.blend)
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
