"""Meters for the band: how a bar of sixteenth steps divides into felt pulses.

A bar of ``beats``/``unit`` has ``beats * 16 / unit`` sixteenth steps. Its *pulses* are
what a listener taps: the beats themselves in N/4 (and N/2), groups of eighths in N/8
(6/8 and 12/8 in threes, 5/8 as 3+2, 7/8 as 2+2+3). The *strong* pulses start the
groups of pulses (beats 1 and 3 of 4/4, beat 1 of 3/4, beats 1 and 4 of 6/4 or 5/4's 3+2).
Pure data: the band reads it, the engine counts bars with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

UNITS = (1, 2, 4, 8, 16)


def groups(count: int) -> tuple[int, ...]:
    """Split ``count`` pulses into the groups musicians hear: twos and threes, a four
    where it reads naturally (4 → 2+2, 5 → 3+2, 7 → 4+3, 8 → 3+3+2)."""
    if count <= 3:
        return (count,)
    if count == 4:
        return (2, 2)
    if count % 3 == 0:
        return (3,) * (count // 3)
    if count % 3 == 1:
        return (4,) + (3,) * ((count - 4) // 3)
    return (3,) * ((count - 2) // 3) + (2,)


@dataclass(frozen=True)
class Meter:
    beats: int = 4
    unit: int = 4

    def __post_init__(self) -> None:
        if self.unit not in UNITS or not 1 <= self.beats <= 16:
            raise ValueError(f"unsupported meter {self.beats}/{self.unit}: beats 1-16, "
                             f"unit one of {UNITS}")

    @property
    def steps_per_beat(self) -> int:
        """Sixteenths in one beat of the signature's unit."""
        return 16 // self.unit

    @property
    def bar_steps(self) -> int:
        return self.beats * self.steps_per_beat

    @property
    def common(self) -> bool:
        """Four quarter notes to the bar (4/4, 2/2, 1/1): the band's original grooves."""
        return self.bar_steps == 16 and self.unit <= 4

    @property
    def beats_per_quarter(self) -> float:
        """Beats of the unit in one quarter note (2 in N/8): converts quarter-note tempo
        and positions to the signature's beats."""
        return self.unit / 4.0

    @cached_property
    def pulse_lengths(self) -> tuple[int, ...]:
        """The felt pulses of one bar, in sixteenth steps."""
        if self.unit <= 4:
            return (self.steps_per_beat,) * self.beats
        split = []
        for group in groups(self.beats):
            split.extend((2, 2) if group == 4 else (group,))
        return tuple(n * self.steps_per_beat for n in split)

    @cached_property
    def pulse_starts(self) -> tuple[int, ...]:
        starts, at = [], 0
        for length in self.pulse_lengths:
            starts.append(at)
            at += length
        return tuple(starts)

    @cached_property
    def strong_starts(self) -> tuple[int, ...]:
        """Pulse starts that begin a group of pulses (the downbeat first)."""
        out, index = [], 0
        for group in groups(len(self.pulse_starts)):
            out.append(self.pulse_starts[index])
            index += group
        return tuple(out)

    @cached_property
    def backbeats(self) -> tuple[int, ...]:
        """Pulse starts that are not strong: where the snare answers the kick."""
        return tuple(p for p in self.pulse_starts if p not in self.strong_starts)

    @cached_property
    def offbeats(self) -> tuple[int, ...]:
        """One eighth off each pulse (open hats, pumping bass)."""
        return tuple(start + 2 * max(1, length // 4)
                     for start, length in zip(self.pulse_starts, self.pulse_lengths, strict=True)
                     if length >= 4)

    @cached_property
    def middle(self) -> int:
        """The pulse start nearest the middle of the bar (where a pad may restrike)."""
        inner = [p for p in self.pulse_starts if p > 0] or [0]
        return min(inner, key=lambda p: (abs(2 * p - self.bar_steps), p))
