"""Garbage from real peers (non-numbers, NaN, huge strings, wrong JSON, random bytes) is
counted and logged with its source, and the music keeps playing."""

from __future__ import annotations

import json
import logging
import socket

import numpy as np
import paho.mqtt.publish as publish
import pytest
from pythonosc.udp_client import SimpleUDPClient

from cadenza.runtime.installation.config import load_config
from cadenza.runtime.installation.testing import (
    BlendProbe,
    MosquittoBroker,
    free_port,
    gapless,
    mosquitto_path,
)
from cadenza.runtime.installation.thread import InstallationThread
from tests.runtime.installation.kit import near, write_installation

MQTT_GARBAGE = [b"twelve", b"NaN", b"Infinity", b"x" * 5000, b"y" * 900, b'{"count": "many"}',
                b"{not json", b'{"other": 1}', b"[1, 2, 3]", b"\xff\xfe\x00", b"", b"-5",
                b"1e999", b'{"count": null}', b"9" * 1000]
OSC_GARBAGE = ["lots", float("nan"), float("inf"), "z" * 5000, 1e9, -1, True]


@pytest.mark.skipif(mosquitto_path() is None, reason="needs mosquitto")
def test_garbage_is_counted_logged_and_the_music_keeps_playing(tmp_path, caplog):
    osc_port = free_port(socket.SOCK_DGRAM)
    with MosquittoBroker() as broker:
        config = load_config(write_installation(tmp_path, f"""
sources:
  osc:
    port: {osc_port}
    inputs:
      /room/visitors: visitors
  mqtt:
    broker: {broker.url}
    inputs:
      room/visitors: {{input: visitors, field: count}}
      room/light: light
"""))
        probe = BlendProbe()
        caplog.set_level(logging.WARNING, logger="cadenza.sources")
        with InstallationThread(config, listeners=[probe]) as running:
            inst = running.installation
            assert inst.sources[1].connected.wait(10)
            osc = SimpleUDPClient("127.0.0.1", osc_port)
            osc.send_message("/room/visitors", 30)
            probe.wait_for(lambda c: near(c.weights, "crowd", 0.30), timeout=5)
            start = probe.mark()

            # OSC: wrong types, non-finite, out of range, a huge string, raw junk bytes.
            for value in OSC_GARBAGE:
                osc.send_message("/room/visitors", value)
            raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for junk in (b"\x00\x01garbage", b"/room/visitors\x00\x00,s\x00\x00", b"#bundle"):
                raw.sendto(junk, ("127.0.0.1", osc_port))
            raw.close()
            osc.send_message("/room/unbound", 1.0)
            # MQTT: every payload on one connection, in order; a valid reading last.
            messages = [{"topic": "room/visitors", "payload": p} for p in MQTT_GARBAGE]
            messages += [{"topic": "room/light", "payload": p} for p in (b"bright", b"2.5")]
            messages.append({"topic": "room/visitors", "payload": json.dumps({"count": 60})})
            publish.multiple(messages, hostname="127.0.0.1", port=broker.port)
            probe.wait_for(lambda c: near(c.weights, "crowd", 0.60), timeout=5, after=start)
            osc.send_message("/room/visitors", 45)      # OSC still works after its garbage
            probe.wait_for(lambda c: near(c.weights, "crowd", 0.45), timeout=5, after=start)
            mark = probe.mark()
            probe.wait_for(lambda c: True, timeout=5, after=mark + 10)  # and plays on

            snapshot = running.call(inst.router.snapshot)
            session = running.call(lambda: inst.session)
            underruns = running.call(lambda: session.counters.underruns)

    osc_name, mqtt_name = f"osc:{osc_port}", f"mqtt:127.0.0.1:{broker.port}"
    bindings, sources = snapshot["bindings"], snapshot["sources"]
    assert bindings[f"{osc_name} /room/visitors"]["rejected"] == len(OSC_GARBAGE)
    assert bindings[f"{osc_name} /room/visitors"]["accepted"] == 2
    assert sources[osc_name]["unparsable"] == 3 and sources[osc_name]["unbound"] == 1
    assert bindings[f"{mqtt_name} room/visitors#count"]["rejected"] == len(MQTT_GARBAGE)
    assert bindings[f"{mqtt_name} room/visitors#count"]["accepted"] == 1
    assert bindings[f"{mqtt_name} room/light"]["rejected"] == 2

    # Logged with the source (throttled: one line per address per 10 s, all counted).
    dropped = [r for r in caplog.records if r.getMessage() == "reading dropped"]
    logged_sources = {r.cadenza_fields["source"] for r in dropped}
    assert logged_sources == {osc_name, mqtt_name}
    reasons = " | ".join(r.cadenza_fields["reason"] for r in dropped)
    assert "input 'visitors' is a number, got str 'lots'" in reasons
    assert "not JSON" in reasons

    # The music kept playing: one session, gapless, no underrun, never silent.
    assert len({c.session_id for c in probe.chunks}) == 1
    assert gapless(probe.chunks)
    assert underruns == 0
    during = probe.chunks[start:]
    assert len(during) >= 10
    assert min(np.mean([c.rms for c in during[i:i + 10]]) for i in range(0, len(during) - 9)) > 0.005
