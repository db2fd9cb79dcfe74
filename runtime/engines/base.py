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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

# Re-exported: the vocabulary moved to `runtime.vocabulary` (the scene package uses it
# without importing engines); every `from ..engines.base import Knobs` keeps working.
from ..vocabulary import KNOB_NAMES as KNOB_NAMES
from ..vocabulary import SCALE_UNSPECIFIED as SCALE_UNSPECIFIED
from ..vocabulary import SCALES as SCALES
from ..vocabulary import Knobs as Knobs
from ..vocabulary import Prompt as Prompt


@dataclass(frozen=True)
class StyleEmbedding:
    """What ``embed`` returns: the vector, and the prompt words the engine did not know.

    ``unknown_words`` lets a UI show the user what was ignored; engines that understand
    any text (MusicCoCa) return an empty tuple.
    """

    vector: np.ndarray
    unknown_words: tuple[str, ...] = ()
    mapped: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (word, terms it became) pairs


@dataclass(frozen=True)
class StyleChange:
    """Switch a row to another style at a sample offset inside the block being generated
    (a quantized transition landing on a beat). Engines with `EngineInfo.sample_accurate`
    honour the offset exactly and without gliding; for others the loop applies the change
    at the nearest block boundary instead."""

    offset: int
    style: np.ndarray
    knobs: Knobs | None = None


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
    sample_accurate: bool = False  # honours StyleChange offsets inside a block
    has_beat_grid: bool = False  # `beat_clock(state)` reports the engine's own grid
    # embed(text) is pure and fast (well under 1 ms, no I/O): may run on the event loop.
    cheap_text_embed: bool = False

    @property
    def block_seconds(self) -> float:
        return self.block_frames / self.sample_rate


@dataclass
class EngineOutput:
    """One batched call's result: ``pcm`` is float32 ``[batch, frames, channels]``.
    ``bucket``: the batch size the call really ran at (a compiled bucket), when the
    engine's cost depends on it rather than on the rows served."""

    pcm: np.ndarray
    states: list[Any]
    bucket: int | None = None


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
        changes: Sequence[StyleChange | None] | None = None,
    ) -> EngineOutput:
        """Advance every row by ``frames`` samples (a multiple of ``info.block_frames``).

        ``styles`` is ``[batch, style_dim]``. The states passed in are consumed: the caller
        must keep only the returned ones (engines may update them in place). ``changes``
        (one `StyleChange` or None per row) is only ever passed to engines with
        ``info.sample_accurate``; others may ignore it.
        """
        ...

    def release(self, state: Any) -> None:
        """The session owning ``state`` closed or reset: free what it holds now (a batch
        slot, device rows). ``state`` is never passed to ``generate`` again. Idempotent."""
        ...

    def snapshot(self, state: Any) -> bytes:
        """Everything needed to continue ``state``'s stream elsewhere (another process of
        the same engine and model). Called between ``generate`` calls, from the loop's
        thread; the state stays usable."""
        ...

    def restore(self, data: bytes) -> Any:
        """A state continuing the stream ``snapshot`` captured. Raises ValueError on bytes
        that are not a snapshot of this engine."""
        ...


@dataclass(frozen=True)
class GridPosition:
    """Where an engine's own beat grid stands at the next sample it will generate.

    ``beat`` counts beats of the meter's unit (eighths in 6/8) and bar lines fall on its
    multiples of ``beats_per_bar``; ``bpm`` is in the same beats (twice the quarter-note
    tempo in 6/8)."""

    beat: float
    bpm: float
    beats_per_bar: int = 4
    beat_unit: int = 4


@runtime_checkable
class BeatGrid(Protocol):
    """Optional: engines whose music follows an internal beat grid (``info.has_beat_grid``)
    report it, so the runtime's clock is the grid itself."""

    def beat_clock(self, state: Any, style: np.ndarray | None = None,
                   knobs: Knobs | None = None) -> GridPosition:
        """The grid at the next sample to be generated; given the style and knobs of the
        next block, at the tempo that block will play."""
        ...


@runtime_checkable
class Advancing(Protocol):
    """Optional: engines that can move states on by a stretch nobody hears (concealment
    covered it) for less than generating it: position, grid and musical state exactly as
    `generate` would leave them, the sound's own tails (reverb) excepted."""

    def advance(self, states: Sequence[Any], styles: np.ndarray, knobs: Sequence[Knobs],
                frames: Sequence[int]) -> list[Any]:
        """The states, in order, each its ``frames`` (whole blocks) later."""
        ...


@runtime_checkable
class PhraseMaker(Protocol):
    """Optional: engines that can play a short phrase in the session's current key and
    tempo (for stingers declared with ``phrase:``)."""

    def phrase(self, state: Any, text: str, beats: float) -> np.ndarray:
        """float32 ``[frames, channels]``: a one-shot, starting on its first sample."""
        ...


@runtime_checkable
class Batched(Protocol):
    """Optional: engines whose call costs the same for any rows up to a compiled batch
    size (a bucket). The scheduler budgets a call by its bucket, not by its rows."""

    def bucket_for(self, rows: int) -> int:
        """The batch size a call serving ``rows`` rows (besides the sessions already
        holding slots) would run at."""
        ...
