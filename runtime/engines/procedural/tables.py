"""Precomputed material the procedural band plays from: wavetables, noises, reverb sizes.

Built once per engine (deterministically, from fixed seeds) and shared read-only by every
session. Pitched voices read band-limited single-cycle wavetables: one table per
(timbre mix, brightness level, octave band), cached in a growing bank so that a note
stores only a row number.
"""

from __future__ import annotations

import numpy as np

from ...audio import SAMPLE_RATE

TABLE_SIZE = 2048
FAMILIES = ("soft", "saw", "square", "piano", "strings", "choir", "guitar", "sine", "brass", "reed",
            "organ")
FAMILY_INDEX = {name: i for i, name in enumerate(FAMILIES)}
BRIGHTNESS_LEVELS = 5
BAND_BASE_HZ = 27.5  # A0; band k covers [27.5 * 2**k, 27.5 * 2**(k+1))
BANDS = 9
NOISE_SECONDS = 1.0


def band_of(freq: float) -> int:
    return int(np.clip(np.floor(np.log2(max(freq, BAND_BASE_HZ) / BAND_BASE_HZ)), 0, BANDS - 1))


def _harmonic_amplitudes(family: str, band: int, brightness: float) -> np.ndarray:
    top = BAND_BASE_HZ * 2 ** (band + 1)
    count = int(min(96, max(1, np.floor(18_000.0 / top))))
    h = np.arange(1, count + 1, dtype=np.float64)
    if family == "sine":
        amps = (h == 1).astype(np.float64)
    elif family == "soft":
        amps = np.where(h % 2 == 1, 1.0 / h**2, 0.0) + 0.15 * (h == 2)
    elif family == "saw":
        amps = 1.0 / h
    elif family == "square":
        amps = np.where(h % 2 == 1, 1.0 / h, 0.0)
    elif family == "piano":
        amps = 1.0 / h**1.5 * (1.0 + 0.6 * (h == 2) + 0.3 * (h == 3))
    elif family == "strings":
        amps = 1.0 / h * (1.0 + 0.5 * np.exp(-(((h * top / 1.5) - 3000.0) / 1500.0) ** 2))
    elif family == "choir":
        centre = top / 1.5
        freqs = h * centre
        formants = sum(
            g * np.exp(-(((freqs - f) / bw) ** 2))
            for f, bw, g in ((700, 130, 1.0), (1220, 150, 0.5), (2600, 250, 0.25))
        )
        amps = formants + 0.05 / h
    elif family == "guitar":
        amps = 1.0 / h * np.abs(np.sin(np.pi * h * 0.22)) + 0.02 / h
    elif family == "brass":
        # Sawtooth-rich with a formant near 1.2 kHz and a second near 2.6 kHz.
        freqs = h * top / 1.5
        formant = 1.0 + 2.0 * np.exp(-(((freqs - 1200.0) / 700.0) ** 2)) \
            + 0.8 * np.exp(-(((freqs - 2600.0) / 900.0) ** 2))
        amps = formant / h**0.7
    elif family == "reed":
        # Clarinet-like: odd harmonics dominate, a weak even series, soft top.
        amps = np.where(h % 2 == 1, 1.0 / h, 0.12 / h) * np.exp(-(h - 1) * 0.08)
    elif family == "organ":
        # Drawbars 8' 4' 2 2/3' 2' 1 3/5' 1 1/3' 1' (harmonics 1 2 3 4 5 6 8), set 8 7 6 6 3 4 4.
        drawbars = {1: 8, 2: 7, 3: 6, 4: 6, 5: 3, 6: 4, 8: 4}
        amps = np.array([10 ** ((drawbars.get(int(k), 0) - 8) * 3 / 20) if int(k) in drawbars
                         else 0.0 for k in h])
    else:
        raise ValueError(family)
    # Brightness: darker levels roll the upper harmonics off (family "square" keeps edge).
    roll = (1.0 - brightness) * (0.35 if family != "square" else 0.12)
    return amps * np.exp(-(h - 1) * roll)


