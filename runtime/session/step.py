"""The named types of one step of the generation loop: schedule -> `SchedulerOutput`
(a `BlockRequest` per session), execute -> `StepResult`, and the loop's counters
(`LoopStats`). Plain data: created and read on the loop's owner thread, except a
`StepResult`, filled in the engine thread and handed back whole."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..engines.base import EngineOutput, Knobs, StyleChange
from ..musictime import BeatClock
from ..scene import Blend
from .session import Session


@dataclass
class BlockRequest:
    """One session's share of a step: what to generate, and how to shape it after."""

    session: Session
    blend: Blend
    style: np.ndarray
    knobs: Knobs
    gain_from: float
    gain_to: float
    clock: BeatClock | None = None
    change: StyleChange | None = None  # a quantized switch inside this block
    weights: Mapping[str, float] | None = None  # the blend reported with the chunk
    at: int = 0  # the stream sample the block starts at (late if the stream moved on)
    skip: int = 0  # frames the engine plays first, unheard: the band catching up (whole blocks)


@dataclass
class SchedulerOutput:
    requests: list[BlockRequest]
    frames: int
    bucket: int = 0  # the bucket the scheduler budgeted the call at


@dataclass
class StepResult:
    """What `execute` did: the calls that succeeded (each a subset of the requests, in
    order) and the rows that failed alone."""

    outputs: list[tuple[list[BlockRequest], EngineOutput]] = field(default_factory=list)
    failures: list[tuple[BlockRequest, BaseException]] = field(default_factory=list)
    calls: int = 0


@dataclass
class LoopStats:
    steps: int = 0  # successful engine calls
    blocks: int = 0
    underruns: int = 0
    engine_seconds: float = 0.0
    last_step_seconds: float = 0.0
    last_batch: int = 0  # rows of the last call
    last_bucket: int = 0  # bucket of the last call
    failures: int = 0  # failed engine calls (a bisected batch counts each failing call)
    rows: int = 0  # rows served, over all successful calls
    recent_call_s: float = 0.0  # moving averages over recent successful calls
    recent_rows: float = 0.0
    concealed_s: dict[str, float] = field(default_factory=dict)  # reason -> seconds played
    late_blocks: int = 0  # engine blocks dropped because concealment had covered them
    retimed_blocks: int = 0  # model blocks played after the concealment that covered them
