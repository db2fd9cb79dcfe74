"""Keys, scales and chord progressions: the harmony the procedural band plays in."""

from __future__ import annotations

import numpy as np

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)  # natural minor; the V chord is raised in `chord()`

# Progressions as scale degrees (0-based), one chord per bar. Chosen per phrase:
# the first list is calm, the later ones add tension.
PROGRESSIONS_MAJOR = (
    ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 0, 4)),
    ((0, 5, 1, 4), (3, 4, 2, 5), (0, 2, 3, 4)),
    ((1, 4, 0, 5), (3, 6, 2, 5), (0, 6, 3, 4)),
)
PROGRESSIONS_MINOR = (
    ((0, 5, 2, 6), (0, 3, 4, 0), (0, 5, 3, 4)),
    ((0, 6, 5, 4), (0, 3, 6, 2), (5, 6, 0, 0)),
    ((0, 1, 4, 0), (0, 5, 1, 4), (3, 1, 4, 4)),
)


def midi_to_hz(note: np.ndarray | float) -> np.ndarray | float:
    return 440.0 * 2.0 ** ((np.asarray(note) - 69.0) / 12.0)


def scale(major: bool) -> tuple[int, ...]:
    return MAJOR if major else MINOR


def choose_progression(rng: np.random.Generator, major: bool, tension: float) -> tuple[int, ...]:
    table = PROGRESSIONS_MAJOR if major else PROGRESSIONS_MINOR
    tier = min(len(table) - 1, int(tension * len(table)))
    options = table[tier]
    return options[int(rng.integers(len(options)))]


def chord(root: int, major: bool, degree: int, tension: float,
          leading_tone: bool = True) -> list[int]:
    """MIDI pitches (root position, from ``root``'s octave) of the chord on ``degree``.

    Tension adds a seventh above 0.45 and a ninth above 0.75; in minor the dominant (V)
    is raised to major, as common practice does — unless ``leading_tone`` is False (a
    fixed scale: every pitch stays in it).
    """
    steps = scale(major)
    notes = [steps[(degree + k) % 7] + 12 * ((degree + k) // 7) for k in (0, 2, 4)]
    if not major and degree == 4 and leading_tone:
        notes[1] += 1  # raised leading tone
    if tension > 0.45:
        notes.append(steps[(degree + 6) % 7] + 12 * ((degree + 6) // 7))
    if tension > 0.75:
        notes.append(steps[(degree + 8) % 7] + 12 * ((degree + 8) // 7))
    return [root + n for n in notes]


def scale_pitches(root: int, major: bool, low: int, high: int) -> np.ndarray:
    """Every pitch of the key between ``low`` and ``high`` MIDI notes, ascending."""
    pcs = {(root + s) % 12 for s in scale(major)}
    return np.array([p for p in range(low, high + 1) if p % 12 in pcs], dtype=np.int64)
