"""`procedural`: a small generative band in numpy, the engine that runs everywhere.

48 kHz stereo float32, deterministic for a seed, continuous across blocks. Each session's
state carries its musical time (tempo, beat position, sixteenth counter, bar and meter),
harmony, the notes still sounding and the effect tails; audio is produced one native
block at a time, so any call size that is a multiple of the block gives identical samples.
The meter comes from `Knobs.meter` (the scene's time signature) and changes on a bar line.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import soundfile

from ... import analysis
from ...audio import CHANNELS, SAMPLE_RATE
from .. import snapshot
from ..base import (
    KNOB_NAMES,
    SCALES,
    EngineInfo,
    EngineOutput,
    GridPosition,
    Knobs,
    Prompt,
    StyleChange,
    StyleEmbedding,
)
from . import lexicon, synth, theory
from . import style as S
from .band import COMMON, KEY_ROOTS, STEPS_PER_BEAT, Band, Musician, Sampling
from .effects import ReverbState, ToneState, reverb_rows, soft_clip, tone_rows
from .meter import Meter
from .synth import BUSES, DRUM_KINDS, PITCHED_VOICES, Sounding, Synth, ToneSpec
from .tables import TableBank, noise_tables

VERSION = "1.0"
BLOCK_FRAMES = 2400  # 50 ms
MIX_WINDOW_BLOCKS = 6  # notes are mixed 300 ms at a time (0.9 MB of window per session)
MAX_RESTORED_SAMPLES = 600 * 48_000  # sounding audio a restored snapshot may render
NOTE_CACHE_MB = 192  # the engine-wide note cache (sessions of one scene mostly hit it)
MAX_NOTE_CACHE_MB = 1 << 16
MAX_CHUNK_BLOCKS = 20  # a step of at most 1 s


def note_cache_bytes(mb: int) -> int:
    """``mb`` megabytes of note cache in bytes; ValueError outside 1..MAX_NOTE_CACHE_MB."""
    if not 1 <= mb <= MAX_NOTE_CACHE_MB:
        raise ValueError(f"note_cache_mb must be 1..{MAX_NOTE_CACHE_MB}")
    return mb << 20
# Mix constants: a voice at level 1 plays at this gain (before master).
_PITCHED_GAIN = np.array([0.55, 0.16, 0.30, 0.16])  # bass, pad, lead, arp
_DRUM_GAIN = np.array([0.85, 0.50, 0.22, 0.45])  # kick, snare, hats, hand drums
_TEMPO = S.INDEX["tempo"]
_NEUTRAL_TEMPO, _TEMPO_LO, _TEMPO_HI = (float(v[_TEMPO]) for v in (S.NEUTRAL, S.LO, S.HI))
_PITCHED_LEVELS = [S.INDEX[v] for v in PITCHED_VOICES]
_DRUM_LEVELS = [S.INDEX[v] for v in DRUM_KINDS]


@dataclass
class ProceduralState:
    """One session's musical state. Owned by the engine between calls; never shared."""

    seed: int
    rng: np.random.Generator
    musician: Musician
    sounding: Sounding
    reverb: ReverbState
    tone: ToneState = field(default_factory=ToneState)
    sample: int = 0  # samples produced so far
    beat: float = 0.0  # musical time in quarter notes (continuous across tempo changes)
    step: int = 0  # next sixteenth to play
    bar: int = -1  # the bar being played (-1: none yet)
    bar_step: int = 0  # the sixteenth on which that bar started
    meter: Meter = COMMON  # that bar's meter
    next_meter: Meter | None = None  # the scene's meter, played from the next bar line
    beat_offset: float = 0.0  # grid beats minus quarter notes * meter.beats_per_quarter
    style: np.ndarray | None = None  # the gliding style actually heard
    gains: np.ndarray = field(default_factory=lambda: np.zeros(BUSES))


    @property
    def bpm(self) -> float:
        return float(self.style[S.INDEX["tempo"]]) if self.style is not None else S.NEUTRAL[0]


