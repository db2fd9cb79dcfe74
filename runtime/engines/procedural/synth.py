"""Note synthesis and mixing.

Every note and drum hit is a one-shot: a fixed waveform, computed once from its
parameters (timbre table, pitch, envelope, gate) when it starts, then copied block by
block into the mix. A note's samples depend only on its own parameters and on time since
its start, so block boundaries can fall anywhere without a click, and the music is
continuous across blocks with no oscillator state. Grooves repeat, so most notes are
found in an engine-wide cache instead of being synthesised again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...audio import SAMPLE_RATE
from .tables import TABLE_SIZE

PITCHED_VOICES = ("bass", "pad", "lead", "arp")
PITCHED_INDEX = {name: i for i, name in enumerate(PITCHED_VOICES)}
DRUM_KINDS = ("kick", "snare", "hats", "hand")
DRUM_INDEX = {name: i for i, name in enumerate(DRUM_KINDS)}
BUSES = len(PITCHED_VOICES) + len(DRUM_KINDS)  # bass pad lead arp kick snare hats hand
MODAL_KINDS = ("none", "pluck", "mallet", "bell")
# Modal partials: (frequency ratio, amplitude, decay time as a multiple of the note's base).
_MALLET = ((1.0, 1.0, 1.0), (3.99, 0.32, 0.28), (10.02, 0.12, 0.1), (2.01, 0.05, 0.6))
_BELL = ((0.5, 0.35, 1.3), (1.0, 1.0, 1.0), (1.183, 0.55, 0.8), (1.506, 0.4, 0.65),
         (2.0, 0.5, 0.55), (2.514, 0.35, 0.4), (2.662, 0.3, 0.35), (3.011, 0.2, 0.3),
         (4.166, 0.15, 0.2))


@dataclass(frozen=True)
class ToneSpec:
    """Everything that determines a pitched note's waveform (times in samples)."""

    row: int
    freq: float
    gate: int
    attack: float
    decay: float
    sustain: float
    release: float
    vib: float = 0.0
    modal: int = 0  # index in MODAL_KINDS: a struck or plucked partial set mixed in
    modal_mix: float = 0.0  # 0 = wavetable only, 1 = modal only
    breath: float = 0.0  # breath noise (woodwinds), relative to the tone


@dataclass(frozen=True)
class HitSpec:
    """Everything that determines a drum hit's waveform."""

    kind: int
    decay: float
    pitch: float = 1.0
    clap: float = 0.0
    variant: int = 0
    brush: float = 0.0  # 0 = sticks, 1 = brushes (snare and hats)


MAX_NOTE_SAMPLES = 120 * SAMPLE_RATE  # a checked spec (snapshots) renders at most this


