"""Meters other than 4/4: the band's bar is as long as the time signature says, heard in
the audio, and common time is exactly what it was."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.runtime.engines.base import Knobs, Prompt
from cadenza.runtime.engines.procedural.meter import Meter, groups
from cadenza.runtime.testing import render_prompt

RATE = 48_000
QUARTER_FRAMES = 50  # 10 ms frames in one quarter note at 120 bpm


def test_pulses_follow_how_musicians_count():
    assert [groups(n) for n in (2, 3, 4, 5, 6, 7, 9, 12)] == [
        (2,), (3,), (2, 2), (3, 2), (3, 3), (4, 3), (3, 3, 3), (3, 3, 3, 3)]
    assert Meter(4, 4).strong_starts == (0, 8) and Meter(4, 4).common
    waltz = Meter(3, 4)
    assert (waltz.bar_steps, waltz.pulse_starts, waltz.strong_starts) == (12, (0, 4, 8), (0,))
    jig = Meter(6, 8)
    assert (jig.bar_steps, jig.pulse_starts, jig.backbeats) == (12, (0, 6), (6,))
    assert Meter(7, 8).pulse_lengths == (4, 4, 6)  # 2+2+3 eighths
    assert Meter(5, 4).strong_starts == (0, 12)  # 3+2
    assert Meter(12, 8).strong_starts == (0, 12)  # four dotted quarters, felt in two
    for beats, unit in ((0, 4), (17, 4), (3, 3)):
        with pytest.raises(ValueError, match="unsupported meter"):
            Meter(beats, unit)


def _onset_periodicity(pcm: np.ndarray, quarters: float) -> float:
    """Autocorrelation of the onset envelope at a lag of ``quarters`` quarter notes (120
    bpm): high when the music repeats with that period."""
    mono = pcm.mean(axis=1)
    hop = RATE // 100
    frames = len(mono) // hop
    rms = np.sqrt((mono[: frames * hop].reshape(frames, hop) ** 2).mean(axis=1))
    onsets = np.maximum(0.0, np.diff(np.log(rms + 1e-4)))
    onsets -= onsets.mean()
    lag = round(quarters * QUARTER_FRAMES)
    return float(np.dot(onsets[:-lag], onsets[lag:]) / np.dot(onsets, onsets))


@pytest.mark.parametrize("prompt", ["calm piano", "jazz trio", "epic orchestral percussion",
                                    "rock drums"])
def test_the_bar_length_is_heard(engine, prompt):
    """The music repeats every bar: in 3/4 and 6/8 every three quarter notes, in 4/4 every
    four."""
    def render(meter):
        return render_prompt(engine, f"{prompt}, 120 bpm", 24, seed=1, knobs=Knobs(meter=meter))

    common, waltz, jig = render((4, 4)), render((3, 4)), render((6, 8))
    assert _onset_periodicity(common, 4) > _onset_periodicity(common, 3) + 0.1
    assert _onset_periodicity(waltz, 3) > _onset_periodicity(waltz, 4) + 0.15
    assert _onset_periodicity(jig, 3) > _onset_periodicity(jig, 4) + 0.15


def test_six_eight_moves_in_dotted_quarters(engine):
    """Four on the floor puts a kick on every pulse: quarter notes in 4/4, dotted quarters
    in 6/8 (the lilt a listener taps to)."""
    common = render_prompt(engine, "techno, 120 bpm", 16, seed=2, knobs=Knobs(meter=(4, 4)))
    jig = render_prompt(engine, "techno, 120 bpm", 16, seed=2, knobs=Knobs(meter=(6, 8)))
    assert _onset_periodicity(common, 1) > _onset_periodicity(common, 1.5) + 0.4
    assert _onset_periodicity(jig, 1.5) > _onset_periodicity(jig, 1) + 0.4


def test_common_time_is_what_it_always_was(engine):
    plain = render_prompt(engine, "lo-fi hip hop, 96 bpm", 6, seed=3)
    common = render_prompt(engine, "lo-fi hip hop, 96 bpm", 6, seed=3, knobs=Knobs(meter=(4, 4)))
    assert np.array_equal(plain, common)


def test_the_grid_counts_the_signatures_beats(engine):
    state = engine.init_state(1)
    style = engine.embed(Prompt(text="techno, 120 bpm")).vector
    knobs = Knobs(meter=(6, 8))
    before = engine.beat_clock(state, style, knobs)
    assert (before.beat, before.bpm, before.beats_per_bar, before.beat_unit) == (0.0, 240.0, 6, 8)
    out = engine.generate([state], style[None], [knobs], 24_000)  # half a second
    after = engine.beat_clock(out.states[0], style, knobs)
    assert after.beat == pytest.approx(2.0)  # four eighths of 6/8 at quarter = 120


def test_every_signature_a_scene_may_give_plays(engine):
    """Whatever the compiler accepts (beats 1-16 over 1, 2, 4, 8, 16), the band plays:
    finite, audible, unclipped, and its grid counts bars of that length."""
    style = engine.embed(Prompt(text="fast energetic techno, strings, 120 bpm")).vector
    for unit in (1, 2, 4, 8, 16):
        for beats in range(1, 17):
            knobs = Knobs(meter=(beats, unit))
            state = engine.init_state(beats * unit)
            out = engine.generate([state], style[None], [knobs], 48_000)
            pcm = out.pcm[0]
            assert np.all(np.isfinite(pcm)) and 1e-3 < np.abs(pcm).max() <= 1.0, (beats, unit)
            grid = engine.beat_clock(out.states[0], style, knobs)
            assert (grid.beats_per_bar, grid.beat_unit) == (beats, unit)
            assert grid.beat == pytest.approx(2 * unit / 4)  # one second at quarter = 120
