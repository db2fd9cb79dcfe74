"""The forwarder: restored sessions run ahead together, each to exactly its own block."""

from __future__ import annotations

import concurrent.futures

import numpy as np
import pytest

from cadenza.runtime.cluster.forward import Forwarder
from cadenza.runtime.engines.base import Knobs, Prompt
from cadenza.runtime.engines.procedural.engine import ProceduralEngine


class Counting:
    """The procedural engine, counting rows per call (and failing on demand)."""

    def __init__(self) -> None:
        self.inner = ProceduralEngine()
        self.info = self.inner.info
        self.rows: list[int] = []
        self.fail_at: int | None = None

    def generate(self, states, styles, knobs, frames):
        self.rows.append(len(states))
        if self.fail_at is not None and len(self.rows) >= self.fail_at:
            raise RuntimeError("engine down")
        return self.inner.generate(states, styles, knobs, frames)


def _alone(engine, seed: int, style, blocks: int):
    state = engine.init_state(seed)
    for _ in range(blocks):
        state = engine.generate([state], style[None, :], [Knobs()], engine.info.block_frames).states[0]
    return state


def test_each_session_reaches_its_own_block_in_shared_calls():
    engine = Counting()
    style = engine.inner.embed(Prompt(text="dark ambient drones")).vector
    blocks = [3, 7, 1, 7, 12]
    forwarder = Forwarder()
    try:
        futures = [forwarder.submit(engine, engine.info.block_frames, engine.inner.init_state(i),
                                    style, Knobs(), n) for i, n in enumerate(blocks)]
        states = [f.result(timeout=60) for f in futures]
    finally:
        forwarder.close()
    reference = ProceduralEngine()
    frames = engine.info.block_frames
    for i, (state, n) in enumerate(zip(states, blocks, strict=True)):
        want = _alone(reference, i, style, n)
        # The same next block from both states: they are the same state.
        got_pcm = reference.generate([state], style[None, :], [Knobs()], frames).pcm[0]
        want_pcm = reference.generate([want], style[None, :], [Knobs()], frames).pcm[0]
        np.testing.assert_array_equal(got_pcm, want_pcm)
    # Batched: far fewer calls than rows-blocks, the first calls carrying several rows.
    assert sum(engine.rows) == sum(blocks)
    assert len(engine.rows) < sum(blocks) and max(engine.rows) > 1


def test_a_failing_call_fails_its_rows_and_zero_blocks_return_at_once():
    engine = Counting()
    engine.fail_at = 2
    style = engine.inner.embed(Prompt(text="piano")).vector
    forwarder = Forwarder()
    try:
        state = engine.inner.init_state(0)
        assert forwarder.submit(engine, engine.info.block_frames, state, style, Knobs(),
                                0).result(timeout=1) is state
        doomed = forwarder.submit(engine, engine.info.block_frames, engine.inner.init_state(1),
                                  style, Knobs(), 5)
        with pytest.raises(RuntimeError, match="engine down"):
            doomed.result(timeout=60)
    finally:
        forwarder.close()
    with pytest.raises(RuntimeError, match="closed"):
        forwarder.submit(engine, engine.info.block_frames, state, style, Knobs(), 1)


def test_close_cancels_what_is_still_waiting():
    engine = Counting()
    style = engine.inner.embed(Prompt(text="piano")).vector
    forwarder = Forwarder()
    future = forwarder.submit(engine, engine.info.block_frames, engine.inner.init_state(0),
                              style, Knobs(), 100_000)
    forwarder.close()
    with pytest.raises(concurrent.futures.CancelledError):
        future.result(timeout=10)