class _Series:
    """``make(index)`` over the sample index 0, 1, 2, ... (``index`` of ``dtype``), computed
    once for the longest stretch asked for and shared read-only by every note. numpy's
    ufuncs are elementwise, so a slice holds exactly the values the series computed at that
    length would: a note's samples do not depend on what was asked for before. Stretches
    over ``cap`` samples are computed each time and not kept (a snapshot's 120 s note must
    not pin memory): the series below hold at most ~45 MB in all. Thread-safe: a race
    only computes a series twice."""

    def __init__(self, make: Callable[[np.ndarray], np.ndarray], dtype: type = np.float64,
                 cap: int = 20 * SAMPLE_RATE) -> None:
        self._make, self._dtype, self._cap = make, dtype, cap
        self._values = np.empty(0, dtype=dtype)

    def __call__(self, n: int) -> np.ndarray:
        values = self._values
        if len(values) >= n:
            return values[:n]
        if n > self._cap:
            return self._make(np.arange(n, dtype=self._dtype))
        size = min(-(-n // SAMPLE_RATE) * SAMPLE_RATE, self._cap)  # whole seconds
        values = self._make(np.arange(size, dtype=self._dtype))
        values.flags.writeable = False
        self._values = values
        return values[:n]


# Vibrato: 5.2 Hz phase modulation fading in over 0.4 s (`Synth._oscillator`).
_VIB_RATE = 5.2
_SAMPLES = _Series(lambda t: t)
_VIB_FADE = _Series(lambda t: np.minimum(t / (0.4 * SAMPLE_RATE), 1.0))
_VIB_LFO = _Series(lambda t: np.sin(2 * np.pi * _VIB_RATE / SAMPLE_RATE * t))
_SAMPLES32 = _Series(lambda t: t, np.float32)
_SECONDS32 = _Series(lambda t: t / np.float32(SAMPLE_RATE), np.float32)
_SECONDS = _Series(lambda t: t / SAMPLE_RATE, np.int64)
_INDEX = _Series(lambda t: t, np.int64)


def checked_length(spec: object) -> int:
    """Samples ``spec`` renders to, for a spec from outside (a snapshot): ValueError unless
    it is a ToneSpec or HitSpec with finite fields in range and a bounded length."""
    if isinstance(spec, ToneSpec):
        fields = (spec.freq, spec.gate, spec.attack, spec.decay, spec.sustain, spec.release,
                  spec.vib, spec.modal_mix, spec.breath)
        ok = all(isinstance(v, int | float) and np.isfinite(v) and v >= 0 for v in fields) and \
            0 < spec.freq < SAMPLE_RATE / 2 and spec.sustain <= 1 and spec.modal_mix <= 1 and \
            spec.breath <= 4 and spec.vib <= 100 and type(spec.modal) is int and \
            0 <= spec.modal < len(MODAL_KINDS) and type(spec.row) is int and spec.row >= 0
        length = tone_length(spec) if ok else -1
    elif isinstance(spec, HitSpec):
        fields = (spec.decay, spec.pitch, spec.clap, spec.brush)
        ok = all(isinstance(v, int | float) and np.isfinite(v) and v >= 0 for v in fields) and \
            0 < spec.decay <= 10 and 0 < spec.pitch <= 16 and spec.clap <= 1 and \
            spec.brush <= 1 and type(spec.kind) is int and 0 <= spec.kind < len(DRUM_KINDS) \
            and type(spec.variant) is int and 0 <= spec.variant < 64
        length = int((7.0 * max(spec.decay, 0.09) + 0.05) * SAMPLE_RATE) if ok else -1
    else:
        raise ValueError(f"not a note spec: {type(spec).__name__}")
    if not 0 <= length <= MAX_NOTE_SAMPLES:
        raise ValueError(f"note spec out of range: {spec!r:.300}")
    return length


def tone_length(s: ToneSpec) -> int:
    return int(s.gate + 7.0 * s.release)  # to -61 dB into the release


@dataclass
class Sounding:
    """Notes currently sounding in one session: start sample, waveform, bus, pan gains.

    Mixing is done a window (``window`` samples, a multiple of the block, aligned to
    sample 0) at a time: when a block opens a window, every note's part in it is added to
    ``[buses, 2, window]`` at once, and a note added while a window is open is added to
    it then; a block just reads its slice. A note costs one numpy call a window, not one
    a block. Every sample is the sum of the notes covering it in the order they were
    added, however the window was filled, so a restored state (whose window is rebuilt
    from its notes at its first block) continues the stream sample for sample. The
    window is derived data: snapshots leave it out.
    """

    starts: list[int] = field(default_factory=list)
    waves: list[np.ndarray] = field(default_factory=list)
    buses: list[int] = field(default_factory=list)
    left: list[float] = field(default_factory=list)
    right: list[float] = field(default_factory=list)
    specs: list[ToneSpec | HitSpec | None] = field(default_factory=list)  # what made each wave
    row_keys: dict[int, tuple] = field(default_factory=dict)  # in snapshots: row -> table key
    window: int = 0  # samples a window holds (0: one block)
    mixed: np.ndarray | None = None  # the open window, [buses, 2, window]
    mixed_at: int = -1  # its first sample (-1: none open)

    def add(self, start: int, wave: np.ndarray, bus: int, vel: float, pan: float,
            spec: ToneSpec | HitSpec | None = None) -> None:
        self.starts.append(start)
        self.waves.append(wave)
        self.specs.append(spec)
        self.buses.append(bus)
        self.left.append(vel * float(np.sqrt(0.5 * (1.0 - pan))))
        self.right.append(vel * float(np.sqrt(0.5 * (1.0 + pan))))
        if self.mixed is not None and self.mixed_at >= 0:
            self._render(len(self.starts) - 1, max(start, self.mixed_at))

    def __len__(self) -> int:
        return len(self.starts)

    def forget_window(self) -> None:
        self.mixed, self.mixed_at = None, -1

    def forget_ended(self, sample: int) -> None:
        """Drop the notes that ended before ``sample``."""
        keep = [i for i, start in enumerate(self.starts) if start + len(self.waves[i]) > sample]
        if len(keep) < len(self.starts):
            for name in ("starts", "waves", "buses", "left", "right", "specs"):
                values = getattr(self, name)
                setattr(self, name, [values[i] for i in keep])

    def _render(self, i: int, since: int) -> None:
        """Add note ``i``'s samples from ``since`` to the end of the open window."""
        wave, at = self.waves[i], self.mixed_at
        lo = since - self.starts[i]
        hi = min(len(wave), at + self.mixed.shape[2] - self.starts[i])
        if hi > lo:
            gains = np.array([self.left[i], self.right[i]], dtype=np.float32)
            begin = self.starts[i] + lo - at
            self.mixed[self.buses[i], :, begin : begin + hi - lo] += gains[:, None] * wave[None, lo:hi]

    def mix(self, block_start: int, n: int) -> np.ndarray:
        """This block's ``[buses, 2, n]`` (a view of the window: the caller may change it,
        its samples are read once). Opens the window the block falls in when it is not
        open, from ``block_start`` on; forgets notes that ended before it."""
        size = max(self.window, n)
        at = self.mixed_at
        fits = self.mixed is not None and self.mixed.shape[2] == size
        if not fits or not 0 <= at <= block_start < at + size:
            at = block_start - block_start % size
            if fits:
                self.mixed.fill(0.0)
            else:
                self.mixed = np.zeros((BUSES, 2, size), dtype=np.float32)
            self.mixed_at = at
            self.forget_ended(block_start)
            for i in range(len(self.starts)):
                self._render(i, max(self.starts[i], block_start))
        offset = block_start - at
        return self.mixed[:, :, offset : offset + n]


class Synth:
    """Makes waveforms for note specs, with a bounded cache shared by all sessions."""

    def __init__(self, table_flat_source, noise: dict[str, np.ndarray],
                 cache_bytes: int = 192 << 20) -> None:
        self._tables = table_flat_source  # callable returning the bank's flat array
        self._noises = noise
        self._cache: OrderedDict[object, np.ndarray] = OrderedDict()
        self._bytes = 0
        self.limit = cache_bytes  # bytes of waveforms the cache holds at most
        self.hits = 0
        self.misses = 0

    def tone(self, spec: ToneSpec) -> np.ndarray:
        return self._cached(spec, self._make_tone)

    def hit(self, spec: HitSpec) -> np.ndarray:
        return self._cached(spec, self._make_hit)

    def _cached(self, spec, make) -> np.ndarray:
        wave = self._cache.get(spec)
        if wave is not None:
            self._cache.move_to_end(spec)
            self.hits += 1
            return wave
        self.misses += 1
        wave = make(spec).astype(np.float32, copy=False)
        self._store(spec, wave)
        return wave

    def _store(self, key: object, wave: np.ndarray) -> None:
        wave.flags.writeable = False
        old = self._cache.pop(key, None)
        if old is not None:
            self._bytes -= old.nbytes
        self._cache[key] = wave
        self._bytes += wave.nbytes
        while self._bytes > self.limit and len(self._cache) > 1:
            _, evicted = self._cache.popitem(last=False)
            self._bytes -= evicted.nbytes

    # ------------------------------------------------------------------ pitched notes
    def _make_tone(self, s: ToneSpec) -> np.ndarray:
        length = tone_length(s)
        wave = self._oscillator(s.row, s.freq, s.vib, length)
        wave *= adsr(length, s.attack, s.decay, s.sustain, s.release, s.gate)
        if s.modal and s.modal_mix > 0:
            struck = self._modal(s.modal, s.freq, length)
            held = adsr(length, 48.0, s.decay, 1.0, s.release, s.gate)
            wave = (1.0 - s.modal_mix) * wave + s.modal_mix * struck * held
        if s.breath > 0:
            noise = self._noise("breath", length, int(s.freq) % 8)
            wave = wave + np.float32(s.breath) * noise * adsr(length, 2.5 * s.attack, s.decay,
                                                                 0.6 * s.sustain, s.release,
                                                                 s.gate)
        return wave

    def _modal(self, kind: int, freq: float, length: int) -> np.ndarray:
        """A struck/plucked tone as a sum of decaying partials (modal synthesis), cached per
        pitch at the longest length asked for; RMS-matched to the wavetables."""
        key = ("modal", kind, freq)
        wave = self._cache.get(key)
        if wave is not None and len(wave) >= length:
            self._cache.move_to_end(key)
            return wave[:length]
        size = int(max(length, SAMPLE_RATE // 2) * 1.25)
        sec = _SECONDS32(size)
        name = MODAL_KINDS[kind]
        if name == "pluck":
            base = float(np.clip(1.1 * np.sqrt(220.0 / freq), 0.25, 2.5))
            partials = tuple((h * np.sqrt(1 + 1e-4 * h * h), abs(np.sin(np.pi * h * 0.18)) / h,
                              1.0 / (1.0 + 0.45 * (h - 1))) for h in range(1, 13))
        elif name == "mallet":
            base = float(np.clip(0.6 * np.sqrt(220.0 / freq), 0.12, 1.2))
            partials = _MALLET
        else:
            base = float(np.clip(2.4 * np.sqrt(440.0 / freq), 0.8, 4.0))
            partials = _BELL
        wave = np.zeros(size, dtype=np.float32)
        for ratio, amp, tau in partials:
            f = freq * ratio
            if f < 18_000.0:
                wave += np.float32(amp) * np.sin(np.float32(2 * np.pi * f) * sec) \
                    * np.exp(-sec / np.float32(base * tau))
        wave *= np.minimum(sec / np.float32(0.0015), 1.0)
        head = wave[: SAMPLE_RATE // 10]
        wave *= np.float32(0.5 / (np.sqrt(np.mean(head**2)) * 2.8 + 1e-9))
        self._store(key, wave)
        return wave[:length]

    def _oscillator(self, row: int, freq: float, vib: float, length: int) -> np.ndarray:
        """The raw (un-enveloped) tone. Not cached: it is made only for a note not in the
        cache, and the cache holds more notes without it (diverse sessions miss less)."""
        cycles = freq / SAMPLE_RATE * _SAMPLES(length)
        if vib > 0:
            # Phase-modulation vibrato, depth in semitones.
            depth = freq * (2 ** (vib / 12) - 1) / _VIB_RATE / (2 * np.pi)
            cycles += depth * _VIB_FADE(length) * _VIB_LFO(length)
        cycles -= np.floor(cycles)
        cycles *= TABLE_SIZE  # the position in the table
        idx = cycles.astype(np.int64)
        cycles -= idx
        frac = cycles.astype(np.float32)
        table = self._tables()[row * (TABLE_SIZE + 1) : (row + 1) * (TABLE_SIZE + 1)]
        osc = (table[1:] - table[:-1])[idx]  # linear interpolation: lo + frac * slope
        osc *= frac
        osc += table[idx]
        return osc

    # ---------------------------------------------------------------------- drum hits
    def _noise(self, name: str, length: int, variant: int) -> np.ndarray:
        """``length`` samples of a noise table, from a variant-dependent offset (wrapping)."""
        return np.take(self._noises[name], _INDEX(length) + 4801 * variant, mode="wrap")

    def _make_hit(self, s: HitSpec) -> np.ndarray:
        if s.kind == DRUM_INDEX["kick"]:
            length = int((7.0 * s.decay + 0.01) * SAMPLE_RATE)
            sec = _SECONDS(length)
            f_hi, f_lo, tau = 160.0 * s.pitch, 48.0 * s.pitch, 0.045
            phase = 2 * np.pi * (f_lo * sec + (f_hi - f_lo) * tau * (1 - np.exp(-sec / tau)))
            body = np.sin(phase) * np.exp(-sec / s.decay) * np.minimum(sec / 0.0015, 1)
            click = self._noise("click", length, 0) * np.exp(-sec / 0.004) * 0.35
            wave = 1.1 * body + click
        elif s.kind == DRUM_INDEX["snare"]:
            length = int((7.0 * max(s.decay, 0.09) + 0.04) * SAMPLE_RATE)
            sec = _SECONDS(length)
            body = (np.sin(2 * np.pi * 185.0 * sec) + 0.5 * np.sin(2 * np.pi * 330.0 * sec)) \
                * np.exp(-sec / 0.05) * (1 - s.clap) * 0.6
            rattle = self._noise("snare", length, s.variant)
            snare_env = np.exp(-sec / s.decay) * np.minimum(sec / 0.001, 1)
            # A clap: three quick bursts, then a short tail.
            bursts = sum(np.where(sec >= d, np.exp(-(sec - d) / 0.006), 0.0)
                         for d in (0.0, 0.011, 0.022))
            clap_env = 0.5 * bursts + np.where(sec >= 0.033, np.exp(-(sec - 0.033) / 0.09), 0.0)
            wave = body + 0.8 * rattle * ((1 - s.clap) * snare_env + s.clap * clap_env)
            if s.brush > 0:
                # A brush: a soft swish of low-passed noise, almost no shell tone.
                swish = self._noise("brush", length, s.variant)
                env = np.minimum(sec / 0.008, 1) * np.exp(-sec / (1.4 * max(s.decay, 0.09)))
                wave = (1 - s.brush) * wave + s.brush * (0.15 * body + 0.55 * swish * env)
        elif s.kind == DRUM_INDEX["hand"]:
            # Frame and hand drums: a membrane (pitch falls a little as it rings) and a
            # slap of band-passed noise; the variant picks low, open, high or slap strokes.
            length = int((7.0 * s.decay + 0.01) * SAMPLE_RATE)
            sec = _SECONDS(length)
            f0 = (95.0, 180.0, 330.0, 420.0)[s.variant % 4] * s.pitch
            phase = 2 * np.pi * (f0 * sec + 0.35 * f0 * 0.02 * (1 - np.exp(-sec / 0.02)))
            body = np.sin(phase) * np.exp(-sec / s.decay) * np.minimum(sec / 0.001, 1)
            slap = self._noise("slap", length, s.variant) * np.exp(-sec / 0.012) \
                * np.minimum(sec / 0.001, 1)
            wave = body * (1.0 if s.variant % 4 < 3 else 0.5) + slap * (0.25 + 0.5 * (s.variant % 4 == 3))
        else:
            length = int((7.0 * s.decay + 0.002) * SAMPLE_RATE)
            sec = _SECONDS(length)
            metal = self._noise("hat", length, s.variant)
            if s.brush > 0:
                metal = (1 - s.brush) * metal + s.brush * 0.6 * self._noise("brush", length,
                                                                            s.variant)
            wave = 0.5 * metal * np.exp(-sec / s.decay) * np.minimum(sec / 0.0005, 1)
        return wave.astype(np.float32)


def adsr(length: int, attack: float, decay: float, sustain: float, release: float,
         gate: float) -> np.ndarray:
    """Linear attack, exponential decay to sustain, exponential release after the gate,
    as ``length`` float32 samples. Times in samples; decay and release are time
    constants. Each segment is computed on its own slice (no work on the others)."""
    env = np.empty(length, dtype=np.float32)
    a = min(int(np.ceil(attack)), length)
    g = min(int(np.ceil(gate)), length)
    a_end = min(a, g)
    t = _SAMPLES32(length)
    np.divide(t[:a_end], np.float32(attack), out=env[:a_end])
    if g > a_end:
        held = t[a_end:g] - np.float32(attack)
        np.maximum(held, 0, out=held)
        np.negative(held, out=held)
        held /= np.float32(decay)
        np.exp(held, out=held)
        env[a_end:g] = sustain + (1.0 - sustain) * held
    if gate < attack:
        at_gate = gate / attack
    else:
        at_gate = sustain + (1.0 - sustain) * np.exp(-(gate - attack) / decay)
    if length > g:
        fall = t[g:] - np.float32(gate)
        np.negative(fall, out=fall)
        fall /= np.float32(release)
        np.exp(fall, out=fall)
        np.multiply(at_gate, fall, out=env[g:])
    return env
