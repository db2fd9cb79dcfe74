"""The generation loop, shaped like a serving engine's step:

    schedule(now)        -> SchedulerOutput  every session due within the horizon, one batch
    execute(out)         -> StepResult       one batched engine call (a worker thread); a
                                             failing batch is bisected there, off the event loop
    deliver(out, result) -> chunks           gain, declick, chunk, fan-out, events

Continuous batching: each step every playing session whose audio runs out before the next
call could finish joins the one call (up to the engine's batch limit), so sessions fall
into step with each other and a call serves them all. The budget is what a call costs at
its bucket (`cost.CostModel`), not per row. Prompt embeddings and stinger files are
fetched in the background (`background`): a session whose prompts are not embedded yet
waits for them instead of blocking the others.

Threading: everything but `execute` runs on the owner's thread (the asyncio loop in the
server, the caller offline); control (state, pause, reset, close) is applied between steps.
Per-session loop state lives in a `SessionSlot` the loop owns (``slots``). Beside it: the
step's named types (`step`), what a call costs and admits (`cost`), what a late engine's
sessions play (`conceal.Voices`), and the stinger files and firing (`stingers`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..engines.base import (
    Advancing,
    Batched,
    BeatGrid,
    Engine,
    Knobs,
    PhraseMaker,
    Prompt,
    StyleChange,
)
from ..errors import CadenzaError, EngineError, NotFound
from ..musictime import BeatClock
from ..scene import Scene
from ..scene.model import TimeSpec
from .chunk import Chunk, EventKind
from .clock import Clock, MonotonicClock
from .conceal import EMPTY_BLEND, Tail, Voices
from .cost import CostModel, pow2_bucket
from .lifecycle import SessionState
from .session import Session
from .slot import SessionSlot
from .step import BlockRequest, LoopStats, SchedulerOutput, StepResult
from .stingers import StingerFiles, fire_stingers
from .styles import StyleCache
from .tempo import TempoMeter

log = logging.getLogger("cadenza.loop")

DECLICK_TAU = 96.0  # samples (2 ms): how fast a reset's jump to the new stream decays
SUSTAIN = 0.9  # share of a block's duration one call may take (the loop needs the rest)


@dataclass
class GenerationLoop:
    engine: Engine
    lookahead_s: float = 0.5
    clock: Clock = field(default_factory=MonotonicClock)
    styles: StyleCache | None = None
    sessions: dict[str, Session] = field(default_factory=dict)
    stats: LoopStats = field(default_factory=LoopStats)
    # Runs a callable off the owner's thread (the server: a thread pool, then wakes the
    # driver). None: run inline (offline rendering, tests).
    background: Callable[[Callable[[], None]], None] | None = None
    # A block's deadline is its stream time less this margin: a session whose buffered
    # audio falls to it while the engine is late plays its concealment voice (default:
    # half a block, at least 50 ms).
    conceal_margin_s: float | None = None
    # Admission (see `capacity`): the share of a block's time the engine may use, and the
    # CPU cores this process may use for a per-row engine (one interpreter: the engine
    # and the transports share one GIL; the rest is spare).
    admission_headroom: float = 0.6
    admission_cpu: float = 0.7

    def __post_init__(self) -> None:
        if self.styles is None:
            self.styles = StyleCache(self.engine)
        info = self.engine.info
        self.frames = info.block_frames
        self.rate = info.sample_rate
        # Optional capabilities, checked once.
        self._grid: BeatGrid | None = self.engine if (
            info.has_beat_grid and isinstance(self.engine, BeatGrid)) else None
        self._phrases: PhraseMaker | None = self.engine if isinstance(
            self.engine, PhraseMaker) else None
        self.stinger_files = StingerFiles(self.rate, info.channels)
        self._batched: Batched | None = self.engine if isinstance(self.engine, Batched) else None
        self._advancing: Advancing | None = self.engine if isinstance(
            self.engine, Advancing) else None
        self._release = getattr(self.engine, "release", None)
        self.cost = CostModel(per_call=self._batched is not None)
        # The band loops its last bar; any other engine gets the fallback voice.
        self.voices = Voices(info.name == "procedural", self.frames, self.rate)
        if self.conceal_margin_s is None:
            self.conceal_margin_s = max(0.05, info.block_seconds / 2)
        self.slots: dict[str, SessionSlot] = {}
        self._waiting: set[str] = set()  # sessions whose prompts are still being embedded

    # ----------------------------------------------------------------------- sessions
    def open(self, scene: Scene, seed: int | None = None, session_id: str | None = None,
             engine_state=None) -> Session:
        """Create a session for ``scene`` on this loop's engine (state CREATED). The seed
        defaults to the scene's, else a random one (reported on the session).
        ``engine_state``: continue a restored stream instead of starting afresh."""
        if seed is None:
            seed = scene.seed if scene.seed is not None else secrets.randbelow(2**31)
        state = self.engine.init_state(seed) if engine_state is None else engine_state
        session = Session(session_id or uuid.uuid4().hex[:12], scene, self.engine.info.name,
                          seed, state, self.rate)
        if self._grid is None:
            session.attach(TempoMeter(session))
        self.sessions[session.id] = session
        self.slots[session.id] = session.slot
        self.prepare(session)
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
        slot = session.slot
        if session.state == SessionState.PLAYING and before != SessionState.PLAYING:
            # Unanchored until the first block after (re)starting is delivered: playback
            # of that block starts when it exists, not when play was asked for.
            slot.pacing.time = None
            slot.pacing.sample = slot.started = session.stream_time
            slot.primed = False
        if session.state == SessionState.CLOSED:
            session.emit(EventKind.ENDED, reason=reason)
            self.discard(session)

    def discard(self, session: Session) -> None:
        """Drop ``session`` from the loop (closed, failed, or never started) and release
        its engine state."""
        self.sessions.pop(session.id, None)
        self._waiting.discard(session.id)
        slot = self.slots.pop(session.id, None)
        if slot is not None and self._release is not None and slot.in_flight == 0:
            self._release(slot.engine_state)  # in flight: released when its block returns

    def prepare(self, session: Session) -> bool:
        """Start embedding the session's prompts (and loading its stinger files) off the
        owner's thread; True when everything it may play is ready now."""
        assert self.styles is not None
        prompts = list(session.scene.prompts.values())
        if session.override:
            prompts += [Prompt(text=t) for t in session.override]
        ready = self.styles.ensure(prompts, self.background)
        for stinger in session.scene.stingers.values():
            if stinger.audio is not None:
                self.stinger_files.load(stinger.audio, self.background)
        return ready

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
        pacing = session.slot.pacing
        if pacing.time is None:
            return float(pacing.sample)
        return pacing.sample + (now - pacing.time) * self.rate

    def bucket_for(self, rows: int) -> int:
        return self._batched.bucket_for(rows) if self._batched else pow2_bucket(rows)

    def horizon(self, rows: int) -> float:
        """Seconds a call serving ``rows`` rows is expected to take (capped at half the
        lookahead): a session whose audio runs out sooner than that joins this call."""
        estimate = self.cost.estimate(self.bucket_for(rows), rows)
        return min(self.lookahead_s / 2, estimate if estimate is not None else 0.0)

    def schedule(self, now: float | None = None) -> SchedulerOutput:
        """Every playing session that needs audio before the next call could finish,
        most urgent first (least audio left), up to the engine's batch limit. When the
        call that serves them all would finish after the most urgent one runs dry, the
        batch shrinks to the largest bucket that makes it in time."""
        assert self.styles is not None
        playing = [s for s in self.sessions.values() if s.state == SessionState.PLAYING]
        ahead = self.lookahead_s * self.rate
        due: list[tuple[float, Session]] = []  # (audio left before the listener runs dry, s)
        if now is None:
            due = [(ahead, s) for s in playing if self._ready(s)]
        else:
            # A call is due once someone's audio runs short of the lookahead by the time
            # the call would end; then everyone with room for one more block joins it.
            horizon = self.horizon(len(playing)) * self.rate
            trigger, room = ahead + horizon, ahead + horizon + self.frames
            for session in playing:
                if session.slot.pacing.time is None:  # not heard yet: no deadline so far
                    due.append((0.0, session))
                    continue
                heard = self.playhead(session, now)
                if session.stream_time < heard - self.frames and session.seq > 0:
                    self._underrun(session, heard, now)
                    heard = self.playhead(session, now)
                if session.stream_time < heard + room:
                    due.append((session.stream_time - heard, session))
            due = [(slack, s) for slack, s in due if self._ready(s)]
            if not any(slack < trigger for slack, _ in due):
                due = []
        due.sort(key=lambda item: item[0])
        n = min(self.engine.info.max_batch, len(due))
        if now is not None:
            # The call must end before the most urgent session runs dry, and last no
            # longer than the audio it makes (else nobody in it keeps real time).
            anchored = [slack for slack, s in due[:n] if s.slot.pacing.time is not None]
            urgent = max(min(anchored, default=ahead), self.frames) / self.rate
            budget = min(urgent, SUSTAIN * self.engine.info.block_seconds)
            estimate = self.cost.estimate(self.bucket_for(n), n)
            if estimate is not None and estimate > budget and not self.cost.per_call:
                n = max(1, int(budget / (estimate / n)))
            while n > 1 and self.cost.per_call:
                bucket = self.bucket_for(n)
                estimate = self.cost.estimate(bucket, n)
                if estimate is None or estimate <= budget or self.bucket_for(n // 2) == bucket:
                    break  # fits, or fewer rows would cost the same
                n //= 2
        if n < len(due):
            # Overload the budget did not foresee: the oldest sessions keep the engine,
            # the newest conceal (never all at once); new sessions still start.
            order = {sid: i for i, sid in enumerate(self.sessions)}
            first = [d for d in due if d[1].slot.pacing.time is None]
            rest = sorted((d for d in due if d[1].slot.pacing.time is not None),
                          key=lambda d: order[d[1].id])
            due = (first + rest)[:n]
            due.sort(key=lambda item: item[0])
        requests = []
        for _, session in due:
            try:
                if session.reset_requested:
                    self._reset(session)
                requests.append(self._request(session))
            except Exception as exc:  # this session's scene or prompts, never the others
                self.fail(session, exc)
        return SchedulerOutput(requests, self.frames, self.bucket_for(len(requests)))

    def _ready(self, session: Session) -> bool:
        """Prompts embedded; a prompt that cannot be embedded ends the session."""
        assert self.styles is not None
        key = (session.scene, tuple(session.override or ()))
        done = session.slot.prepared
        if done is not None and done[0] is key[0] and done[1] == key[1]:
            return True  # checked once per scene and prompt override, not every step
        if self.prepare(session):
            self._waiting.discard(session.id)
            session.slot.prepared = key
            return True
        self._waiting.add(session.id)
        prompts = list(session.scene.prompts.values()) + [
            Prompt(text=t) for t in (session.override or {})]
        error = self.styles.failure(prompts)
        if error is not None:
            failed = next(p for p in prompts if self.styles.failure([p]) is error)
            self.fail(session, EngineError(
                f"prompt {failed.key[:120]!r} could not be embedded ({type(error).__name__})"))
        return False

    def _underrun(self, session: Session, heard: float, now: float) -> None:
        """Generation fell behind real time: count it once, tell listeners, and re-anchor
        the listener's clock at now on the audio that exists (lateness is reported, never
        hidden). Before the session's start-up burst first filled its lookahead, being
        behind only moves its start (a player starts on a buffer): re-anchored, not
        counted."""
        late = (heard - session.stream_time) / self.rate
        if not self._warming(session.slot, session.stream_time):
            session.counters.underruns += 1
            self.stats.underruns += 1
            session.emit(EventKind.UNDERRUN, late_s=round(late, 4))
        session.slot.pacing.sample = session.stream_time
        session.slot.pacing.time = now
        session.slot.primed = False

    def _warming(self, slot: SessionSlot, stream_time: int) -> bool:
        """Still in its start-up burst: not yet primed, and less than two lookaheads of
        audio made since play. A session behind for longer is late, and counted."""
        return not slot.primed and stream_time - slot.started < 2 * self.lookahead_s * self.rate

    def _reset(self, session: Session) -> None:
        session.reset_requested = False
        slot = session.slot
        if self._release is not None:
            self._release(slot.engine_state)
        slot.engine_state = self.engine.init_state(session.seed)
        slot.declick = slot.last_frame

    def _clock(self, session: Session, style: np.ndarray | None = None,
               knobs: Knobs | None = None) -> BeatClock:
        """Where the next block starts on the beat grid: the engine's own grid when it has
        one (exact; with the block's style, at the tempo and meter it will play), else the
        session's output-side clock at the scene's (or knob's) tempo and signature."""
        slot = session.slot
        if self._grid is not None:
            grid = self._grid.beat_clock(slot.engine_state, style, knobs)
            return BeatClock(session.stream_time, grid.beat, grid.bpm, grid.beats_per_bar,
                             grid.beat_unit, self.rate)
        time_spec = session.scene.time
        if slot.clock is None:
            slot.clock = BeatClock(session.stream_time, 0.0,
                                   _unit_bpm(time_spec.bpm, time_spec.beat_unit),
                                   time_spec.beats_per_bar, time_spec.beat_unit, self.rate)
        elif (slot.clock.beats_per_bar, slot.clock.beat_unit) != (
                time_spec.beats_per_bar, time_spec.beat_unit):
            slot.clock = _new_meter(slot.clock, time_spec, self.frames)
        return slot.clock

    def _request(self, session: Session) -> BlockRequest:
        assert self.styles is not None
        info = self.engine.info
        slot = session.slot
        skip = 0
        if slot.lag > 0 and self.voices.bar_loop and slot.last_style is not None:
            # The band's grid is behind the stream its bar loop covered: in the engine
            # thread it first moves on over the missing whole blocks (unheard), so its
            # beats land where the loop's did; the stream's clock (the loop's, which kept
            # the beat) stands in for the grid meanwhile. Never here: it would hold up
            # every other session.
            skip = -(-slot.lag // self.frames) * self.frames
        slot.lag = 0
        # The blend needs the grid (quantized changes), and the grid's tempo the style:
        # decide with the previous block's style, then read the grid the block will play.
        clock = slot.clock if skip and slot.clock is not None else \
            self._clock(session, slot.last_style, slot.last_knobs)
        lead = round(info.control_latency_s * self.rate)
        blend = session.next_blend(clock, horizon=self.frames, lead=lead)
        for name in blend.weights:
            self._announce(session, blend.prompts[name])
        style = self.styles.mix(blend.weights, blend.prompts)
        if self._grid is not None and not skip:
            clock = self._clock(session, style, blend.knobs)
        slot.last_style, slot.last_knobs = style, blend.knobs
        weights, change = blend.weights, None
        if blend.switch is not None:
            after = self.styles.mix(blend.switch.weights, blend.prompts)
            if info.sample_accurate:
                change = StyleChange(blend.switch.offset, after)
            elif blend.switch.offset < self.frames // 2:
                style = after  # nearest block boundary for engines without offsets
            if blend.switch.offset < self.frames // 2:
                weights = blend.switch.weights
        fire_stingers(session, blend, clock, self.stinger_files, self._phrase, self.background)
        target = 1.0 if (weights or blend.weights) else 0.0
        request = BlockRequest(session, blend, style, blend.knobs, slot.gain, target, clock,
                               change, weights, session.stream_time, skip)
        slot.gain = target
        slot.in_flight = self.frames
        return request

    def _announce(self, session: Session, prompt: Prompt) -> None:
        assert self.styles is not None
        if prompt.key not in session.announced:
            session.announced.add(prompt.key)
            unknown = self.styles.embed(prompt).unknown_words
            if unknown:
                session.emit(EventKind.UNKNOWN_WORDS, prompt=prompt.text or prompt.key,
                             words=list(unknown))

    def _phrase(self, session: Session, stinger) -> np.ndarray:
        if self._phrases is None:
            raise ValueError(f"engine {self.engine.info.name!r} cannot play phrase stingers; "
                             f"use an audio file")
        return self._phrases.phrase(session.slot.engine_state, stinger.phrase, stinger.beats)

    # ------------------------------------------------------------------- execute
    def execute(self, out: SchedulerOutput) -> StepResult:
        """The batched engine call. Safe to run in a worker thread: touches only the
        engine and the requests' engine states. A failing call is bisected until the
        failing rows are alone (a poisoned row costs its neighbours O(log n) retries).
        Rows with a ``skip`` (the band after concealment) are first moved on over it."""
        result = StepResult()
        requests = out.requests
        if self._advancing is not None and any(r.skip for r in requests):
            # Rows catching up on a concealed stretch move on without sound first (one
            # call), then every row gets its block in the one call.
            moved = {id(r) for r in self._advance([r for r in requests if r.skip], result)}
            requests = [r for r in out.requests if not r.skip or id(r) in moved]
        by_skip: dict[int, list[BlockRequest]] = {}
        for request in requests:  # else the stretch is generated first: a call per length
            by_skip.setdefault(0 if self._advancing else request.skip, []).append(request)
        for skip, group in sorted(by_skip.items()):
            self._call(group, out.frames, result, skip)
        return result

    def _advance(self, requests: list[BlockRequest], result: StepResult) -> list[BlockRequest]:
        """`Advancing.advance` of the rows' skipped stretches, all in one call (retried row
        by row if it fails; a row failing alone is reported); returns the rows that moved."""
        assert self._advancing is not None
        for rows in [requests] if len(requests) == 1 else [requests, *([r] for r in requests)]:
            try:
                states = self._advancing.advance(
                    [r.session.slot.engine_state for r in rows], np.stack([r.style for r in rows]),
                    [r.knobs for r in rows], [r.skip for r in rows])
            except Exception as exc:
                if len(rows) == 1:
                    result.failures.append((rows[0], exc))
                continue
            for request, state in zip(rows, states, strict=True):
                request.session.slot.engine_state = state
            if len(rows) > 1:
                return rows
        failed = {id(r) for r, _ in result.failures}
        return [r for r in requests if id(r) not in failed]

    def _call(self, requests: list[BlockRequest], frames: int, result: StepResult,
              skip: int = 0) -> None:
        started = self.clock.now()
        result.calls += 1
        try:
            states = [r.session.slot.engine_state for r in requests]
            styles = np.stack([r.style for r in requests])
            knobs = [r.knobs for r in requests]
            changes = [r.change for r in requests]
            played = frames + skip
            if skip:  # the skipped blocks are played first (at the block's style)
                changes = [None if c is None else dataclasses.replace(c, offset=c.offset + skip)
                           for c in changes]
            if any(c is not None for c in changes):
                output = self.engine.generate(states, styles, knobs, played, changes=changes)
            else:
                output = self.engine.generate(states, styles, knobs, played)
        except Exception as exc:
            self.stats.failures += 1
            if len(requests) == 1:
                result.failures.append((requests[0], exc))
                return
            half = len(requests) // 2
            self._call(requests[:half], frames, result, skip)
            self._call(requests[half:], frames, result, skip)
            return
        if skip:
            output = dataclasses.replace(output, pcm=output.pcm[:, skip:])
            result.outputs.append((requests, output))
            return  # not a block's cost: the cost model and the batch metrics skip it
        elapsed = self.clock.now() - started
        bucket = output.bucket or self.bucket_for(len(requests))
        self.cost.observe(bucket, len(requests), elapsed)
        if not self.cost.per_call:  # only a per-row engine's admission reads it
            self.cost.observe_process(time.process_time(), len(requests))
        stats = self.stats
        stats.engine_seconds += elapsed
        stats.last_step_seconds = elapsed
        stats.last_batch = len(requests)
        stats.last_bucket = bucket
        stats.rows += len(requests)
        if stats.recent_rows == 0:
            stats.recent_call_s, stats.recent_rows = elapsed, float(len(requests))
        else:
            stats.recent_call_s += 0.2 * (elapsed - stats.recent_call_s)
            stats.recent_rows += 0.2 * (len(requests) - stats.recent_rows)
        result.outputs.append((requests, output))

    # ------------------------------------------------------------------- deliver
    def deliver(self, out: SchedulerOutput, result: StepResult | BaseException) -> list[Chunk]:
        if isinstance(result, BaseException):  # the call itself could not be made
            result = StepResult(failures=[(r, result) for r in out.requests])
        chunks = []
        for requests, output in result.outputs:
            self.stats.steps += 1
            for row, request in enumerate(requests):
                chunk = self._deliver_row(request, output.states[row], output.pcm[row])
                if chunk is not None:
                    chunks.append(chunk)
        for request, error in result.failures:
            request.session.slot.in_flight = 0
            self.fail(request.session, error)
        self.stats.blocks += len(chunks)
        return chunks

    def _deliver_row(self, request: BlockRequest, state, pcm: np.ndarray) -> Chunk | None:
        session = request.session
        slot = session.slot
        slot.engine_state = state
        slot.in_flight = 0
        if session.state == SessionState.CLOSED or session.id not in self.sessions:
            if self._release is not None:
                self._release(state)  # closed while its block was being generated
            return None
        clock = request.clock
        if request.at != session.stream_time:  # concealment covered its place
            if self._grid is not None:  # the band regenerates on its grid (slot.lag): drop
                self.stats.late_blocks += 1
                slot.lag -= len(pcm)
                return None
            # A model's block continues its own stream: play it after the concealment (a
            # dropped block is a whole engine call lost, and the engine falls further
            # behind); the listener's beat moves on from where the concealment left it.
            self.stats.retimed_blocks += 1
            clock = slot.clock
        if slot.pacing.time is None:
            slot.pacing.time = self.clock.now()
            slot.pacing.sample = session.stream_time
        elif self._warming(slot, session.stream_time):
            now = self.clock.now()
            heard = self.playhead(session, now)
            if heard > session.stream_time:
                # Late within the start-up burst, where nothing conceals: re-anchored now
                # (uncounted), so the block which ends the burst is not counted for
                # lateness nobody was allowed to cover.
                self._underrun(session, heard, now)
        pcm = self._shape(slot, pcm, request)
        if slot.concealing is not None:
            pcm = self.voices.end(session, pcm, request.blend)
        pcm = session.stingers.mix(pcm, session.stream_time)
        if slot.tail is None:
            slot.tail = Tail(self.rate, self.engine.info.channels)
        if not slot.primed:  # the start-up burst has filled the buffer: deadlines from now
            slot.primed = session.stream_time + len(pcm) - self.playhead(
                session, self.clock.now()) >= self.lookahead_s * self.rate - self.frames

        if clock is not None:
            # Where the next block starts (the grid engines re-read theirs exactly).
            bpm = None if self._grid is not None else _unit_bpm(
                request.knobs.bpm or session.scene.time.bpm, clock.beat_unit)
            slot.clock = clock.advanced(len(pcm), bpm)
        chunk = session.make_chunk(pcm, request.blend, request.weights, clock)
        slot.tail.append(chunk.encoded("s16le"))
        session.publish(chunk)
        return chunk

    def _shape(self, slot: SessionSlot, pcm: np.ndarray, request: BlockRequest) -> np.ndarray:
        pcm = np.array(pcm, dtype=np.float32, copy=True)
        if request.gain_from != 1.0 or request.gain_to != 1.0:
            ramp = np.linspace(request.gain_from, request.gain_to, len(pcm), endpoint=False)
            pcm *= ramp[:, None].astype(np.float32)
        if slot.declick is not None:
            # After a reset the new stream starts from silence; let the old stream's last
            # sample decay over a few ms instead of jumping (no click).
            t = np.arange(min(len(pcm), int(10 * DECLICK_TAU)))
            pcm[: len(t)] += (slot.declick[None, :] * np.exp(-t / DECLICK_TAU)[:, None]).astype(
                np.float32)
            slot.declick = None
        slot.last_frame = pcm[-1].copy()
        return pcm

    # ----------------------------------------------------------------- admission
    def capacity(self, headroom: float | None = None) -> int | None:
        """Sessions this loop can hold in real time (`CostModel.capacity`), keeping
        ``1 - headroom`` of each block's time spare; None before any call was measured."""
        info = self.engine.info
        return self.cost.capacity(
            self.admission_headroom if headroom is None else headroom, info.block_seconds,
            info.max_batch, self.admission_cpu)

    # --------------------------------------------------------------- concealment
    def engine_lag(self, session: Session) -> int:
        """Samples of the stream concealment played that the engine's state has not yet
        generated: the band's grid catches up before its next block (a snapshot taken
        now must too). 0 for engines that continue their own stream."""
        return session.slot.lag if self.voices.bar_loop else 0

    def conceal_deadline(self) -> float | None:
        """When the first playing session's buffered audio will fall to the margin (its
        block's deadline: stream time less the margin); the driver conceals then if the
        engine has not delivered."""
        margin = (self.conceal_margin_s or 0.0) * self.rate
        times = [s.slot.pacing.time + (s.stream_time - s.slot.pacing.sample - margin)
                 / self.rate for s in self.playing()
                 if s.slot.pacing.time is not None and s.slot.tail is not None
                 and not self._warming(s.slot, s.stream_time)]
        return min(times) if times else None

    def conceal(self, now: float, reason: str = "late") -> list[Chunk]:
        """The engine is late: every playing session whose buffered audio fell to the
        margin gets one block of its concealment voice (the band's loop of its last bar,
        or the fallback voice), crossfaded in at the start of a run. Counted per reason."""
        margin = (self.conceal_margin_s or 0.0) * self.rate
        chunks = []
        for session in list(self.playing()):
            slot = session.slot
            if slot.pacing.time is None or slot.tail is None or slot.tail.filled == 0 or \
                    self._warming(slot, session.stream_time):
                continue  # still filling its buffer after (re)starting: no deadline yet
            if session.stream_time - self.playhead(session, now) >= margin:
                continue
            pcm = session.stingers.mix(self.voices.block(session, reason),
                                       session.stream_time)
            slot.lag += len(pcm)
            chunk = session.make_chunk(pcm, session.blend or EMPTY_BLEND, clock=slot.clock)
            slot.tail.append(chunk.encoded("s16le"))
            if slot.clock is not None:
                slot.clock = slot.clock.advanced(len(pcm))
            session.publish(chunk)
            self.stats.concealed_s[reason] = self.stats.concealed_s.get(reason, 0.0) + \
                len(pcm) / self.rate
            chunks.append(chunk)
        self.stats.blocks += len(chunks)
        return chunks

    def warm(self) -> None:
        """Get the concealment voice ready before it is needed (`Voices.warm`)."""
        self.voices.warm(self.background)

    def fail(self, session: Session, error: BaseException) -> None:
        """End ``session`` alone with an error event (its engine state is released)."""
        log.error("session %s failed in engine %s: %r", session.id, session.engine_name, error)
        message = str(error) if isinstance(error, CadenzaError) else "engine failure"
        session.error = message
        if session.state.live:
            session.transition("fail")
        session.emit(EventKind.ERROR, message=message)
        session.emit(EventKind.ENDED, reason="error")
        self.discard(session)

    def next_deadline(self) -> float | None:
        """Earliest clock time at which some playing session is due for its next block
        (-inf: one is due now)."""
        ahead = self.lookahead_s * self.rate
        playing = [s for s in self.sessions.values()
                   if s.state == SessionState.PLAYING and s.id not in self._waiting]
        if not playing:
            return None
        horizon = self.horizon(len(playing)) * self.rate
        times = [
            (s.slot.pacing.time + (s.stream_time - s.slot.pacing.sample - ahead - horizon)
             / self.rate) if s.slot.pacing.time is not None else float("-inf")
            for s in playing
        ]
        return min(times)

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
