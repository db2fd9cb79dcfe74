"""Measurements of audio as a listener hears it: loudness, brightness, onsets, tempo, clicks.

Used by tests (to check what the user hears, not internal fields), by the procedural
engine (to read the style of an audio prompt) and by the runtime (to report the tempo a
model actually plays). Pure numpy/scipy; mono float input unless stated.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

HOP = 512
WINDOW = 2048


def mono(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=1) if x.ndim == 2 else x


def rms_db(x: np.ndarray) -> float:
    """Root-mean-square level in dBFS (-inf for digital silence, floored at -200)."""
    value = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
    return 20.0 * np.log10(max(value, 1e-10))


def peak(x: np.ndarray) -> float:
    return float(np.max(np.abs(x))) if x.size else 0.0


def spectral_centroid(x: np.ndarray, rate: int) -> float:
    """Spectral centroid in Hz: per frame, the magnitude-weighted mean frequency;
    averaged over frames, each weighted by its total magnitude (silence counts little)."""
    mag = _stft_magnitude(x)
    freqs = np.fft.rfftfreq(WINDOW, 1.0 / rate)
    totals = mag.sum(axis=1)
    if totals.sum() <= 0:
        return 0.0
    return float((mag @ freqs).sum() / totals.sum())


def _stft_magnitude(x: np.ndarray) -> np.ndarray:
    x = mono(x).astype(np.float64)
    if len(x) < WINDOW:
        x = np.pad(x, (0, WINDOW - len(x)))
    count = 1 + (len(x) - WINDOW) // HOP
    index = np.arange(WINDOW)[None, :] + HOP * np.arange(count)[:, None]
    return np.abs(np.fft.rfft(x[index] * np.hanning(WINDOW), axis=1))


def onset_envelope(x: np.ndarray, rate: int) -> np.ndarray:
    """Spectral flux (positive log-magnitude change per frame), one value per HOP samples."""
    log_mag = np.log1p(1000.0 * _stft_magnitude(x))
    flux = np.maximum(np.diff(log_mag, axis=0), 0.0).sum(axis=1)
    return np.concatenate([[0.0], flux])


def onset_times(x: np.ndarray, rate: int) -> np.ndarray:
    """Onset times in seconds: peaks of the flux above a local adaptive threshold."""
    env = onset_envelope(x, rate)
    if env.max() <= 0:
        return np.zeros(0)
    width = max(0, min(int(0.5 * rate / HOP), (len(env) - 1) // 2))
    local = np.convolve(env, np.ones(2 * width + 1) / (2 * width + 1), mode="same")
    threshold = local * 1.5 + 0.05 * env.max()
    peaks, _ = find_peaks(env, height=threshold, distance=max(1, int(0.05 * rate / HOP)))
    return peaks * HOP / rate


def onset_rate(x: np.ndarray, rate: int) -> float:
    """Onsets per second."""
    duration = len(x) / rate
    return len(onset_times(x, rate)) / duration if duration > 0 else 0.0


def estimate_tempo(x: np.ndarray, rate: int, low: float = 50.0, high: float = 200.0,
                   prior_bpm: float = 120.0) -> float | None:
    """Tempo in BPM from the autocorrelation of the onset envelope.

    Each candidate tempo scores the autocorrelation at its beat period and the next three
    multiples (a pulse repeats every beat and every bar), weighted by a log-normal prior
    around ``prior_bpm`` one octave wide, the usual guard against half- or double-tempo
    answers. Resolution 0.25 BPM. None if the audio has no pulse at all.
    """
    env = onset_envelope(x, rate)
    env = env - env.mean()
    if len(env) < 8 or not np.any(env):
        return None
    ac = np.correlate(env, env, mode="full")[len(env) - 1 :]
    if ac[0] <= 0:
        return None
    ac = ac / ac[0]
    candidates = np.arange(low, high + 0.125, 0.25)
    lags = 60.0 * rate / HOP / candidates
    positions = np.arange(len(ac))
    score = sum(np.interp(k * lags, positions, ac, right=0.0) for k in range(1, 5))
    weight = np.exp(-0.5 * np.log2(candidates / prior_bpm) ** 2)
    best = int(np.argmax(score * weight))
    return float(candidates[best]) if score[best] > 0 else None


def join_discontinuity(x: np.ndarray, block: int) -> float:
    """How much sharper the signal is at block joins than elsewhere (≈1: no clicks).

    Ratio of the mean absolute second difference at every join to its mean over all
    samples. A click (a step at a join) shows up as a ratio far above 1.
    """
    x = mono(x).astype(np.float64)
    d2 = np.abs(np.diff(x, 2))
    joins = np.arange(block, len(x) - 1, block) - 1
    joins = joins[(joins >= 0) & (joins < len(d2))]
    overall = d2.mean()
    return float(d2[joins].mean() / overall) if overall > 0 and len(joins) else 0.0


def longest_silence(x: np.ndarray, rate: int, threshold_db: float = -70.0) -> float:
    """Longest run (seconds) of 10 ms windows quieter than ``threshold_db``."""
    x = mono(x)
    size = rate // 100
    count = len(x) // size
    if count == 0:
        return 0.0
    windows = x[: count * size].reshape(count, size).astype(np.float64)
    level = 10 * np.log10(np.maximum(np.mean(windows**2, axis=1), 1e-20))
    quiet = level < threshold_db
    longest = run = 0
    for q in quiet:
        run = run + 1 if q else 0
        longest = max(longest, run)
    return longest * size / rate
