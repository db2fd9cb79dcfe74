"""The stinger bus: one-shots mixed over a session's music, sample-accurately, with ducking.

Stingers are laid over the generated stream in the runtime (not by the engine), so they
start exactly on their quantized sample whatever the engine. While one plays, the music
under it is lowered by its ``duck`` level (5 ms down before it starts, 100 ms back up
after it ends). Called from the generation loop's thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .chunk import EventKind

if TYPE_CHECKING:
    from ..musictime import BeatClock
    from ..scene import Blend
    from .session import Session

log = logging.getLogger("cadenza.loop")

DUCK_ATTACK = 240  # samples (5 ms): the music dips just before the stinger starts
DUCK_RELEASE = 4800  # samples (100 ms): and comes back after it ends


@dataclass
class Playing:
    name: str
    start: int  # stream sample of the stinger's first sample
    pcm: np.ndarray  # float32 [frames, channels], gain applied
    duck: float  # linear music level while it plays (1 = no ducking)

    @property
    def end(self) -> int:
        return self.start + len(self.pcm)


@dataclass
class StingerBus:
    playing: list[Playing] = field(default_factory=list)
    last_fired: dict[str, int] = field(default_factory=dict)

    def cooling(self, name: str, now: int, cooldown_samples: float) -> bool:
        """True when ``name`` fired less than its cooldown ago (the trigger is suppressed)."""
        last = self.last_fired.get(name)
        return last is not None and now - last < cooldown_samples

    def schedule(self, name: str, start: int, pcm: np.ndarray, gain: float, duck: float,
                 fired_at: int) -> None:
        self.last_fired[name] = fired_at
        self.playing.append(Playing(name, start, (pcm * np.float32(gain)).astype(np.float32),
                                    float(duck)))

    def mix(self, music: np.ndarray, t0: int) -> np.ndarray:
        """``music`` (float32 [n, ch], starting at stream sample ``t0``) with the ducking
        and the stingers applied; forgets stingers that are over."""
        if not self.playing:
            return music
        n = len(music)
        t = np.arange(t0, t0 + n, dtype=np.int64)
        level = np.ones(n, dtype=np.float32)
        out = music
        for p in self.playing:
            if p.duck < 1.0:
                level = np.minimum(level, _duck_envelope(t, p))
        if (level < 1.0).any():
            out = out * level[:, None]
        for p in self.playing:
            lo, hi = max(p.start, t0), min(p.end, t0 + n)
            if hi > lo:
                if out is music:
                    out = music.copy()
                out[lo - t0 : hi - t0] += p.pcm[lo - p.start : hi - p.start]
        self.playing = [p for p in self.playing if p.end + DUCK_RELEASE > t0 + n]
        return out


def _duck_envelope(t: np.ndarray, p: Playing) -> np.ndarray:
    down = np.clip((p.start - t) / DUCK_ATTACK, 0.0, 1.0)  # 1 before, 0 from the start
    up = np.clip((t - p.end) / DUCK_RELEASE, 0.0, 1.0)  # 0 until the end, then to 1
    depth = np.maximum(down, up)  # 0 = fully ducked
    return (p.duck + (1.0 - p.duck) * depth).astype(np.float32)


def load_audio(path: str, rate: int, channels: int = 2) -> np.ndarray:
    """A sound file as float32 [frames, channels] at ``rate`` (resampled if needed)."""
    import soundfile
    from scipy.signal import resample_poly

    data, file_rate = soundfile.read(path, dtype="float32", always_2d=True)
    if file_rate != rate:
        from math import gcd

        g = gcd(rate, file_rate)
        data = resample_poly(data, rate // g, file_rate // g, axis=0).astype(np.float32)
    if data.shape[1] == 1:
        data = np.repeat(data, channels, axis=1)
    return np.ascontiguousarray(data[:, :channels], dtype=np.float32)


class StingerFiles:
    """The stinger files a loop's sessions may play, each loaded once off the owner's
    thread (``background``; None: inline); a file that failed keeps its error, raised
    when its stinger fires. Read on the loop's owner thread; loads finish anywhere."""

    def __init__(self, rate: int, channels: int) -> None:
        self.rate = rate
        self.channels = channels
        self._files: dict[str, np.ndarray | BaseException] = {}
        self._loading: set[str] = set()

    def load(self, path: str, background: Callable[[Callable[[], None]], None] | None) -> None:
        """Start loading ``path`` unless it is loaded or loading."""
        if path in self._files or path in self._loading:
            return
        self._loading.add(path)

        def load() -> None:
            try:
                self._files[path] = load_audio(path, self.rate, self.channels)
            except Exception as exc:  # reported when the stinger fires
                self._files[path] = exc
            self._loading.discard(path)

        if background is None:
            load()
        else:
            background(load)

    def ready(self, path: str) -> bool:
        return self._files.get(path) is not None

    def audio(self, path: str) -> np.ndarray:
        loaded = self._files[path]
        if isinstance(loaded, BaseException):
            raise loaded
        return loaded


def fire_stingers(session: Session, blend: Blend, clock: BeatClock, files: StingerFiles,
                  phrase: Callable[[Session, object], np.ndarray],
                  background: Callable[[Callable[[], None]], None] | None) -> None:
    """Schedule the stingers triggered since the last block (by clients or by the scene's
    conditions) on their quantized sample, unless cooling down. A stinger whose file is
    still loading waits for a later block; ``phrase`` makes a phrase stinger's audio."""
    names = session.pending_triggers + list(blend.fired)
    session.pending_triggers = []
    now = session.stream_time
    for name in names:
        stinger = session.scene.stingers[name]
        if stinger.audio is not None and not files.ready(stinger.audio):
            files.load(stinger.audio, background)
            if not files.ready(stinger.audio):
                session.pending_triggers.append(name)
                continue
        if session.stingers.cooling(name, now, stinger.cooldown_s * files.rate):
            session.emit(EventKind.STINGER, stinger=name, status="suppressed", at=now)
            continue
        try:
            pcm = files.audio(stinger.audio) if stinger.audio is not None else \
                phrase(session, stinger)
        except Exception as exc:  # a missing file must not stop the music
            log.warning("session %s: stinger %s unavailable: %s", session.id, name, exc)
            session.emit(EventKind.STINGER, stinger=name, status="unavailable", at=now,
                         message=str(exc))
            continue
        start = clock.boundary(now, stinger.play_at)
        session.stingers.schedule(name, start, pcm, stinger.gain,
                                  10 ** (stinger.duck_db / 20), fired_at=now)
        session.emit(EventKind.STINGER, stinger=name, status="scheduled", at=start)
