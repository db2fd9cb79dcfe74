"""The ``device`` sink: a session played to a local sound card through PortAudio.

Two parts, so that what matters can be tested without a sound card:

- `PlayoutBuffer` (pure numpy, no PortAudio) holds the audio between the generation
  loop and the sound card. It starts playing only once ``margin`` is buffered, fades out
  over what is left when it runs dry (an underrun is a short fade, never a click), then
  waits for the margin again and fades back in. It also absorbs clock drift: the sound
  card's crystal and the machine's clock disagree by up to ~0.01 %, which over days
  would starve or overflow any buffer, so when the buffer's low-water level wanders
  from where it settled it reads one frame more (or less) per callback, resampled
  linearly (a 0.2 % speed change, inaudible), and counts the frames it corrected.
- `DeviceSink` is the session listener that feeds the buffer and owns the
  ``sounddevice.OutputStream`` whose callback pulls from it.

Threads: `push` is called on the event loop's thread, `pull` in PortAudio's callback
thread. The buffer is a single-producer single-consumer ring without locks: only the
producer advances ``_written`` and only the consumer ``_read``, each after its copy.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass

import numpy as np

from ..errors import ServerError
from ..logging_setup import event
from ..session.chunk import Chunk, EventKind, SessionEvent
from .cover import LoopCover

log = logging.getLogger("cadenza.sinks.device")


class DeviceUnavailable(ServerError):
    """No usable sound card here: sounddevice/PortAudio missing, or no such device."""

    code = "unavailable"


@dataclass
class PlayoutStats:
    underruns: int = 0          # times the buffer ran dry while audio was expected
    overflow_frames: int = 0    # frames dropped because the buffer was full
    silent_frames: int = 0      # frames of silence written (priming, starved, paused)
    played_frames: int = 0
    drift_frames: int = 0       # +: frames skipped, -: frames stretched (clock drift)


class PlayoutBuffer:
    """Ring buffer between a producer of chunks and a real-time consumer of blocks.

    ``margin``: frames that must be buffered before playback (re)starts; ``fade``:
    frames over which it fades in and out; ``drift_window``: consumer frames per
    low-water measurement; ``drift_tolerance``: how far (frames) the low-water level may
    wander from its reference before the consumer corrects it.
    """

    def __init__(self, capacity: int, channels: int = 2, margin: int = 9600, fade: int = 240,
                 drift_window: int = 96000, drift_tolerance: int = 1440) -> None:
        if margin >= capacity:
            raise ValueError("margin must be smaller than the capacity")
        self.capacity = capacity
        self.channels = channels
        self.margin = margin
        self.fade = fade
        self._ring = np.zeros((capacity, channels), dtype=np.float32)
        self._written = 0  # producer-owned
        self._read = 0     # consumer-owned
        self.playing = False
        self.expect_gap = False  # paused/ended on purpose: running dry is not an underrun
        self.stats = PlayoutStats()
        self._fade_in = 0
        self._drift_window = drift_window
        self._drift_tolerance = drift_tolerance
        self._window_pulled = 0
        self._window_low: int | None = None
        self._reference: int | None = None
        self._windows = 0
        self._correct = 0  # +1: read one extra frame per pull, -1: one fewer

    @property
    def buffered(self) -> int:
        return self._written - self._read

    # ------------------------------------------------------------------ producer side
    def push(self, pcm: np.ndarray) -> int:
        """Append ``pcm`` [frames, channels]; returns the frames kept (the rest is counted
        as overflow: it only happens when the consumer has stopped pulling)."""
        free = self.capacity - (self._written - self._read)
        n = min(len(pcm), free)
        if n < len(pcm):
            self.stats.overflow_frames += len(pcm) - n
        start = self._written % self.capacity
        first = min(n, self.capacity - start)
        self._ring[start:start + first] = pcm[:first]
        if n > first:
            self._ring[: n - first] = pcm[first:n]
        self._written += n  # publish after the copy
        return n

    # ------------------------------------------------------------------ consumer side
    def pull(self, frames: int) -> np.ndarray:
        """The next ``frames`` frames for the sound card (always exactly that many)."""
        out = np.zeros((frames, self.channels), dtype=np.float32)
        available = self._written - self._read
        if not self.playing:
            if available < self.margin:
                self.stats.silent_frames += frames
                return out
            self.playing = True
            self._fade_in = self.fade
            self._window_pulled, self._window_low, self._reference = 0, None, None
            self._windows = 0
            self._correct = 0
        want = frames + self._correct
        if available >= want:
            block = self._take(want)
            if want != frames:
                block = _resample(block, frames)
                self.stats.drift_frames += want - frames
            out[:] = block
            self._apply_fade_in(out)
            self.stats.played_frames += frames
            self._track_drift(available - want, frames)
            return out
        # Ran dry: play what is left, fading it out, then silence until the margin is back.
        block = self._take(available)
        if available:
            n = min(available, self.fade)
            block[available - n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)[:, None]
            out[:available] = block
            self._apply_fade_in(out[:available])
        self.playing = False
        if not self.expect_gap:
            self.stats.underruns += 1
        self.stats.played_frames += available
        self.stats.silent_frames += frames - available
        return out

    def _take(self, n: int) -> np.ndarray:
        start = self._read % self.capacity
        first = min(n, self.capacity - start)
        block = np.empty((n, self.channels), dtype=np.float32)
        block[:first] = self._ring[start:start + first]
        if n > first:
            block[first:] = self._ring[: n - first]
        self._read += n  # release after the copy
        return block

    def _apply_fade_in(self, out: np.ndarray) -> None:
        if self._fade_in <= 0 or not len(out):
            return
        done = self.fade - self._fade_in
        n = min(len(out), self._fade_in)
        ramp = np.arange(done + 1, done + n + 1, dtype=np.float32) / self.fade
        out[:n] *= ramp[:, None]
        self._fade_in -= n

    def _track_drift(self, left: int, frames: int) -> None:
        """Measure the low-water level per window; steer it back to the first window's."""
        self._window_low = left if self._window_low is None else min(self._window_low, left)
        self._window_pulled += frames
        if self._drift_window > 0 and self._window_pulled >= self._drift_window:
            self._window_pulled = 0
            self.end_window()

    def end_window(self) -> None:
        """Close the current drift-measurement window (called by `pull` every
        ``drift_window`` frames; public so tests can drive it)."""
        low = self._window_low
        self._window_low = None
        if low is None:
            return
        self._windows += 1
        if self._reference is None:
            # The first window after (re)starting still sees the loop's initial burst of
            # look-ahead arriving; the level settles from the second one on.
            if self._windows >= 2:
                self._reference = low
            return
        error = low - self._reference
        if error > self._drift_tolerance:
            self._correct = 1      # the card is slower than the loop: consume a bit faster
        elif error < -self._drift_tolerance:
            self._correct = -1     # the card is faster: consume a bit slower
        elif abs(error) <= self._drift_tolerance // 4:
            self._correct = 0      # back near the reference: stop correcting


