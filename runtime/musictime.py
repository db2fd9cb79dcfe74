"""Musical time: where every sample of a session sits on the beat grid.

A `BeatClock` anchors a beat position to a stream sample and a tempo: beat at sample ``s``
is ``beat + (s - at) * bpm / 60 / rate``. With the procedural engine the clock is the
engine's own grid (exact); with engines whose tempo emerges from a model, the runtime runs
an output-side clock at the scene's bpm and reports the tempo actually heard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .audio import SAMPLE_RATE

QUANTA = ("immediate", "beat", "bar")


@dataclass(frozen=True)
class BeatClock:
    """Beats are of the time signature's unit (eighths in 6/8) and ``bpm`` counts them;
    bar lines fall on multiples of ``beats_per_bar``. `tempo` is the quarter-note tempo."""

    at: int  # stream sample this reading refers to
    beat: float  # beats since the session started, at ``at``
    bpm: float
    beats_per_bar: int = 4
    beat_unit: int = 4
    rate: int = SAMPLE_RATE

    @property
    def tempo(self) -> float:
        """Quarter notes per minute (what prompts, the ``bpm`` knob and `time.bpm` say)."""
        return self.bpm * 4.0 / self.beat_unit

    @property
    def samples_per_beat(self) -> float:
        return self.rate * 60.0 / self.bpm

    @property
    def bar(self) -> int:
        """Bar number (0-based) at ``at``."""
        return math.floor(self.beat / self.beats_per_bar + 1e-9)

    @property
    def beat_in_bar(self) -> int:
        return math.floor(self.beat + 1e-9) % self.beats_per_bar

    @property
    def phase(self) -> float:
        """Position inside the current beat, 0 <= phase < 1."""
        return self.beat - math.floor(self.beat + 1e-9) if self.beat >= 0 else 0.0

    def beat_at(self, sample: float) -> float:
        return self.beat + (sample - self.at) / self.samples_per_beat

    def sample_of(self, beat: float) -> float:
        return self.at + (beat - self.beat) * self.samples_per_beat

    def boundary(self, sample: float, quantum: str, bars: int = 1) -> int:
        """The first sample at or after ``sample`` where a ``quantum`` boundary falls:
        "immediate" (``sample`` itself), "beat", "bar", or every ``bars`` bars."""
        if quantum == "immediate":
            return math.ceil(sample)
        step = 1.0 if quantum == "beat" else float(self.beats_per_bar * max(1, bars))
        beat = self.beat_at(sample)
        target = math.ceil(beat / step - 1e-9) * step
        return round(self.sample_of(target))

    def boundaries(self, start: int, end: int, step_beats: float = 1.0) -> list[tuple[int, float]]:
        """Every (sample, beat) in [start, end) where a multiple of ``step_beats`` falls."""
        out = []
        beat = math.ceil(self.beat_at(start) / step_beats - 1e-9) * step_beats
        while True:
            sample = round(self.sample_of(beat))
            if sample >= end:
                return out
            if sample >= start:
                out.append((sample, beat))
            beat += step_beats

    def advanced(self, frames: int, bpm: float | None = None) -> BeatClock:
        """The clock ``frames`` samples later (tempo changes at the new reading)."""
        return BeatClock(self.at + frames, self.beat_at(self.at + frames), bpm or self.bpm,
                         self.beats_per_bar, self.beat_unit, self.rate)