def build_table(family: str, band: int, brightness: float) -> np.ndarray:
    amps = _harmonic_amplitudes(family, band, brightness)
    spectrum = np.zeros(TABLE_SIZE // 2 + 1, dtype=np.complex128)
    spectrum[1 : len(amps) + 1] = -1j * amps * TABLE_SIZE / 2
    cycle = np.fft.irfft(spectrum, n=TABLE_SIZE)
    cycle /= np.sqrt(np.mean(cycle**2)) * 2.8  # equal loudness across timbres (RMS ≈ 0.36)
    return np.append(cycle, cycle[0]).astype(np.float32)  # guard point for interpolation


class TableBank:
    """Wavetables for timbre mixes, keyed by a quantised mix; rows never move once made."""

    def __init__(self) -> None:
        self._pure: dict[tuple[str, int, int], np.ndarray] = {}
        self._rows: dict[tuple, int] = {}
        self._keys: list[tuple] = []  # row -> its key (snapshots name rows by key)
        self._bank = np.zeros((64, TABLE_SIZE + 1), dtype=np.float32)
        self._used = 0

    @property
    def flat(self) -> np.ndarray:
        """All rows as one flat array (row r starts at ``r * (TABLE_SIZE + 1)``)."""
        return self._bank.reshape(-1)

    def _pure_table(self, family: str, band: int, level: int) -> np.ndarray:
        key = (family, band, level)
        table = self._pure.get(key)
        if table is None:
            table = build_table(family, band, level / (BRIGHTNESS_LEVELS - 1))
            self._pure[key] = table
        return table

    def row(self, mix: dict[str, float], freq: float, brightness: float) -> int:
        """Row of the table for this timbre ``mix`` (family -> weight) at ``freq``."""
        level = round(np.clip(brightness, 0, 1) * (BRIGHTNESS_LEVELS - 1))
        band = band_of(freq)
        quantised = tuple(sorted((f, round(w * 4) / 4) for f, w in mix.items() if w >= 0.125))
        return self.row_for((quantised, band, level))

    def key_of(self, row: int) -> tuple:
        """The key a row was made for: the same key makes the same table in any bank."""
        return self._keys[row]

    def row_for(self, key: tuple) -> int:
        """Row of the table for ``key`` (made now if new). A key from outside (a snapshot)
        is checked first: ValueError unless every part is one `row` could have made."""
        row = self._rows.get(key)
        if row is not None:
            return row
        _check_key(key)
        quantised, band, level = key
        total = sum(w for _, w in quantised) or 1.0
        table = sum(w / total * self._pure_table(f, band, level) for f, w in quantised)
        if not quantised:
            table = self._pure_table("sine", band, level)
        if self._used == len(self._bank):
            self._bank = np.concatenate([self._bank, np.zeros_like(self._bank)])
        self._bank[self._used] = table
        self._rows[key] = self._used
        self._keys.append(key)
        self._used += 1
        return self._used - 1


def _check_key(key: object) -> None:
    def index(value: object, size: int) -> bool:
        return isinstance(value, int | float | np.integer) and float(value).is_integer() and \
            0 <= value < size

    def part(p: object) -> bool:
        return isinstance(p, tuple) and len(p) == 2 and p[0] in FAMILIES and \
            isinstance(p[1], int | float) and 0.0 <= p[1] <= 64.0

    ok = isinstance(key, tuple) and len(key) == 3 and isinstance(key[0], tuple) and \
        len(key[0]) <= len(FAMILIES) and all(part(p) for p in key[0]) and \
        index(key[1], BANDS) and index(key[2], BRIGHTNESS_LEVELS)
    if not ok:
        raise ValueError(f"not a wavetable key: {key!r:.200}")


def _spectral_filter(noise: np.ndarray, low: float, high: float) -> np.ndarray:
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(len(noise), 1.0 / SAMPLE_RATE)
    spectrum[(freqs < low) | (freqs > high)] = 0.0
    out = np.fft.irfft(spectrum, n=len(noise))
    return out / np.max(np.abs(out))


def noise_tables() -> dict[str, np.ndarray]:
    """Deterministic noise sources for the drums (float32, one second each)."""
    rng = np.random.default_rng(0xCADE)
    n = int(NOISE_SECONDS * SAMPLE_RATE)
    white = rng.standard_normal(n)
    t = np.arange(n) / SAMPLE_RATE
    # Six detuned square waves: the classic analogue hi-hat metal, then high-passed.
    metal = sum(np.sign(np.sin(2 * np.pi * f * t)) for f in (205.3, 304.4, 369.6, 522.7, 540.0, 800.0))
    return {
        "white": (white / np.max(np.abs(white))).astype(np.float32),
        "snare": _spectral_filter(white, 900.0, 11_000.0).astype(np.float32),
        "hat": _spectral_filter(0.6 * metal + 0.4 * white, 6_500.0, 20_000.0).astype(np.float32),
        "click": _spectral_filter(white, 2_000.0, 8_000.0).astype(np.float32),
        "brush": _spectral_filter(white, 250.0, 4_500.0).astype(np.float32),
        "breath": _spectral_filter(white, 900.0, 7_000.0).astype(np.float32),
        "slap": _spectral_filter(white, 1_200.0, 5_000.0).astype(np.float32),
    }
