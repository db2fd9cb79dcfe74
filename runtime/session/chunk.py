"""What a session emits: audio chunks and events. Plain data, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


@dataclass(frozen=True)
class Chunk:
    """One block of a session's audio.

    ``seq`` counts chunks from 0 without gaps; ``stream_time`` is the index of the first
    sample since the session started (pauses excluded), so chunk ``n+1`` starts at
    ``stream_time + frames`` of chunk ``n``. ``weights`` is the normalised blend (prompt
    name -> weight) that produced it and ``prompts`` maps those names to their text.
    """

    session_id: str
    seq: int
    stream_time: int
    pcm: np.ndarray  # float32 [frames, channels]
    sample_rate: int
    weights: Mapping[str, float]
    prompts: Mapping[str, str] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return int(self.pcm.shape[0])

    @property
    def channels(self) -> int:
        return int(self.pcm.shape[1])


class EventKind(StrEnum):
    BLEND_CHANGED = "blend_changed"
    UNKNOWN_WORDS = "unknown_words"
    UNDERRUN = "underrun"
    STATE_CHANGED = "state_changed"
    ERROR = "error"
    ENDED = "ended"


@dataclass(frozen=True)
class SessionEvent:
    kind: EventKind
    session_id: str
    stream_time: int
    detail: Mapping[str, object] = field(default_factory=dict)
