"""The tempo actually heard, for engines whose tempo emerges from a model.

With such engines the runtime's musical clock runs at the scene's bpm on the output side;
this listener estimates the tempo of the last seconds of audio (onset autocorrelation) and
reports it with the drift from the clock, so nobody is told a beat grid the music does not
follow.
"""

from __future__ import annotations

import collections

import numpy as np

from .. import analysis
from .chunk import Chunk, EventKind, SessionEvent

WINDOW_S = 8.0
EVERY_S = 4.0


class TempoMeter:
    def __init__(self, session) -> None:
        self.session = session
        self.blocks: collections.deque[np.ndarray] = collections.deque()
        self.frames = 0
        self.since = 0
        self.heard: float | None = None

    def on_chunk(self, chunk: Chunk) -> None:
        rate = chunk.sample_rate
        self.blocks.append(chunk.pcm.mean(axis=1))
        self.frames += chunk.frames
        self.since += chunk.frames
        while self.frames - len(self.blocks[0]) >= WINDOW_S * rate:
            self.frames -= len(self.blocks.popleft())
        if self.since < EVERY_S * rate or self.frames < WINDOW_S * rate * 0.9:
            return
        self.since = 0
        nominal = chunk.clock.tempo if chunk.clock else 120.0  # quarter notes, as heard
        heard = analysis.estimate_tempo(np.concatenate(self.blocks), rate, prior_bpm=nominal)
        if heard is None:
            return
        self.heard = heard
        self.session.heard_bpm = heard
        self.session.emit(EventKind.TEMPO, heard_bpm=round(heard, 2), clock_bpm=round(nominal, 2),
                          drift_bpm=round(heard - nominal, 2))

    def on_event(self, event: SessionEvent) -> None:
        pass
