"""`LoopCover`: the last minute of a room's audio, looped while its session restarts.

A crashed session restarts after a back-off of up to 60 s; a gallery must not fall
silent meanwhile. The device sink keeps the last ``seconds`` it was given in a ring
(``remember``); when the session ends unexpectedly `start` snapshots that ring into a
loop whose seam is cross-faded (``seam_s``), and `take` hands out its blocks in order
for as long as the restart takes. The loop fades in from silence over ``fade_s`` (the
crash cut the music somewhere), and the new session fades in by itself.

Single-threaded: every method is called on the event loop's thread. Memory: ``seconds``
of float32 audio (60 s stereo at 48 kHz: 23 MB).
"""

from __future__ import annotations

import numpy as np


class LoopCover:
    def __init__(self, rate: int = 48000, channels: int = 2, seconds: float = 60.0,
                 seam_s: float = 0.5, fade_s: float = 0.25) -> None:
        self.rate = rate
        self.capacity = max(1, int(seconds * rate))
        self._ring = np.zeros((self.capacity, channels), np.float32)
        self._written = 0
        self.seam = int(seam_s * rate)
        self.fade = max(1, int(fade_s * rate))
        self._loop: np.ndarray | None = None
        self._pos = 0
        self._faded = 0

    @property
    def active(self) -> bool:
        return self._loop is not None

    @property
    def remembered_s(self) -> float:
        return min(self._written, self.capacity) / self.rate

    def remember(self, pcm: np.ndarray) -> None:
        pcm = pcm[-self.capacity:]
        start = self._written % self.capacity
        first = min(len(pcm), self.capacity - start)
        self._ring[start:start + first] = pcm[:first]
        if len(pcm) > first:
            self._ring[: len(pcm) - first] = pcm[first:]
        self._written += len(pcm)

    def start(self) -> bool:
        """Begin looping what was remembered; False when there is too little (< 2 s)."""
        n = min(self._written, self.capacity)
        if n < 2 * self.rate:
            return False
        start = self._written % self.capacity
        history = np.concatenate([self._ring[start:], self._ring[:start]]) if n == self.capacity \
            else self._ring[:n].copy()
        seam = min(self.seam, n // 4)
        if seam:
            ramp = np.linspace(0.0, 1.0, seam, dtype=np.float32)[:, None]
            # The loop's end flows into its start: its last `seam` frames fade out while
            # the first ones fade in, and the loop then starts after that overlap.
            history[-seam:] = history[-seam:] * (1 - ramp) + history[:seam] * ramp
            history = history[seam:]
        self._loop, self._pos, self._faded = history, 0, 0
        return True

    def stop(self) -> None:
        self._loop = None

    def take(self, frames: int) -> np.ndarray:
        """The next ``frames`` of the loop (wrapping around)."""
        assert self._loop is not None
        loop = self._loop
        idx = (self._pos + np.arange(frames)) % len(loop)
        block = loop[idx]
        self._pos = (self._pos + frames) % len(loop)
        if self._faded < self.fade:
            n = min(frames, self.fade - self._faded)
            ramp = np.arange(self._faded + 1, self._faded + n + 1, dtype=np.float32) / self.fade
            block[:n] *= ramp[:, None]
            self._faded += n
        return block


__all__ = ["LoopCover"]
