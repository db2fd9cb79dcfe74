"""The procedural band's vocabulary: every term, its category and the dimensions it sets.

Built once at import from `terms_music` and `terms_words` (bases resolved: a term's
value for a dimension is the mean of its bases' values, then its own dims on top), and
checked: every dimension name exists, no term is defined twice, aliases point at terms.
`markdown()` renders the table documented in docs/scenes.md ("Vocabulary"); run
``python -m cadenza.runtime.engines.procedural.vocabulary --update docs/scenes.md`` to
regenerate it (``--markdown`` prints it).
Read-only after import; safe to share between threads.
"""

from __future__ import annotations

import argparse
import re
import sys

from . import style
from .terms_more import (
    MORE_ALIASES,
    MORE_GENRES,
    MORE_INSTRUMENTS,
    MORE_MOODS,
    MORE_PRODUCTION,
    MORE_RELATED,
    MORE_SCENES,
    MORE_TECHNIQUES,
)
from .terms_music import ENSEMBLES, GENRES, INSTRUMENTS, Spec
from .terms_places import PLACES
from .terms_words import MOODS, PRODUCTION, SCENES, TECHNIQUES, TEMPO
from .terms_words import RELATED as _RELATED

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("genre", "Genres and styles"), ("instrument", "Instruments"), ("ensemble", "Ensembles"),
    ("technique", "Playing techniques and articulations"), ("mood", "Moods and adjectives"),
    ("scene", "Scenes and situations"), ("production", "Production"),
    ("tempo", "Tempo and meter"),
)

# Spelling variants and synonyms that mean exactly one term.
ALIASES: dict[str, str] = {
    "lofi": "lo-fi", "hiphop": "hip hop", "rap": "hip hop", "dnb": "drum and bass",
    "d&b": "drum and bass", "drum & bass": "drum and bass", "drum n bass": "drum and bass",
    "drum'n'bass": "drum and bass", "cinema": "cinematic", "film": "cinematic",
    "movie": "cinematic", "chip": "chiptune", "8-bit": "chiptune", "8 bit": "chiptune",
    "8bit": "chiptune", "bitpop": "chiptune", "16 bit": "16-bit", "16bit": "16-bit",
    "synthesizer": "synth", "synthesiser": "synth", "drum": "drums", "pad": "pads",
    "arp": "arpeggio", "arps": "arpeggio", "drone": "drones", "choral": "choir",
    "choirs": "choir", "voices": "choir", "chorus": "choir", "edm": "electronic",
    "electronica": "electronic", "quick": "fast", "rapid": "fast", "brisk": "fast",
    "relaxed": "relaxing", "chill": "relaxing", "chilled": "relaxing", "scary": "ominous",
    "frightening": "ominous", "terrifying": "horror", "sombre": "somber", "retrowave": "synthwave",
    "heavy metal": "metal", "rock and roll": "rock", "rock n roll": "rock",
    "rock'n'roll": "rock", "r and b": "r&b", "rnb": "r&b", "garage": "uk garage",
    "2-step": "uk garage", "dub step": "dubstep", "brostep": "dubstep", "triphop": "trip hop",
    "sax": "saxophone", "keys": "piano", "keyboard": "piano", "ep": "electric piano",
    "rhodes piano": "rhodes", "b3": "hammond organ", "hammond": "hammond organ",
    "horn": "horns", "brass section": "horn section", "kettle drums": "timpani",
    "steel pan": "steel drums", "steelpan": "steel drums", "glock": "glockenspiel",
    "taiko drums": "taiko", "conga": "congas", "bongo": "bongos", "drum set": "drum kit",
    "drumkit": "drum kit", "bagpipe": "bagpipes", "panpipes": "pan flute",
    "pan pipes": "pan flute", "whistle": "tin whistle", "penny whistle": "tin whistle",
    "uke": "ukulele", "contrabass": "double bass", "standup bass": "upright bass",
    "acoustic bass": "upright bass", "synth pads": "pads", "synth pad": "pads",
    "synth lead": "lead synth", "sub": "sub bass", "tr-808": "808", "vocal": "vocals",
    "singing": "vocals", "singer": "vocals", "voice": "vocals", "chanting": "chant",
    "gregorian chant": "gregorian", "hi-hat": "hi-hats", "hihat": "hi-hats",
    "hihats": "hi-hats", "hats": "hi-hats", "claps": "handclaps", "clap": "handclaps",
    "hand claps": "handclaps", "snaps": "finger snaps", "strings section": "string section",
"big-band": "big band", "symphony orchestra":
    "orchestra", "philharmonic": "orchestra", "combo": "jazz combo", "strumming": "strummed",
    "plucking": "plucked", "picked": "plucked", "fingerstyle": "fingerpicked",
    "fingerpicking": "fingerpicked", "sneaky": "stealth", "bossa": "bossa nova",
    "spaghetti": "spaghetti western", "sea shanties": "sea shanty", "shanty": "sea shanty",
    "shanties": "sea shanty", "chiptunes": "chiptune", "videogame": "video game",
    "video-game": "video game", "game boy": "chiptune", "boss battle": "boss fight",
    "final battle": "final boss", "game-over": "game over", "hip hop beat": "hip hop",
    "atmospheric": "ambient", "atmosphere": "ambient", "ambience": "ambient",
    "ambiance": "ambient", "soundscape": "ambient", "soundscapes": "ambient",
    "meditation music": "meditative", "calming": "calm", "relaxation": "relaxing",
    "chillout music": "chillout", "upbeat tempo": "uptempo", "slow tempo": "slow",
    "fast tempo": "fast", "fast-paced": "fast", "slow-paced": "slow", "mid tempo": "mid-tempo",
    "medium tempo": "mid-tempo", "medium": "moderate", "halftime": "half-time",
    "doubletime": "double-time", "swung": "swing", "swinging": "swing", "lilting": "6/8",
    "three four": "3/4", "six eight": "6/8", "odd time": "odd meter",
    "melodic": "melody", "melodies": "melody", "rhythmic": "percussion", "beats": "drums",
    "beat": "drums", "groove-based": "groovy", "bassline": "bass", "basslines": "bass",
    "bass line": "bass", "chords": "pads", "chord": "pads", "harmony": "pads",
    "harmonies": "pads", "riff": "riffs", "lead": "melody", "leads": "melody",
    "tune": "melody",
    **MORE_ALIASES,
}
RELATED: dict[str, tuple[str, ...]] = {**_RELATED, **MORE_RELATED, **PLACES}

