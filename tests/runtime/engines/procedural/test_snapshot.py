"""The procedural engine's snapshot/restore: bit-exact continuation, bounded decoding."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from cadenza.runtime.engines import snapshot
from cadenza.runtime.engines.base import Knobs, Prompt


@pytest.mark.parametrize("text", ["fast aggressive metal drums", "calm ambient piano pads",
                                  "celtic fiddle and bodhran tavern jig"])
def test_a_restored_state_continues_the_stream_sample_for_sample(engine, text):
    style = engine.embed(Prompt(text=text)).vector[None, :]
    state = engine.init_state(9)
    for _ in range(41):  # mid-bar, notes sounding, reverb tails ringing
        state = engine.generate([state], style, [Knobs()], 2400).states[0]
    data = engine.snapshot(state)
    twin = engine.restore(data)
    expected = engine.generate([state], style, [Knobs()], 5 * 48_000).pcm[0]
    got = engine.generate([twin], style, [Knobs()], 5 * 48_000).pcm[0]
    np.testing.assert_array_equal(expected, got)
    assert np.abs(expected).max() > 0.01


def test_restore_refuses_foreign_or_hostile_bytes(engine):
    state = engine.init_state(1)
    data = engine.snapshot(state)
    with pytest.raises(ValueError, match="not a procedural snapshot"):
        engine.restore(b"CDZM2" + data[5:])
    with pytest.raises(ValueError):
        engine.restore(data[:200])

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    hostile = snapshot.MAGIC + bytes([10]) + b"procedural" + pickle.dumps(Evil())
    with pytest.raises(ValueError, match=r"may not contain builtins\.print"):
        engine.restore(hostile)


def _played(engine, text, blocks=41, seed=9):
    style = engine.embed(Prompt(text=text)).vector[None, :]
    state = engine.init_state(seed)
    for _ in range(blocks):
        state = engine.generate([state], style, [Knobs()], 2400).states[0]
    return style, state


@pytest.mark.parametrize("text", ["orchestral epic strings choir, long reverb",
                                  "gamelan bells, marimba and glockenspiel"])
def test_a_snapshot_is_tens_of_kilobytes_and_restores_bit_exactly_in_a_fresh_engine(engine, text):
    # Another worker restores it: its wavetable bank and note cache start empty (rows
    # are made in another order there), so the notes are named by what made them.
    from cadenza.runtime.engines.procedural import ProceduralEngine

    style, state = _played(engine, text)
    assert len(state.sounding) > 5
    data = engine.snapshot(state)
    assert len(data) < 128 * 1024, len(data)  # mostly the reverb's delay lines (~74 kB)
    other = ProceduralEngine()
    other.tables.row({"square": 1.0}, 110.0, 0.3)  # its rows differ from this engine's
    twin = other.restore(data)
    expected = engine.generate([state], style, [Knobs()], 4 * 48_000).pcm[0]
    got = other.generate([twin], style, [Knobs()], 4 * 48_000).pcm[0]
    np.testing.assert_array_equal(expected, got)


def _retone(sounding, dc, **fields):
    from cadenza.runtime.engines.procedural.synth import ToneSpec

    i = next(i for i, spec in enumerate(sounding.specs) if isinstance(spec, ToneSpec))
    sounding.specs[i] = dc.replace(sounding.specs[i], **fields)


def _tampered(engine, change, state=None):
    import dataclasses

    from cadenza.runtime.engines.procedural.engine import ProceduralState

    if state is None:
        _, state = _played(engine, "calm ambient piano", blocks=20)
    data = engine.snapshot(state)
    loaded = snapshot.load("procedural", data, ("cadenza.runtime.engines.procedural",))
    assert isinstance(loaded, ProceduralState)
    change(loaded.sounding, dataclasses)
    return snapshot.dump("procedural", loaded)


@pytest.mark.parametrize("change", [
    lambda s, dc: _retone(s, dc, gate=10**12),
    lambda s, dc: _retone(s, dc, freq=float("nan")),
    lambda s, dc: _retone(s, dc, row=10**6),
    lambda s, dc: s.specs.__setitem__(0, "not a spec"),
    lambda s, dc: s.row_keys.update({k: ((("nope", 1.0),), 0, 0) for k in s.row_keys}),
    lambda s, dc: s.row_keys.update({k: ((), 99, 0) for k in s.row_keys}),
    lambda s, dc: s.starts.append(0),
], ids=["huge-gate", "nan-freq", "unnamed-row", "foreign-spec", "unknown-family", "bad-band", "ragged"])
def test_a_tampered_snapshot_is_refused_before_rendering_anything(engine, change):
    data = _tampered(engine, change)
    with pytest.raises(ValueError):
        engine.restore(data)


def test_a_snapshot_written_before_notes_were_specs_still_restores(engine):
    # A rolling upgrade: the old worker's snapshot kept the rendered waves, no specs.
    style, state = _played(engine, "calm ambient piano", blocks=20)

    def old_format(sounding, dc):
        for i, spec in enumerate(sounding.specs):
            sounding.waves[i] = (engine.synth.tone(spec) if hasattr(spec, "gate")
                                 else engine.synth.hit(spec))
        del sounding.specs, sounding.row_keys

    twin = engine.restore(_tampered(engine, old_format, state=state))
    expected = engine.generate([state], style, [Knobs()], 48_000).pcm[0]
    got = engine.generate([twin], style, [Knobs()], 48_000).pcm[0]
    np.testing.assert_array_equal(expected, got)
