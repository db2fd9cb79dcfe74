"""A scene swap without a gap: the old scene's last blend fades out while the new scene's
fades in, linearly over a stretch of stream time, then the new scene's evaluator alone."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import MappingProxyType

from .evaluator import SceneEvaluator
from .model import Blend


class CrossfadeEvaluator:
    """Wraps the new scene's evaluator. ``before`` is read at the first evaluation (the
    blend of the block just before the swap, live or in a replay); any attribute this
    class lacks is the new evaluator's."""

    def __init__(self, before: Callable[[], Blend | None], evaluator: SceneEvaluator,
                 start: int, frames: int) -> None:
        self._before_of = before
        self.before: Blend | None = None
        self.evaluator = evaluator
        self.start = start
        self.frames = frames
        self._first = True

    def __getattr__(self, name: str):
        if name.startswith("__") or name == "evaluator":
            raise AttributeError(name)  # no recursion while unpickling or copying
        return getattr(self.evaluator, name)

    def evaluate(self, targets, now: int, *args, **kwargs) -> Blend:
        if self._first:
            self.before, self._first = self._before_of(), False
        blend = self.evaluator.evaluate(targets, now, *args, **kwargs)
        before = self.before
        a = (now - self.start) / self.frames if self.frames > 0 else 1.0
        if before is None or not before.weights or a >= 1.0:
            self.before = None
            return blend
        weights = {name: a * w for name, w in blend.weights.items()}
        prompts = dict(blend.prompts)
        for name, w in before.weights.items():
            prompt = before.prompts[name]
            key = name
            if name in prompts and prompts[name].key != prompt.key:
                key = f"{name} (before)"
            prompts.setdefault(key, prompt)
            weights[key] = weights.get(key, 0.0) + (1.0 - a) * w
        total = sum(weights.values())
        weights = {n: w / total for n, w in weights.items() if w > 1e-6}
        return dataclasses.replace(blend, weights=MappingProxyType(weights),
                                   prompts=MappingProxyType(prompts), switch=None)
