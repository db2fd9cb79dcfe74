"""The procedural engine's style vector: a small set of named musical dimensions.

Each dimension has a range and a neutral value (what a prompt that says nothing about it
gets). A prompt's vector is built by the lexicon; a blend is the weighted mean of vectors,
which is meaningful here because every dimension is a continuous musical quantity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Dim:
    name: str
    lo: float
    hi: float
    neutral: float
    doc: str


DIMS: tuple[Dim, ...] = (
    Dim("tempo", 50.0, 200.0, 108.0, "beats per minute"),
    Dim("energy", 0.0, 1.0, 0.5, "note density, drum fills, overall drive"),
    Dim("brightness", 0.0, 1.0, 0.5, "harmonic content and master low-pass"),
    Dim("mode", 0.0, 1.0, 0.55, "0 = minor, 1 = major (switches on phrase boundaries)"),
    Dim("swing", 0.0, 0.6, 0.0, "delay of off-beat sixteenths, 0.33 = triplet feel"),
    Dim("space", 0.0, 1.0, 0.3, "reverb send"),
    Dim("drive", 0.0, 1.0, 0.0, "distortion on bass, lead and guitar"),
    Dim("tension", 0.0, 1.0, 0.3, "chord colour: sevenths, suspensions, diminished chords"),
    Dim("four_floor", 0.0, 1.0, 0.3, "kick pattern: 0 = backbeat groove, 1 = four on the floor"),
    Dim("kick", 0.0, 1.0, 0.5, "kick drum level"),
    Dim("snare", 0.0, 1.0, 0.5, "snare / clap level"),
    Dim("hats", 0.0, 1.0, 0.5, "hi-hat level"),
    Dim("bass", 0.0, 1.0, 0.5, "bass level"),
    Dim("pad", 0.0, 1.0, 0.5, "chord pad level"),
    Dim("lead", 0.0, 1.0, 0.4, "melody level"),
    Dim("arp", 0.0, 1.0, 0.3, "arpeggio level"),
    Dim("piano", 0.0, 1.0, 0.0, "piano timbre weight (lead, arpeggio, chords)"),
    Dim("strings", 0.0, 1.0, 0.0, "string-section timbre weight (pad, lead)"),
    Dim("choir", 0.0, 1.0, 0.0, "choir timbre weight (pad)"),
    Dim("guitar", 0.0, 1.0, 0.0, "guitar timbre weight (lead, chords, bass)"),
    Dim("chip", 0.0, 1.0, 0.0, "8-bit square-wave timbre weight (all pitched voices)"),
    Dim("brass", 0.0, 1.0, 0.0, "brass timbre weight: saw-rich, formant, slow attack (pad, lead)"),
    Dim("woodwind", 0.0, 1.0, 0.0, "woodwind timbre weight: reed/flute table, breath noise"),
    Dim("organ", 0.0, 1.0, 0.0, "organ timbre weight: additive drawbars, no decay (pad, lead)"),
    Dim("pluck", 0.0, 1.0, 0.0, "plucked-string weight: modal string partials (harp, sitar)"),
    Dim("mallet", 0.0, 1.0, 0.0, "mallet weight: modal bar partials (marimba, vibraphone)"),
    Dim("bell", 0.0, 1.0, 0.0, "bell weight: inharmonic modal partials (bells, celesta)"),
    Dim("hand", 0.0, 1.0, 0.0, "frame and hand percussion level (tabla, congas, bodhran)"),
    Dim("brushes", 0.0, 1.0, 0.0, "0 = sticks, 1 = brushes on snare and hats"),
    Dim("staccato", 0.0, 1.0, 0.5, "note length: 0 = legato, 0.5 = as written, 1 = staccato"),
    Dim("vibrato", 0.0, 1.0, 0.0, "extra vibrato / tremolo depth on pad and lead"),
)

INDEX: dict[str, int] = {d.name: i for i, d in enumerate(DIMS)}
NAMES: tuple[str, ...] = tuple(d.name for d in DIMS)
LO = np.array([d.lo for d in DIMS], dtype=np.float64)
HI = np.array([d.hi for d in DIMS], dtype=np.float64)
NEUTRAL = np.array([d.neutral for d in DIMS], dtype=np.float64)
SIZE = len(DIMS)

VOICES: tuple[str, ...] = ("kick", "snare", "hats", "bass", "pad", "lead", "arp", "hand")
TIMBRES: tuple[str, ...] = ("piano", "strings", "choir", "guitar", "chip", "brass", "woodwind",
                             "organ", "pluck", "mallet", "bell")


def clip(vector: np.ndarray) -> np.ndarray:
    """Clamp every dimension into its range (blends and glides never leave it)."""
    return np.clip(vector, LO, HI)


def as_dict(vector: np.ndarray) -> dict[str, float]:
    return {name: float(vector[i]) for i, name in enumerate(NAMES)}
