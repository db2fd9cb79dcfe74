"""The engine contract: the only thing sessions and the generation loop know of an engine.

An engine turns style vectors into audio, many sessions at once:

* ``info`` describes it (rate, channels, native block, batch limit, knobs it honours).
* ``embed(prompt)`` maps a text or audio prompt to a style vector. Callers cache it.
* ``init_state(seed)`` makes a fresh per-session state (musical context, phases, RNG).
* ``generate(states, styles, knobs, frames)`` advances a whole batch by ``frames``
  samples in one call and returns the audio plus the new states.

Engines know nothing of scenes, sessions, transports or clocks. They are called from
one thread at a time (the generation loop's executor); ``embed`` may be called from
another thread between generate calls and must not touch session state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Prompt:
    """A style prompt: exactly one of ``text`` or ``audio`` (a path to a sound file)."""

    text: str | None = None
    audio: str | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.audio is None):
            raise ValueError("a prompt has exactly one of text or audio")

    @property
    def kind(self) -> str:
        return "text" if self.text is not None else "audio"

    @property
    def key(self) -> str:
        """A stable cache key (the text, or ``audio:`` + path)."""
        return self.text if self.text is not None else f"audio:{self.audio}"


@dataclass(frozen=True)
class StyleEmbedding:
    """What ``embed`` returns: the vector, and the prompt words the engine did not know.

    ``unknown_words`` lets a UI show the user what was ignored; engines that understand
    any text (MusicCoCa) return an empty tuple.
    """

    vector: np.ndarray
    unknown_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Knobs:
    """Per-session generation knobs, one value per row of a batch.

    Names and ranges follow Lyria RealTime where it has them. ``None`` leaves the engine's
    default. ``extra`` carries engine-specific conditioning (e.g. MRT2 notes/drums).
    """

    temperature: float | None = None
    top_k: int | None = None
    guidance: float | None = None
    extra: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineInfo:
    name: str
    version: str
    sample_rate: int
    channels: int
    block_frames: int
    max_batch: int
    style_dim: int
    prompt_kinds: frozenset[str]
    knobs: frozenset[str]
    control_latency_s: float
    description: str = ""

    @property
    def block_seconds(self) -> float:
        return self.block_frames / self.sample_rate


@dataclass
class EngineOutput:
    """One batched call's result: ``pcm`` is float32 ``[batch, frames, channels]``."""

    pcm: np.ndarray
    states: list[Any]


@runtime_checkable
class Engine(Protocol):
    @property
    def info(self) -> EngineInfo: ...

    def embed(self, prompt: Prompt) -> StyleEmbedding: ...

    def neutral_style(self) -> np.ndarray:
        """The vector used when a blend is empty (no prompt has weight)."""
        ...

    def init_state(self, seed: int) -> Any: ...

    def generate(
        self,
        states: Sequence[Any],
        styles: np.ndarray,
        knobs: Sequence[Knobs],
        frames: int,
    ) -> EngineOutput:
        """Advance every row by ``frames`` samples (a multiple of ``info.block_frames``).

        ``styles`` is ``[batch, style_dim]``. The states passed in are consumed: the caller
        must keep only the returned ones (engines may update them in place).
        """
        ...
