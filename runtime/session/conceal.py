"""Concealment: what a session plays while its engine is late, so it is never silent.

Two voices, chosen by the session's engine:

* `BarLoop` — for sessions on the procedural engine: the last bar heard, played again
  (one bar back keeps the beat's phase), which costs a copy.
* `FallbackVoice` — for model engines: the procedural band playing the session's current
  blend (text prompts through its lexicon, audio prompts through their descriptors) at
  the session's tempo, started on its beat grid (pre-rolled to the session's phase in
  the beat), so beat events stay on their grid.

Both join the stream with an equal-power crossfade (`XFADE` samples, 20 ms) at each end:
from a time-mirrored tail of the audio already played into the concealment, and from the
concealment's own continuation into the model's first block when it catches up. Called
from the loop's thread only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..engines.base import Knobs, Prompt
from ..musictime import BeatClock
from ..scene import Blend
from .chunk import EventKind

if TYPE_CHECKING:
    from .session import Session

XFADE = 960  # samples (20 ms) of each equal-power crossfade
TAIL_S = 2.0  # audio kept per session for looping (a 4/4 bar at 120 bpm)
EMPTY_BLEND = Blend(weights={}, prompts={}, knobs=Knobs())  # a session before its first blend


class Tail:
    """The last ``TAIL_S`` seconds a session played (int16, 384 KB a session)."""

    def __init__(self, rate: int, channels: int) -> None:
        self.size = int(TAIL_S * rate)
        self.buffer = np.zeros((self.size, channels), np.int16)
        self.filled = 0
        self.pos = 0  # next write index

    def append(self, s16: bytes) -> None:
        """Keep a played chunk: its interleaved s16le bytes (`Chunk.encoded`), so the
        tail shares the wire's one conversion instead of making its own."""
        data = np.frombuffer(s16, "<i2").reshape(-1, self.buffer.shape[1])[-self.size:]
        n = len(data)
        end = self.pos + n
        if end <= self.size:
            self.buffer[self.pos:end] = data
        else:
            first = self.size - self.pos
            self.buffer[self.pos:] = data[:first]
            self.buffer[:n - first] = data[first:]
        self.pos = end % self.size
        self.filled = min(self.size, self.filled + n)

    def last(self, n: int) -> np.ndarray:
        """The last ``n`` samples played (n ≤ filled), float32."""
        n = min(n, self.filled)
        start = self.pos - n
        if start >= 0:
            data = self.buffer[start:self.pos]
        else:  # wraps: two slices, never an index array
            data = np.concatenate((self.buffer[start:], self.buffer[:self.pos]))
        return data.astype(np.float32) / np.float32(32767.0)


