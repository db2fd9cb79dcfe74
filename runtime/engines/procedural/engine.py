"""`procedural`: a small generative band in numpy, the engine that runs everywhere.

48 kHz stereo float32, deterministic for a seed, continuous across blocks. Each session's
state carries its musical time (tempo, beat position, sixteenth counter), harmony, the
notes still sounding and the effect tails; audio is produced one native block at a time,
so any call size that is a multiple of the block gives identical samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import soundfile

from ... import analysis
from ...audio import CHANNELS, SAMPLE_RATE
from ..base import EngineInfo, EngineOutput, Knobs, Prompt, StyleEmbedding
from . import lexicon
from . import style as S
from .band import KEY_ROOTS, STEPS_PER_BEAT, Band, Musician, Sampling
from .effects import ReverbState, ToneState, reverb, soft_clip, tone
from .synth import BUSES, DRUM_KINDS, PITCHED_VOICES, Sounding, Synth
from .tables import TableBank, noise_tables

VERSION = "1.0"
BLOCK_FRAMES = 2400  # 50 ms
# Mix constants: a voice at level 1 plays at this gain (before master).
_PITCHED_GAIN = np.array([0.55, 0.16, 0.30, 0.16])  # bass, pad, lead, arp
_DRUM_GAIN = np.array([0.85, 0.50, 0.22])  # kick, snare, hats
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
    beat: float = 0.0  # musical time in beats (continuous across tempo changes)
    step: int = 0  # next sixteenth to play
    style: np.ndarray | None = None  # the gliding style actually heard
    gains: np.ndarray = field(default_factory=lambda: np.zeros(BUSES))

    @property
    def bpm(self) -> float:
        return float(self.style[S.INDEX["tempo"]]) if self.style is not None else S.NEUTRAL[0]


class ProceduralEngine:
    """The built-in engine. ``glide_s``: time a style dimension takes to swing across its
    whole range (smaller changes take proportionally less)."""

    def __init__(self, glide_s: float = 0.8, block_frames: int = BLOCK_FRAMES) -> None:
        if glide_s < 0:
            raise ValueError("glide_s must be >= 0")
        self.glide_s = glide_s
        self.block_frames = block_frames
        self._ramp = np.arange(block_frames, dtype=np.float32) / block_frames  # gain ramps
        self.tables = TableBank()
        self.noise = noise_tables()
        self.synth = Synth(lambda: self.tables.flat, self.noise)
        self.band = Band(self.tables, self.synth)
        self._info = EngineInfo(
            name="procedural", version=VERSION, sample_rate=SAMPLE_RATE, channels=CHANNELS,
            block_frames=block_frames, max_batch=4096, style_dim=S.SIZE,
            prompt_kinds=frozenset({"text", "audio"}),
            knobs=frozenset({"temperature", "top_k", "guidance", "seed"}),
            control_latency_s=block_frames / SAMPLE_RATE,
            description="Built-in numpy band: drums, bass, chords, lead, arpeggio.",
        )

    @property
    def info(self) -> EngineInfo:
        return self._info

    # ------------------------------------------------------------------- style vectors
    def embed(self, prompt: Prompt) -> StyleEmbedding:
        if prompt.text is not None:
            parsed = lexicon.parse(prompt.text)
            return StyleEmbedding(parsed.vector, parsed.unknown_words)
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
            sounding=Sounding(), reverb=ReverbState(self.block_frames),
        )

    def generate(self, states: Sequence[ProceduralState], styles: np.ndarray,
                 knobs: Sequence[Knobs], frames: int) -> EngineOutput:
        if frames % self.block_frames:
            raise ValueError(f"frames must be a multiple of {self.block_frames}")
        pcm = np.empty((len(states), frames, CHANNELS), dtype=np.float32)
        for row, (state, target, knob) in enumerate(zip(states, styles, knobs, strict=True)):
            target = _guided(np.asarray(target, dtype=np.float64), knob.guidance)
            sampling = Sampling(
                temperature=1.0 if knob.temperature is None else float(knob.temperature),
                top_k=40 if knob.top_k is None else int(knob.top_k),
            )
            for start in range(0, frames, self.block_frames):
                pcm[row, start : start + self.block_frames] = self._block(state, target, sampling)
        return EngineOutput(pcm=pcm, states=list(states))

    # -------------------------------------------------------------------- one block
    def _block(self, st: ProceduralState, target: np.ndarray, sampling: Sampling) -> np.ndarray:
        n = self.block_frames
        if st.style is None:
            st.style = target.copy()
            st.gains = self._gains(st.style)
        elif self.glide_s > 0:
            # Linear glide: each dimension moves at most its full range per glide_s, so a
            # full swing takes glide_s and small changes are quick.
            step = (S.HI - S.LO) * (n / (self.glide_s * SAMPLE_RATE))
            st.style += np.clip(target - st.style, -step, step)
        else:
            st.style = target.copy()
        s = st.style

        samples_per_beat = SAMPLE_RATE * 60.0 / s[S.INDEX["tempo"]]
        step_samples = samples_per_beat / STEPS_PER_BEAT
        end_beat = st.beat + n / samples_per_beat
        swing = s[S.INDEX["swing"]]
        while True:
            onset = (st.step + (swing if st.step % 2 else 0.0)) / STEPS_PER_BEAT
            if onset >= end_beat:
                break
            offset = max(0, round((onset - st.beat) * samples_per_beat))
            self.band.on_step(st.musician, st.step, st.sample + offset, step_samples, s,
                              sampling, st.rng, st.sounding)
            st.step += 1

        gains = self._gains(s)
        ramped = st.gains[:, None] + (gains - st.gains)[:, None].astype(np.float32) * self._ramp[None, :]
        st.gains = gains
        buses = st.sounding.mix(st.sample, n)
        buses *= ramped[:, None, :]

        drive = float(s[S.INDEX["drive"]])
        if drive > 0.02:
            k = np.float32(1.0 + 7.0 * drive)
            scale = np.float32(0.6 / np.tanh(k))
            for v in (0, 2, 3):  # bass, lead, arp
                buses[v] = np.tanh(buses[v] * k) * scale
        dry = buses.sum(axis=0)

        space = float(s[S.INDEX["space"]])
        send = buses[1:4].sum(axis=(0, 1)) + np.float32(0.35) * buses[5].sum(axis=0)
        wet = reverb(st.reverb, send, 0.6 + 3.0 * space, 0.3 + 0.5 * (1 - s[S.INDEX["brightness"]]))
        dry += np.float32(0.7 * space) * wet
        mixed = tone(st.tone, dry, float(s[S.INDEX["brightness"]]))
        master = np.float32(0.55 + 0.45 * float(s[S.INDEX["energy"]]))
        out = soft_clip(mixed * master)

        st.beat = end_beat
        st.sample += n
        return out.T

    @staticmethod
    def _gains(s: np.ndarray) -> np.ndarray:
        pitched = s[_PITCHED_LEVELS] ** 1.5 * _PITCHED_GAIN
        drums = s[_DRUM_LEVELS] ** 1.5 * _DRUM_GAIN * (0.6 + 0.4 * s[S.INDEX["energy"]])
        return np.concatenate([pitched, drums])


def _guided(target: np.ndarray, guidance: float | None) -> np.ndarray:
    """Guidance scales how far the style departs from neutral (3 = as written)."""
    if guidance is None:
        return target
    factor = float(np.clip(0.4 + 0.2 * guidance, 0.4, 1.6))
    return S.clip(S.NEUTRAL + factor * (target - S.NEUTRAL))


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