class ProceduralEngine:
    """The built-in engine. ``glide_s``: time a style dimension takes to swing across its
    whole range (smaller changes take proportionally less). ``block_frames``: the band's
    own block (its sequencing and effects step). ``chunk_blocks``: such blocks per
    generation step (``info.block_frames``: the chunk the runtime asks for and streams);
    the samples are the same for any value while the style holds, and a loop serving many
    sessions pays its per-chunk costs (scheduling, delivery, one message each) that many
    times less often."""

    def __init__(self, glide_s: float = 0.8, block_frames: int = BLOCK_FRAMES,
                 note_cache_mb: int = NOTE_CACHE_MB, chunk_blocks: int = 1) -> None:
        if glide_s < 0:
            raise ValueError("glide_s must be >= 0")
        if not 1 <= chunk_blocks <= MAX_CHUNK_BLOCKS:
            raise ValueError(f"chunk_blocks must be 1..{MAX_CHUNK_BLOCKS}")
        cache_bytes = note_cache_bytes(note_cache_mb)
        self.glide_s = glide_s
        self.block_frames = block_frames
        self.tables = TableBank()
        self.noise = noise_tables()
        self.synth = Synth(lambda: self.tables.flat, self.noise, cache_bytes)
        self.band = Band(self.tables, self.synth)
        self._info = EngineInfo(
            name="procedural", version=VERSION, sample_rate=SAMPLE_RATE, channels=CHANNELS,
            block_frames=block_frames * chunk_blocks, max_batch=4096, style_dim=S.SIZE,
            prompt_kinds=frozenset({"text", "audio"}),
            knobs=frozenset(KNOB_NAMES),
            control_latency_s=0.0,
            description="Built-in numpy band: drums, hand percussion, bass, chords, lead, "
                        "arpeggio; piano, strings, brass, winds, organ, plucked, mallet, bell timbres.",
            sample_accurate=True, has_beat_grid=True, cheap_text_embed=True,
        )

    @property
    def info(self) -> EngineInfo:
        return self._info

    # ------------------------------------------------------------------- style vectors
    def embed(self, prompt: Prompt) -> StyleEmbedding:
        if prompt.text is not None:
            parsed = lexicon.parse(prompt.text)
            return StyleEmbedding(parsed.vector, parsed.unknown_words,
                                  tuple(parsed.mapped.items()))
        wave, rate = soundfile.read(prompt.audio, dtype="float32", always_2d=True)
        return StyleEmbedding(_style_from_audio(wave, rate))

    def neutral_style(self) -> np.ndarray:
        return S.NEUTRAL.copy()

    # ------------------------------------------------------------------------ sessions
    def init_state(self, seed: int) -> ProceduralState:
        rng = np.random.default_rng(np.random.SeedSequence(int(seed) & 0xFFFFFFFFFFFFFFFF))
        key = KEY_ROOTS[int(rng.integers(len(KEY_ROOTS)))]
        return ProceduralState(
            seed=seed, rng=rng, musician=Musician(key_root=key, major=True),
            sounding=Sounding(window=MIX_WINDOW_BLOCKS * self.block_frames),
            reverb=ReverbState(self.block_frames),
        )

    def beat_clock(self, state: ProceduralState, style: np.ndarray | None = None,
                   knobs: Knobs | None = None) -> GridPosition:
        """The band's own grid at the next sample to be generated, so the runtime's
        musical clock is exact: beats of the meter's unit, bar lines on its multiples.
        Given the style and knobs the next block will get, the tempo is the one it will
        play at (after one step of glide)."""
        meter, offset = state.meter, state.beat_offset
        if _bar_line_next(state):  # the next sample starts a bar: in the meter it will have
            meter = Meter(*knobs.meter) if knobs and knobs.meter else (state.next_meter or meter)
            offset = _offset_for(state, meter)
        tempo = state.bpm
        if style is not None:
            target = self._target_tempo(style, knobs or Knobs())
            if state.style is None or self.glide_s <= 0:
                tempo = target
            else:
                step = (S.HI[0] - S.LO[0]) * (self.block_frames / (self.glide_s * SAMPLE_RATE))
                tempo = float(state.bpm + min(max(target - state.bpm, -step), step))  # scalars: no numpy
        per_quarter = meter.beats_per_quarter
        return GridPosition(state.beat * per_quarter + offset, tempo * per_quarter,
                            meter.beats, meter.unit)

    @staticmethod
    def _target_tempo(style: np.ndarray, knob: Knobs) -> float:
        """The tempo `_target` gives ``style`` under ``knob`` (the same arithmetic on the
        one dimension: the loop asks for it for every session every step)."""
        if knob.bpm is not None:
            return float(knob.bpm)
        tempo = float(style[_TEMPO])
        if knob.guidance is not None:
            factor = _guidance_factor(knob.guidance)
            tempo = min(max(_NEUTRAL_TEMPO + factor * (tempo - _NEUTRAL_TEMPO), _TEMPO_LO),
                        _TEMPO_HI)
        return tempo

    def phrase(self, state: ProceduralState, text: str, beats: float) -> np.ndarray:
        """A stinger phrase in the session's current key, chord and tempo.

        The words choose the figure — "rising"/"up" (the default), "falling"/"down", or a
        "hit"/"stab"/"chord" — and the timbre (piano, strings, chip, bell, guitar; a bright
        synth otherwise). Deterministic for a state: no randomness is drawn.
        """
        words = set(text.lower().replace(",", " ").split())
        m = state.musician
        chord = m.chord or theory.chord(m.key_root, m.major, 0, 0.3)
        tones = sorted(72 + (p - 72) % 12 for p in chord)
        samples_per_beat = SAMPLE_RATE * 60.0 / state.bpm
        length = int(beats * samples_per_beat)
        family = next((f for w, f in (("piano", "piano"), ("strings", "strings"),
                                      ("chip", "square"), ("8-bit", "square"), ("bell", "sine"),
                                      ("guitar", "guitar")) if w in words), "saw")
        mix = {family: 1.0, "soft": 0.3}
        if words & {"hit", "stab", "chord", "impact"}:
            notes = [(0, p) for p in [tones[0] - 12, *tones]]
            gate = 0.5 * samples_per_beat
        else:
            run = [p + 12 * octave for octave in (0, 1) for p in tones] + [tones[0] + 24]
            if words & {"falling", "down", "descending"}:
                run = run[::-1]
            step = length / len(run)
            notes = [(int(i * step), p) for i, p in enumerate(run)]
            gate = step * 0.9
        out = np.zeros((length + SAMPLE_RATE, CHANNELS), dtype=np.float32)
        for i, (at, pitch) in enumerate(notes):
            freq = float(theory.midi_to_hz(pitch))
            spec = ToneSpec(row=self.tables.row(mix, freq, 0.8), freq=freq,
                            gate=int(gate), attack=48.0, decay=0.3 * SAMPLE_RATE,
                            sustain=0.4, release=0.15 * SAMPLE_RATE)
            wave = self.synth.tone(spec)[: len(out) - at]
            pan = 0.3 if i % 2 else -0.3
            out[at : at + len(wave), 0] += wave * np.float32(np.sqrt(0.5 * (1 - pan)))
            out[at : at + len(wave), 1] += wave * np.float32(np.sqrt(0.5 * (1 + pan)))
        peak = float(np.max(np.abs(out))) or 1.0
        return out * np.float32(0.5 / peak)

    # ------------------------------------------------------------ state portability
    def release(self, state: ProceduralState) -> None:
        """Nothing to free: the state is plain memory."""

    def snapshot(self, state: ProceduralState) -> bytes:
        """The whole state (RNG, harmony, sounding notes, effect tails): a restored state
        continues the stream sample for sample. A sounding note is kept as the spec that
        made its waveform (`restore` renders it again, deterministically: kilobytes, not
        the megabytes of rendered audio); a note without one keeps what is still to be
        heard of its waveform."""
        sounding = state.sounding
        kept = dataclasses.replace(sounding, starts=[], waves=[], specs=[], buses=[], left=[],
                                   right=[], mixed=None, mixed_at=-1)
        for i, (start, wave, spec) in enumerate(
                zip(sounding.starts, sounding.waves, sounding.specs, strict=True)):
            if start + len(wave) <= state.sample:
                continue  # ended: the next mix forgets it anyway
            if spec is None:
                cut = max(0, state.sample - start)
                start, wave = start + cut, np.array(wave[cut:])
            if isinstance(spec, ToneSpec):  # rows are this bank's: name them by key
                kept.row_keys[spec.row] = self.tables.key_of(spec.row)
            kept.starts.append(start)
            kept.waves.append(None if spec is not None else wave)
            kept.specs.append(spec)
            kept.buses.append(sounding.buses[i])
            kept.left.append(sounding.left[i])
            kept.right.append(sounding.right[i])
        return snapshot.dump(self._info.name, dataclasses.replace(state, sounding=kept))

    def restore(self, data: bytes) -> ProceduralState:
        state = snapshot.load(self._info.name, data, ("cadenza.runtime.engines.procedural",))
        if not isinstance(state, ProceduralState):
            raise ValueError("not a procedural engine state")
        sounding = state.sounding
        if "specs" not in vars(sounding):  # written before notes were kept as specs
            sounding.specs, sounding.row_keys = [None] * len(sounding.waves), {}
        if not isinstance(sounding.specs, list) or not isinstance(sounding.row_keys, dict):
            raise ValueError("procedural snapshot: malformed sounding notes")
        if not len(sounding.specs) == len(sounding.waves) == len(sounding.starts) == \
                len(sounding.buses) == len(sounding.left) == len(sounding.right):
            raise ValueError("procedural snapshot: sounding notes' fields differ in length")
        rows = {row: self.tables.row_for(key) for row, key in sounding.row_keys.items()}
        total = 0
        for i, (wave, spec) in enumerate(zip(sounding.waves, sounding.specs, strict=True)):
            if wave is not None:
                continue
            if isinstance(spec, ToneSpec):
                if spec.row not in rows:
                    raise ValueError("procedural snapshot: a note's wavetable is not named")
                spec = sounding.specs[i] = dataclasses.replace(spec, row=rows[spec.row])
            total += synth.checked_length(spec)
            if total > MAX_RESTORED_SAMPLES:
                raise ValueError("procedural snapshot: too many sounding notes")
            sounding.waves[i] = self.synth.tone(spec) if isinstance(spec, ToneSpec) \
                else self.synth.hit(spec)
        sounding.row_keys = {}
        sounding.window = MIX_WINDOW_BLOCKS * self.block_frames
        sounding.forget_window()  # rebuilt from the notes at the first block
        return state

    def generate(self, states: Sequence[ProceduralState], styles: np.ndarray,
                 knobs: Sequence[Knobs], frames: int,
                 changes: Sequence[StyleChange | None] | None = None) -> EngineOutput:
        if frames % self.block_frames:
            raise ValueError(f"frames must be a multiple of {self.block_frames}")
        pcm = np.empty((len(states), frames, CHANNELS), dtype=np.float32)
        changes = changes or [None] * len(states)
        firsts = [_Segment(0, self._target(state, target, knob), _sampling(knob), snap=False)
                  for state, target, knob in zip(states, styles, knobs, strict=True)]
        n = self.block_frames
        for start in range(0, frames, n):
            # Every row's notes first, then the effects of all of them at once.
            blocks = []
            for row, (state, knob, change) in enumerate(zip(states, knobs, changes,
                                                            strict=True)):
                segments = [firsts[row]]
                if change is not None and start <= change.offset < start + n:
                    knob2 = change.knobs or knob
                    segments.append(_Segment(change.offset - start,
                                             self._target(state, change.style, knob2),
                                             _sampling(knob2), snap=True))
                    firsts[row] = _Segment(0, segments[-1].target, segments[-1].sampling,
                                           snap=False)
                block = self._block(state, segments)
                assert block is not None
                blocks.append(block)
            whole = [r for r, b in enumerate(blocks) if len(b.styles) == 1]
            if whole:
                out = _effects([states[r] for r in whole],
                               np.stack([blocks[r].buses for r in whole]),
                               np.stack([blocks[r].styles[0] for r in whole]))
                pcm[whole, start : start + n] = out.transpose(0, 2, 1)
            for r, b in enumerate(blocks):
                if len(b.styles) > 1:  # a change inside the block: effects per segment
                    for s, lo, hi in zip(b.styles, b.bounds, b.bounds[1:], strict=False):
                        if hi > lo:
                            out = _effects([states[r]], b.buses[None, :, :, lo:hi], s[None])
                            pcm[r, start + lo : start + hi] = out[0].T
        return EngineOutput(pcm=pcm, states=list(states))

    def advance(self, states: Sequence[ProceduralState], styles: np.ndarray,
                knobs: Sequence[Knobs], frames: Sequence[int]) -> list[ProceduralState]:
        """Play each row's ``frames`` (whole blocks) without sound, for a stretch nobody
        hears (concealment covered it): the sequencer, glide, harmony, meter and grid move
        exactly as `generate` moves them, and the notes still sounding at the end are heard
        from the next block on; the effect tails are not advanced. About the cost of the
        sequencer alone (no mixing, no effects)."""
        if any(f % self.block_frames or f < 0 for f in frames):
            raise ValueError(f"frames must be multiples of {self.block_frames}")
        for state, style, knob, length in zip(states, styles, knobs, frames, strict=True):
            segment = _Segment(0, self._target(state, style, knob), _sampling(knob), snap=False)
            state.sounding.forget_window()  # notes added now are not rendered
            for i in range(length // self.block_frames):
                self._block(state, [segment], mix=False)
                if i % 20 == 19:  # a long stall: keep only the notes still sounding
                    state.sounding.forget_ended(state.sample)
            state.sounding.forget_ended(state.sample)
        return list(states)

    @staticmethod
    def _target(state: ProceduralState, style: np.ndarray, knob: Knobs) -> np.ndarray:
        state.musician.scale = SCALES.index(knob.scale) if knob.scale in SCALES else None
        if knob.meter is not None:
            state.next_meter = Meter(*knob.meter)
        return _with_knobs(_guided(np.array(style, dtype=np.float64), knob.guidance), knob)

    # -------------------------------------------------------------------- one block
    def _block(self, st: ProceduralState, segments: list[_Segment],
               mix: bool = True) -> _Block | None:
        """One native block's notes and bus mix, before effects (``mix=False``: the notes
        only, `advance`). Usually one segment; a
        quantized change adds a second one starting at its sample offset, where the style
        snaps (no glide) so that the new music starts exactly there; gains move to the new
        levels over 5 ms (no click)."""
        n = self.block_frames
        ramp = np.zeros((len(st.gains), n), dtype=np.float32)
        end_beat = st.beat
        styles = []
        for i, seg in enumerate(segments):
            stop = segments[i + 1].offset if i + 1 < len(segments) else n
            before = st.gains
            if st.style is None or seg.snap or self.glide_s <= 0:
                st.style = seg.target.copy()
            else:
                # Linear glide: each dimension moves at most its full range per glide_s,
                # so a full swing takes glide_s and small changes are quick.
                step = (S.HI - S.LO) * (n / (self.glide_s * SAMPLE_RATE))
                st.style += np.minimum(np.maximum(seg.target - st.style, -step), step)
            styles.append(st.style.copy())
            after = self._gains(st.style)
            if not before.any() and st.sample == 0 and i == 0:
                before = after  # the very first block starts at its levels
            if i > 0 and seg.offset > 0:
                before = ramp[:, seg.offset - 1].astype(np.float64)  # where the ramp got to
            length = stop - seg.offset
            if length > 0:
                span = n - seg.offset if not seg.snap else min(240, length)
                line = _line(before, after, span)
                head = min(span, length)
                ramp[:, seg.offset:seg.offset + head] = line[:, :head]
                if length > span:
                    ramp[:, seg.offset + span:stop] = line[:, -1:]
            st.gains = after
            end_beat = self._play_steps(st, seg, end_beat, seg.offset, stop)

        if not mix:
            st.beat = end_beat
            st.sample += n
            return None
        buses = st.sounding.mix(st.sample, n)
        buses *= ramp[:, None, :]
        st.beat = end_beat
        st.sample += n
        # Effects follow each segment's style from its first sample on.
        return _Block(buses, styles, [seg.offset for seg in segments] + [n])

    def _play_steps(self, st: ProceduralState, seg: _Segment, beat: float, start: int,
                    stop: int) -> float:
        """Queue the notes of every sixteenth whose onset falls in samples [start, stop) of
        the block, at the segment's tempo; returns the beat position at ``stop``."""
        s = st.style
        samples_per_beat = SAMPLE_RATE * 60.0 / s[S.INDEX["tempo"]]
        step_samples = samples_per_beat / STEPS_PER_BEAT
        end_beat = beat + (stop - start) / samples_per_beat
        swing = s[S.INDEX["swing"]]
        while True:
            new_bar = st.bar < 0 or st.step - st.bar_step >= st.meter.bar_steps
            sib = 0 if new_bar else st.step - st.bar_step
            onset = (st.step + (swing if sib % 2 else 0.0)) / STEPS_PER_BEAT
            if onset >= end_beat - 1e-9:
                break
            if new_bar:
                self._next_bar(st)
            offset = start + max(0, round((onset - beat) * samples_per_beat))
            self.band.on_step(st.musician, st.bar, sib, st.meter, st.sample + offset,
                              step_samples, s, seg.sampling, st.rng, st.sounding)
            st.step += 1
        return end_beat

    @staticmethod
    def _next_bar(st: ProceduralState) -> None:
        """Start a bar at sixteenth ``st.step``, in the scene's meter if it changed. The
        grid's beat count then jumps to the next multiple of the new bar length, so bar
        numbers stay whole (the clock says so: it is never bent to hide the change)."""
        meter = st.next_meter or st.meter
        st.beat_offset = _offset_for(st, meter)
        st.meter = meter
        st.bar += 1
        st.bar_step = st.step

    @staticmethod
    def _gains(s: np.ndarray) -> np.ndarray:
        """Per-bus gains, the master level (louder with energy) folded in."""
        master = 0.55 + 0.45 * s[S.INDEX["energy"]]
        pitched = s[_PITCHED_LEVELS] ** 1.5 * _PITCHED_GAIN
        drums = s[_DRUM_LEVELS] ** 1.5 * _DRUM_GAIN * (0.6 + 0.4 * s[S.INDEX["energy"]])
        return np.concatenate([pitched, drums]) * master


def _bar_line_next(st: ProceduralState) -> bool:
    """Whether the next sample to be generated is the downbeat of a bar not begun yet."""
    if st.bar >= 0 and st.step - st.bar_step < st.meter.bar_steps:
        return False
    return st.step / STEPS_PER_BEAT <= st.beat + 1e-6


def _offset_for(st: ProceduralState, meter: Meter) -> float:
    """`ProceduralState.beat_offset` once ``meter`` starts a bar at sixteenth ``st.step``:
    unchanged for the same meter; else the grid's beat count moves on to the next whole
    bar of the new meter (its bar numbers stay whole)."""
    if meter == st.meter:
        return st.beat_offset
    quarters = st.step / STEPS_PER_BEAT
    old = quarters * st.meter.beats_per_quarter + st.beat_offset
    downbeat = math.ceil(old / meter.beats - 1e-9) * meter.beats
    return downbeat - quarters * meter.beats_per_quarter


def _effects(states: list[ProceduralState], buses: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Drive, reverb, tone and the limiter over a stretch of R sessions' buses
    (``[R, buses, 2, m]``, changed in place) with their styles ``[R, dims]``; returns
    ``[R, 2, m]``. A row's samples do not depend on the other rows."""
    drive = s[:, S.INDEX["drive"]]
    for r in np.flatnonzero(drive > 0.02):
        k = np.float32(1.0 + 7.0 * drive[r])
        scale = np.float32(0.6 / np.tanh(k))
        for v in (0, 2, 3):  # bass, lead, arp
            buses[r, v] = np.tanh(buses[r, v] * k) * scale
    dry = buses.sum(axis=1)
    space = s[:, S.INDEX["space"]]
    send = buses[:, 1:4].sum(axis=(1, 2)) + np.float32(0.35) * buses[:, 5].sum(axis=1)
    wet = reverb_rows([st.reverb for st in states], send, 0.6 + 3.0 * space,
                      0.3 + 0.5 * (1 - s[:, S.INDEX["brightness"]]))
    dry += (0.7 * space).astype(np.float32)[:, None, None] * wet
    return soft_clip(tone_rows([st.tone for st in states], dry, s[:, S.INDEX["brightness"]]))


@dataclass
class _Block:
    """A block's bus mix before effects, and the style of each of its segments from
    sample ``bounds[i]`` to ``bounds[i + 1]``."""

    buses: np.ndarray  # [buses, 2, n]
    styles: list[np.ndarray]
    bounds: list[int]


@dataclass
class _Segment:
    offset: int  # first sample of the block this segment covers
    target: np.ndarray
    sampling: Sampling
    snap: bool  # jump to the target here (a quantized change) instead of gliding


def _sampling(knob: Knobs) -> Sampling:
    return Sampling(temperature=1.0 if knob.temperature is None else float(knob.temperature),
                    top_k=40 if knob.top_k is None else int(knob.top_k))


def _line(a: np.ndarray, b: np.ndarray, span: int) -> np.ndarray:
    """``[len(a), span]`` float32 ramps from a to b (b reached at the last sample)."""
    if np.array_equal(a, b):
        return np.repeat(b.astype(np.float32)[:, None], span, axis=1)
    return (a[:, None] + (b - a)[:, None] * _ramp(span)[None, :]).astype(np.float32)


@functools.lru_cache(maxsize=64)
def _ramp(span: int) -> np.ndarray:
    t = np.arange(1, span + 1, dtype=np.float32) / np.float32(span)
    t.flags.writeable = False
    return t


def _guided(target: np.ndarray, guidance: float | None) -> np.ndarray:
    """Guidance scales how far the style departs from neutral (3 = as written)."""
    if guidance is None:
        return target
    return S.clip(S.NEUTRAL + _guidance_factor(guidance) * (target - S.NEUTRAL))


def _guidance_factor(guidance: float) -> float:
    """How far guidance scales the style's departure from neutral (1 at guidance 3)."""
    return min(max(0.4 + 0.2 * float(guidance), 0.4), 1.6)


_DRUMS = [S.INDEX[v] for v in ("kick", "snare", "hats")]
_MELODIC = [S.INDEX[v] for v in ("pad", "lead", "arp")]


def _with_knobs(target: np.ndarray, knobs: Knobs) -> np.ndarray:
    """Lyria-style config overrides what the prompts say, exactly."""
    if knobs.bpm is not None:
        target[S.INDEX["tempo"]] = knobs.bpm
    if knobs.density is not None:
        target[S.INDEX["energy"]] = knobs.density
    if knobs.brightness is not None:
        target[S.INDEX["brightness"]] = knobs.brightness
    if knobs.mute_bass:
        target[S.INDEX["bass"]] = 0.0
    if knobs.mute_drums:
        target[_DRUMS] = 0.0
    if knobs.only_bass_and_drums:
        target[_MELODIC] = 0.0
    return target


def _style_from_audio(wave: np.ndarray, rate: int) -> np.ndarray:
    """An audio prompt's style: its tempo, brightness and energy as heard."""
    mono = wave.mean(axis=1)
    vector = S.NEUTRAL.copy()
    if len(mono) < rate // 2:
        return vector
    tempo = analysis.estimate_tempo(mono, rate)
    if tempo:
        vector[S.INDEX["tempo"]] = tempo
    centroid = analysis.spectral_centroid(mono, rate)
    vector[S.INDEX["brightness"]] = np.clip((centroid - 800.0) / 3200.0, 0, 1)
    onsets = analysis.onset_rate(mono, rate)
    vector[S.INDEX["energy"]] = np.clip(onsets / 8.0, 0, 1)
    return S.clip(vector)
