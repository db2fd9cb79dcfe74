"""Text prompt -> procedural style vector, through the band's vocabulary.

A prompt is split into words; the longest known phrase wins ("drum and bass" before
"bass"), spelling variants included ("lo fi", "lofi", "lo-fi"; "boss-fight"). Every known
term sets some dimensions; a dimension's value is the mean of the values the prompt's
terms give it, and the neutral value when no term mentions it. ``no``/``without`` before
an instrument mutes it (before any other term, turns it the other way) and a number
before ``bpm`` (or ``120bpm``) sets the tempo: both override what the other terms say.
``very``/``slightly`` scale the next term's distance from neutral.

A word the vocabulary does not hold is mapped when it can be (see `wordmap`: inflected
forms, compounds, related words, near spellings) and reported in ``mapped`` with the
terms it became; words with no mapping are returned in ``unknown_words``, never silently
dropped. Pure functions over read-only tables: safe from any thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from . import style, wordmap
from .vocabulary import ALIASES, FILLER, INTENSIFIERS, NEGATIONS, TERMS

__all__ = ["ALIASES", "FILLER", "TERMS", "ParsedPrompt", "content_words", "parse"]

_DRUM_VOICES = ("kick", "snare", "hats")
_VOICE_TERMS = {
    "drums": _DRUM_VOICES, "drum kit": _DRUM_VOICES, "percussion": (*_DRUM_VOICES, "hand"),
    "bass": ("bass",), "pads": ("pad",), "arpeggio": ("arp",), "melody": ("lead",),
    "piano": ("piano",), "strings": ("strings",), "choir": ("choir",), "vocals": ("choir",),
    "guitar": ("guitar",), "synth": ("arp", "pad"), "violin": ("strings",), "cello": ("strings",),
    "kick": ("kick",), "snare": ("snare",), "hi-hats": ("hats",), "cymbals": ("hats",),
}
_TIMBRE_DIMS = (*style.TIMBRES, "hand")
_MAX_PHRASE = 4
_WORD = re.compile(r"\d+/\d+|[a-z0-9]+(?:[-'&][a-z0-9]+)*|&|[,;.!?|]")
_BREAK = ","  # punctuation: phrases never run across it
_BPM = re.compile(r"^(\d{2,3})bpm$")


@dataclass(frozen=True)
class ParsedPrompt:
    vector: np.ndarray
    terms: tuple[str, ...]
    unknown_words: tuple[str, ...]
    mapped: dict[str, tuple[str, ...]] = field(default_factory=dict)  # word -> terms


def words_of(text: str) -> list[str]:
    """The prompt's words, each punctuation mark between them as one ``","``."""
    return [w if w[0].isalnum() or w == "&" else _BREAK for w in _WORD.findall(text.lower())]


def content_words(text: str) -> list[str]:
    """The words of ``text`` that could carry meaning: not filler, not a bare number."""
    return [w for w in words_of(text) if w != _BREAK and w not in FILLER and w not in INTENSIFIERS
            and w not in NEGATIONS and not w.isdigit() and w != "bpm" and not _BPM.match(w)]


def parse(text: str) -> ParsedPrompt:
    """Map one text prompt to a style vector. Pure; never raises on any string."""
    words = words_of(text)
    sums = np.zeros(style.SIZE)
    counts = np.zeros(style.SIZE)
    overrides: dict[str, float] = {}
    terms: list[str] = []
    unknown: list[str] = []
    mapped: dict[str, tuple[str, ...]] = {}
    scale = 1.0
    negate = False
    i = 0
    while i < len(words):
        word = words[i]
        if word == _BREAK:
            scale, negate = 1.0, False
            i += 1
            continue
        bpm = _BPM.match(word)
        if bpm or (word.isdigit() and i + 1 < len(words) and words[i + 1] == "bpm"):
            value = float(bpm.group(1) if bpm else word)
            overrides["tempo"] = value
            terms.append(f"{int(value)} bpm")
            i += 1 if bpm else 2
            continue
        if word in INTENSIFIERS:
            scale = INTENSIFIERS[word]
            i += 1
            continue
        if word in NEGATIONS:
            negate = True
            i += 1
            continue
        found, used = [], 1
        for n in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            if _BREAK in words[i + 1:i + n]:
                continue
            term = wordmap.lookup(" ".join(words[i:i + n]))
            if term:
                found, used = [term], n
                break
        if not found and word not in FILLER and not word.isdigit():
            found, negated = wordmap.map_word(word)
            if found:
                mapped[word] = tuple(found)
                negate = negate or negated
            else:
                unknown.append(word)
        for term in found:
            _apply(term, negate, scale, sums, counts, overrides, terms)
        if found:
            scale, negate = 1.0, False
        i += used
    vector = np.where(counts > 0, sums / np.maximum(counts, 1), style.NEUTRAL)
    for name, value in overrides.items():
        vector[style.INDEX[name]] = value
    return ParsedPrompt(style.clip(vector), tuple(terms), tuple(unknown), mapped)


def _apply(term: str, negate: bool, scale: float, sums: np.ndarray, counts: np.ndarray,
           overrides: dict[str, float], terms: list[str]) -> None:
    values = TERMS[term]
    if negate:
        voices = _VOICE_TERMS.get(term) or tuple(
            d for d in _TIMBRE_DIMS if values.get(d, 0.0) >= 0.3)
        if voices:
            overrides.update({d: 0.0 for d in voices})
        else:  # "no reverb", "not fast": the term's pull, reversed
            _add(sums, counts, values, -scale)
        terms.append(f"no {term}")
        return
    _add(sums, counts, values, scale)
    terms.append(term)


def _add(sums: np.ndarray, counts: np.ndarray, values: dict[str, float], scale: float) -> None:
    for name, value in values.items():
        j = style.INDEX[name]
        neutral = style.NEUTRAL[j]
        sums[j] += neutral + scale * (value - neutral)
        counts[j] += 1
