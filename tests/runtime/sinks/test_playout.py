"""The sound card's buffer logic without a sound card: margin, fades on underrun, clock
drift. `PlayoutBuffer` is what PortAudio's callback runs, fed here by hand."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.runtime.sinks.device import PlayoutBuffer

RATE = 48000
BLOCK = 2400   # the loop's 50 ms chunks
PULL = 512     # a sound card's callback


def ramp(n: int, start: int = 0) -> np.ndarray:
    """A recognisable, continuous signal: sample i holds (i+1) / 1e6 on both channels."""
    x = (np.arange(start, start + n, dtype=np.float64) + 1) / 1e6
    return np.stack([x, x], axis=1).astype(np.float32)


def test_silence_until_the_margin_is_buffered_then_gapless_playback():
    buf = PlayoutBuffer(RATE, margin=4800, fade=0)
    buf.push(ramp(BLOCK))
    assert not buf.pull(PULL).any() and not buf.playing       # 2400 < margin
    buf.push(ramp(BLOCK, BLOCK))
    out = np.concatenate([buf.pull(PULL) for _ in range(9)])
    assert np.array_equal(out, ramp(9 * PULL))                  # exact, in order
    assert buf.stats.underruns == 0 and buf.stats.silent_frames == PULL


def test_fade_in_at_start():
    buf = PlayoutBuffer(RATE, margin=BLOCK, fade=240)
    buf.push(np.ones((BLOCK, 2), np.float32))
    out = buf.pull(PULL)[:, 0]
    assert out[0] < 0.01 and out[239] == pytest.approx(1.0) and out[300] == 1.0
    assert np.all(np.diff(out[:240]) > 0)


def test_underrun_fades_out_instead_of_clicking_and_is_counted():
    buf = PlayoutBuffer(RATE, margin=BLOCK, fade=240)
    buf.push(np.ones((BLOCK, 2), np.float32))
    blocks = [buf.pull(PULL) for _ in range(5)]                # 2560 > 2400: runs dry
    last = blocks[-1][:, 0]
    have = BLOCK - 4 * PULL                                     # 352 frames left
    assert last[have - 240 - 1] == 1.0                          # full level before the fade
    assert np.all(np.diff(last[have - 240:have]) < 0)          # a smooth fade ...
    assert last[have - 1] < 0.01 and not last[have:].any()     # ... to silence, no step
    assert buf.stats.underruns == 1 and not buf.playing
    # Back: nothing until the margin is buffered again, then a fade-in (no click either).
    buf.push(np.ones((BLOCK // 2, 2), np.float32))
    assert not buf.pull(PULL).any()
    buf.push(np.ones((BLOCK // 2, 2), np.float32))
    again = buf.pull(PULL)[:, 0]
    assert again[0] < 0.01 and again[-1] == 1.0
    assert buf.stats.underruns == 1


def test_running_dry_on_purpose_is_not_an_underrun():
    buf = PlayoutBuffer(RATE, margin=BLOCK, fade=240)
    buf.push(np.ones((BLOCK, 2), np.float32))
    buf.expect_gap = True                                       # session paused
    for _ in range(10):
        buf.pull(PULL)
    assert buf.stats.underruns == 0 and not buf.playing


def test_overflow_is_counted_when_the_consumer_stops():
    buf = PlayoutBuffer(3 * BLOCK, margin=BLOCK)
    for _ in range(4):
        buf.push(ramp(BLOCK))
    assert buf.buffered == 3 * BLOCK and buf.stats.overflow_frames == BLOCK


def test_wraparound_keeps_order():
    buf = PlayoutBuffer(5000, margin=100, fade=0)
    produced = consumed = 0
    out = []
    for _ in range(200):
        while buf.buffered < 4000:
            buf.push(ramp(1000, produced))
            produced += 1000
        out.append(buf.pull(PULL))
        consumed += PULL
    assert np.array_equal(np.concatenate(out), ramp(consumed))


@pytest.mark.parametrize("ppm", [+100, -100])
def test_clock_drift_is_absorbed_without_underrun_or_overflow(ppm):
    """The loop delivers at the machine's clock, the card pulls at its own, 100 ppm apart
    (a poor crystal). Over 20 simulated minutes the buffer must neither starve nor fill."""
    buf = PlayoutBuffer(4 * RATE, margin=RATE // 4, fade=240)
    card_rate = RATE * (1 + ppm / 1e6)
    produced, pulled_time, t = 0, 0.0, 0.0
    levels = []
    signal = np.full((BLOCK, 2), 0.5, np.float32)
    for _ in range(int(20 * 60 / 0.05)):                        # 20 minutes of 50 ms steps
        t += 0.05
        while produced < (t + 0.5) * RATE:                      # the loop keeps 0.5 s ahead
            buf.push(signal)
            produced += BLOCK
        while pulled_time + PULL / card_rate <= t:
            buf.pull(PULL)
            pulled_time += PULL / card_rate
        levels.append(buf.buffered)
    assert buf.stats.underruns == 0 and buf.stats.overflow_frames == 0
    drift = 20 * 60 * RATE * ppm / 1e6                          # 5760 frames uncorrected
    assert -buf.stats.drift_frames * np.sign(ppm) >= 0.6 * abs(drift)
    per_minute = [np.mean(levels[i:i + 1200]) for i in range(0, len(levels), 1200)]
    # Uncorrected, the level would move by 5760 frames; corrected it stays near where it
    # settled (within the tolerance band of 30 ms).
    assert max(per_minute) - min(per_minute) < 0.04 * RATE


def test_no_correction_without_drift():
    buf = PlayoutBuffer(4 * RATE, margin=RATE // 4)
    signal = np.zeros((PULL, 2), np.float32)
    buf.push(np.zeros((RATE // 2, 2), np.float32))
    for _ in range(20000):
        buf.push(signal)
        buf.pull(PULL)
    assert buf.stats.drift_frames == 0
