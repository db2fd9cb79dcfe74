"""`SessionSlot`: what the generation loop keeps per session between steps.

The loop (its scheduler) owns the slot; the `Session` only points at it, so a session can
move to another loop, engine or process by handing its slot over (`GenerationLoop.adopt`)
or rebuilding it from a snapshot. Touched only from the loop's thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engines.base import Knobs
from ..musictime import BeatClock
from .conceal import BarLoop, Tail


@dataclass
class Pacing:
    """Real-time anchor: sample ``sample`` of the stream should be heard at ``time``
    (None: not anchored yet; anchored when the first block after play is delivered)."""

    time: float | None = None
    sample: int = 0


@dataclass
class SessionSlot:
    engine_state: Any
    pacing: Pacing = field(default_factory=Pacing)
    gain: float = 1.0  # gain the last block ended at (0 when the blend is empty)
    last_frame: np.ndarray | None = None  # the last sample delivered, [channels]
    declick: np.ndarray | None = None  # after a reset: the old stream's last sample to fade
    in_flight: int = 0  # frames of the block being generated right now
    clock: BeatClock | None = None  # where the next block starts on the beat grid
    last_style: np.ndarray | None = None  # the style of the latest block requested
    last_knobs: Knobs | None = None
    prepared: tuple | None = None  # (scene, override) whose prompts are all embedded
    tail: Tail | None = None  # the last seconds played, for concealment
    concealing: str | None = None  # reason, while the session plays its concealment voice
    loop: BarLoop | None = None  # the bar being looped (procedural sessions), during a run
    concealed: int = 0  # samples of concealment played in the current run
    primed: bool = False  # its buffer has reached the lookahead since it (re)started
    started: int = 0  # the stream sample at which it last started playing
    lag: int = 0  # stream samples the engine has not generated (concealed, not dropped)