def equal_power_in(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``new`` with its first len(old) samples crossfaded from ``old`` (cos/sin gains)."""
    n = min(len(old), len(new))
    out = np.array(new, np.float32, copy=True)
    if n:
        t = (np.arange(n, dtype=np.float32) + 0.5) / n * (np.pi / 2)
        out[:n] = old[:n] * np.cos(t)[:, None] + new[:n] * np.sin(t)[:, None]
    return out


def mirrored_tail(tail: Tail, n: int = XFADE) -> np.ndarray:
    """A continuation of what was just played for a crossfade: its last ``n`` samples
    backwards (continuous at the junction, no new material)."""
    return tail.last(n)[::-1]


class BarLoop:
    """One run of looping a session's last bar (procedural engine): the bar before the
    run, played again from its start (one bar back keeps the beat's phase), its own end
    crossfaded into its start so each repeat joins without a click."""

    def __init__(self, tail: Tail, clock: BeatClock | None) -> None:
        period = tail.filled
        if clock is not None:
            beat = max(1, round(clock.samples_per_beat))
            bar = beat * clock.beats_per_bar
            period = bar if bar <= tail.filled else beat * max(1, tail.filled // beat)
        period = max(1, min(period, tail.filled))
        loop = tail.last(period)
        if len(loop) > 2 * XFADE:
            loop[:XFADE] = equal_power_in(loop[::-1][:XFADE], loop[:XFADE])
        self.loop = loop
        self.played = 0

    def block(self, frames: int, advance: bool = True) -> np.ndarray:
        size = len(self.loop)
        start = self.played % size
        if advance:
            self.played += frames
        if start + frames <= size:
            return self.loop[start:start + frames].copy()
        out = np.empty((frames, self.loop.shape[1]), self.loop.dtype)
        done = 0
        while done < frames:  # slices of the loop, wrapping (a loop may be shorter)
            n = min(size - start, frames - done)
            out[done:done + n] = self.loop[start:start + n]
            done += n
            start = 0
        return out


class FallbackVoice:
    """The procedural band covering a model engine's session; one state per session,
    created at the start of each concealment, aligned to the session's beat grid."""

    def __init__(self) -> None:
        from ..engines.procedural import ProceduralEngine
        from .styles import StyleCache

        self.engine = ProceduralEngine()
        self.styles = StyleCache(self.engine)
        # session id → (band state, audio made ahead, samples still to skip: pre-roll)
        self._voices: dict[str, tuple[object, np.ndarray, int]] = {}

    def warm(self) -> None:
        """Build the band's caches (a second of audio) before the first concealment needs
        them; call off the loop's thread."""
        state = self.engine.init_state(0)
        style = self.engine.neutral_style()[None, :]
        self.engine.generate([state], style, [Knobs()], self.engine.info.block_frames * 20)

    def style(self, blend: Blend) -> np.ndarray:
        """The blend in the band's terms; an audio prompt not yet described plays neutral."""
        if not blend.weights:
            return self.engine.neutral_style()
        total = np.zeros_like(self.engine.neutral_style())
        for name, weight in blend.weights.items():
            prompt: Prompt = blend.prompts[name]
            hit = self.styles.peek(prompt)
            if hit is None and prompt.text is not None:
                hit = self.styles.embed(prompt)
            vector = hit.vector if hit is not None else self.engine.neutral_style()
            total = total + weight * vector
        return total

    def start(self, session_id: str, seed: int, clock: BeatClock | None) -> None:
        state = self.engine.init_state(seed)
        preroll = 0
        if clock is not None:  # land on the session's beat (the band starts on a downbeat)
            preroll = round(clock.phase * clock.samples_per_beat)
        self._voices[session_id] = (state, np.zeros((0, 2), np.float32), preroll)

    def stop(self, session_id: str) -> None:
        self._voices.pop(session_id, None)

    def block(self, session_id: str, blend: Blend, clock: BeatClock | None,
              frames: int) -> np.ndarray:
        state, spare, skip = self._voices[session_id]
        style = self.style(blend)[None, :]
        tempo = clock.tempo if clock is not None else None
        knobs = Knobs(bpm=min(200.0, max(60.0, tempo)) if tempo else None,
                      scale=blend.knobs.scale, meter=(clock.beats_per_bar, clock.beat_unit)
                      if clock is not None else None)
        native = self.engine.info.block_frames
        need = frames + skip - len(spare)
        if need > 0:
            count = math.ceil(need / native)
            out = self.engine.generate([state], style, [knobs], count * native)
            state = out.states[0]
            spare = np.concatenate([spare, out.pcm[0]])
        spare = spare[skip:]
        self._voices[session_id] = (state, spare[frames:], 0)
        return spare[:frames].astype(np.float32)


class Voices:
    """What one loop's sessions play while its engine is late, and the crossfades at
    either end of a run: the bar loop for the procedural engine (``bar_loop``), else the
    fallback voice (built at the first concealment, or ahead by `warm`). The run's state
    lives in each session's slot (``concealing``, ``concealed``, ``loop``). Called from
    the loop's owner thread only."""

    def __init__(self, bar_loop: bool, frames: int, rate: int) -> None:
        self.bar_loop = bar_loop
        self.frames = frames
        self.rate = rate
        self._fallback: FallbackVoice | None = None

    def block(self, session: Session, reason: str) -> np.ndarray:
        """The next block of ``session``'s concealment; starts a run (an event, the
        crossfade in from what was played) when none is on."""
        slot = session.slot
        assert slot.tail is not None
        start = slot.concealing is None
        if start:
            slot.concealing, slot.concealed = reason, 0
            session.emit(EventKind.CONCEALED, state="start", reason=reason)
            if self.bar_loop:
                slot.loop = BarLoop(slot.tail, slot.clock)  # starts where the tail ends
            else:
                self.voice().start(session.id, session.seed, slot.clock)
        if slot.loop is not None:
            pcm = slot.loop.block(self.frames)
        else:
            pcm = self.voice().block(session.id, session.blend or EMPTY_BLEND, slot.clock,
                                     self.frames)
            if start:
                pcm = equal_power_in(mirrored_tail(slot.tail), pcm)
        slot.concealed += len(pcm)
        return pcm

    def end(self, session: Session, pcm: np.ndarray, blend: Blend) -> np.ndarray:
        """The engine caught up: its block ``pcm`` fades in over the concealment's
        continuation, and the run ends (an event with its seconds)."""
        slot = session.slot
        assert slot.tail is not None
        if slot.loop is not None:
            tail = slot.loop.block(XFADE, advance=False)
            slot.loop = None
        else:
            tail = self.voice().block(session.id, blend, slot.clock, XFADE)
            self.voice().stop(session.id)
        session.emit(EventKind.CONCEALED, state="end", reason=slot.concealing,
                     seconds=round(slot.concealed / self.rate, 3))
        slot.concealing, slot.concealed = None, 0
        return equal_power_in(tail, pcm)

    def voice(self) -> FallbackVoice:
        if self._fallback is None:
            self._fallback = FallbackVoice()
        return self._fallback

    def warm(self, background: Callable[[Callable[[], None]], None] | None) -> None:
        """Build and warm the fallback band before it is needed (model engines), on
        ``background`` (never the loop's thread; None: inline)."""
        if self.bar_loop or self._fallback is not None:
            return

        def build() -> None:
            voice = FallbackVoice()
            voice.warm()
            self._fallback = voice  # a concealment before this builds its own, inline

        if background is None:
            build()
        else:
            background(build)
