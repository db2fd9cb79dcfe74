"""The device sink looks after itself: an unplugged card or one that stops asking for
audio trips the installation's watchdog, which reopens it or fails over to the next
device; while a crashed session restarts the card loops the last minute; the master
volume scales what the card plays. A real installation, real sessions, a test card
(`sinks.testing`) pulling blocks at the real-time rate in its own thread."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cadenza.runtime.installation.config import load_config
from cadenza.runtime.installation.thread import InstallationThread
from cadenza.runtime.sinks.cover import LoopCover
from cadenza.runtime.sinks.testing import TestCard, TestDeviceSink
from cadenza.runtime.testing import FlakyEngine
from tests.runtime.installation.kit import write_installation

RATE = 48000


def rms(blocks: list[np.ndarray]) -> float:
    return float(np.sqrt(np.mean(np.square(np.concatenate(blocks))))) if blocks else 0.0


def wait(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout}s")


@pytest.fixture
def cards():
    return {"card-a": TestCard("card-a"), "card-b": TestCard("card-b")}


def installation(tmp_path, cards, body: str = "", **kwargs):
    config = load_config(write_installation(tmp_path, """
outputs:
  device: {name: card-a, fallback: [card-b], margin: 0.1s}
""" + body))

    def factory(device, **options):
        return TestDeviceSink(cards, device, stall_s=1.0, **options)

    return InstallationThread(config, device_factory=factory, **kwargs)


def test_an_unplugged_card_trips_the_watchdog_and_fails_over(tmp_path, cards):
    with installation(tmp_path, cards) as running:
        inst = running.installation
        wait(lambda: rms(cards["card-a"].played[-20:]) > 0.01, what="card-a playing")
        assert running.call(inst.check_device) is None and running.call(inst.healthy)

        cards["card-a"].unplugged = True                 # the USB card is pulled out
        wait(lambda: running.call(inst.device.check) is not None, what="the sink noticing")
        assert "stopped" in running.call(inst.device.check)
        assert running.call(inst.check_device) is None   # reopened: on the fallback
        assert running.call(lambda: inst.device.device_name) == "card-b"
        assert running.call(lambda: inst.device.reopens) == 1
        wait(lambda: rms(cards["card-b"].played[-10:]) > 0.01, what="card-b playing the music")
        assert running.call(inst.healthy)

        cards["card-b"].unplugged = True                 # nothing left to play on
        problem = running.call(inst.check_device)
        assert problem and "reopening failed" in problem
        assert not running.call(inst.healthy)             # no WATCHDOG=1, /healthz 503
        assert running.call(inst.problem) == problem

        cards["card-a"].unplugged = False                # plugged back in
        assert running.call(inst.check_device) is None
        assert running.call(lambda: inst.device.device_name) == "card-a"
        assert running.call(inst.healthy)


def test_a_card_that_stops_consuming_is_reopened(tmp_path, cards):
    with installation(tmp_path, cards) as running:
        inst = running.installation
        wait(lambda: len(cards["card-a"].played) > 20, what="card-a pulling")
        assert running.call(inst.check_device) is None
        cards["card-a"].frozen = True                    # a hung driver: active, but silent
        problem = wait(lambda: running.call(inst.device.check), timeout=5,
                       what="the stall noticed")
        assert "asked for no audio" in problem
        before = len(cards["card-a"].played)
        assert running.call(inst.check_device) is None   # reopened the same card
        assert cards["card-a"].streams == 2
        wait(lambda: len(cards["card-a"].played) > before + 10, what="pulling again")


def test_the_room_hears_the_last_minute_while_a_crashed_session_restarts(tmp_path, cards, engine):
    flaky = FlakyEngine(engine, bad_seeds=[])
    with installation(tmp_path, cards, "restart: {min: 3s, max: 3s}\n",
                      engines={"procedural": flaky}) as running:
        inst = running.installation
        card = cards["card-a"]
        wait(lambda: len(card.played) * 1024 > 3 * RATE, what="3 s played")
        first = running.call(lambda: inst.session.id)
        flaky.bad_seeds.add(3)                           # the engine faults
        wait(lambda: running.call(lambda: inst.session is None), what="the session ending")
        flaky.bad_seeds.clear()
        crashed = len(card.played)
        assert running.call(lambda: inst.device.cover.active)
        time.sleep(2.0)                                   # inside the 3 s back-off
        during = card.played[crashed + 12:]               # after the buffered tail (~0.25 s)
        assert len(during) > 40
        silent = sum(1 for block in during if rms([block]) < 1e-3)
        assert rms(during) > 0.01 and silent <= 2, (rms(during), silent)
        wait(lambda: running.call(lambda: inst.session is not None and inst.session.id != first),
             what="the restart")
        wait(lambda: not running.call(lambda: inst.device.cover.active), what="the loop ending")


def test_master_volume_scales_the_speakers_not_the_recording(tmp_path, cards):
    with installation(tmp_path, cards, "volume: -6 dB\n") as running:
        inst = running.installation
        assert running.call(lambda: inst.device.volume) == pytest.approx(0.501, abs=0.001)
        wait(lambda: len(cards["card-a"].played) > 30, what="playing")
        running.call(lambda: inst.set_volume(0.0))      # what OSC /cadenza/volume 0 does
        time.sleep(0.6)                                   # the buffer (~0.4 s) drains
        mark = len(cards["card-a"].played)
        time.sleep(0.5)
        assert rms(cards["card-a"].played[mark:]) < 1e-4
        running.call(lambda: inst.set_volume(1.0))
        wait(lambda: rms(cards["card-a"].played[-5:]) > 0.01, what="loud again")


def test_loop_cover_crossfades_its_seam_and_fades_in():
    cover = LoopCover(rate=1000, channels=1, seconds=4, seam_s=0.5, fade_s=0.1)
    assert not cover.start()                          # nothing heard yet
    cover.remember(np.ones((3000, 1), np.float32))
    assert cover.start() and cover.active
    block = cover.take(5000)                           # wraps around the 2.5 s loop twice
    assert block[0, 0] < 0.05 and block[100:, 0].min() == pytest.approx(1.0)
    assert len(block) == 5000


def test_osc_sets_the_master_volume_and_zero_mutes(tmp_path, cards):
    import socket

    from pythonosc.udp_client import SimpleUDPClient

    from cadenza.runtime.installation.testing import free_port

    port = free_port(socket.SOCK_DGRAM)
    with installation(tmp_path, cards, f"sources:\n  osc: {{port: {port}}}\n") as running:
        inst = running.installation
        client = SimpleUDPClient("127.0.0.1", port)
        client.send_message("/cadenza/volume", 0.25)
        wait(lambda: running.call(lambda: inst.device.volume) == 0.25, what="volume 0.25")
        client.send_message("/cadenza/volume", 0)        # a value here, not a button release
        wait(lambda: running.call(lambda: inst.device.volume) == 0.0, what="muted")
        client.send_message("/cadenza/volume", 5.0)      # out of range: refused, unchanged
        client.send_message("/cadenza/volume", 1.0)
        wait(lambda: running.call(lambda: inst.device.volume) == 1.0, what="volume 1")
        assert running.call(lambda: inst.volume) == 1.0
