"""The new instrument families, techniques and genre tempos, judged on rendered audio.

Each family is rendered as a solo line ("solo <instrument>", so the lead plays alone)
and compared with the neutral "solo" on the same seed: the melody is the same, only the
timbre changes, so the measure isolates the family. Measures (stated per family):
brass: spectral centroid up (saw-rich, formant) and attack time up; woodwind:
harmonicity down (breath noise) and attack time up; bell: harmonicity down (inharmonic
partials); plucked and mallet: onset rate up (struck partials decay and re-articulate);
organ: sounding time up (drawbars hold, no decay); hand percussion: onset rate up.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from cadenza.runtime import analysis
from cadenza.runtime.engines.procedural import vocabulary
from cadenza.runtime.testing import render_prompt

RATE = 48_000
SECONDS = 8.0
_QUIET = "no bass, no pads, no melody, no arpeggio"


def harmonicity(x: np.ndarray) -> float:
    """Mean peak of the normalised autocorrelation (lags 32-600 samples: 80 Hz-1.5 kHz)
    over 2048-sample frames that are not silent: 1 for a periodic tone, lower for noise
    or inharmonic partials."""
    m = analysis.mono(x)
    frame, values = 2048, []
    for i in range(0, len(m) - frame, frame):
        f = m[i:i + frame] * np.hanning(frame)
        if np.sqrt(np.mean(f**2)) < 1e-3:
            continue
        ac = np.fft.irfft(np.abs(np.fft.rfft(f, 2 * frame)) ** 2)[:frame]
        values.append(float((ac / (ac[0] + 1e-12))[RATE // 1500:RATE // 80].max()))
    return float(np.mean(values))


def _envelope(x: np.ndarray, hop: int = 240) -> np.ndarray:
    m = analysis.mono(x)
    n = len(m) // hop
    return np.sqrt((m[: n * hop].reshape(n, hop) ** 2).mean(axis=1))


def sounding_fraction(x: np.ndarray) -> float:
    """Fraction of 5 ms frames louder than a quarter of the 95th-percentile level."""
    env = _envelope(x)
    return float(np.mean(env > 0.25 * np.percentile(env, 95)))


def mean_note_ms(x: np.ndarray) -> float:
    """Mean length of the stretches where the (monophonic) line sounds, in ms."""
    on = (_envelope(x) > 0.2 * np.percentile(_envelope(x), 95)).astype(int)
    edges = np.diff(on)
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    ends = ends[ends > starts[0]]
    n = min(len(starts), len(ends))
    return float(np.mean(ends[:n] - starts[:n]) * 5.0)


def high_band_db(x: np.ndarray, cutoff: float = 5000.0) -> float:
    """Energy above ``cutoff`` relative to the whole signal, in dB."""
    m = analysis.mono(x)
    high = sosfilt(butter(4, cutoff, "highpass", fs=RATE, output="sos"), m)
    return float(10 * np.log10(np.mean(high**2) / np.mean(m**2)))


def attack_ms(x: np.ndarray) -> float:
    """Median attack time of separated notes: from the envelope (1 ms RMS) leaving
    silence (10 % of its 95th percentile) to reaching 90 % of its peak within 120 ms."""
    m = analysis.mono(x)
    n = len(m) // 48
    env = np.sqrt((m[: n * 48].reshape(n, 48) ** 2).mean(axis=1))
    ref = np.percentile(env, 95)
    quiet = env < 0.1 * ref
    times, i = [], 1
    while i < n - 120:
        if quiet[i - 1] and not quiet[i]:
            window = env[i:i + 120]
            k = int(np.argmax(window))
            if window[k] > 0.3 * ref:
                times.append(int(np.argmax(window >= 0.9 * window[k])))
            i += k + 1
        else:
            i += 1
    assert len(times) >= 5, "too few separated notes to measure"
    return float(np.median(times))


@pytest.fixture(scope="module")
def solo(engine):
    return render_prompt(engine, "solo", SECONDS)


def test_brass_is_brighter(engine, solo):
    brass = render_prompt(engine, "solo trumpet", SECONDS)
    assert analysis.spectral_centroid(brass, RATE) > 1.4 * analysis.spectral_centroid(solo, RATE)


@pytest.mark.parametrize("prompt,longer", [("solo trumpet, staccato", 4.0),
                                           ("solo flute, staccato", 3.0)])
def test_brass_and_woodwinds_speak_slowly(engine, prompt, longer):
    """Attack time on staccato lines (the notes are separated, so each rise is seen)."""
    neutral = attack_ms(render_prompt(engine, "solo staccato", 16.0))
    assert attack_ms(render_prompt(engine, prompt, 16.0)) > longer * neutral


@pytest.mark.parametrize("prompt,drop", [("solo flute", 0.02), ("solo bells", 0.15)])
def test_breath_and_bells_lower_the_harmonicity(engine, solo, prompt, drop):
    assert harmonicity(render_prompt(engine, prompt, SECONDS)) < harmonicity(solo) - drop


@pytest.mark.parametrize("prompt", ["solo harp", "solo marimba"])
def test_plucked_and_mallet_notes_are_heard_as_more_onsets(engine, solo, prompt):
    struck = render_prompt(engine, prompt, SECONDS)
    assert analysis.onset_rate(struck, RATE) > 2.0 * analysis.onset_rate(solo, RATE)


def test_organ_holds_its_notes(engine, solo):
    organ = render_prompt(engine, "solo organ", SECONDS)
    assert sounding_fraction(organ) > sounding_fraction(solo) + 0.08


def test_hand_percussion_adds_onsets(engine):
    base = render_prompt(engine, _QUIET, SECONDS)
    hands = render_prompt(engine, f"bongos, {_QUIET}", SECONDS)
    assert analysis.onset_rate(hands, RATE) > 1.1 * analysis.onset_rate(base, RATE)


def test_brushes_take_the_high_end_off_the_snare(engine):
    only_snare = f"snare, no kick, no hats, {_QUIET}"
    sticks = render_prompt(engine, f"sticks, {only_snare}", SECONDS)
    brushes = render_prompt(engine, f"brushes, {only_snare}", SECONDS)
    assert high_band_db(brushes) < high_band_db(sticks) - 2.5


def test_staccato_shortens_and_legato_lengthens_notes(engine, solo):
    short = mean_note_ms(render_prompt(engine, "solo staccato", SECONDS))
    long = mean_note_ms(render_prompt(engine, "solo legato", SECONDS))
    assert short < 0.6 * mean_note_ms(solo) < 0.6 * long


@pytest.mark.parametrize("genre", ["drum and bass", "house", "reggae", "dubstep", "bossa nova"])
def test_a_genres_tempo_lands_in_its_stated_range(engine, genre):
    lo, hi = vocabulary.TEMPO_RANGES[genre]
    audio = render_prompt(engine, genre, 12.0)
    heard = analysis.estimate_tempo(analysis.mono(audio), RATE, prior_bpm=(lo + hi) / 2)
    assert heard is not None and lo <= heard <= hi


@pytest.mark.parametrize("prompt", ["solo trumpet", "organ chords", "bells and marimba",
                                    "tabla and sitar raga", "jazz trio, brushes",
                                    "heroic brass fanfare, big band"])
def test_new_families_are_not_clipped_silent_or_clicky(engine, prompt):
    audio = render_prompt(engine, prompt, 6.0)
    assert np.isfinite(audio).all()
    assert analysis.peak(audio) < 0.99
    assert analysis.rms_db(audio) > -45
    assert analysis.join_discontinuity(audio, 2400) < 1.5


def test_new_families_are_deterministic_for_a_seed(engine):
    a = render_prompt(engine, "celtic fiddle and bodhran tavern jig", 3.0, seed=5)
    b = render_prompt(engine, "celtic fiddle and bodhran tavern jig", 3.0, seed=5)
    assert np.array_equal(a, b)
