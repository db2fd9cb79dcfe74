"""A music session: one scene, its inputs, its engine state and its listeners.

A session is mutated only from the loop's thread (the asyncio loop in the server, the
caller in an offline render): control calls validate synchronously and take effect at
the next block. Engines and transports are not known here; chunks and events go to
`Listener` objects (sinks, transport subscriptions).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np

from ..engines.base import Prompt
from ..errors import FailedPrecondition, InvalidArgument
from ..musictime import BeatClock
from ..scene import Blend, Scene, SceneEvaluator
from ..scene.crossfade import CrossfadeEvaluator
from ..scene.expr import suggest
from ..vocabulary import knob_overrides, merge_config
from .chunk import Chunk, EventKind, SessionEvent
from .lifecycle import SessionState, next_state
from .recording import Recorder
from .slot import Pacing, SessionSlot
from .stingers import StingerBus

log = logging.getLogger("cadenza.session")

MAX_PROMPTS = 16
MAX_PROMPT_CHARS = 500


class Listener(Protocol):
    """Receives a session's output. Calls come from the loop's thread and must not block:
    a listener that can fall behind keeps its own bounded queue."""

    def on_chunk(self, chunk: Chunk) -> None: ...

    def on_event(self, event: SessionEvent) -> None: ...


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
        # Live generation config (Lyria's set_music_generation_config): overrides the
        # scene's knobs field by field until cleared; "seed" applies at the next reset.
        self.config_override: dict[str, object] = {}
        self._scene_seed = seed
        # The generation loop's per-session state (engine state, pacing, gain, clock):
        # owned by the loop, which may replace it when the session moves (see slot.py).
        self.slot = SessionSlot(engine_state)
        self.seq = 0
        self.stream_time = 0
        self.blend: Blend | None = None
        self.reset_requested = False
        self.counters = Counters()
        self.listeners: list[Listener] = []
        self.announced: set[str] = set()
        self.stingers = StingerBus()
        self.pending_triggers: list[str] = []
        self.recorder: Recorder | None = None
        self.heard_bpm: float | None = None  # tempo estimated from the audio, when measured
        self.error: str | None = None
        self._last_weights: Mapping[str, float] | None = None

    # ------------------------------------------------- the loop's state, read-only views
    @property
    def engine_state(self) -> Any:
        return self.slot.engine_state

    @property
    def pacing(self) -> Pacing:
        return self.slot.pacing

    @property
    def clock(self) -> BeatClock | None:
        """Where the next block starts on the beat grid (None before the first block)."""
        return self.slot.clock

    @property
    def in_flight(self) -> int:
        return self.slot.in_flight

    # ------------------------------------------------------------------------- control
    @property
    def applies_at(self) -> int:
        """The stream sample from which a control applied now is heard: the start of the
        next block to be generated (after any block already in flight)."""
        return self.stream_time + self.slot.in_flight

    def record(self, kind: str, **data: object) -> None:
        if self.recorder is not None:
            self.recorder.event(self.applies_at, kind, **data)

    def update_state(self, values: Mapping[str, object]) -> dict[str, float | str | bool]:
        """Validate and apply a state update (all or nothing). Raises InvalidArgument
        naming the variable; the session keeps playing either way."""
        self._require_live()
        accepted = self.scene.validate_update(values)
        self.inputs.update(accepted)
        self.counters.state_updates += 1
        self.record("state", values=accepted)
        return accepted

    def swap_scene(self, scene: Scene, crossfade_s: float | None = None) -> None:
        """Give the session another scene without a gap: engine state, seq and listeners
        stay; inputs the new scene also has keep their value when still valid there; the
        blend crossfades from the old scene's to the new one's over ``crossfade_s`` (by
        default the new scene's default glide, at least 0.5 s; 2 s if given in beats)."""
        self._require_live()
        inputs = scene.defaults()
        for name, value in self.inputs.items():
            if name in scene.inputs:
                # A value no longer valid there takes the new scene's default.
                with contextlib.suppress(InvalidArgument):
                    inputs[name] = scene.inputs[name].validate(value)
        if crossfade_s is None:
            crossfade_s = max(scene.glide_s or 2.0, 0.5)
        self.record("scene", yaml=scene.source, file=scene.file, crossfade_s=crossfade_s)
        start = self.applies_at
        self.scene = scene
        self.inputs = inputs
        self.evaluator = CrossfadeEvaluator(lambda: self.blend,
                                            SceneEvaluator(scene, self.sample_rate), start,
                                            int(crossfade_s * self.sample_rate))

    def trigger(self, name: str) -> None:
        """Fire stinger ``name`` at its next ``play_at`` boundary (unless it is cooling
        down: the outcome arrives as a ``stinger`` event)."""
        self._require_live()
        if name not in self.scene.stingers:
            raise InvalidArgument(
                f"scene {self.scene.name!r} has no stinger {name!r}"
                f"{suggest(name, list(self.scene.stingers))}"
                + ("" if self.scene.stingers else " (it declares none)"), field="stinger")
        self.pending_triggers.append(name)
        self.record("trigger", stinger=name)

    def set_prompts(self, weights: Mapping[str, float] | None) -> None:
        """Steer with direct weighted text prompts, bypassing the scene's mix (the scene's
        knobs still apply). ``None`` or an empty mapping returns control to the scene."""
        self._require_live()
        if not weights:
            self.override = None
            self.record("prompts", prompts={})
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
        self.record("prompts", prompts=clean)

    def set_config(self, values: Mapping[str, object] | None,
                   clear: Iterable[str] = ()) -> dict[str, object]:
        """Set and clear live generation-config fields (see `vocabulary.merge_config`; all
        or nothing, InvalidArgument naming ``config.<field>``). Returns the override now in
        effect; knobs are heard from the next block, a seed from the next reset."""
        self._require_live()
        merged = merge_config(self.config_override, values, clear)
        self.config_override = merged
        self.seed = int(merged.get("seed", self._scene_seed))  # type: ignore[call-overload]
        self.record("config", config=dict(merged))
        return dict(merged)

    def transition(self, event: str) -> SessionState:
        """Apply a lifecycle event (play, pause, reset, close, fail); see lifecycle.py."""
        before = self.state
        self.state = next_state(self.state, event)
        if event != "fail":
            self.record("control", action=event)
        if event == "reset":
            self.reset_requested = True
        if not self.state.live and self.recorder is not None:
            self.recorder.close(self.stream_time)
            self.recorder = None
        if self.state != before:
            self.emit(EventKind.STATE_CHANGED, state=self.state.value, previous=before.value)
        return self.state

    def _require_live(self) -> None:
        if not self.state.live:
            raise FailedPrecondition(f"session {self.id} is {self.state.value}")

    # ------------------------------------------------------------------ loop-facing
    def next_blend(self, clock: BeatClock | None = None, horizon: int = 0, lead: int = 0) -> Blend:
        """Evaluate the scene at the current stream time (and apply a prompt override).
        ``clock``, ``horizon`` and ``lead``: see `SceneEvaluator.evaluate`."""
        blend = self.evaluator.evaluate(self.inputs, self.stream_time, clock, horizon, lead)
        for warning in self.evaluator.take_warnings():  # non-finite values, once each
            self.emit(EventKind.ERROR, message=warning, severity="warning")
        if self.override is not None:
            total = sum(self.override.values())
            blend = Blend(
                weights=MappingProxyType({t: w / total for t, w in self.override.items() if w > 0}),
                prompts=MappingProxyType({t: Prompt(text=t) for t in self.override}),
                knobs=blend.knobs, fired=blend.fired,
            )
        if self.config_override:
            knobs = dataclasses.replace(blend.knobs, **knob_overrides(self.config_override))
            blend = dataclasses.replace(blend, knobs=knobs)
        return blend

    def make_chunk(self, pcm: np.ndarray, blend: Blend, weights: Mapping[str, float] | None = None,
                   clock: BeatClock | None = None) -> Chunk:
        weights = blend.weights if weights is None else weights
        prompts = {name: p.key for name, p in blend.prompts.items() if name in weights}
        chunk = Chunk(self.id, self.seq, self.stream_time, pcm, self.sample_rate,
                      weights, prompts, clock=clock)
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
