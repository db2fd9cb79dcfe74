"""A real mosquitto broker on loopback: readings published over MQTT move the blend, and
killing and restarting the broker mid-run loses no session; readings resume."""

from __future__ import annotations

import json
import time

import paho.mqtt.publish as publish
import pytest

from cadenza.runtime.installation.config import load_config
from cadenza.runtime.installation.testing import BlendProbe, MosquittoBroker, gapless, mosquitto_path
from cadenza.runtime.installation.thread import InstallationThread
from tests.runtime.installation.kit import near, write_installation

pytestmark = pytest.mark.skipif(mosquitto_path() is None,
                                reason="needs mosquitto (.ci/system-packages installs it)")


@pytest.fixture
def broker():
    with MosquittoBroker() as running:
        yield running


@pytest.fixture
def running(tmp_path, broker):
    config = load_config(write_installation(tmp_path, f"""
sources:
  mqtt:
    broker: {broker.url}
    client_id: cadenza-test
    reconnect: {{min: 0.1s, max: 0.5s}}
    inputs:
      room/visitors: {{input: visitors, field: sensor.count, silence: 30s}}
      room/light: light
"""))
    probe = BlendProbe()
    with InstallationThread(config, listeners=[probe]) as running:
        running.probe = probe
        source = running.installation.sources[0]
        assert source.connected.wait(10), "never connected to the broker"
        yield running


def send(broker, topic: str, payload: bytes | str, retain: bool = False) -> None:
    publish.single(topic, payload, hostname="127.0.0.1", port=broker.port, retain=retain)


def counts(n: float) -> str:
    return json.dumps({"sensor": {"count": n, "id": "door-1"}})


def test_blend_follows_mqtt_readings(running, broker):
    probe = running.probe
    for visitors in (70, 10, 40):
        mark = probe.mark()
        send(broker, "room/visitors", counts(visitors), retain=True)
        probe.wait_for(lambda c, v=visitors: near(c.weights, "crowd", v / 100), timeout=5,
                       after=mark)
    send(broker, "room/light", b"0.25")            # a plain-number payload
    session = running.call(lambda: running.installation.session)
    deadline = time.monotonic() + 5
    while running.call(lambda: session.inputs["light"]) != 0.25:  # no chunk shows light
        assert time.monotonic() < deadline
        probe.wait_for(lambda c: True, after=probe.mark())
    assert gapless(probe.chunks)
    assert running.call(lambda: session.counters.underruns) == 0


def test_broker_killed_and_restarted_mid_run(running, broker):
    probe = running.probe
    source = running.installation.sources[0]
    mark = probe.mark()
    send(broker, "room/visitors", counts(80), retain=True)
    probe.wait_for(lambda c: near(c.weights, "crowd", 0.8), timeout=5, after=mark)
    session_id = running.call(lambda: running.installation.session.id)

    broker.stop()                                   # SIGKILL: a crashed broker
    # The music goes on, with the last reading, through the outage.
    mark = probe.mark()
    probe.wait_for(lambda c: c.seq >= probe.chunks[mark - 1].seq + 20, timeout=10, after=mark)
    assert all(near(c.weights, "crowd", 0.8) for c in probe.chunks[mark:])
    assert not source.connected.is_set()

    broker.start()                                  # same port
    assert source.connected.wait(10), "did not reconnect"
    mark = probe.mark()
    send(broker, "room/visitors", counts(25), retain=True)   # retained: lands on subscribe
    probe.wait_for(lambda c: near(c.weights, "crowd", 0.25), timeout=10, after=mark)

    inst = running.installation
    assert running.call(lambda: inst.session.id) == session_id   # no session lost
    assert running.call(lambda: inst.restarts) == 0
    assert source.connects == 2 and source.disconnects == 1
    assert gapless(probe.chunks)
    assert running.call(lambda: inst.session.counters.underruns) == 0
