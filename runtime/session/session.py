"""A music session: one scene, its inputs, its engine state and its listeners.

A session is mutated only from the loop's thread (the asyncio loop in the server, the
caller in an offline render): control calls validate synchronously and take effect at
the next block. Engines and transports are not known here; chunks and events go to
`Listener` objects (sinks, transport subscriptions).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np

from ..engines.base import Knobs, Prompt
from ..errors import FailedPrecondition, InvalidArgument
from ..scene import Blend, Scene, SceneEvaluator
from .chunk import Chunk, EventKind, SessionEvent
from .lifecycle import SessionState, next_state

log = logging.getLogger("cadenza.session")

MAX_PROMPTS = 16
MAX_PROMPT_CHARS = 500


class Listener(Protocol):
    """Receives a session's output. Calls come from the loop's thread and must not block:
    a listener that can fall behind keeps its own bounded queue."""

    def on_chunk(self, chunk: Chunk) -> None: ...

    def on_event(self, event: SessionEvent) -> None: ...


@dataclass
class Pacing:
    """Real-time anchor: sample ``sample`` of the stream should be heard at ``time``
    (None: not anchored yet; anchored when the first block after play is delivered)."""

    time: float | None = None
    sample: int = 0


@dataclass
class Counters:
    chunks: int = 0
    underruns: int = 0
    state_updates: int = 0


class Session:
    def __init__(self, session_id: str, scene: Scene, engine_name: str, seed: int,
                 engine_state: Any, sample_rate: int) -> None:
        self.id = session_id
        self.scene = scene
        self.engine_name = engine_name
        self.seed = seed
        self.sample_rate = sample_rate
        self.state = SessionState.CREATED
        self.evaluator = SceneEvaluator(scene, sample_rate)
        self.inputs: dict[str, float | str | bool] = scene.defaults()
        self.override: dict[str, float] | None = None
        self.engine_state = engine_state
        self.seq = 0
        self.stream_time = 0
        self.blend: Blend | None = None
        self.gain = 1.0
        self.last_frame: np.ndarray | None = None
        self.declick: np.ndarray | None = None
        self.reset_requested = False
        self.pacing = Pacing()
        self.counters = Counters()
        self.listeners: list[Listener] = []
        self.announced: set[str] = set()
        self.error: str | None = None
        self._last_weights: Mapping[str, float] | None = None

    # ------------------------------------------------------------------------- control
    def update_state(self, values: Mapping[str, object]) -> dict[str, float | str | bool]:
        """Validate and apply a state update (all or nothing). Raises InvalidArgument
        naming the variable; the session keeps playing either way."""
        self._require_live()
        accepted = self.scene.validate_update(values)
        self.inputs.update(accepted)
        self.counters.state_updates += 1
        return accepted

    def set_prompts(self, weights: Mapping[str, float] | None) -> None:
        """Steer with direct weighted text prompts, bypassing the scene's mix (the scene's
        knobs still apply). ``None`` or an empty mapping returns control to the scene."""
        self._require_live()
        if not weights:
            self.override = None
            return
        if len(weights) > MAX_PROMPTS:
            raise InvalidArgument(f"at most {MAX_PROMPTS} prompts, got {len(weights)}",
                                  field="prompts")
        clean: dict[str, float] = {}
        for text, weight in weights.items():
            if not isinstance(text, str) or not text.strip():
                raise InvalidArgument("a prompt needs non-empty text", field="prompts")
            if len(text) > MAX_PROMPT_CHARS:
                raise InvalidArgument(f"prompt text is longer than {MAX_PROMPT_CHARS} "
                                      f"characters", field=f"prompts[{text[:20]}...]")
            if (isinstance(weight, bool) or not isinstance(weight, (int, float))
                    or not math.isfinite(weight) or weight < 0):
                raise InvalidArgument(f"weight of prompt {text!r} must be a finite number >= 0, "
                                      f"got {weight!r}", field=f"prompts[{text}]")
            clean[text.strip()] = float(weight)
        if sum(clean.values()) <= 0:
            raise InvalidArgument("at least one prompt needs a weight > 0", field="prompts")
        self.override = clean

    def transition(self, event: str) -> SessionState:
        """Apply a lifecycle event (play, pause, reset, close, fail); see lifecycle.py."""
        before = self.state
        self.state = next_state(self.state, event)
        if event == "reset":
            self.reset_requested = True
        if self.state != before:
            self.emit(EventKind.STATE_CHANGED, state=self.state.value, previous=before.value)
        return self.state

    def _require_live(self) -> None:
        if not self.state.live:
            raise FailedPrecondition(f"session {self.id} is {self.state.value}")

    # ------------------------------------------------------------------ loop-facing
    def next_blend(self) -> Blend:
        """Evaluate the scene at the current stream time (and apply a prompt override)."""
        blend = self.evaluator.evaluate(self.inputs, self.stream_time)
        if self.override is not None:
            total = sum(self.override.values())
            blend = Blend(
                weights=MappingProxyType({t: w / total for t, w in self.override.items() if w > 0}),
                prompts=MappingProxyType({t: Prompt(text=t) for t in self.override}),
                knobs=blend.knobs,
            )
        return blend

    def knobs(self, blend: Blend) -> Knobs:
        return blend.knobs

    def make_chunk(self, pcm: np.ndarray, blend: Blend) -> Chunk:
        prompts = {name: (p.text if p.text is not None else f"audio:{p.audio}")
                   for name, p in blend.prompts.items() if name in blend.weights}
        chunk = Chunk(self.id, self.seq, self.stream_time, pcm, self.sample_rate,
                      blend.weights, prompts)
        self.blend = blend
        self.seq += 1
        self.stream_time += pcm.shape[0]
        self.counters.chunks += 1
        return chunk

    def publish(self, chunk: Chunk) -> None:
        if self._last_weights is None or _moved(self._last_weights, chunk.weights):
            self._last_weights = dict(chunk.weights)
            self.emit(EventKind.BLEND_CHANGED, weights=dict(chunk.weights),
                      prompts=dict(chunk.prompts))
        for listener in list(self.listeners):
            try:
                listener.on_chunk(chunk)
            except Exception:  # a broken listener must not stop the music for the others
                log.exception("listener failed on chunk; detaching it (session %s)", self.id)
                self.detach(listener)

    def emit(self, kind: EventKind, **detail: object) -> None:
        event = SessionEvent(kind, self.id, self.stream_time, detail)
        for listener in list(self.listeners):
            try:
                listener.on_event(event)
            except Exception:
                log.exception("listener failed on event; detaching it (session %s)", self.id)
                self.detach(listener)

    def attach(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def detach(self, listener: Listener) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)


def _moved(before: Mapping[str, float], after: Mapping[str, float], step: float = 0.02) -> bool:
    """A blend counts as changed when a prompt appears, disappears or moves by ``step``."""
    if before.keys() != after.keys():
        return True
    return any(abs(after[k] - before[k]) >= step for k in after)


__all__ = ["Counters", "Listener", "Pacing", "Session"]
