"""The band's musical decisions: what each player plays on each sixteenth step.

`Band.on_step` is called once per sixteenth, in order, with the bar, the step inside the
bar, the bar's `Meter` and the exact sample at which the step sounds; it queues notes
into the state's note banks. All randomness comes from the session's own generator, so a
seed and a sequence of styles give the same music. Common time (4/4) keeps the band's
original grooves; other meters build theirs from the meter's pulses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...audio import SAMPLE_RATE
from . import style as S
from . import theory
from .meter import Meter
from .synth import DRUM_INDEX, PITCHED_INDEX, HitSpec, Sounding, Synth, ToneSpec
from .tables import TableBank

STEPS_PER_BEAT = 4  # sixteenths per quarter note: the band's grid, whatever the meter
COMMON = Meter(4, 4)
KEY_ROOTS = (45, 47, 48, 50, 52, 53, 55)  # A2 B2 C3 D3 E3 F3 G3: the session's tonic


@dataclass
class Patterns:
    kick: np.ndarray
    snare: np.ndarray
    hats: np.ndarray
    open_hats: np.ndarray
    bass: np.ndarray
    arp: np.ndarray
    lead: np.ndarray
    hand: np.ndarray | None = None  # frame/hand percussion (drawn only when it plays)


@dataclass
class Musician:
    """Everything the band remembers between steps (part of the session state)."""

    key_root: int
    major: bool
    progression: tuple[int, ...] = (0, 5, 3, 4)
    chord: list[int] = field(default_factory=list)
    patterns: Patterns | None = None
    melody_index: int = 7
    motif: list[tuple[int, int]] = field(default_factory=list)  # (step in 2 bars, degree offset)
    arp_index: int = 0
    scale: int | None = None  # Lyria scale: pitch class of the major tonic, or None (free)
    pattern_style: np.ndarray | None = None  # the style the current patterns were made for
    pattern_meter: Meter = COMMON  # the meter the current patterns and motif were made for


@dataclass(frozen=True)
class Sampling:
    """The knobs as the band uses them (temperature 0 = always the likeliest choice)."""

    temperature: float = 1.0
    top_k: int = 40


def _choose(rng: np.random.Generator, weights: np.ndarray, sampling: Sampling) -> int:
    """Pick an index from unnormalised ``weights`` under temperature and top-k."""
    if sampling.temperature <= 1e-6:
        return int(np.argmax(weights))
    order = np.argsort(-weights, kind="stable")[: max(1, sampling.top_k)]
    logits = np.log(np.maximum(weights[order], 1e-12)) / sampling.temperature
    p = np.exp(logits - logits.max())
    return int(order[rng.choice(len(order), p=p / p.sum())])


def _bernoulli(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    return rng.random(len(p)) < np.clip(p, 0.0, 1.0)


def _hand_pattern(s: np.ndarray, rng: np.random.Generator, steps: np.ndarray,
                  eighth: np.ndarray, pulse: np.ndarray) -> np.ndarray | None:
    """Hand drums on the pulses and between them, busier with energy. Draws from the
    generator only when the hand drums play (other prompts keep their exact music)."""
    if s[S.INDEX["hand"]] <= 0.02:
        return None
    e = float(s[S.INDEX["energy"]])
    p = np.where(pulse, 0.9, np.where(eighth, 0.4 + 0.5 * e, 0.1 + 0.5 * e))
    return _bernoulli(rng, p)


@dataclass(frozen=True)
class Colour:
    """The non-wavetable parts of a pitched voice's timbre (see `ToneSpec`)."""

    modal: int = 0
    modal_mix: float = 0.0
    breath: float = 0.0

    def fields(self) -> dict[str, float]:
        return {"modal": self.modal, "modal_mix": self.modal_mix, "breath": self.breath}


def colour(s: np.ndarray) -> Colour:
    """Plucked, mallet or bell partials (the strongest of the three) and breath noise."""
    weights = [float(s[S.INDEX[n]]) for n in ("pluck", "mallet", "bell")]
    strongest = int(np.argmax(weights))
    mix = round(min(1.0, 1.25 * weights[strongest]) * 4) / 4
    breath = round(0.3 * float(s[S.INDEX["woodwind"]]), 2)
    return Colour(modal=strongest + 1 if mix > 0 else 0, modal_mix=mix, breath=breath)


