"""`outputs.serve`: the installation's session, monitored over gRPC with the Python SDK
while OSC sensors drive it; a monitoring client never ends the installation's session."""

from __future__ import annotations

import socket

from pythonosc.udp_client import SimpleUDPClient

from cadenza.runtime.installation.config import load_config
from cadenza.runtime.installation.testing import free_port
from cadenza.runtime.installation.thread import InstallationThread
from cadenza.sdk import Client
from tests.runtime.installation.kit import write_installation


def test_monitor_the_installation_over_grpc(tmp_path):
    port = free_port(socket.SOCK_DGRAM)
    config = load_config(write_installation(tmp_path, f"""
sources:
  osc:
    port: {port}
    inputs: {{/room/visitors: visitors}}
outputs:
  serve: {{grpc_port: 0, ws_port: 0, console_port: 0}}
"""))
    with InstallationThread(config) as running:
        inst = running.installation
        SimpleUDPClient("127.0.0.1", port).send_message("/room/visitors", 90)
        with Client(f"127.0.0.1:{inst.server.grpc_port}") as client:
            [info] = client.sessions()
            assert info.session_id == running.call(lambda: inst.session.id)
            assert info.scene == "room" and info.inputs["visitors"] == 90
            session = client.session(info.session_id)
            blends = [chunk.blend for chunk in session.stream(seconds=0.5)]
            assert blends and abs(blends[-1].get("crowd", 0) - 0.9) < 0.03
        assert running.call(lambda: inst.session.state.value) == "playing"
