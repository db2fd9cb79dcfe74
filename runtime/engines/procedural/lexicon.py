"""Text prompt -> procedural style vector, through a lexicon of musical terms.

A prompt is split into words; the longest known phrase wins ("drum and bass" before
"bass"). Every known term sets some dimensions; a dimension's value is the mean of the
values the prompt's terms give it, and the neutral value when no term mentions it.
``no``/``without`` before an instrument mutes it and a number before ``bpm`` (or
``120bpm``) sets the tempo: both override what the other terms say. ``very``/``slightly``
scale the next term's distance from neutral.
Words the lexicon does not know are returned, never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from . import style

_DRUMS = {"kick": 0.9, "snare": 0.8, "hats": 0.8}

# term -> the dimensions it sets. Values are in each dimension's own units.
TERMS: dict[str, dict[str, float]] = {
    # --- genres ---------------------------------------------------------------------
    "ambient": {"tempo": 70, "energy": 0.1, "kick": 0.05, "snare": 0.0, "hats": 0.05,
                "pad": 0.95, "space": 0.9, "lead": 0.3, "arp": 0.25, "brightness": 0.35,
                "drive": 0.0},
    "techno": {"tempo": 130, "energy": 0.8, "four_floor": 1.0, "kick": 1.0, "snare": 0.4,
               "hats": 0.9, "bass": 0.8, "arp": 0.7, "mode": 0.2, "space": 0.35,
               "lead": 0.2},
    "house": {"tempo": 124, "energy": 0.7, "four_floor": 1.0, "kick": 0.95, "snare": 0.7,
              "hats": 0.85, "bass": 0.8, "pad": 0.6, "mode": 0.7, "swing": 0.15},
    "trance": {"tempo": 138, "energy": 0.8, "four_floor": 1.0, "kick": 0.9, "arp": 0.9,
               "pad": 0.8, "space": 0.6, "brightness": 0.75},
    "jazz": {"tempo": 118, "energy": 0.45, "swing": 0.33, "tension": 0.85, "piano": 0.8,
             "kick": 0.35, "snare": 0.35, "hats": 0.6, "bass": 0.7, "mode": 0.6,
             "four_floor": 0.0, "drive": 0.0},
    "orchestral": {"tempo": 96, "energy": 0.55, "strings": 1.0, "choir": 0.3, "pad": 0.85,
                   "lead": 0.7, "kick": 0.45, "snare": 0.25, "hats": 0.0, "space": 0.75,
                   "drive": 0.0, "four_floor": 0.0},
    "classical": {"tempo": 90, "energy": 0.35, "strings": 0.8, "piano": 0.6, "kick": 0.0,
                  "snare": 0.0, "hats": 0.0, "space": 0.6, "drive": 0.0},
    "cinematic": {"tempo": 84, "energy": 0.6, "strings": 0.9, "choir": 0.5, "pad": 0.9,
                  "kick": 0.6, "space": 0.85, "tension": 0.55, "hats": 0.1,
                  "four_floor": 0.0},
    "rock": {"tempo": 128, "energy": 0.8, "guitar": 1.0, "drive": 0.6, "kick": 0.85,
             "snare": 0.9, "hats": 0.7, "bass": 0.75, "four_floor": 0.0, "space": 0.25,
             "brightness": 0.65},
    "metal": {"tempo": 172, "energy": 1.0, "guitar": 1.0, "drive": 1.0, "kick": 0.95,
              "snare": 0.9, "hats": 0.75, "bass": 0.85, "mode": 0.1, "four_floor": 0.0,
              "brightness": 0.8, "tension": 0.6, "space": 0.15, "pad": 0.2},
    "lo-fi": {"tempo": 78, "energy": 0.35, "swing": 0.25, "brightness": 0.2, "piano": 0.7,
              "kick": 0.7, "snare": 0.6, "hats": 0.45, "tension": 0.6, "space": 0.35,
              "four_floor": 0.0},
    "hip hop": {"tempo": 90, "energy": 0.55, "swing": 0.2, "kick": 0.9, "snare": 0.85,
                "bass": 0.85, "four_floor": 0.0, "hats": 0.6},
    "drum and bass": {"tempo": 174, "energy": 0.9, "kick": 0.8, "snare": 0.9, "hats": 0.8,
                      "bass": 1.0, "four_floor": 0.0, "pad": 0.5},
    "folk": {"tempo": 100, "energy": 0.35, "guitar": 0.8, "drive": 0.0, "kick": 0.3,
             "snare": 0.2, "hats": 0.2, "mode": 0.8, "space": 0.4, "brightness": 0.5},
    "chiptune": {"tempo": 150, "energy": 0.8, "chip": 1.0, "arp": 1.0, "lead": 0.8,
                 "space": 0.05, "brightness": 0.9, "mode": 0.8, "drive": 0.0},
    "synthwave": {"tempo": 110, "energy": 0.65, "arp": 0.8, "pad": 0.8, "bass": 0.8,
                  "four_floor": 0.7, "space": 0.6, "brightness": 0.6, "mode": 0.35},
    "funk": {"tempo": 108, "energy": 0.7, "swing": 0.2, "bass": 0.95, "guitar": 0.5,
             "snare": 0.85, "hats": 0.8, "four_floor": 0.0, "mode": 0.65, "tension": 0.6},
    "disco": {"tempo": 120, "energy": 0.75, "four_floor": 1.0, "strings": 0.6, "bass": 0.9,
              "hats": 0.9, "mode": 0.85},
    "pop": {"tempo": 116, "energy": 0.6, "mode": 0.85, "lead": 0.7, "pad": 0.6,
            "brightness": 0.65, "tension": 0.2},
    "electronic": {"tempo": 124, "energy": 0.65, "arp": 0.6, "bass": 0.7, "four_floor": 0.6},
    "blues": {"tempo": 84, "energy": 0.45, "swing": 0.33, "guitar": 0.8, "tension": 0.7,
              "mode": 0.4, "piano": 0.4},
    "industrial": {"tempo": 128, "energy": 0.9, "drive": 0.85, "mode": 0.0, "kick": 1.0,
                   "snare": 0.8, "brightness": 0.7, "tension": 0.8, "four_floor": 0.6},
    # --- instruments ----------------------------------------------------------------
    "piano": {"piano": 1.0, "lead": 0.7, "arp": 0.45, "pad": 0.55},
    "strings": {"strings": 1.0, "pad": 0.9, "lead": 0.55},
    "violin": {"strings": 1.0, "lead": 0.85},
    "cello": {"strings": 1.0, "pad": 0.8, "bass": 0.6, "brightness": 0.3},
    "choir": {"choir": 1.0, "pad": 0.95},
    "guitar": {"guitar": 1.0, "lead": 0.6, "arp": 0.5},
    "synth": {"chip": 0.0, "arp": 0.65, "pad": 0.65, "lead": 0.6},
    "drums": dict(_DRUMS),
    "percussion": {"kick": 0.7, "snare": 0.6, "hats": 0.9},
    "bass": {"bass": 0.95},
    "pads": {"pad": 0.95},
    "arpeggio": {"arp": 0.95},
    "melody": {"lead": 0.85},
    "808": {"kick": 1.0, "bass": 0.9, "hats": 0.8},
    "organ": {"pad": 0.8, "brightness": 0.55, "choir": 0.3},
    "drones": {"pad": 1.0, "energy": 0.1, "space": 0.8, "tempo": 64, "lead": 0.1,
               "arp": 0.0},
    "heartbeat": {"kick": 0.9, "tempo": 72, "snare": 0.0, "hats": 0.0, "energy": 0.3},
    # --- moods and textures ------------------------------------------------------------
    "dark": {"mode": 0.0, "brightness": 0.2, "tension": 0.6},
    "calm": {"energy": 0.15, "tempo": 72, "drive": 0.0, "space": 0.6, "kick": 0.15,
             "snare": 0.05},
    "peaceful": {"energy": 0.12, "tempo": 70, "mode": 0.85, "drive": 0.0, "space": 0.65},
    "tense": {"tension": 0.95, "mode": 0.15, "energy": 0.6},
    "happy": {"mode": 1.0, "brightness": 0.7, "tension": 0.1, "energy": 0.6},
    "sad": {"mode": 0.05, "tempo": 76, "energy": 0.25, "brightness": 0.3},
    "melancholic": {"mode": 0.1, "tempo": 80, "energy": 0.3, "tension": 0.5},
    "epic": {"energy": 0.85, "strings": 0.7, "choir": 0.5, "kick": 0.85, "space": 0.7,
             "pad": 0.9},
    "dreamy": {"space": 0.95, "brightness": 0.45, "arp": 0.6, "energy": 0.25, "pad": 0.8},
    "aggressive": {"energy": 0.95, "drive": 0.7, "brightness": 0.7, "tension": 0.6},
    "energetic": {"energy": 0.9, "tempo": 140},
    "relaxing": {"energy": 0.15, "tempo": 74, "space": 0.6, "drive": 0.0},
    "mysterious": {"mode": 0.2, "tension": 0.8, "space": 0.75, "energy": 0.3},
    "ominous": {"mode": 0.0, "tension": 0.85, "brightness": 0.15, "energy": 0.35},
    "eerie": {"tension": 0.9, "space": 0.85, "brightness": 0.3, "energy": 0.2},
    "uplifting": {"mode": 1.0, "energy": 0.7, "brightness": 0.7},
    "triumphant": {"mode": 1.0, "energy": 0.85, "strings": 0.5, "kick": 0.7},
    "playful": {"mode": 0.95, "swing": 0.2, "energy": 0.6, "arp": 0.6},
    "warm": {"brightness": 0.3, "drive": 0.1},
    "bright": {"brightness": 0.9},
    "soft": {"energy": 0.2, "brightness": 0.3, "drive": 0.0},
    "gentle": {"energy": 0.18, "brightness": 0.35, "drive": 0.0},
    "heavy": {"energy": 0.9, "drive": 0.8, "kick": 0.9, "bass": 0.9},
    "intense": {"energy": 0.9, "tension": 0.7},
    "distorted": {"drive": 1.0},
    "sparse": {"energy": 0.1},
    "minimal": {"energy": 0.25, "pad": 0.3, "lead": 0.2},
    "dense": {"energy": 0.85},
    "lush": {"pad": 1.0, "space": 0.8, "strings": 0.4},
    "groovy": {"swing": 0.2, "bass": 0.85, "energy": 0.6},
    "swing": {"swing": 0.33},
    "dripping": {"space": 0.8, "hats": 0.3},
    "pulse": {"four_floor": 1.0, "kick": 0.8},
    # --- tempo words -------------------------------------------------------------------
    "slow": {"tempo": 68, "energy": 0.3},
    "fast": {"tempo": 160, "energy": 0.8},
    "moderate": {"tempo": 104},
    "uptempo": {"tempo": 140, "energy": 0.7},
    "downtempo": {"tempo": 86, "energy": 0.35},
}

# Spelling variants that mean one term.
ALIASES: dict[str, str] = {
    "lofi": "lo-fi", "lo fi": "lo-fi", "hiphop": "hip hop", "hip-hop": "hip hop",
    "dnb": "drum and bass", "drum & bass": "drum and bass", "drum n bass": "drum and bass",
    "orchestra": "orchestral", "cinema": "cinematic", "film": "cinematic",
    "chip": "chiptune", "8-bit": "chiptune", "8bit": "chiptune", "synths": "synth",
    "synthesizer": "synth", "guitars": "guitar", "drum": "drums", "pad": "pads",
    "arpeggios": "arpeggio", "arp": "arpeggio", "arps": "arpeggio", "drone": "drones",
    "violins": "violin", "choral": "choir", "aggressively": "aggressive", "electro": "electronic",
    "edm": "electronic", "quick": "fast", "rapid": "fast", "relaxed": "relaxing",
    "chill": "relaxing", "scary": "ominous", "creepy": "eerie", "joyful": "happy",
    "sombre": "melancholic", "somber": "melancholic", "heroic": "triumphant",
    "hopeful": "uplifting", "quiet": "soft", "loud": "intense", "synthpop": "pop",
}

# Words that carry no musical meaning here; they are recognised, not unknown.
FILLER = frozenset({
    "a", "an", "the", "and", "with", "of", "in", "on", "some", "for", "to", "plus", "style",
    "music", "track", "song", "vibe", "vibes", "feel", "feeling", "like", "sound", "sounds",
    "mood", "tones", "tone", "&", "or", "at", "by", "very", "slightly", "no", "without",
})

_INTENSIFIERS = {"very": 1.5, "extremely": 1.8, "super": 1.5, "slightly": 0.5, "somewhat": 0.6,
                 "little": 0.5, "a bit": 0.5}
_NEGATIONS = {"no", "without", "not", "non"}
_VOICE_TERMS = {
    "drums": ("kick", "snare", "hats"), "percussion": ("kick", "snare", "hats"),
    "bass": ("bass",), "pads": ("pad",), "arpeggio": ("arp",), "melody": ("lead",),
    "piano": ("piano",), "strings": ("strings",), "choir": ("choir",),
    "guitar": ("guitar",), "synth": ("arp", "pad"), "violin": ("strings",), "cello": ("strings",),
}
_MAX_PHRASE = 3
_WORD = re.compile(r"[a-z0-9]+(?:[-'&][a-z0-9]+)*|&")
_BPM = re.compile(r"^(\d{2,3})bpm$")


@dataclass(frozen=True)
class ParsedPrompt:
    vector: np.ndarray
    terms: tuple[str, ...]
    unknown_words: tuple[str, ...]


def _lookup(phrase: str) -> str | None:
    phrase = ALIASES.get(phrase, phrase)
    return phrase if phrase in TERMS else None


def parse(text: str) -> ParsedPrompt:
    """Map one text prompt to a style vector. Pure; never raises on any string."""
    words = _WORD.findall(text.lower())
    sums = np.zeros(style.SIZE)
    counts = np.zeros(style.SIZE)
    overrides: dict[str, float] = {}
    terms: list[str] = []
    unknown: list[str] = []
    scale = 1.0
    negate = False
    i = 0
    while i < len(words):
        word = words[i]
        # "120 bpm" or "120bpm"
        bpm = _BPM.match(word)
        if bpm or (word.isdigit() and i + 1 < len(words) and words[i + 1] == "bpm"):
            value = float(bpm.group(1) if bpm else word)
            overrides["tempo"] = value
            terms.append(f"{int(value)} bpm")
            i += 1 if bpm else 2
            continue
        if word in _INTENSIFIERS:
            scale = _INTENSIFIERS[word]
            i += 1
            continue
        if word in _NEGATIONS:
            negate = True
            i += 1
            continue
        term, used = None, 1
        for n in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            term = _lookup(" ".join(words[i:i + n]))
            if term:
                used = n
                break
        if term is None:
            if word not in FILLER:
                unknown.append(word)
            i += 1
            continue
        if negate and term in _VOICE_TERMS:
            overrides.update({d: 0.0 for d in _VOICE_TERMS[term]})
            terms.append(f"no {term}")
        else:
            _add(sums, counts, TERMS[term], scale)
            terms.append(term)
        scale, negate = 1.0, False
        i += used
    vector = np.where(counts > 0, sums / np.maximum(counts, 1), style.NEUTRAL)
    for name, value in overrides.items():
        vector[style.INDEX[name]] = value
    return ParsedPrompt(style.clip(vector), tuple(terms), tuple(unknown))


def _add(sums: np.ndarray, counts: np.ndarray, values: dict[str, float], scale: float) -> None:
    for name, value in values.items():
        j = style.INDEX[name]
        neutral = style.NEUTRAL[j]
        sums[j] += neutral + scale * (value - neutral)
        counts[j] += 1
