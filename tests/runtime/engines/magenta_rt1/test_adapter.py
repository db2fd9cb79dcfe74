"""The magenta-rt1 adapter against a stand-in that follows the v1 public API exactly
(``MagentaRT(tag=, device=, lazy=)``, ``embed_style``, ``generate_chunk(state=, style=,
seed=, temperature=, topk=, guidance_weight=)`` → (2 s 48 kHz stereo waveform, state)).
A real run needs the user's own install of the v1 package."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
import pytest

from cadenza.runtime.engines import create_engine
from cadenza.runtime.engines.base import Knobs, Prompt
from cadenza.runtime.engines.magenta_rt1.engine import MagentaRT1Engine
from cadenza.runtime.errors import EngineUnavailable


@dataclass
class Waveform:
    samples: np.ndarray
    sample_rate: int


@dataclass
class StandInState:
    chunk_index: int = 0
    context: list = field(default_factory=list)


class StandInMagentaRT:
    """Keyword-for-keyword the v1 API; deterministic audio that encodes what it was given."""

    def __init__(self, tag="large", device=None, lazy=True):
        self.tag, self.device, self.lazy = tag, device, lazy
        self.calls: list[dict] = []

    def embed_style(self, text_or_waveform):
        seed = sum(map(ord, text_or_waveform)) if isinstance(text_or_waveform, str) else 7
        return np.random.default_rng(seed).standard_normal(768).astype(np.float32)

    def generate_chunk(self, state=None, style=None, seed=None, temperature=1.1, topk=40,
                       guidance_weight=5.0):
        state = state or StandInState()
        self.calls.append(dict(chunk=state.chunk_index, style=None if style is None else style.copy(),
                               seed=seed, temperature=temperature, topk=topk,
                               guidance_weight=guidance_weight))
        t = np.arange(96_000) + 96_000 * state.chunk_index  # continuous across chunks
        tone = 0.1 * np.sin(2 * np.pi * 220 * t / 48_000).astype(np.float32)
        state = StandInState(state.chunk_index + 1, [*state.context, seed][-5:])
        return Waveform(np.stack([tone, tone], axis=1), 48_000), state


@pytest.fixture
def engine():
    return MagentaRT1Engine(system=StandInMagentaRT(), block_frames=9600)


def test_chunks_are_cut_to_blocks_and_state_is_carried(engine):
    style = engine.embed(Prompt(text="calm piano")).vector
    state = engine.init_state(10)
    blocks = []
    for _ in range(15):  # 3 s of 200 ms blocks: two 2 s chunks
        out = engine.generate([state], style[None], [Knobs()], 9600)
        state = out.states[0]
        blocks.append(out.pcm[0])
    audio = np.concatenate(blocks)
    expected = 0.1 * np.sin(2 * np.pi * 220 * np.arange(len(audio)) / 48_000)
    np.testing.assert_allclose(audio[:, 0], expected, atol=1e-4)
    calls = engine.system.calls
    assert [c["chunk"] for c in calls] == [0, 1]  # the v1 state went from chunk to chunk
    assert [c["seed"] for c in calls] == [10, 11]
    assert state.system_state.chunk_index == 2


def test_knobs_and_blends_reach_the_system(engine):
    a = engine.embed(Prompt(text="techno")).vector
    b = engine.embed(Prompt(text="strings")).vector
    blend = 0.25 * a + 0.75 * b
    states = [engine.init_state(1), engine.init_state(2)]
    engine.generate(states, np.stack([blend, engine.neutral_style()]),
                    [Knobs(temperature=1.4, top_k=20, guidance=3.0), Knobs()], 9600)
    first, second = engine.system.calls
    np.testing.assert_allclose(first["style"], blend)
    assert (first["temperature"], first["topk"], first["guidance_weight"]) == (1.4, 20, 3.0)
    assert second["style"] is None  # the neutral (empty) blend leaves the style unset
    assert (second["temperature"], second["topk"], second["guidance_weight"]) == (1.1, 40, 5.0)


def test_block_size_must_divide_the_chunk():
    with pytest.raises(ValueError, match="divide"):
        MagentaRT1Engine(system=StandInMagentaRT(), block_frames=7000)


def test_absence_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "magenta_rt", None)
    monkeypatch.setitem(sys.modules, "magenta_rt.system", None)
    with pytest.raises(EngineUnavailable) as info:
        create_engine("magenta-rt1")
    message = str(info.value)
    assert "v1_legacy" in message and "\n" not in message
