"""Style: MusicCoCa embeddings (text or audio) and their RVQ tokens.

The engine talks to any ``magenta_rt.musiccoca.MusicCoCaBase``: the official
``MusicCoCa`` (TFLite files + SentencePiece from the downloaded resources) in production,
or ``LocalMusicCoCa`` — a small deterministic stand-in behind the same interface — in tests
and demos without the resources. Embeddings are 768-d; a blend is their weighted mean
(done by the runtime), and ``StyleTokenizer`` turns each distinct blend into its 12 tokens
once.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
from magenta_rt import musiccoca


class LocalMusicCoCa(musiccoca.MusicCoCaBase):
    """A stand-in for MusicCoCa's TFLite models: same interface, no files.

    Text: a sum of per-word hashed unit vectors (so prompts sharing words are close).
    Audio: log-band energies of the 16 kHz clip through a fixed random projection.
    Tokens: 12 RVQ levels of 1,024 codes, each 10 sign bits of fixed random projections of
    the residual. Deterministic across runs and machines.
    """

    def __init__(self, seed: int = 0) -> None:
        super().__init__(musiccoca.MusicCoCaConfiguration())
        rng = np.random.default_rng(seed)
        dim, depth = self.config.embedding_dim, self.config.rvq_depth
        self._planes = rng.standard_normal((depth, 10, dim)).astype(np.float32)
        self._audio = rng.standard_normal((64, dim)).astype(np.float32) / 8.0

    def _word(self, word: str) -> np.ndarray:
        digest = hashlib.sha256(word.lower().encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        return rng.standard_normal(self.config.embedding_dim).astype(np.float32)

    def _embed_batch_text(self, batch_text, use_mapper=False, seed=0):
        del use_mapper, seed
        out = []
        for text in batch_text:
            words = text.split() or [""]
            vector = np.sum([self._word(w) for w in words], axis=0)
            out.append(vector / (np.linalg.norm(vector) + 1e-6))
        return np.array(out, np.float32).reshape(len(batch_text), self.config.embedding_dim)

    def _embed_batch_clips(self, batch_clips):
        out = []
        for clip in np.asarray(batch_clips, np.float32):
            spectrum = np.abs(np.fft.rfft(clip))
            bands = np.array_split(spectrum, 64)
            energy = np.log1p(np.array([b.mean() for b in bands], np.float32))
            vector = energy @ self._audio
            out.append(vector / (np.linalg.norm(vector) + 1e-6))
        return np.array(out, np.float32).reshape(len(out), self.config.embedding_dim)

    def tokenize(self, embeddings):
        embeddings = np.asarray(embeddings, np.float32)
        flat = embeddings.reshape(-1, self.config.embedding_dim)
        bits = (1 << np.arange(10)).astype(np.int64)
        tokens = np.empty((len(flat), self.config.rvq_depth), np.int32)
        residual = flat.copy()
        for level, planes in enumerate(self._planes):
            projection = residual @ planes.T  # [N, 10]
            tokens[:, level] = ((projection > 0) @ bits).astype(np.int32)
            residual = residual - 0.5 * np.tanh(projection) @ planes / np.sqrt(planes.shape[1])
        return tokens.reshape((*embeddings.shape[:-1], self.config.rvq_depth))


class StyleTokenizer:
    """Blend vector → 12 style tokens, cached by the vector's bytes (LRU)."""

    def __init__(self, model: musiccoca.MusicCoCaBase, capacity: int = 4096) -> None:
        self.model = model
        self.capacity = capacity
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.calls = 0  # tokenizer invocations (cache misses)

    def __call__(self, vector: np.ndarray) -> np.ndarray:
        vector = np.ascontiguousarray(vector, np.float32)
        key = vector.tobytes()
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        self.calls += 1
        tokens = np.asarray(self.model.tokenize(vector), np.int32).reshape(-1)
        self._cache[key] = tokens
        if len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return tokens
