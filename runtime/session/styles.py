"""Prompt -> style vector, cached per engine; blend -> weighted mean of vectors."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from ..engines.base import Engine, Prompt, StyleEmbedding

Background = Callable[[Callable[[], None]], None]


class StyleCache:
    """Embeds each distinct prompt once (LRU, ``capacity`` entries) for one engine.

    Thread-safe: `ensure` embeds on a background runner (a model's text encoder, an
    audio file's read) and the loop's thread reads the results; `embed` embeds inline
    (offline use, or a hit). A prompt that fails to embed is remembered with its error.
    """

    def __init__(self, engine: Engine, capacity: int = 4096) -> None:
        self.engine = engine
        self.capacity = capacity
        self._cache: OrderedDict[str, StyleEmbedding] = OrderedDict()
        self._failed: dict[str, BaseException] = {}
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._inline_text = bool(getattr(engine.info, "cheap_text_embed", False))

    def _store(self, key: str, embedding: StyleEmbedding) -> None:
        with self._lock:
            self._cache[key] = embedding
            self._cache.move_to_end(key)
            if len(self._cache) > self.capacity:
                self._cache.popitem(last=False)

    def peek(self, prompt: Prompt) -> StyleEmbedding | None:
        with self._lock:
            return self._cache.get(prompt.key)

    def embed(self, prompt: Prompt) -> StyleEmbedding:
        with self._lock:
            hit = self._cache.get(prompt.key)
            if hit is not None:
                self._cache.move_to_end(prompt.key)
                return hit
        embedding = self.engine.embed(prompt)
        self._store(prompt.key, embedding)
        return embedding

    def ensure(self, prompts: Iterable[Prompt], background: Background | None) -> bool:
        """True when every prompt is embedded. Otherwise starts embedding the missing
        ones (inline without ``background``, or for cheap text) and returns whether all
        are ready now. Failures are kept for `failure`."""
        ready = True
        for prompt in prompts:
            key = prompt.key
            with self._lock:
                if key in self._cache:
                    continue
                if key in self._failed or key in self._pending:
                    ready = False
                    continue
                self._pending.add(key)
            job = self._job(prompt)
            if background is None or (self._inline_text and prompt.text is not None):
                job()
                with self._lock:
                    ready = ready and key in self._cache
            else:
                ready = False
                background(job)
        return ready

    def _job(self, prompt: Prompt) -> Callable[[], None]:
        def run() -> None:
            try:
                self._store(prompt.key, self.engine.embed(prompt))
            except Exception as exc:
                with self._lock:
                    self._failed[prompt.key] = exc
            finally:
                with self._lock:
                    self._pending.discard(prompt.key)
        return run

    def failure(self, prompts: Iterable[Prompt]) -> BaseException | None:
        """The error of the first prompt that could not be embedded, if any."""
        with self._lock:
            for prompt in prompts:
                error = self._failed.get(prompt.key)
                if error is not None:
                    return error
        return None

    def mix(self, weights: Mapping[str, float], prompts: Mapping[str, Prompt]) -> np.ndarray:
        """The weighted mean of the prompts' vectors (weights already normalised)."""
        if not weights:
            return self.engine.neutral_style()
        total = None
        for name, weight in weights.items():
            vector = self.embed(prompts[name]).vector * weight
            total = vector if total is None else total + vector
        return total
