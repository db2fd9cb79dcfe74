from __future__ import annotations

import pytest

from cadenza.runtime.musictime import BeatClock


def test_positions_and_boundaries():
    clock = BeatClock(at=48000, beat=6.5, bpm=120.0)  # 24000 samples per beat
    assert clock.bar == 1 and clock.beat_in_bar == 2 and clock.phase == pytest.approx(0.5)
    assert clock.beat_at(60000) == pytest.approx(7.0)
    assert clock.boundary(48000, "immediate") == 48000
    assert clock.boundary(48000, "beat") == 60000
    assert clock.boundary(48000, "bar") == 84000  # beat 8
    assert clock.boundary(48000, "bars", bars=2) == 84000  # beat 8 is a multiple of 8 beats
    assert clock.boundary(60000, "beat") == 60000  # on a beat: that beat
    assert [s for s, _ in clock.boundaries(48000, 100000)] == [60000, 84000]
    later = clock.advanced(24000, bpm=60.0)
    assert later.at == 72000 and later.beat == pytest.approx(7.5) and later.bpm == 60.0


def test_other_signatures():
    clock = BeatClock(at=0, beat=0.0, bpm=90.0, beats_per_bar=3, beat_unit=4)
    assert clock.boundary(1, "bar") == 3 * 32000
    assert [b for _, b in clock.boundaries(0, 200000, 3.0)] == [0.0, 3.0, 6.0]
