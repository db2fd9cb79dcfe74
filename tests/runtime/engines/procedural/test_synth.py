"""Note synthesis: the shared sample-index series and in-place arithmetic give exactly the
samples of the plain formulas, whatever was synthesised before."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.runtime.audio import SAMPLE_RATE
from cadenza.runtime.engines.base import Knobs, Prompt
from cadenza.runtime.engines.procedural import ProceduralEngine
from cadenza.runtime.engines.procedural import synth as synth_module
from cadenza.runtime.engines.procedural.synth import HitSpec, Synth, ToneSpec, adsr
from cadenza.runtime.engines.procedural.tables import TABLE_SIZE


def plain_oscillator(flat: np.ndarray, row: int, freq: float, vib: float, length: int):
    t = np.arange(length, dtype=np.float64)
    cycles = freq / SAMPLE_RATE * t
    if vib > 0:
        depth = freq * (2 ** (vib / 12) - 1) / 5.2 / (2 * np.pi)
        fade = np.minimum(t / (0.4 * SAMPLE_RATE), 1.0)
        cycles += depth * fade * np.sin(2 * np.pi * 5.2 / SAMPLE_RATE * t)
    pos = (cycles - np.floor(cycles)) * TABLE_SIZE
    idx = pos.astype(np.int64)
    frac = (pos - idx).astype(np.float32)
    idx += row * (TABLE_SIZE + 1)
    lo = flat[idx]
    return lo + frac * (flat[idx + 1] - lo)


def plain_adsr(length, attack, decay, sustain, release, gate):
    env = np.empty(length, dtype=np.float32)
    a, g = min(int(np.ceil(attack)), length), min(int(np.ceil(gate)), length)
    a_end = min(a, g)
    t = np.arange(length, dtype=np.float32)
    env[:a_end] = t[:a_end] / np.float32(attack)
    if g > a_end:
        held = t[a_end:g] - np.float32(attack)
        env[a_end:g] = sustain + (1.0 - sustain) * np.exp(-np.maximum(held, 0) / np.float32(decay))
    at_gate = gate / attack if gate < attack else \
        sustain + (1.0 - sustain) * np.exp(-(gate - attack) / decay)
    if length > g:
        env[g:] = at_gate * np.exp(-(t[g:] - np.float32(gate)) / np.float32(release))
    return env


@pytest.fixture
def engine():
    return ProceduralEngine()


@pytest.mark.parametrize("vib", [0.0, 0.03])
@pytest.mark.parametrize("length", [1, 2399, 48_000, 200_001])
def test_the_oscillator_is_the_plain_formula_sample_for_sample(engine, vib, length):
    row = engine.tables.row({"saw": 0.5, "sine": 0.5}, 220.0, 0.5)
    engine.synth._oscillator(row, 330.0, vib, 300_000)  # the series grown past this note
    got = engine.synth._oscillator(row, 261.6255653005986, vib, length)
    want = plain_oscillator(engine.tables.flat, row, 261.6255653005986, vib, length)
    assert got.dtype == np.float32 and np.array_equal(got, want)


@pytest.mark.parametrize("params", [(480.0, 9600.0, 0.6, 4800.0, 24_000.0),
                                    (48.0, 2000.0, 1.0, 900.0, 30.0),  # gate before the attack ends
                                    (1.0, 100.0, np.float64(0.35), 12_000.0, 5000.0)])
@pytest.mark.parametrize("length", [10, 60_000])
def test_the_envelope_is_the_plain_formula_sample_for_sample(params, length):
    attack, decay, sustain, release, gate = params
    got = adsr(length, attack, decay, sustain, release, gate)
    assert np.array_equal(got, plain_adsr(length, attack, decay, sustain, release, gate))


def test_a_note_does_not_depend_on_what_was_synthesised_before(engine, monkeypatch):
    for series in vars(synth_module).values():  # the first note made from empty series
        if isinstance(series, synth_module._Series):
            monkeypatch.setattr(series, "_values", series._values[:0])
    tone = ToneSpec(row=engine.tables.row({"square": 1.0}, 440.0, 0.3), freq=440.0, gate=20_000,
                    attack=200.0, decay=4000.0, sustain=0.5, release=6000.0, vib=0.02,
                    modal=2, modal_mix=0.4, breath=0.3)
    hit = HitSpec(kind=1, decay=0.2, clap=0.3, variant=3, brush=0.5)
    first = Synth(lambda: engine.tables.flat, engine.noise)
    a, b = first.tone(tone), first.hit(hit)
    other = Synth(lambda: engine.tables.flat, engine.noise)
    for n, decay in ((5, 0.01), (700_000, 2.0)):  # shorter and longer notes first: the
        other._oscillator(0, 110.0, 0.05, n)      # series grow, then are sliced
        other.hit(HitSpec(kind=3, decay=decay))
    assert np.array_equal(other.tone(tone), a) and np.array_equal(other.hit(hit), b)


def test_series_are_shared_read_only_and_long_stretches_are_not_kept():
    series = synth_module._Series(lambda t: t * 2.0, cap=1000)
    short = series(10)
    assert not short.flags.writeable and np.array_equal(short, np.arange(10) * 2.0)
    assert np.array_equal(series(900), np.arange(900) * 2.0)
    long = series(5000)  # past the cap: computed, returned, not kept
    assert len(long) == 5000 and len(series._values) == 1000


def test_the_note_cache_size_changes_the_cost_never_the_samples(engine):
    small = ProceduralEngine(note_cache_mb=1)
    assert small.synth.limit == 1 << 20 and engine.synth.limit == 192 << 20
    vectors = np.stack([engine.embed(Prompt(text=t)).vector
                        for t in ("celtic fiddle harp", "heroic brass fanfare")])
    styles = np.array([[0.7, 0.3], [0.2, 0.8]]) @ vectors
    outs = []
    for e in (engine, small):
        states = [e.init_state(5), e.init_state(6)]
        outs.append(np.concatenate([e.generate(states, styles, [Knobs()] * 2, 4800).pcm
                                    for _ in range(60)], axis=1))
    assert small.synth.misses > engine.synth.misses  # the small cache really evicted
    assert np.array_equal(outs[0], outs[1])
    with pytest.raises(ValueError, match="note_cache_mb"):
        ProceduralEngine(note_cache_mb=0)
