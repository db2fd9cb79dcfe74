"""A test kit shipped with the runtime: fakes of our real interfaces and helpers that run
sessions end to end. Used by Cadenza's own tests; usable by anyone building on Cadenza.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .engines.base import EngineInfo, EngineOutput, Knobs, Prompt, StyleEmbedding
from .session.chunk import Chunk, SessionEvent
from .session.clock import ManualClock

__all__ = ["CollectingListener", "FlakyEngine", "ManualClock", "render_prompt"]


@dataclass
class CollectingListener:
    """Keeps every chunk and event a session emits (for assertions)."""

    chunks: list[Chunk] = field(default_factory=list)
    events: list[SessionEvent] = field(default_factory=list)

    def on_chunk(self, chunk: Chunk) -> None:
        self.chunks.append(chunk)

    def on_event(self, event: SessionEvent) -> None:
        self.events.append(event)

    def audio(self) -> np.ndarray:
        return np.concatenate([c.pcm for c in self.chunks]) if self.chunks else np.zeros((0, 2))

    def kinds(self) -> list[str]:
        return [e.kind.value for e in self.events]


class FlakyEngine:
    """Wraps a real engine and fails ``generate`` for any row whose state's seed is in
    ``bad_seeds`` — to test that one failing session cannot take others down."""

    def __init__(self, inner, bad_seeds: Sequence[int]) -> None:
        self.inner = inner
        self.bad_seeds = set(bad_seeds)
        self.calls: list[int] = []

    @property
    def info(self) -> EngineInfo:
        return self.inner.info

    def embed(self, prompt: Prompt) -> StyleEmbedding:
        return self.inner.embed(prompt)

    def neutral_style(self) -> np.ndarray:
        return self.inner.neutral_style()

    def init_state(self, seed: int):
        return self.inner.init_state(seed)

    def generate(self, states, styles, knobs: Sequence[Knobs], frames: int) -> EngineOutput:
        self.calls.append(len(states))
        if any(getattr(s, "seed", None) in self.bad_seeds for s in states):
            raise RuntimeError("simulated device fault")
        return self.inner.generate(states, styles, knobs, frames)


def render_prompt(engine, text: str, seconds: float, seed: int = 1,
                  knobs: Knobs | None = None) -> np.ndarray:
    """Render one text prompt for ``seconds`` straight through the engine contract."""
    style = engine.embed(Prompt(text=text)).vector[None, :]
    state = engine.init_state(seed)
    frames = engine.info.block_frames
    blocks = []
    for _ in range(int(np.ceil(seconds * engine.info.sample_rate / frames))):
        out = engine.generate([state], style, [knobs or Knobs()], frames)
        state = out.states[0]
        blocks.append(out.pcm[0])
    return np.concatenate(blocks)
