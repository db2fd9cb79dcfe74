from __future__ import annotations

import numpy as np
import pytest

from cadenza.runtime.engines.procedural import lexicon, style


def value(text: str, dim: str) -> float:
    return float(lexicon.parse(text).vector[style.INDEX[dim]])


def test_lexicon_covers_the_musical_vocabulary():
    assert len(lexicon.TERMS) >= 40
    for term in ("ambient", "techno", "house", "jazz", "orchestral", "rock", "metal", "lo-fi",
                 "folk", "cinematic", "chiptune", "piano", "strings", "drums", "bass", "synth",
                 "guitar", "choir", "dark", "calm", "tense", "happy", "epic", "dreamy", "slow",
                 "fast"):
        assert lexicon.parse(term).terms, term
        assert not lexicon.parse(term).unknown_words


def test_unknown_words_are_reported_not_dropped():
    parsed = lexicon.parse("dark, ambient with glorbulous zwonk, and the piano")
    assert parsed.unknown_words == ("glorbulous", "zwonk")
    assert parsed.terms == ("dark", "ambient", "piano")
    assert parsed.mapped == {}


def test_tempo_words_and_numbers():
    assert value("slow", "tempo") < 80 < 140 < value("fast", "tempo")
    assert value("120 bpm", "tempo") == 120
    assert value("drum and bass 90bpm", "tempo") == 90  # an explicit tempo wins


def test_phrases_aliases_negation_and_intensity():
    assert lexicon.parse("drum and bass").terms == ("drum and bass",)
    assert lexicon.parse("lofi hip-hop").terms == ("lo-fi", "hip hop")
    assert value("rock, no drums", "kick") == 0
    assert value("very dark", "mode") <= value("dark", "mode") < value("slightly dark", "mode")


def test_empty_or_odd_text_is_neutral_and_never_raises():
    for text in ("", "   ", "!!!", "🎵🎵", "a" * 10_000):
        vector = lexicon.parse(text).vector
        assert vector.shape == (style.SIZE,)
        assert np.all((vector >= style.LO) & (vector <= style.HI))
    assert np.array_equal(lexicon.parse("").vector, style.NEUTRAL)


@pytest.mark.parametrize("a,b,dim", [("calm", "aggressive", "energy"), ("dark", "bright", "brightness"),
                                      ("sad", "happy", "mode"), ("ambient", "techno", "kick")])
def test_terms_move_the_dimensions_they_name(a, b, dim):
    assert value(a, dim) < value(b, dim)
