"""Opening hours with a fake clock: the installation pauses outside hours, plays again at
opening with a fade in, fades out before closing - read back from a test sound card."""

from __future__ import annotations

import time
from datetime import datetime

import numpy as np
import pytest

from cadenza.runtime.installation.config import ConfigError, load_config
from cadenza.runtime.installation.schedule import parse_days
from cadenza.runtime.installation.thread import InstallationThread
from cadenza.runtime.sinks.testing import TestCard, TestDeviceSink
from tests.runtime.installation.kit import write_installation

SCHEDULE = """
schedule:
  fade_in: 10s
  fade_out: 30s
  hours:
    - {days: mon-fri, open: "10:00", close: "18:00"}
    - {days: sat, open: "22:00", close: "02:00"}
outputs:
  device: {name: card, margin: 0.1s}
"""


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def rms(blocks) -> float:
    return float(np.sqrt(np.mean(np.square(np.concatenate(blocks))))) if blocks else 0.0


def test_the_schedule_pauses_and_resumes_on_time(tmp_path):
    config = load_config(write_installation(tmp_path, SCHEDULE))
    clock = FakeClock(datetime(2026, 3, 2, 9, 59, 0))      # a Monday, before opening
    card = TestCard("card")
    with InstallationThread(config, clock=clock, device_factory=lambda d, **o: TestDeviceSink(
            {"card": card}, d, **o)) as running:
        inst = running.installation

        def state() -> str:
            return running.call(lambda: inst.session.state.value)

        assert state() == "created"                          # opened paused, never played
        assert running.call(inst.apply_schedule) == 0.0
        time.sleep(0.5)
        assert rms(card.played[-10:]) < 1e-4                 # closed: silence

        clock.now = datetime(2026, 3, 2, 10, 0, 5)            # 5 s into the 10 s fade in
        assert running.call(inst.apply_schedule) == pytest.approx(0.5)
        assert state() == "playing"
        assert running.call(lambda: inst.device.volume) == pytest.approx(0.5)
        deadline = time.monotonic() + 10
        while rms(card.played[-5:]) < 0.005 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rms(card.played[-5:]) > 0.005                  # open: the music plays
        clock.now = datetime(2026, 3, 2, 12, 0)
        assert running.call(inst.apply_schedule) == 1.0

        clock.now = datetime(2026, 3, 2, 17, 59, 45)           # 15 s before closing
        assert running.call(inst.apply_schedule) == pytest.approx(0.5)
        assert state() == "playing"                            # fading, not stopped
        clock.now = datetime(2026, 3, 2, 18, 0, 1)
        assert running.call(inst.apply_schedule) == 0.0
        assert state() == "paused"
        assert running.call(inst.not_playing) is None          # closed on purpose: ready
        assert running.call(inst.healthy)

        clock.now = datetime(2026, 3, 8, 1, 0)                 # Sunday 01:00: Saturday's late
        assert running.call(inst.apply_schedule) == 1.0        # opening runs past midnight
        assert state() == "playing"
        clock.now = datetime(2026, 3, 8, 10, 30)               # Sunday: closed all day
        running.call(inst.apply_schedule)
        assert state() == "paused"


def test_a_paused_by_control_session_stays_paused_at_opening(tmp_path):
    config = load_config(write_installation(tmp_path, SCHEDULE))
    clock = FakeClock(datetime(2026, 3, 2, 9, 0))
    with InstallationThread(config, clock=clock, device_factory=lambda d, **o: TestDeviceSink(
            {"card": TestCard("card")}, d, **o)) as running:
        inst = running.installation
        running.call(lambda: inst.control("pause"))            # the technician paused it
        assert running.call(lambda: inst.session.state.value) in ("created", "paused")
        clock.now = datetime(2026, 3, 2, 11, 0)
        running.call(inst.apply_schedule)
        assert running.call(lambda: inst.session.state.value) in ("created", "paused")


def test_days_and_schedule_errors():
    assert parse_days("mon-fri") == frozenset(range(5))
    assert parse_days("fri-mon") == frozenset({4, 5, 6, 0})
    assert parse_days(["sat", "sun"]) == frozenset({5, 6})
    assert parse_days("daily") == frozenset(range(7))
    assert parse_days("someday") is None


def test_a_bad_schedule_is_a_line_numbered_error(tmp_path):
    path = write_installation(tmp_path, """
schedule:
  hours:
    - {days: weekdays, open: "25:00", close: "18:00"}
""")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    report = err.value.report()
    assert f"{path}:8 schedule.hours[0].days: expected days such as mon-fri" in report
    assert "schedule.hours[0].open: expected a time such as" in report