# Words that carry no musical meaning here; they are recognised, not unknown: function
# words, intensifiers and negations, and the generic nouns for "a piece of music".
FILLER = frozenset("""
& a about across after against all almost along also among an and any are area around
arranged arrangement as at background bands barely be before behind between bgm bit blend
both but by captures capturing composed composition conveying conveys cover creates creating
down during each edit either element elements every evokes evoking extremely feat featuring
feel feeling feels few filled for four from ft game gameplay games genre genres has have
having her highly hint hint-of hints hints-of his in inside instrument instrumentation
instruments into is it its itself just kind kind-of kinds less level like little loop
looping loops lot lots made make makes many maybe mildly mix moment moments mood more most
mostly music musical my nearly neither no non not of off on one or ost our out outside over
part perhaps piece pieces played player players playing plays plus pretty produced
production quite rather really record recorded recording reminiscent remix scene score
section sequence set sets setting slightly so some someone something somewhat song songs
sort sort-of sound sounding sounds soundtrack stage style styled suggesting suggests super
take texture textures that the their them theme themes then these this those three through
to tone tones touch touches toward towards track tunes two type ultra under until up upon
use used uses using version very very-very vibe vibes way ways we when where which while who
with within without yet you your zone
""".split())  # noqa: SIM905 (a word list reads better so)

INTENSIFIERS: dict[str, float] = {
    "very": 1.5, "extremely": 1.8, "super": 1.5, "really": 1.3, "highly": 1.4, "ultra": 1.8,
    "quite": 1.2, "slightly": 0.5, "somewhat": 0.6, "little": 0.5, "mildly": 0.5,
    "barely": 0.3, "more": 1.3, "less": 0.6, "bit": 0.5,
}
NEGATIONS = frozenset({"no", "without", "not", "non", "minus", "zero"})


def _resolve(name: str, specs: dict[str, Spec], done: dict[str, dict[str, float]],
             stack: tuple[str, ...] = ()) -> dict[str, float]:
    if name in done:
        return done[name]
    if name not in specs:
        raise KeyError(f"vocabulary: {stack[-1] if stack else '?'} is based on unknown "
                       f"term {name!r}")
    if name in stack:
        raise ValueError(f"vocabulary: cycle {' -> '.join((*stack, name))}")
    bases, dims = specs[name]
    sums: dict[str, list[float]] = {}
    for base in bases:
        for dim, value in _resolve(base, specs, done, (*stack, name)).items():
            sums.setdefault(dim, []).append(value)
    values = {dim: sum(v) / len(v) for dim, v in sums.items()}
    values.update(dims)
    for dim in values:
        if dim not in style.INDEX:
            raise KeyError(f"vocabulary: term {name!r} sets unknown dimension {dim!r}")
    done[name] = values
    return values