def _resample(block: np.ndarray, frames: int) -> np.ndarray:
    """Linear resampling of ``block`` to ``frames`` frames (for +-1 frame corrections)."""
    x = np.linspace(0.0, len(block) - 1, frames)
    return np.stack([np.interp(x, np.arange(len(block)), block[:, c])
                     for c in range(block.shape[1])], axis=1).astype(np.float32)


class DeviceSink:
    """Plays a session to a sound card. A `Listener`: attach it to a session (or to each
    new session of an installation: the same sink carries on across restarts).

    Looking after itself (an installation's housekeeping calls these once a second, on
    the event loop's thread): `check` names what is wrong with the device (a stream that
    stopped, PortAudio errors, a card that no longer asks for audio), `reopen` opens it
    again or the first working one of ``fallback``; `volume` is the master gain (ramped
    over a chunk, never a click); `cover` keeps the last minute and loops it while the
    session restarts (`start_cover`, `feed_cover`; the next chunk ends it).

    ``device``: an output device index, or a (part of a) name as PortAudio lists it
    (``python -m sounddevice``); None: the system default. ``blocksize``: frames per
    callback (0: PortAudio's choice); ``margin_s``: audio buffered before playback
    starts (and restarts after running dry); ``buffer_s``: the most it holds.
    """

    def __init__(self, device: int | str | None = None, sample_rate: int = 48000,
                 channels: int = 2, blocksize: int = 0, margin_s: float = 0.2,
                 buffer_s: float = 4.0, fade_s: float = 0.005, latency: str | float = "high",
                 fallback: tuple[int | str | None, ...] = (), cover_s: float = 60.0,
                 stall_s: float = 3.0) -> None:
        self.device = device          # the device playing now
        self.preferred = device       # reopen tries it first, then the fallbacks in order
        self.fallback = tuple(fallback)
        self.volume = 1.0
        self._gain = 1.0       # the gain the last chunk ended on
        self.cover = LoopCover(sample_rate, channels, cover_s)
        self.stall_s = stall_s
        self.reopens = 0
        self.errors = 0        # device errors seen (stream died, open failed)
        self._pulls = 0        # callbacks so far (PortAudio's thread increments it)
        self._seen_pulls = 0
        self._seen_at: float | None = None
        self.sample_rate = sample_rate
        self.channels = channels
        self.blocksize = blocksize
        self.latency = latency
        self.buffer = PlayoutBuffer(int(buffer_s * sample_rate), channels,
                                    margin=int(margin_s * sample_rate),
                                    fade=max(1, int(fade_s * sample_rate)),
                                    drift_window=2 * sample_rate,
                                    drift_tolerance=int(0.03 * sample_rate))
        self.device_name: str | None = None
        self.callback_underflows = 0  # PortAudio's own report: our callback was late
        self._stream = None
        self._last_underruns = 0

    # ----------------------------------------------------------------- listener
    def on_chunk(self, chunk: Chunk) -> None:
        self.buffer.expect_gap = False
        self.cover.stop()
        self.cover.remember(chunk.pcm)
        self.buffer.push(self._gained(chunk.pcm))
        underruns = self.buffer.stats.underruns
        if underruns != self._last_underruns:  # report from the loop's thread, not PortAudio's
            self._last_underruns = underruns
            event(log, logging.WARNING, "sound card ran dry: faded out and back in",
                  device=self.device_name, underruns=underruns)

    def _gained(self, pcm: np.ndarray) -> np.ndarray:
        start, end = self._gain, self.volume
        self._gain = end
        if start == end == 1.0:
            return pcm
        if start == end:
            return pcm * np.float32(end)
        return pcm * np.linspace(start, end, len(pcm), dtype=np.float32)[:, None]

    # ------------------------------------------------------------ the loop cover
    def start_cover(self) -> bool:
        """Loop the last minute until the next chunk arrives (a session restarting).
        False when less than 2 s was heard (then the room is silent meanwhile)."""
        if not self.cover.start():
            return False
        self.buffer.expect_gap = False
        self.feed_cover()
        return True

    def feed_cover(self, ahead_s: float = 0.3) -> int:
        """Keep the buffer ``ahead_s`` above the margin with looped audio; call often
        (every 0.1 s). Returns the frames pushed."""
        if not self.cover.active:
            return 0
        want = self.buffer.margin + int(ahead_s * self.sample_rate) - self.buffer.buffered
        if want <= 0:
            return 0
        return self.buffer.push(self._gained(self.cover.take(want)))

    # ------------------------------------------------------------- the watchdog
    def check(self, now: float | None = None) -> str | None:
        """What is wrong with the output, or None: no stream, a stream PortAudio stopped
        (unplugged, device error), or callbacks that stopped coming for ``stall_s``."""
        now = time.monotonic() if now is None else now
        stream = self._stream
        if stream is None:
            return "the output is not open"
        if not getattr(stream, "active", True):
            return "the output stream stopped (device error or unplugged)"
        pulls = self._pulls
        if pulls != self._seen_pulls or self._seen_at is None:
            self._seen_pulls, self._seen_at = pulls, now
            return None
        if now - self._seen_at >= self.stall_s:
            return f"the sound card has asked for no audio for {now - self._seen_at:.0f} s"
        return None

    def reopen(self) -> str:
        """Close and open the preferred device again; if that fails, the fallbacks in turn
        (so a card plugged back in is used again). Returns
        the name of the device now playing; raises DeviceUnavailable when none opens."""
        self.close()
        problems = []
        for device in dict.fromkeys((self.preferred, *self.fallback)):
            try:
                self._open(device)
            except DeviceUnavailable as exc:
                self.errors += 1
                problems.append(str(exc))
                continue
            self.reopens += 1
            self._seen_at = None
            if device != self.device:
                event(log, logging.WARNING, "failed over to another output",
                      previous=self.device, device=self.device_name)
                self.device = device
            return self.device_name or str(device)
        raise DeviceUnavailable("; ".join(problems))

    def on_event(self, ev: SessionEvent) -> None:
        if ev.kind == EventKind.STATE_CHANGED:
            self.buffer.expect_gap = ev.detail.get("state") != "playing"
        elif ev.kind in (EventKind.ENDED, EventKind.ERROR):
            self.buffer.expect_gap = True

    # ----------------------------------------------------------------- PortAudio
    def start(self) -> None:
        """Open the device and start playing (silence until the margin is buffered).
        Raises DeviceUnavailable with what to do about it."""
        self._open(self.device)

    def _open(self, device: int | str | None) -> None:
        info = self._query(device)
        self.device_name = info["name"]
        stream = self._new_stream(info)
        try:
            stream.start()
        except Exception as exc:  # PortAudioError, or a device gone between query and start
            raise DeviceUnavailable(f"cannot start {self.device_name!r}: {exc}") from None
        self._stream = stream
        event(log, logging.INFO, "sound card open", device=self.device_name,
              rate=self.sample_rate, blocksize=self.blocksize,
              latency_s=round(float(self._stream.latency), 4))

    def _query(self, device: int | str | None) -> dict:
        """PortAudio's description of ``device`` (tests substitute a device here)."""
        sd = _sounddevice()
        try:
            return sd.query_devices(device, "output")
        except (ValueError, sd.PortAudioError) as exc:
            what = "default output device" if device is None else f"output device {device!r}"
            raise DeviceUnavailable(f"no {what} ({exc}); outputs: "
                                    f"{', '.join(output_devices()) or 'none'}") from None

    def _new_stream(self, info: dict):
        """An unstarted output stream calling `_callback` (tests substitute one here)."""
        sd = _sounddevice()
        try:
            return sd.OutputStream(samplerate=self.sample_rate, channels=self.channels,
                                   dtype="float32", blocksize=self.blocksize,
                                   device=info["index"], latency=self.latency,
                                   callback=self._callback)
        except sd.PortAudioError as exc:
            raise DeviceUnavailable(f"cannot open {info['name']!r}: {exc}") from None

    def _callback(self, outdata, frames, time_info, status) -> None:
        # PortAudio's thread: no logging, no allocation beyond the block, never raise.
        self._pulls += 1
        if status.output_underflow:
            self.callback_underflows += 1
        outdata[:] = self.buffer.pull(frames)

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):  # a device that is gone may not stop cleanly
                stream.stop()
            with contextlib.suppress(Exception):
                stream.close()


def _sounddevice():
    try:
        import sounddevice
    except ImportError:
        raise DeviceUnavailable("the device sink needs sounddevice: pip install "
                                "'cadenza[device]' (pip install -e '.[device]' in a checkout)") from None
    except OSError as exc:  # the module is there, the PortAudio library is not
        raise DeviceUnavailable(f"PortAudio is missing ({exc}); on Debian: "
                                "apt-get install libportaudio2") from None
    return sounddevice


def output_devices() -> list[str]:
    """``"index: name"`` for every output device PortAudio sees (empty without it)."""
    try:
        sd = _sounddevice()
        devices = sd.query_devices()
    except Exception:
        return []
    return [f"{d['index']}: {d['name']}" for d in devices if d["max_output_channels"] > 0]
