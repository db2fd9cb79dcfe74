"""A real python-osc client sends sensor values over UDP; the session's blend follows."""

from __future__ import annotations

import socket

import pytest
from pythonosc.udp_client import SimpleUDPClient

from cadenza.runtime.installation.config import load_config
from cadenza.runtime.installation.testing import BlendProbe, free_port, gapless
from cadenza.runtime.installation.thread import InstallationThread
from cadenza.runtime.session.chunk import EventKind
from tests.runtime.installation.kit import near, write_installation


@pytest.fixture
def running(tmp_path):
    port = free_port(socket.SOCK_DGRAM)
    config = load_config(write_installation(tmp_path, f"""
sources:
  osc:
    port: {port}
    inputs:
      /room/visitors: visitors
      /room/motion: motion
      /room/xy: {{input: light, arg: 1}}
"""))
    probe = BlendProbe()
    with InstallationThread(config, listeners=[probe]) as running:
        running.probe = probe
        running.client = SimpleUDPClient("127.0.0.1", port)
        yield running


def test_blend_follows_osc_sensor_values(running):
    probe, client = running.probe, running.client
    probe.wait_for(lambda c: near(c.weights, "quiet", 1.0))        # defaults: visitors 0
    for visitors in (80, 20, 55.5):
        mark = probe.mark()
        client.send_message("/room/visitors", visitors)
        chunk = probe.wait_for(lambda c, v=visitors: near(c.weights, "crowd", v / 100),
                               timeout=5, after=mark)
        assert near(chunk.weights, "quiet", 1 - visitors / 100)
    session = running.call(lambda: running.installation.session)
    assert running.call(lambda: session.inputs["visitors"]) == 55.5
    client.send_message("/room/motion", 1)          # an OSC toggle's 1 is true
    client.send_message("/room/xy", [0.1, 0.9])      # the binding reads argument 1
    mark = probe.mark()
    probe.wait_for(lambda c: True, after=mark + 2)
    motion, light = running.call(lambda: (session.inputs["motion"], session.inputs["light"]))
    assert motion is True and light == pytest.approx(0.9)  # OSC floats are 32-bit
    assert gapless(probe.chunks)
    assert running.call(lambda: session.counters.underruns) == 0
    stats = running.call(lambda: running.installation.router.snapshot())
    assert stats["bindings"][f"osc:{client._port} /room/visitors"]["accepted"] == 3


def test_cadenza_control_addresses_pause_play_and_reset(running):
    probe, client = running.probe, running.client
    probe.wait_for(lambda c: c.seq >= 2)
    session = running.call(lambda: running.installation.session)

    def state_event(state):
        return lambda: any(e.kind == EventKind.STATE_CHANGED and e.detail["state"] == state
                           for e in probe.events)

    client.send_message("/cadenza/pause", 1)
    with probe._cond:
        assert probe._cond.wait_for(state_event("paused"), 5)
    client.send_message("/cadenza/pause", 0)  # the button's release: ignored
    client.send_message("/cadenza/play", 1)
    with probe._cond:
        assert probe._cond.wait_for(state_event("playing"), 5)
    mark = probe.mark()
    client.send_message("/cadenza/reset", [])
    probe.wait_for(lambda c: True, after=mark + 3)
    assert running.call(lambda: session.state.value) == "playing"
    assert running.call(lambda: running.installation.router.sources[f"osc:{client._port}"].commands) == 3
    assert gapless(probe.chunks)  # pause and reset keep the stream's numbering gapless


def test_cadenza_trigger_fires_a_stinger_over_osc(running):
    probe, client = running.probe, running.client
    probe.wait_for(lambda c: c.seq >= 2)
    client.send_message("/cadenza/trigger", "chime")
    client.send_message("/cadenza/trigger", "nope")  # logged and dropped, nothing breaks

    def fired():
        return [e for e in probe.events if e.kind == EventKind.STINGER]

    with probe._cond:
        assert probe._cond.wait_for(lambda: fired(), 5)
    [event] = fired()
    assert event.detail["stinger"] == "chime" and event.detail["status"] == "scheduled"
    mark = probe.mark()
    probe.wait_for(lambda c: True, after=mark + 3)
    assert gapless(probe.chunks)
