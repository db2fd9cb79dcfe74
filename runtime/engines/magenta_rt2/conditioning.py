"""Knobs → one row of MRT2 conditioning (no JAX): the 144 raw tokens, temperature, top-k.

MRT2 conditions every frame on 12 MusicCoCa style tokens, a 128-pitch piano roll with
onsets, one drum token and three discretised CFG scales (guidance is conditioning, so
the batch is not doubled). The generic knobs map to it like this:

* ``temperature`` → sampling temperature (0 = exact argmax); default 1.3
* ``top_k`` → top-k (clamped to the engine's ``top_k_max``); default 40
* ``guidance`` → the style (MusicCoCa) CFG scale; default 3.0
* ``mute_drums`` → the drum token set to "no drums" (unless ``extra`` says otherwise)
* ``scale`` → every pitch outside the scale's pitch set turned off in the notes input
  (the model still chooses among the others; it follows this where it was trained to)

and ``Knobs.extra`` carries MRT2's own conditioning (all optional):

* ``cfg_notes``, ``cfg_drums`` — CFG scales of the notes and drums inputs (default 1.0)
* ``drums`` — -1 masked (model decides, default), 0 no drums, 1 drums
* ``notes`` — the state of every pitch not named: -1 masked (default) or 0 off
* ``note.<0-127>`` — one pitch: -1 masked, 0 off, 1 held, 2 onset (sounds on the
  block's first frame, held after), 3 on (model chooses onset or continuation)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

STYLE_TOKENS = 12
PITCHES = 128
CHANNELS = STYLE_TOKENS + PITCHES + 1 + 3
NOTES = slice(STYLE_TOKENS, STYLE_TOKENS + PITCHES)
DRUMS = STYLE_TOKENS + PITCHES
CFG = DRUMS + 1  # style, notes, drums

DEFAULT_TEMPERATURE = 1.3
DEFAULT_TOP_K = 40
DEFAULT_CFG = {"style": 3.0, "notes": 1.0, "drums": 1.0}
EXTRA_KEYS = ("cfg_notes", "cfg_drums", "drums", "notes", "note.<pitch>")


def discretize(value: float, step: float, max_bin: int) -> int:
    """A CFG scale in [-1, 7] to its token: the official binning (imported from it)."""
    from magenta_rt.jax.system import discretize_cfg

    return discretize_cfg(float(value), step, max_bin)


def row(style_tokens: np.ndarray | None, knobs, top_k_max: int) -> tuple[np.ndarray, float, int]:
    """The raw conditioning row (``-1`` = masked), temperature and top-k for one session."""
    extra: Mapping[str, float] = knobs.extra or {}
    cond = np.full(CHANNELS, -1, np.int32)
    if style_tokens is not None:
        cond[:STYLE_TOKENS] = style_tokens[:STYLE_TOKENS]
    default_note = int(extra.get("notes", -1))
    if default_note not in (-1, 0):
        raise ValueError(f"knob extra 'notes' must be -1 (masked) or 0 (off), got {default_note}")
    cond[NOTES] = default_note
    scale = getattr(knobs, "scale", None)
    if scale:
        from ..base import SCALES

        tonic = SCALES.index(scale)  # pitch class of the major tonic
        allowed = {(tonic + step) % 12 for step in (0, 2, 4, 5, 7, 9, 11)}
        for pitch in range(PITCHES):
            if pitch % 12 not in allowed:
                cond[STYLE_TOKENS + pitch] = 0
    for key, value in extra.items():
        if key.startswith("note."):
            try:
                pitch = int(key[5:])
            except ValueError:
                pitch = -1
            state = int(value)
            if not 0 <= pitch < PITCHES or state not in (-1, 0, 1, 2, 3):
                raise ValueError(f"knob extra {key!r}={value!r}: expected note.<0-127> with a "
                                 "state in -1, 0, 1, 2, 3")
            cond[STYLE_TOKENS + pitch] = state
        elif key not in ("cfg_notes", "cfg_drums", "drums", "notes"):
            raise ValueError(f"unknown magenta-rt2 knob extra {key!r}; known: {', '.join(EXTRA_KEYS)}")
    drums = int(extra.get("drums", 0 if getattr(knobs, "mute_drums", None) else -1))
    if drums not in (-1, 0, 1):
        raise ValueError(f"knob extra 'drums' must be -1, 0 or 1, got {drums}")
    cond[DRUMS] = drums
    style_cfg = DEFAULT_CFG["style"] if knobs.guidance is None else float(knobs.guidance)
    cond[CFG] = discretize(style_cfg, 0.2, 40)
    cond[CFG + 1] = discretize(extra.get("cfg_notes", DEFAULT_CFG["notes"]), 0.2, 40)
    cond[CFG + 2] = discretize(extra.get("cfg_drums", DEFAULT_CFG["drums"]), 1.0, 8)
    temperature = DEFAULT_TEMPERATURE if knobs.temperature is None else float(knobs.temperature)
    if not temperature >= 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    top_k = DEFAULT_TOP_K if knobs.top_k is None else int(knobs.top_k)
    return cond, temperature, int(np.clip(top_k, 1, top_k_max))
