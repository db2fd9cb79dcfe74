"""The installation file: every mistake reported with file:line field, in one pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadenza.runtime.installation.config import ConfigError, load_config
from tests.runtime.installation.kit import write_installation

SAMPLE = Path(__file__).resolve().parents[3] / "samples" / "installation" / "installation.yaml"


def test_the_sample_installation_loads():
    config = load_config(SAMPLE)
    assert config.name == "gallery-east" and config.scene.name == "gallery"
    assert config.osc.port == 9000 and config.mqtt.broker.port == 1883
    assert {b.input for b in config.bindings} == {"light", "motion", "visitors"}
    [visitors] = config.mqtt.bindings
    assert (visitors.field, visitors.silence_s) == ("count", 300.0)
    assert config.wav.rotate_s == 3600 and config.wav.keep == 48
    assert config.wav.directory == SAMPLE.parent / "recordings"
    assert config.device.device is None and config.device.blocksize == 1024
    assert config.restart.max_s == 60


def test_every_error_with_its_line(tmp_path):
    path = write_installation(tmp_path, """\
engin: procedural
sources:
  osc:
    inputs:
      /room/visitors: visitor
      cadenza: visitors
  mqtt:
    broker: http://localhost
outputs:
  wav: {dir: rec, rotate: soon}
restart: {min: 10s, max: 1s}
""")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    report = err.value.report()
    assert f"{path}:5 engin: unknown key 'engin' (did you mean 'engine'?)" in report
    assert f"{path}:7 sources.osc.port: required: the UDP port to listen on" in report
    assert f"{path}:9 sources.osc.inputs./room/visitors.input: scene 'room' has no input " \
           "'visitor' (did you mean 'visitors'?)" in report
    assert f"{path}:10 sources.osc.inputs.cadenza: an OSC address starts with /" in report
    assert f"{path}:12 sources.mqtt.broker: broker URL 'http://localhost' must start with " \
           "mqtt:// or mqtts://" in report
    assert "outputs.wav.rotate: expected a duration" in report
    assert f"{path}:15 restart.max: restart.max must be at least restart.min" in report


def test_bindings_are_checked_against_the_scene(tmp_path):
    path = write_installation(tmp_path, """\
sources:
  osc:
    port: 9000
    inputs:
      /room/visitors: visitor
      /cadenza/pause: visitors
      /room/light: {input: light, silence: forever}
""")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    report = err.value.report()
    assert "sources.osc.inputs./room/visitors.input: scene 'room' has no input 'visitor' " \
           "(did you mean 'visitors'?)" in report
    assert "/cadenza/ is reserved for control" in report
    assert "silence: expected a duration" in report


def test_scene_errors_come_with_the_scene_file_and_line(tmp_path):
    path = write_installation(tmp_path, "", scene="scene: bad\nprompts: {a: calm}\nmix: {a: 'x + 1'}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"{tmp_path / 'room.yaml'}:3 mix.a: unknown" in err.value.report()


def test_secrets_from_files_and_broker_url_credentials(tmp_path):
    (tmp_path / "pw").write_text("s3cret\n")
    path = write_installation(tmp_path, """\
sources:
  mqtt:
    broker: mqtts://gallery@broker.local
    password_file: pw
    tls: {insecure: true}
    inputs: {room/visitors: visitors}
outputs:
  serve: {grpc_port: 0, ws_port: 0}
  device: {index: 2, margin: 0.1s, buffer: 2s}
""")
    config = load_config(path)
    broker = config.mqtt.broker
    assert (broker.host, broker.port, broker.tls) == ("broker.local", 8883, True)
    assert (broker.username, broker.password, broker.tls_insecure) == ("gallery", "s3cret", True)
    assert "s3cret" not in repr(config)
    assert config.device.device == 2 and config.device.margin_s == 0.1


def test_console_port_volume_fallback_and_their_errors(tmp_path):
    path = write_installation(tmp_path, """
volume: -6 dB
outputs:
  serve: {grpc_port: 0, ws_port: 0, console_port: 9090}
  device: {name: "USB Audio", fallback: [default, 3]}
""")
    config = load_config(path)
    assert config.serve.console_port == 9090
    assert abs(config.volume - 0.501) < 0.001
    assert config.device.fallback == (None, 3)
    off = load_config(write_installation(tmp_path, "outputs:\n  serve: {console_port: false}\n"))
    assert off.serve.console_port is None
    assert load_config(write_installation(tmp_path, "outputs:\n  serve: true\n")).serve.console_port == 8080
    bad = write_installation(tmp_path, "volume: loud\noutputs:\n  serve: {console_port: 70000}\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    report = err.value.report()
    assert f"{bad}:5 volume: expected a gain in [0, 2]" in report
    assert "outputs.serve.console_port: expected a whole number in [0, 65535]" in report
