"""What a session emits: audio chunks and events. Plain data, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from ..audio import to_f32le, to_s16le
from ..musictime import BeatClock


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
    clock: BeatClock | None = None  # the beat grid at the chunk's first sample
    _encoded: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    def encoded(self, encoding: str) -> bytes:
        """The PCM as interleaved little-endian bytes: "s16le" or "f32le". Encoded once
        per chunk and encoding, however many clients receive it."""
        data = self._encoded.get(encoding)
        if data is None:
            if encoding == "s16le":
                data = to_s16le(self.pcm)
            elif encoding == "f32le":
                data = to_f32le(self.pcm)
            else:
                raise ValueError(f"unknown encoding {encoding!r}")
            self._encoded[encoding] = data
        return data

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
    STINGER = "stinger"
    TEMPO = "tempo"
    BEAT = "beat"
    BAR = "bar"
    ERROR = "error"
    ENDED = "ended"
    CONCEALED = "concealed"  # the engine is late: a fallback voice plays (start/end, reason)


@dataclass(frozen=True)
class SessionEvent:
    kind: EventKind
    session_id: str
    stream_time: int
    detail: Mapping[str, object] = field(default_factory=dict)
