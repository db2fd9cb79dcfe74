"""Prompt -> style vector, cached per engine; blend -> weighted mean of vectors."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from ..engines.base import Engine, Prompt, StyleEmbedding


class StyleCache:
    """Embeds each distinct prompt once (LRU, ``capacity`` entries) for one engine.

    Not thread-safe; the generation loop owns it.
    """

    def __init__(self, engine: Engine, capacity: int = 4096) -> None:
        self.engine = engine
        self.capacity = capacity
        self._cache: OrderedDict[str, StyleEmbedding] = OrderedDict()

    def embed(self, prompt: Prompt) -> StyleEmbedding:
        hit = self._cache.get(prompt.key)
        if hit is not None:
            self._cache.move_to_end(prompt.key)
            return hit
        embedding = self.engine.embed(prompt)
        self._cache[prompt.key] = embedding
        if len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return embedding

    def mix(self, weights: Mapping[str, float], prompts: Mapping[str, Prompt]) -> np.ndarray:
        """The weighted mean of the prompts' vectors (weights already normalised)."""
        if not weights:
            return self.engine.neutral_style()
        total = None
        for name, weight in weights.items():
            vector = self.embed(prompts[name]).vector * weight
            total = vector if total is None else total + vector
        return total
