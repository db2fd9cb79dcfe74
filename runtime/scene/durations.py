"""Durations as scenes and timelines write them: 2, 1.5s, 250ms, 2 min — and, where musical
time is allowed, 4 beats, 1 bar, 2 bars."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|sec|secs|seconds?|min|beats?|bars?)?\s*$")


@dataclass(frozen=True)
class Duration:
    """An amount in seconds, beats or bars (converted with the session's clock)."""

    amount: float
    unit: str  # "s" | "beats" | "bars"

    def samples(self, rate: int, samples_per_beat: float, beats_per_bar: int) -> float:
        if self.unit == "s":
            return self.amount * rate
        beats = self.amount * (beats_per_bar if self.unit == "bars" else 1)
        return beats * samples_per_beat

    def __str__(self) -> str:
        return f"{self.amount:g}{'s' if self.unit == 's' else ' ' + self.unit}"


def parse_duration(value: object, musical: bool = True) -> Duration | None:
    """A duration, or None if ``value`` is not one (negative, NaN, unknown unit)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            return None
        return Duration(number, "s") if math.isfinite(number) and number >= 0 else None
    if isinstance(value, str) and len(value) <= 64:
        m = _DURATION.match(value)
        if m:
            number, unit = float(m.group(1)), m.group(2) or "s"
            if not math.isfinite(number):
                return None
            if unit.startswith("beat") or unit.startswith("bar"):
                if not musical:
                    return None
                return Duration(number, "beats" if unit.startswith("beat") else "bars")
            seconds = number / 1000.0 if unit == "ms" else number * 60.0 if unit == "min" else number
            return Duration(seconds, "s")
    return None


def parse_seconds(value: object) -> float | None:
    """Seconds for a duration value in seconds, or None if it is not one."""
    duration = parse_duration(value, musical=False)
    return duration.amount if duration else None