def articulation(s: np.ndarray) -> tuple[float, float]:
    """(gate, release) multipliers: staccato shortens both, legato lengthens the gate."""
    st = float(s[S.INDEX["staccato"]])
    if st >= 0.5:
        return 1.0 - 1.4 * (st - 0.5), 1.0 - 1.2 * (st - 0.5)
    return 1.0 + 0.6 * (0.5 - st), 1.0


def _onset_shape(s: np.ndarray, attack: float, sustain: float,
                 slow: float) -> tuple[float, float]:
    """Brass and woodwinds speak slowly (``slow`` seconds at full weight); an organ starts
    at once and holds: returns the (attack s, sustain) for a voice."""
    brass, wind, organ = (float(s[S.INDEX[n]]) for n in ("brass", "woodwind", "organ"))
    attack += slow * (brass + 0.6 * wind)
    attack = attack * (1 - organ) + 0.004 * organ
    sustain = sustain + (max(sustain, 0.75) - sustain) * min(1.0, brass + wind)
    return attack, sustain + (1.0 - sustain) * organ


class Band:
    """Stateless rules; the state lives in `Musician` and the note banks."""

    def __init__(self, tables: TableBank, synth: Synth) -> None:
        self.tables = tables
        self.synth = synth

    def _tone(self, out: Sounding, start: int, bus: str, vel: float, pan: float, row: int,
              freq: float, gate: float, attack: float, decay: float, sustain: float,
              release: float, vib: float = 0.0, colour: Colour | None = None) -> None:
        # Parameters are rounded (5 ms gates, 1 ms attacks ...) so repeated notes share
        # one cached waveform; nobody hears the difference.
        spec = ToneSpec(row=row, freq=freq, gate=round(gate / 240.0) * 240,
                        attack=max(48.0, round(attack / 48.0) * 48.0),
                        decay=max(480.0, round(decay / 480.0) * 480.0),
                        sustain=min(1.0, max(0.0, round(sustain * 20) / 20)),
                        release=max(480.0, round(release / 480.0) * 480.0),
                        vib=round(vib, 2),
                        **(colour.fields() if colour is not None else {}))
        out.add(start, self.synth.tone(spec), PITCHED_INDEX[bus], vel, pan, spec)

    def _hit(self, out: Sounding, start: int, kind: str, vel: float, pan: float, decay: float,
             pitch: float = 1.0, clap: float = 0.0, variant: int = 0, brush: float = 0.0) -> None:
        spec = HitSpec(kind=DRUM_INDEX[kind], decay=round(decay, 2), pitch=round(pitch, 2),
                       clap=round(clap, 1), variant=variant, brush=round(brush * 4) / 4)
        out.add(start, self.synth.hit(spec), len(PITCHED_INDEX) + DRUM_INDEX[kind], vel, pan,
                spec)

    # ---------------------------------------------------------------- bar-level choices
    def start_bar(self, m: Musician, bar: int, s: np.ndarray, rng: np.random.Generator,
                  meter: Meter = COMMON) -> None:
        mode = s[S.INDEX["mode"]]
        tension = s[S.INDEX["tension"]]
        flipped = (m.major and mode < 0.42) or (not m.major and mode > 0.58)
        if flipped:
            m.major = not m.major
        if m.scale is not None:
            # A fixed scale: the tonic is its major key or its relative minor, same pitches.
            tonic = m.scale if m.major else (m.scale + 9) % 12
            root = KEY_ROOTS[0] + (tonic - KEY_ROOTS[0]) % 12
            if root != m.key_root:
                m.key_root = root
                flipped = True
        if flipped or bar % 4 == 0 or not m.chord:
            m.progression = theory.choose_progression(rng, m.major, tension)
        degree = m.progression[bar % 4]
        m.chord = theory.chord(m.key_root, m.major, degree, tension,
                               leading_tone=m.scale is None)
        # A groove repeats (three bars in four keep their pattern) unless the style has
        # moved since it was made: a transition must be heard from its first bar.
        moved = m.pattern_style is None or float(np.max(np.abs(s - m.pattern_style)
                                                        / (S.HI - S.LO))) > 0.1
        new_meter = meter != m.pattern_meter
        keep = (m.patterns is not None and not moved and not new_meter and bar % 4 != 0
                and rng.random() < 0.75)
        if not keep:
            m.patterns = self._patterns(s, rng) if meter.common else self._metered(s, rng, meter)
            m.pattern_style = s.copy()
        if bar % 2 == 0 or new_meter:
            m.motif = self._motif(s, rng, meter)
        m.pattern_meter = meter

    def _patterns(self, s: np.ndarray, rng: np.random.Generator) -> Patterns:
        """Common time: the grooves the band was written with."""
        e = s[S.INDEX["energy"]]
        floor = s[S.INDEX["four_floor"]]
        steps = np.arange(COMMON.bar_steps)
        meter_pulses = COMMON.pulse_starts
        beat = steps % 4 == 0
        eighth = steps % 2 == 0
        four = beat.astype(float)
        backbeat = np.isin(steps, (0, 10)).astype(float) + 0.5 * np.isin(steps, (7, 8))
        kick_p = floor * four + (1 - floor) * (backbeat + 0.25 * e * np.isin(steps, (3, 6, 14)))
        if e < 0.2:
            kick_p = np.where(steps == 0, 0.9, 0.0)
        snare_p = np.isin(steps, (12,) if e < 0.3 else (4, 12)).astype(float)
        snare_p += 0.18 * e * ((steps % 2 == 1) & ~np.isin(steps, (3, 11)))
        if e < 0.3:
            hats_p = np.where(beat, 0.7, 0.0)
        elif e < 0.62:
            hats_p = np.where(eighth, 0.95, 0.05)
        else:
            hats_p = np.where(eighth, 1.0, 0.75)
        open_p = floor * np.isin(steps, (2, 6, 10, 14)) * 0.8
        if e < 0.3:
            bass_p = np.where(steps == 0, 1.0, 0.0) + 0.3 * (steps == 8)
        elif e < 0.65:
            bass_p = np.isin(steps, (0, 6, 8)).astype(float) + 0.3 * np.isin(steps, (3, 11, 14))
        else:
            bass_p = np.where(eighth, 0.9, 0.25)
        bass_p = (1 - 0.7 * floor) * bass_p + 0.7 * floor * np.isin(steps, (2, 6, 10, 14))
        arp_p = np.where(eighth, 1.0, 1.0 if e > 0.45 else 0.0)
        lead_p = np.where(eighth, 0.25 + 0.6 * e, 0.12 * e) + 0.3 * np.isin(steps, (0, 8))
        return Patterns(
            kick=_bernoulli(rng, kick_p), snare=_bernoulli(rng, snare_p),
            hats=_bernoulli(rng, hats_p), open_hats=_bernoulli(rng, open_p),
            bass=_bernoulli(rng, bass_p), arp=arp_p > 0.5, lead=_bernoulli(rng, lead_p),
            hand=_hand_pattern(s, rng, steps, eighth, np.isin(steps, meter_pulses)),
        )

    def _metered(self, s: np.ndarray, rng: np.random.Generator, meter: Meter) -> Patterns:
        """Any other meter: the same players, placed on the meter's pulses (a waltz's
        kick on one and snare on two and three; 6/8's kick and snare a dotted quarter
        apart; four-on-the-floor means a kick on every pulse)."""
        e = s[S.INDEX["energy"]]
        floor = s[S.INDEX["four_floor"]]
        steps = np.arange(meter.bar_steps)
        meter_pulses = meter.pulse_starts
        eighth = steps % 2 == 0
        pulse = np.isin(steps, meter.pulse_starts)
        strong = np.isin(steps, meter.strong_starts).astype(float)
        back = np.isin(steps, meter.backbeats)
        off = np.isin(steps, meter.offbeats)
        before = np.isin(steps, [p - 2 for p in meter.pulse_starts if p >= 2])  # pickups
        kick_p = floor * pulse + (1 - floor) * (strong + 0.25 * e * (before & ~pulse))
        if e < 0.2:
            kick_p = np.where(steps == 0, 0.9, 0.0)
        last_back = steps == (meter.backbeats[-1] if meter.backbeats else -1)
        snare_p = (last_back if e < 0.3 else back).astype(float)
        snare_p += 0.18 * e * ((steps % 2 == 1) & ~np.isin(steps + 1, meter.pulse_starts))
        if e < 0.3:
            hats_p = np.where(pulse, 0.7, 0.0)
        elif e < 0.62:
            hats_p = np.where(eighth, 0.95, 0.05)
        else:
            hats_p = np.where(eighth, 1.0, 0.75)
        open_p = floor * off * 0.8
        if e < 0.3:
            bass_p = np.where(steps == 0, 1.0, 0.0) + 0.3 * (strong * (steps > 0))
        elif e < 0.65:
            bass_p = strong + 0.6 * (pulse & (strong == 0)) + 0.3 * (off & ~pulse)
        else:
            bass_p = np.where(eighth, 0.9, 0.25)
        bass_p = (1 - 0.7 * floor) * bass_p + 0.7 * floor * off
        arp_p = np.where(eighth, 1.0, 1.0 if e > 0.45 else 0.0)
        lead_p = np.where(eighth, 0.25 + 0.6 * e, 0.12 * e) + 0.3 * strong
        return Patterns(
            kick=_bernoulli(rng, kick_p), snare=_bernoulli(rng, snare_p),
            hats=_bernoulli(rng, hats_p), open_hats=_bernoulli(rng, open_p),
            bass=_bernoulli(rng, bass_p), arp=arp_p > 0.5, lead=_bernoulli(rng, lead_p),
            hand=_hand_pattern(s, rng, steps, eighth, np.isin(steps, meter_pulses)),
        )

    def _motif(self, s: np.ndarray, rng: np.random.Generator,
               meter: Meter = COMMON) -> list[tuple[int, int]]:
        """A two-bar rhythm with scale-step moves; bars repeat it so melodies have shape."""
        e = s[S.INDEX["energy"]]
        motif = []
        strong = set(meter.strong_starts)
        for step in range(2 * meter.bar_steps):
            accent = step % 8 == 0 if meter.common else step % meter.bar_steps in strong
            p = (0.55 if accent else 0.3 if step % 2 == 0 else 0.06) * (0.4 + e)
            if rng.random() < p:
                motif.append((step, int(rng.integers(-2, 3))))
        return motif or [(0, 0)]

    # --------------------------------------------------------------- step-level playing
    def on_step(self, m: Musician, bar: int, sib: int, meter: Meter, start: int,
                step_samples: float, s: np.ndarray, sampling: Sampling,
                rng: np.random.Generator, out: Sounding) -> None:
        """Queue the notes that begin at sixteenth ``sib`` of ``bar`` (sounding at sample
        ``start``); bars are in ``meter``."""
        if sib == 0 or m.patterns is None:
            self.start_bar(m, bar, s, rng, meter)
        p = m.patterns
        assert p is not None
        e = float(s[S.INDEX["energy"]])
        bright = float(s[S.INDEX["brightness"]])
        bar_steps, middle = meter.bar_steps, meter.middle

        fill = bar % 4 == 3 and sib >= bar_steps - 4 and e > 0.55
        space = float(s[S.INDEX["space"]])
        if p.kick[sib] and s[S.INDEX["kick"]] > 0.02:
            self._hit(out, start, "kick", 0.9 + 0.1 * (sib == 0), 0.0,
                      0.16 + 0.3 * space * (1 - e), pitch=0.8 + 0.3 * bright)
        if (p.snare[sib] or (fill and rng.random() < 0.7)) and s[S.INDEX["snare"]] > 0.02:
            ghost = sib not in ((4, 12) if meter.common else meter.backbeats)
            brush = float(s[S.INDEX["brushes"]])
            self._hit(out, start, "snare", (0.45 if ghost else 1.0) * (1 - 0.3 * brush), -0.05,
                      0.09 + 0.12 * space, clap=float(s[S.INDEX["four_floor"]]) * 0.8 * (1 - brush),
                      variant=int(rng.integers(0, 8)), brush=brush)
        if (p.hats[sib] or p.open_hats[sib]) and s[S.INDEX["hats"]] > 0.02:
            open_hat = bool(p.open_hats[sib])
            accent = 1.0 if sib % 4 == 2 else 0.7 if sib % 2 == 0 else 0.5
            brush = float(s[S.INDEX["brushes"]])
            self._hit(out, start, "hats", accent * (1 - 0.4 * brush), 0.3,
                      (0.16 if open_hat else 0.022 + 0.02 * e) * (1 + brush),
                      variant=int(rng.integers(0, 8)), brush=brush)
        if p.hand is not None and p.hand[sib] and s[S.INDEX["hand"]] > 0.02:
            pulse_starts = COMMON.pulse_starts if meter.common else meter.pulse_starts
            variant = 0 if sib == 0 else 1 if sib in pulse_starts else 3 if sib % 4 == 2 else 2
            self._hit(out, start, "hand", 0.9 if variant < 2 else 0.6, -0.25 if sib % 2 else 0.2,
                      0.16 if variant == 0 else 0.09, pitch=0.9 + 0.2 * bright, variant=variant)

        if p.bass[sib] and s[S.INDEX["bass"]] > 0.02:
            self._bass(m, sib, start, step_samples, s, rng, out)
        split = e > 0.6 and middle > 0
        if (sib == 0 or (split and sib == middle)) and s[S.INDEX["pad"]] > 0.02:
            # A chord per bar, restruck at the middle pulse when the energy is up.
            steps = bar_steps if not split else middle if sib == 0 else bar_steps - middle
            self._pad(m, start, step_samples * steps, s, out)
        if p.arp[sib] and s[S.INDEX["arp"]] > 0.02:
            self._arp(m, start, step_samples, s, out)
        motif_step = (bar % 2) * bar_steps + sib
        for mstep, move in m.motif:
            if mstep == motif_step and s[S.INDEX["lead"]] > 0.02:
                self._lead(m, sib, move, start, step_samples, s, sampling, rng, out)

    # ------------------------------------------------------------------------ players
    def _timbre(self, s: np.ndarray, base: dict[str, float]) -> dict[str, float]:
        mix = dict(base)
        for name, family in (("piano", "piano"), ("strings", "strings"), ("choir", "choir"),
                             ("guitar", "guitar"), ("chip", "square"), ("brass", "brass"),
                             ("woodwind", "reed"), ("organ", "organ")):
            mix[family] = mix.get(family, 0.0) + 2.0 * float(s[S.INDEX[name]])
        return mix

    def _bass(self, m, sib, start, step_samples, s, rng, out) -> None:
        e = float(s[S.INDEX["energy"]])
        root = m.chord[0]
        pitch = 36 + (root - 36) % 12
        if e > 0.6 and sib % 8 == 6 and rng.random() < 0.5:
            pitch += 12 if rng.random() < 0.5 else 7
        freq = float(theory.midi_to_hz(pitch))
        mix = self._timbre(s, {"saw": 0.4 + e, "soft": 1.2 - e})
        mix.pop("choir", None)
        mix["strings"] = mix.get("strings", 0) * 0.3
        row = self.tables.row(mix, freq, 0.2 + 0.6 * float(s[S.INDEX["brightness"]]))
        gate_k, release_k = articulation(s)
        gate = step_samples * (2 if e > 0.6 else 4 if e > 0.3 else 12) * 0.9 * gate_k
        self._tone(out, start, "bass", 0.9, 0.0, row, freq, gate, 0.004 * SAMPLE_RATE,
                   0.25 * SAMPLE_RATE, 0.6, 0.03 * SAMPLE_RATE * release_k)

    def _pad(self, m, start, length, s, out) -> None:
        e = float(s[S.INDEX["energy"]])
        piano = float(s[S.INDEX["piano"]])
        strings = float(s[S.INDEX["strings"]]) + float(s[S.INDEX["choir"]])
        attack = (0.6 - 0.5 * e) * (1 - piano) + 0.005 * piano
        sustain = 0.8 * (1 - piano) + 0.05
        attack, sustain = _onset_shape(s, attack, sustain, 0.15)
        gate_k, release_k = articulation(s)
        release = (0.35 + 0.5 * float(s[S.INDEX["space"]])) * release_k
        tone_colour = colour(s)
        vib = 0.08 * strings + 0.3 * float(s[S.INDEX["vibrato"]])
        mix = self._timbre(s, {"saw": 0.5 * e + 0.2, "soft": 1.0 - 0.6 * e})
        mix["piano"] = mix.get("piano", 0.0) * 0.7
        bright = float(s[S.INDEX["brightness"]])
        voicing = [60 + (p - 60) % 12 for p in m.chord]  # close voicing around middle C
        for i, pitch in enumerate(sorted(voicing)):
            freq = float(theory.midi_to_hz(pitch - 12 * (bright < 0.25)))
            row = self.tables.row(mix, freq, bright)
            pan = -0.45 + 0.9 * i / max(1, len(voicing) - 1)
            self._tone(out, start, "pad", 0.6, pan, row, freq, length * 0.97 * min(1.0, gate_k),
                       attack * SAMPLE_RATE, 1.2 * SAMPLE_RATE, sustain, release * SAMPLE_RATE,
                       vib, tone_colour)

    def _arp(self, m, start, step_samples, s, out) -> None:
        notes = sorted(60 + (p - 60) % 12 for p in m.chord)
        span = notes + [n + 12 for n in notes]
        pitch = span[m.arp_index % len(span)]
        m.arp_index += 1
        freq = float(theory.midi_to_hz(pitch + 12 * (s[S.INDEX["brightness"]] > 0.6)))
        mix = self._timbre(s, {"soft": 0.8, "saw": 0.4})
        row = self.tables.row(mix, freq, float(s[S.INDEX["brightness"]]))
        pan = 0.35 if m.arp_index % 2 else -0.35
        gate_k, release_k = articulation(s)
        self._tone(out, start, "arp", 0.55, pan, row, freq, step_samples * 0.8 * gate_k,
                   0.002 * SAMPLE_RATE, 0.12 * SAMPLE_RATE, 0.15, 0.05 * SAMPLE_RATE * release_k,
                   colour=colour(s))

    def _lead(self, m, sib, move, start, step_samples, s, sampling, rng, out) -> None:
        bright = float(s[S.INDEX["brightness"]])
        low = 62 + int(6 * bright)
        pitches = theory.scale_pitches(m.key_root, m.major, low, low + 19)
        chord_pcs = {p % 12 for p in m.chord}
        current = int(np.clip(m.melody_index, 0, len(pitches) - 1))
        target = current + move
        candidates = np.arange(len(pitches))
        dist = np.abs(candidates - target)
        weights = np.exp(-dist / 1.2)
        weights *= np.where(np.isin(pitches % 12, list(chord_pcs)), 3.0 if sib % 4 == 0 else 1.6, 1)
        weights *= np.exp(-np.abs(candidates - len(pitches) / 2) / 12.0)  # stay mid-range
        m.melody_index = _choose(rng, weights, sampling)
        freq = float(theory.midi_to_hz(pitches[m.melody_index]))
        mix = self._timbre(s, {"soft": 1.0, "saw": 0.6 * float(s[S.INDEX["energy"]])})
        row = self.tables.row(mix, freq, bright)
        piano = min(1.0, float(s[S.INDEX["piano"]]) + float(s[S.INDEX["guitar"]]))
        vib = 0.25 * (float(s[S.INDEX["strings"]]) + float(s[S.INDEX["choir"]])) + 0.05
        vib += 0.5 * float(s[S.INDEX["vibrato"]]) + 0.15 * float(s[S.INDEX["woodwind"]])
        gate_k, release_k = articulation(s)
        gate = step_samples * (4 if sib % 4 == 0 else 2) * 0.95 * gate_k
        attack, sustain = _onset_shape(s, 0.01, 0.7 * (1 - piano), 0.07)
        self._tone(out, start, "lead", 0.7, 0.15, row, freq, gate, attack * SAMPLE_RATE,
                   (0.5 + 0.6 * (1 - piano)) * SAMPLE_RATE, sustain,
                   0.09 * SAMPLE_RATE * release_k, vib, colour(s))
