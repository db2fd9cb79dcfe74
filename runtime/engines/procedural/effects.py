"""Stateful effects whose state lives in the session (reverb, tone filter, limiter).

Every effect processes at most one native block at a time, for all the rows of a call at
once (each row with its own parameters), and carries each session's history in a small
state object, so audio is continuous across blocks and calls and a row's samples do not
depend on the other rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import lfilter

from ...audio import SAMPLE_RATE

# Feedback delay network: every delay is longer than the block, so a whole block of
# line outputs is read from history at once (no per-sample loop in Python).
_DELAYS = np.array([2411, 2927, 3469, 4091])
_LINES = len(_DELAYS)
_HADAMARD = (np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]) / 2.0)
_IN = np.array([1.0, -1.0, 1.0, -1.0], dtype=np.float32) / 2.0
_OUT = np.array([[1, 1, -1, 1], [1, -1, 1, 1]], dtype=np.float32) / 2.0  # left, right
# Early reflections (ms, gain): spread the input before it enters the network.
_EARLY = ((0, 0.5), (7.1, 0.45), (11.3, -0.4), (17.9, 0.35), (23.7, -0.3), (31.1, 0.25),
          (41.9, 0.2))
_EARLY_TAPS = [(int(ms * SAMPLE_RATE / 1000), g) for ms, g in _EARLY]
_EARLY_MAX = max(d for d, _ in _EARLY_TAPS)


@dataclass
class ReverbState:
    block: int
    lines: np.ndarray = field(init=False)
    early: np.ndarray = field(init=False)
    damp: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if self.block > int(_DELAYS.min()):
            raise ValueError("reverb delays must be longer than the block")
        self.lines = np.zeros((_LINES, int(_DELAYS.max())), dtype=np.float32)
        self.early = np.zeros(_EARLY_MAX, dtype=np.float32)
        self.damp = np.zeros(1)


@functools.lru_cache(maxsize=4096)
def _feedback(decay_s: float) -> np.ndarray:
    """The network's mixing matrix with each line's decay for ``decay_s`` (to -60 dB);
    cached: a session's decay holds still between style changes."""
    gains = 10.0 ** (-3.0 * _DELAYS / (max(decay_s, 0.05) * SAMPLE_RATE))
    return (_HADAMARD * gains[None, :]).astype(np.float32)


@dataclass
class ToneState:
    zi: np.ndarray = field(default_factory=lambda: np.zeros((2, 1), dtype=np.float32))


@functools.lru_cache(maxsize=4096)
def _lowpass(brightness: float) -> tuple[np.ndarray, np.ndarray]:
    cutoff = 1200.0 * (15.0 ** brightness)
    a = np.float32(np.exp(-2.0 * np.pi * cutoff / SAMPLE_RATE))
    return np.array([1.0 - a], dtype=np.float32), np.array([1.0, -a], dtype=np.float32)


def soft_clip(stereo: np.ndarray) -> np.ndarray:
    """Transparent below about -6 dBFS, never reaches full scale."""
    return np.float32(0.98) * np.tanh(stereo * np.float32(1 / 0.98))


# ------------------------------------------------------------------ a batch of sessions
def _one_pole(coeffs: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``y = (1 - a) x + a y[-1]`` along the last axis of ``x`` ``[R, ..., m]``, each row
    with its own ``a`` (``coeffs``, ``[R]``) and history ``zi`` (``[R, ..., 1]``). Rows
    sharing a coefficient are filtered in one call (sessions of one scene mostly do)."""
    y = np.empty(x.shape, dtype=np.result_type(x, coeffs))
    out_zi = np.empty(zi.shape, dtype=y.dtype)
    values, which = np.unique(coeffs, return_inverse=True)
    for g, a in enumerate(values):
        rows = np.flatnonzero(which == g)
        b_, a_ = np.array([1.0 - a], dtype=coeffs.dtype), np.array([1.0, -a], dtype=coeffs.dtype)
        y[rows], out_zi[rows] = lfilter(b_, a_, x[rows], axis=-1, zi=zi[rows])
    return y, out_zi


def reverb_rows(states: list[ReverbState], send: np.ndarray, decay_s: np.ndarray,
                damping: np.ndarray) -> np.ndarray:
    """`reverb` for R sessions at once: ``send`` ``[R, m]`` (m at most one block), one
    decay and damping each; returns ``[R, 2, m]``. Each row's result is its own (the same
    samples whatever else is in the batch); each state's history is updated."""
    rows, n = send.shape
    a = np.clip(damping.astype(np.float64), 0.0, 0.95)
    zi = np.stack([st.damp for st in states]).reshape(rows, 1, 1)
    damped, zi = _one_pole(a, send[:, None, :].astype(np.float64), zi)
    history = np.concatenate([np.stack([st.early for st in states]),
                              damped[:, 0].astype(np.float32)], axis=1)
    diffused = np.zeros((rows, n), dtype=np.float32)
    for d, g in _EARLY_TAPS:
        diffused += np.float32(g) * history[:, _EARLY_MAX - d : _EARLY_MAX - d + n]
    lines = np.stack([st.lines for st in states])
    depth = lines.shape[2]
    out = np.empty((rows, _LINES, n), dtype=np.float32)
    for i, d in enumerate(_DELAYS):
        out[:, i] = lines[:, i, depth - d : depth - d + n]
    feed = np.stack([_feedback(float(x)) for x in decay_s]) @ out
    feed += _IN[None, :, None] * diffused[:, None, :]
    lines[:, :, : depth - n] = lines[:, :, n:]
    lines[:, :, depth - n :] = feed
    for r, st in enumerate(states):
        st.lines, st.early, st.damp = lines[r], history[r, -_EARLY_MAX:], zi[r, 0]
    return _OUT[None] @ out


def tone_rows(states: list[ToneState], stereo: np.ndarray, brightness: np.ndarray) -> np.ndarray:
    """`tone` for R sessions at once: ``stereo`` ``[R, 2, m]``, one brightness each."""
    cutoff = 1200.0 * (15.0 ** np.clip(brightness, 0.0, 1.0))
    a = np.exp(-2.0 * np.pi * cutoff / SAMPLE_RATE).astype(np.float32)
    zi = np.stack([st.zi for st in states])
    out, zi = _one_pole(a, stereo, zi)
    for r, st in enumerate(states):
        st.zi = zi[r]
    return out
