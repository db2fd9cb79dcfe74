"""Scene evaluation: (compiled scene, pushed inputs, time, clock) -> Blend. Pure.

One `SceneEvaluator` per session holds the only mutable state: gated and smoothed input
values, latch states, the gliding prompt weights, scheduled (quantized) transitions and
stinger conditions. Given the same sequence of ``(inputs, time, clock)`` calls it returns
the same blends (replay relies on this). Time is in samples, never read from a clock.

Two kinds of weight change:

* rate limited (the default, and ``at: immediate`` rules with a linear glide): each weight
  moves toward its target at most a full 0 <-> 1 swing per glide time;
* shaped (``at: beat|bar|bars``, an ``ease`` or a ``fill``): the change waits for the
  boundary, then the weights travel from where they were to the target over the glide,
  along the easing curve (through the fill prompt first, if any). A change that lands
  inside the coming block is returned as a `Switch` at its exact sample offset.

Non-finite values never reach the engine: a weight that evaluates to NaN or infinity
counts as 0, a knob takes its last finite value (or the bottom of its range), an engine
conditioning value 0. Each such (field, value) is reported once per evaluator through
`take_warnings` (the session emits it as an event).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..audio import SAMPLE_RATE
from ..musictime import BeatClock
from ..vocabulary import Knobs
from .durations import Duration
from .model import Blend, Scene, Switch, Transition

_EPS = 1e-6
_MAX_WEIGHT = 1e9  # one term's weight, so that a sum of many never overflows


@dataclass
class _Gate:
    """Dwell/cooldown bookkeeping for one input."""

    candidate: object
    since: int
    accepted: object
    changed: int


@dataclass
class _Shaped:
    """A shaped transition: scheduled at beat ``beat`` (None once it has started at
    sample ``start``), travelling from ``origin`` weights."""

    rule: Transition
    beat: float | None
    start: int | None = None
    origin: dict[str, float] | None = None


def ease(kind: str, x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    if kind == "in":
        return x * x
    if kind == "out":
        return 1.0 - (1.0 - x) ** 2
    if kind == "in_out":
        return x * x * (3.0 - 2.0 * x)
    return x


class SceneEvaluator:
    def __init__(self, scene: Scene, sample_rate: int = SAMPLE_RATE) -> None:
        self.scene = scene
        self.rate = sample_rate
        self.values: dict[str, float | str | bool] = scene.defaults()
        self.gates: dict[str, _Gate] = {}
        self.latches: dict[str, bool] = {d.name: False for d in scene.derived if d.is_latch}
        self.conditions: dict[str, bool] | None = None
        self.stinger_conditions: dict[str, bool] = {}
        self.weights: dict[str, float] | None = None
        self.rule: Transition = scene.default
        self.shaped: _Shaped | None = None
        self.time: int | None = None
        self.env: dict[str, object] = {}
        self._warned: set[str] = set()
        self._pending: list[str] = []
        self._last_knobs: dict[str, float] = {}

    def take_warnings(self) -> list[str]:
        """Warnings raised since the last call (each kind at most once per evaluator)."""
        out, self._pending = self._pending, []
        return out

    def _finite(self, value: object, field: str, fallback: float) -> float:
        number = float(value)  # type: ignore[arg-type]
        if math.isfinite(number):
            return number
        if field not in self._warned:
            self._warned.add(field)
            self._pending.append(f"scene {self.scene.name!r}: {field} evaluated to {number}; "
                                 f"using {fallback:g} instead (reported once per session)")
        return fallback

    def evaluate(self, targets: Mapping[str, float | str | bool], now: int,
                 clock: BeatClock | None = None, horizon: int = 0, lead: int = 0) -> Blend:
        """Advance to sample ``now`` with the inputs' latest pushed (validated) values.

        ``clock`` places ``now`` on the beat grid (a default 120 bpm 4/4 grid from sample 0
        when None). ``horizon`` is the length of the block about to be generated: a
        quantized change landing inside it is returned as ``Blend.switch``. ``lead`` moves
        quantized changes that much earlier (the engine's control latency), so that they
        are heard on the beat. Time must not go backwards.
        """
        clock = clock or BeatClock(0, 0.0, 120.0, rate=self.rate)
        first = self.time is None
        dt = 0.0 if first else max(0, now - self.time) / self.rate
        self.time = now
        self._inputs(targets, now, dt, first)
        env: dict[str, object] = dict(self.values)
        for d in self.scene.derived:
            if d.is_latch:
                on = self.latches[d.name]
                if not on and d.enter.fn(env):
                    on = True
                elif on and d.exit.fn(env):
                    on = False
                self.latches[d.name] = on
                env[d.name] = on
            else:
                env[d.name] = d.expr.fn(env)
        self.env = env
        fired_rule = self._fire_transitions(env)
        targets_w = self._targets(env)
        switch = self._move(targets_w, fired_rule, now, dt, clock, horizon, lead)
        return Blend(weights=MappingProxyType(_normalised(self.weights)),
                     prompts=self.scene.prompts, knobs=self._knobs(env), switch=switch,
                     fired=self._fired_stingers(env))

    # ------------------------------------------------------------------------ inputs
    def _inputs(self, targets: Mapping[str, object], now: int, dt: float, first: bool) -> None:
        """Gate (dwell, cooldown) then smooth (slew) every input."""
        for name, spec in self.scene.inputs.items():
            target = targets.get(name, spec.default)
            if spec.dwell_s or spec.cooldown_s:
                target = self._gate(name, spec, target, now, first)
            if spec.slew_rate and not first:
                current = float(self.values[name])
                step = spec.slew_rate * dt
                delta = float(target) - current
                self.values[name] = target if abs(delta) <= step else current + step * (
                    1 if delta > 0 else -1)
            else:
                self.values[name] = target

    def _gate(self, name: str, spec, target: object, now: int, first: bool) -> object:
        """A new value counts once it has been held for ``dwell`` (a different value before
        then restarts the wait), and no sooner than ``cooldown`` after the last change."""
        gate = self.gates.get(name)
        if gate is None or first:
            self.gates[name] = _Gate(target, now, target, -(10**12))
            return target
        if target != gate.candidate:
            gate.candidate, gate.since = target, now
        held = (now - gate.since) / self.rate >= spec.dwell_s
        rested = (now - gate.changed) / self.rate >= spec.cooldown_s
        if gate.candidate != gate.accepted and held and rested:
            gate.accepted, gate.changed = gate.candidate, now
        return gate.accepted

    # ------------------------------------------------------------------- transitions
    def _fire_transitions(self, env: Mapping[str, object]) -> Transition | None:
        """The rule whose condition crossed its edge at this evaluation, if any (the last
        one listed wins when several fire together)."""
        now = {t.name: bool(t.condition.fn(env)) for t in self.scene.transitions}
        fired = None
        if self.conditions is not None:
            for t in self.scene.transitions:
                before, after = self.conditions[t.name], now[t.name]
                if (t.edge == "enter" and after and not before) or (
                        t.edge == "leave" and before and not after):
                    fired = t
        self.conditions = now
        return fired

    def _targets(self, env: Mapping[str, object]) -> dict[str, float]:
        out = dict.fromkeys(self.scene.prompts, 0.0)
        for term in self.scene.mix:
            if term.when is None or term.when.fn(env):
                weight = self._finite(term.weight.fn(env), f"mix weight of {term.prompt!r}", 0.0)
                out[term.prompt] += min(max(0.0, weight), _MAX_WEIGHT)
        return out

    def _samples(self, duration: Duration, clock: BeatClock) -> float:
        return duration.samples(self.rate, clock.samples_per_beat, clock.beats_per_bar)

    def _move(self, targets: dict[str, float], fired: Transition | None, now: int, dt: float,
              clock: BeatClock, horizon: int, lead: int) -> Switch | None:
        if self.weights is None:
            self.weights = dict(targets)
            return None
        if fired is not None:
            if fired.shaped:
                beat = None if fired.at == "immediate" else clock.beat_at(
                    clock.boundary(now + lead, fired.at, fired.bars))
                self.shaped = _Shaped(fired, beat)
                if beat is None:
                    self._start(now)
            else:
                self.shaped = None
                self.rule = fired
        if self.shaped is None:
            self._rate_limit(targets, dt)
            return None
        shaped = self.shaped
        if shaped.start is None:
            assert shaped.beat is not None
            at = round(clock.sample_of(shaped.beat)) - lead
            if at >= now + max(horizon, 1):
                return None  # not yet: the weights hold where they are
            self._start(max(at, now))
            if at >= now:
                # The change lands inside the coming block: hand over its exact offset.
                after = self._shaped_weights(targets, shaped.start, clock)
                return Switch(at - now, MappingProxyType(_normalised(after)))
        self.weights = self._shaped_weights(targets, now, clock)
        return None

    def _start(self, sample: int) -> None:
        assert self.shaped is not None and self.weights is not None
        self.shaped.start = sample
        self.shaped.origin = dict(self.weights)
        self.shaped.beat = None

    def _shaped_weights(self, targets: dict[str, float], now: int,
                        clock: BeatClock) -> dict[str, float]:
        """Weights of the running shaped transition at sample ``now`` (ends it when done)."""
        shaped = self.shaped
        assert shaped is not None and shaped.start is not None and shaped.origin is not None
        rule = shaped.rule
        elapsed = now - shaped.start
        origin = shaped.origin
        if rule.fill_prompt is not None and rule.fill is not None:
            fill_len = self._samples(rule.fill, clock)
            if elapsed < fill_len:
                return {n: (1.0 if n == rule.fill_prompt else 0.0) for n in targets}
            elapsed -= fill_len
            origin = {n: (1.0 if n == rule.fill_prompt else 0.0) for n in targets}
        length = self._samples(rule.glide, clock)
        progress = 1.0 if length <= 0 else elapsed / length
        if progress >= 1.0:
            self.shaped = None
            self.rule = self.scene.default
            return dict(targets)
        k = ease(rule.ease, progress)
        return {n: origin.get(n, 0.0) + (t - origin.get(n, 0.0)) * k for n, t in targets.items()}

    def _rate_limit(self, targets: dict[str, float], dt: float) -> None:
        assert self.weights is not None
        glide = self.rule.glide
        seconds = glide.amount if glide.unit == "s" else 0.0
        if seconds <= 0:
            self.weights = dict(targets)
        else:
            step = dt / seconds  # a full 0 <-> 1 swing takes the glide time
            for name, target in targets.items():
                current = self.weights[name]
                delta = target - current
                self.weights[name] = target if abs(delta) <= step else current + (
                    step if delta > 0 else -step)
        if all(abs(self.weights[n] - t) < _EPS for n, t in targets.items()):
            self.rule = self.scene.default

    # ---------------------------------------------------------------------- stingers
    def _fired_stingers(self, env: Mapping[str, object]) -> tuple[str, ...]:
        fired = []
        for name, stinger in self.scene.stingers.items():
            if stinger.when is None:
                continue
            on = bool(stinger.when.fn(env))
            if on and not self.stinger_conditions.get(name, True):
                fired.append(name)
            self.stinger_conditions[name] = on
        return tuple(fired)

    # ------------------------------------------------------------------------- knobs
    def _knobs(self, env: Mapping[str, object]) -> Knobs:
        time = self.scene.time
        values: dict[str, object] = {"meter": (time.beats_per_bar, time.beat_unit)}
        extra: dict[str, float] = {}
        for rule in self.scene.knobs:
            raw = rule.expr.fn(env)
            if rule.kind == "extra":
                extra[rule.name] = self._finite(raw, f"knob conditioning.{rule.name}", 0.0)
            elif rule.kind == "bool":
                values[rule.name] = bool(raw)
            elif rule.kind == "scale":
                values[rule.name] = None if raw == "SCALE_UNSPECIFIED" else str(raw)
            else:
                number = float(raw)
                fallback = rule.hi if number == math.inf else rule.lo if number == -math.inf \
                    else self._last_knobs.get(rule.name, rule.lo)
                number = self._finite(number, f"knob {rule.name}", fallback)
                value = min(max(number, rule.lo), rule.hi)
                self._last_knobs[rule.name] = value
                values[rule.name] = round(value) if rule.integer else value
        return Knobs(**values, extra=MappingProxyType(extra)) if extra else Knobs(**values)


def _normalised(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(w for w in weights.values() if w > _EPS)
    if total <= _EPS:
        return {}
    return {n: w / total for n, w in weights.items() if w > _EPS}


__all__ = ["SceneEvaluator", "ease"]
