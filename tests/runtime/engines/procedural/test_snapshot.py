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
