"""MQTT over TLS with a username and password, against a real mosquitto; a wrong
password is logged as refused and the music plays on."""

from __future__ import annotations

import logging
import shutil

import paho.mqtt.publish as publish
import pytest

from cadenza.runtime.installation.config import load_config
from cadenza.runtime.installation.testing import BlendProbe, MosquittoBroker, mosquitto_path
from cadenza.runtime.installation.thread import InstallationThread
from tests.runtime.installation.kit import near, write_installation

pytestmark = pytest.mark.skipif(mosquitto_path() is None or shutil.which("openssl") is None,
                                reason="needs mosquitto and openssl")


@pytest.fixture(scope="module")
def broker():
    with MosquittoBroker(users={"gallery": "s3cret"}, tls=True) as running:
        yield running


def config_for(tmp_path, broker, password: str):
    (tmp_path / "pw").write_text(password + "\n")
    return load_config(write_installation(tmp_path, f"""
sources:
  mqtt:
    broker: mqtts://gallery@127.0.0.1:{broker.port}
    password_file: pw
    tls: {{ca: {broker.ca_file}}}
    reconnect: {{min: 0.2s, max: 1s}}
    inputs: {{room/visitors: visitors}}
"""))


def test_tls_and_password(tmp_path, broker):
    probe = BlendProbe()
    with InstallationThread(config_for(tmp_path, broker, "s3cret"), listeners=[probe]) as running:
        assert running.installation.sources[0].connected.wait(10)
        publish.single("room/visitors", b"65", hostname="127.0.0.1", port=broker.port,
                       retain=True, auth={"username": "gallery", "password": "s3cret"},
                       tls={"ca_certs": str(broker.ca_file)})
        probe.wait_for(lambda c: near(c.weights, "crowd", 0.65), timeout=10)


def test_wrong_password_is_logged_and_the_music_plays_on(tmp_path, broker, caplog):
    caplog.set_level(logging.INFO, logger="cadenza.sources.mqtt")
    probe = BlendProbe()
    with InstallationThread(config_for(tmp_path, broker, "wrong"), listeners=[probe]) as running:
        probe.wait_for(lambda c: c.seq >= 30, timeout=10)
        assert not running.installation.sources[0].connected.is_set()
    refused = [r for r in caplog.records if r.getMessage() == "MQTT broker refused the connection"]
    assert refused and "Not authorized" in refused[0].cadenza_fields["reason"]
    assert all(near(c.weights, "quiet", 1.0) for c in probe.chunks)
