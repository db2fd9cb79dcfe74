"""Audio constants and small PCM helpers shared by every layer.

Cadenza's internal format is 48 kHz, stereo, float32, frames-major ``[frames, 2]``.
Everything that leaves the runtime is converted here, so the conversion rule
(clip, round half away from zero, little-endian) lives in one place.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 48_000
CHANNELS = 2


def to_s16le(pcm: np.ndarray) -> bytes:
    """Float32 ``[frames, channels]`` in [-1, 1] to interleaved signed 16-bit little-endian."""
    scaled = np.clip(pcm, -1.0, 1.0) * 32767.0
    return np.rint(scaled).astype("<i2").tobytes()


def to_f32le(pcm: np.ndarray) -> bytes:
    """Float32 ``[frames, channels]`` to interleaved float32 little-endian."""
    return np.ascontiguousarray(pcm, dtype="<f4").tobytes()


def from_s16le(data: bytes, channels: int = CHANNELS) -> np.ndarray:
    return (np.frombuffer(data, dtype="<i2").astype(np.float32) / 32767.0).reshape(-1, channels)


def from_f32le(data: bytes, channels: int = CHANNELS) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4").astype(np.float32).reshape(-1, channels)


def seconds_to_samples(seconds: float, rate: int = SAMPLE_RATE) -> int:
    return round(seconds * rate)