def _build() -> tuple[dict[str, dict[str, float]], dict[str, str], dict[str, tuple[int, int]]]:
    specs: dict[str, Spec] = {}
    category: dict[str, str] = {}
    ranges: dict[str, tuple[int, int]] = {}
    genres = {**GENRES, **MORE_GENRES}
    groups = (("genre", {k: v for k, (_, v) in genres.items()}),
              ("instrument", {**INSTRUMENTS, **MORE_INSTRUMENTS}), ("ensemble", ENSEMBLES),
              ("technique", {**TECHNIQUES, **MORE_TECHNIQUES}), ("mood", {**MOODS, **MORE_MOODS}),
              ("scene", {**SCENES, **MORE_SCENES}), ("production", {**PRODUCTION, **MORE_PRODUCTION}),
              ("tempo", TEMPO))
    for cat, table in groups:
        for name, spec in table.items():
            if name in specs:
                raise ValueError(f"vocabulary: {name!r} is both {category[name]} and {cat}")
            specs[name], category[name] = spec, cat
    ranges.update({k: r for k, (r, _) in genres.items()})
    done: dict[str, dict[str, float]] = {}
    terms = {name: _resolve(name, specs, done) for name in specs}
    for alias, target in ALIASES.items():
        if alias in terms or target not in terms:
            raise ValueError(f"vocabulary: alias {alias!r} -> {target!r} is not a variant")
    for word, targets in RELATED.items():
        if word in terms or word in ALIASES or any(x not in terms for x in targets):
            raise ValueError(f"vocabulary: related word {word!r} -> {targets}")
    return terms, category, ranges


TERMS, CATEGORY, TEMPO_RANGES = _build()


def count(category: str) -> int:
    return sum(1 for c in CATEGORY.values() if c == category)


def _describe(values: dict[str, float]) -> str:
    """The dimensions a term moves, strongest first (distance from neutral, by range)."""
    def weight(item: tuple[str, float]) -> float:
        j = style.INDEX[item[0]]
        return abs(item[1] - style.NEUTRAL[j]) / (style.HI[j] - style.LO[j])

    shown = [(d, v) for d, v in sorted(values.items(), key=weight, reverse=True)
             if weight((d, v)) >= 0.05][:5]
    return ", ".join(f"{d} {v:.0f}" if d == "tempo" else f"{d} {v:.2f}" for d, v in shown)


def markdown() -> str:
    """The vocabulary table for docs/scenes.md (deterministic; the docs test compares)."""
    by_target: dict[str, list[str]] = {}
    for alias, target in ALIASES.items():
        by_target.setdefault(target, []).append(alias)
    lines = [f"The procedural band knows {len(TERMS)} terms and {len(ALIASES)} aliases; "
             f"{len(RELATED)} more words map to terms they evoke. Generated by "
             "`python -m cadenza.runtime.engines.procedural.vocabulary --update docs/scenes.md`; "
             "`cadenza prompt \"...\"` shows what the band hears in a prompt.", ""]
    for cat, title in CATEGORIES:
        names = [n for n, c in CATEGORY.items() if c == cat]
        lines += [f"### {title} ({len(names)})", ""]
        head = "| term | tempo range | aliases | sets |" if cat == "genre" else \
            "| term | aliases | sets |"
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        for name in sorted(names):
            aliases = ", ".join(sorted(by_target.get(name, [])))
            row = [name]
            if cat == "genre":
                lo, hi = TEMPO_RANGES[name]
                row.append(f"{lo}-{hi}")
            row += [aliases, _describe(TERMS[name])]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    lines += ["### Related words", "",
              ", ".join(f"{w} → {' + '.join(t)}" for w, t in sorted(RELATED.items())), ""]
    return "\n".join(lines)


_SECTION = re.compile(r"(<!-- vocabulary:start[^>]*-->\n)(.*)(<!-- vocabulary:end -->)", re.S)


def update_docs(path: str) -> bool:
    """Rewrite the generated section of ``path`` (between the vocabulary markers only);
    returns whether it changed."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    match = _SECTION.search(text)
    if match is None:
        raise ValueError(f"{path}: no <!-- vocabulary:start --> ... end --> section")
    new = text[: match.start(2)] + markdown() + text[match.end(2):]
    if new != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the docs table")
    parser.add_argument("--update", metavar="DOC", help="regenerate the section in DOC "
                                                         "(docs/scenes.md)")
    args = parser.parse_args(argv)
    if args.update:
        print(f"{args.update}: {'updated' if update_docs(args.update) else 'up to date'}")
    elif args.markdown:
        sys.stdout.write(markdown())
    else:
        for cat, title in CATEGORIES:
            print(f"{title}: {count(cat)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
