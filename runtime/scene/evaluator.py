"""Scene evaluation: (compiled scene, pushed inputs, time) -> Blend. Pure numpy/Python.

One `SceneEvaluator` per session holds the only mutable state: smoothed input values,
latch states, the gliding prompt weights and the active glide. Given the same sequence
of ``(inputs, time)`` calls it returns the same blends (replay relies on this). Time is
in samples, never read from a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..audio import SAMPLE_RATE
from ..engines.base import Knobs
from .model import Blend, Scene

_EPS = 1e-6


class SceneEvaluator:
    def __init__(self, scene: Scene, sample_rate: int = SAMPLE_RATE) -> None:
        self.scene = scene
        self.rate = sample_rate
        self.values: dict[str, float | str | bool] = scene.defaults()
        self.latches: dict[str, bool] = {d.name: False for d in scene.derived if d.is_latch}
        self.conditions: dict[str, bool] | None = None
        self.weights: dict[str, float] | None = None
        self.glide_s = scene.glide_s
        self.time: int | None = None
        self.env: dict[str, object] = {}

    def evaluate(self, targets: Mapping[str, float | str | bool], now: int) -> Blend:
        """Advance to sample time ``now`` with the given (already validated) input targets.

        ``targets`` holds every input's latest pushed value; missing names keep their
        default. Time must not go backwards.
        """
        first = self.time is None
        dt = 0.0 if first else max(0, now - self.time) / self.rate
        self.time = now
        self._smooth(targets, dt, first)
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
        self._fire_transitions(env)
        target_weights = self._targets(env)
        self._glide(target_weights, dt)
        return Blend(weights=MappingProxyType(self._normalised()),
                     prompts=self.scene.prompts, knobs=self._knobs(env))

    def _smooth(self, targets: Mapping[str, float | str | bool], dt: float, first: bool) -> None:
        """Inputs with a slew move toward their target at most ``slew_rate`` per second;
        the first evaluation starts from the targets themselves."""
        for name, spec in self.scene.inputs.items():
            target = targets.get(name, spec.default)
            if spec.slew_rate and not first:
                current = float(self.values[name])
                step = spec.slew_rate * dt
                delta = float(target) - current
                self.values[name] = target if abs(delta) <= step else current + step * (
                    1 if delta > 0 else -1)
            else:
                self.values[name] = target

    def _fire_transitions(self, env: Mapping[str, object]) -> None:
        now = {t.name: bool(t.condition.fn(env)) for t in self.scene.transitions}
        if self.conditions is not None:
            for t in self.scene.transitions:
                before, after = self.conditions[t.name], now[t.name]
                if (t.edge == "enter" and after and not before) or (
                        t.edge == "leave" and before and not after):
                    self.glide_s = t.glide_s
        self.conditions = now

    def _targets(self, env: Mapping[str, object]) -> dict[str, float]:
        out = dict.fromkeys(self.scene.prompts, 0.0)
        for term in self.scene.mix:
            if term.when is None or term.when.fn(env):
                out[term.prompt] += max(0.0, float(term.weight.fn(env)))
        return out

    def _glide(self, targets: dict[str, float], dt: float) -> None:
        if self.weights is None or self.glide_s <= 0:
            self.weights = dict(targets)
        else:
            step = dt / self.glide_s  # a full 0 <-> 1 swing takes glide_s
            for name, target in targets.items():
                current = self.weights[name]
                delta = target - current
                self.weights[name] = target if abs(delta) <= step else current + (
                    step if delta > 0 else -step)
        if all(abs(self.weights[n] - t) < _EPS for n, t in targets.items()):
            self.glide_s = self.scene.glide_s

    def _normalised(self) -> dict[str, float]:
        assert self.weights is not None
        total = sum(w for w in self.weights.values() if w > _EPS)
        if total <= _EPS:
            return {}
        return {n: w / total for n, w in self.weights.items() if w > _EPS}

    def _knobs(self, env: Mapping[str, object]) -> Knobs:
        values: dict[str, float | int] = {}
        for rule in self.scene.knobs:
            value = min(max(float(rule.expr.fn(env)), rule.lo), rule.hi)
            values[rule.name] = round(value) if rule.integer else value
        return Knobs(**values)
