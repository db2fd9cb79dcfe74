"""Finding a vocabulary term for a phrase or an unknown word.

`lookup` matches a phrase exactly, through an alias, or with its hyphens and spaces
dropped ("boss-fight", "bossfight", "lo fi"). `map_word` maps one word the vocabulary
does not hold, in order: a related word (curated: "dragon" -> epic + fantasy); an
inflected or derived form (plurals, -y/-ic/-al/-ish/-ness/-er/-est/-ly/-ing/-ed/-like,
"drumless" = no drums; the base with -al/-y/-ic added: "mystic"); a compound
("synth-driven", "jazz-hop"); a near spelling (difflib, ratio >= 0.86, six letters or
more). Hand-written because no offline word-relation source installs from PyPI with its
data inside (`wn` and NLTK's WordNet download their data at run time, model2vec its model
from the Hugging Face hub; lemminflect/simplemma only lemmatise). Read-only tables;
thread-safe; cached.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

from .vocabulary import ALIASES, FILLER, RELATED, TERMS

_COMPACT: dict[str, str] = {}
for _name in list(TERMS) + list(ALIASES):
    _COMPACT.setdefault(re.sub(r"[-\s']", "", _name), ALIASES.get(_name, _name))
_SINGLE = sorted({n for n in list(TERMS) + list(ALIASES) + list(RELATED) if " " not in n})
# Second halves of compounds that only say "in the manner of": the head word decides.
_MANNER = frozenset({"like", "inspired", "style", "styled", "infused", "driven", "based",
                     "tinged", "flavored", "flavoured", "laden", "esque", "ish", "y", "ey",
                     "type", "influenced", "heavy", "centric", "focused", "oriented",
                     "tinted", "sounding", "feel", "vibe", "vibes"})
_SUFFIXES = (  # (suffix, replacements tried for it), longest first
    ("iness", ("y",)), ("ness", ("",)), ("ically", ("ic", "")), ("ical", ("ic", "", "y")),
    ("ily", ("y",)), ("ly", ("", "le")), ("ies", ("y",)), ("ied", ("y",)), ("ier", ("y",)),
    ("iest", ("y",)), ("est", ("", "e")), ("er", ("", "e")), ("ing", ("", "e")),
    ("ed", ("", "e")), ("es", ("", "e")), ("s", ("",)), ("ish", ("", "e")),
    ("esque", ("", "e")), ("like", ("",)), ("ic", ("", "y", "e", "ics")), ("al", ("", "e", "a")),
    ("y", ("", "e")), ("ey", ("",)), ("a", ("",)), ("ous", ("", "y")), ("ful", ("",)),
    ("ism", ("", "ic")), ("ist", ("", "ic")), ("istic", ("", "ism")), ("ive", ("e", "")),
)


def lookup(phrase: str) -> str | None:
    """The term a phrase names (exactly, by alias, or with hyphens/spaces dropped)."""
    if phrase in TERMS:
        return phrase
    alias = ALIASES.get(phrase)
    if alias:
        return alias
    return _COMPACT.get(re.sub(r"[-\s']", "", phrase))


def _known(word: str) -> tuple[str, ...]:
    term = lookup(word)
    if term:
        return (term,)
    return RELATED.get(word, ())


def _stems(word: str) -> list[str]:
    out = [word + ending for ending in ("al", "y", "ic")]  # mystic -> mystical, glass -> glassy
    for suffix, replacements in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            for r in replacements:
                out.append(stem + r)
            if len(stem) > 3 and stem[-1] == stem[-2]:  # jazzy, poppy, bigger
                out.append(stem[:-1])
    return out


@lru_cache(maxsize=4096)
def map_word(word: str) -> tuple[list[str], bool]:
    """(terms, negated) for a word the vocabulary does not hold; ([], False) if none."""
    found = _known(word)
    if found:
        return list(found), False
    if word.endswith("less") and len(word) > 6:  # drumless, beatless
        head = _known(word[:-4]) or _from_stems(word[:-4])
        if head:
            return list(head), True
    stems = _from_stems(word)
    if stems:
        return list(stems), False
    if "-" in word or "'" in word:
        parts = [p for p in re.split(r"[-']", word) if p]
        terms: list[str] = []
        for k, part in enumerate(parts):
            if (k > 0 and part in _MANNER) or part in FILLER:
                continue
            part_terms = _known(part) or _from_stems(part) or _near(part)
            terms.extend(t for t in part_terms if t not in terms)
        if terms:
            return terms, False
    near = _near(word)
    return list(near), False


def _from_stems(word: str) -> tuple[str, ...]:
    for stem in _stems(word):
        found = _known(stem)
        if found:
            return found
    for stem in _stems(word):  # two suffixes: "spookiness", "dreamily"
        for inner in _stems(stem):
            found = _known(inner)
            if found:
                return found
    return ()


def _near(word: str) -> tuple[str, ...]:
    if len(word) < 6:
        return ()
    close = difflib.get_close_matches(word, _SINGLE, n=1, cutoff=0.86)
    return _known(close[0]) if close else ()
