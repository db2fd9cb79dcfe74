"""Durations as scenes and timelines write them: 2, 1.5s, 250ms, 2 min."""

from __future__ import annotations

import math
import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|sec|secs|seconds?|min)?\s*$")


def parse_seconds(value: object) -> float | None:
    """Seconds for a duration value, or None if it is not one (negative, NaN, text)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) and value >= 0 else None
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            number, unit = float(m.group(1)), m.group(2) or "s"
            return number / 1000.0 if unit == "ms" else number * 60.0 if unit == "min" else number
    return None
