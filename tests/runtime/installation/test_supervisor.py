"""Unattended running: a failed session restarts with back-off and gets the sensors'
current values; the watchdog speaks systemd's protocol over a real datagram socket."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
from pythonosc.udp_client import SimpleUDPClient

from cadenza.runtime.installation.backoff import Backoff
from cadenza.runtime.installation.config import RestartPolicy, load_config
from cadenza.runtime.installation.testing import BlendProbe, free_port, gapless
from cadenza.runtime.installation.thread import InstallationThread
from cadenza.runtime.installation.watchdog import Notifier
from cadenza.runtime.session.chunk import EventKind
from cadenza.runtime.testing import FlakyEngine
from tests.runtime.installation.kit import near, write_installation


def test_backoff_doubles_to_the_cap_and_resets_after_a_healthy_run():
    backoff = Backoff(RestartPolicy(min_s=1, max_s=8, healthy_s=60))
    assert [backoff.next_delay(0.5) for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    assert backoff.next_delay(3600) == 1          # ran an hour: a fresh start
    assert backoff.next_delay(1) == 2


@pytest.fixture
def osc_config(tmp_path):
    port = free_port(socket.SOCK_DGRAM)
    path = write_installation(tmp_path, f"""
restart: {{min: 0.2s, max: 1s}}
sources:
  osc:
    port: {port}
    inputs: {{/room/visitors: visitors}}
outputs:
  wav: {{dir: rec, rotate: 1h}}
""")
    return load_config(path), port


def test_failed_session_restarts_with_backoff_and_current_sensor_values(osc_config, engine):
    config, port = osc_config
    flaky = FlakyEngine(engine, bad_seeds=[])
    probe = BlendProbe()
    with InstallationThread(config, engines={"procedural": flaky}, listeners=[probe]) as running:
        inst = running.installation
        client = SimpleUDPClient("127.0.0.1", port)
        client.send_message("/room/visitors", 70)
        probe.wait_for(lambda c: near(c.weights, "crowd", 0.7), timeout=5)
        first = running.call(lambda: inst.session.id)

        flaky.bad_seeds.add(3)                      # the device faults: generate() raises
        with probe._cond:
            assert probe._cond.wait_for(lambda: any(
                e.kind == EventKind.ENDED and e.detail.get("reason") == "error"
                for e in probe.events), 5)
        failed_at = time.monotonic()
        assert running.call(inst.healthy)           # restarting on purpose: still healthy
        flaky.bad_seeds.clear()                     # ... and recovers
        chunk = probe.wait_for(lambda c: c.session_id != first, timeout=10)
        waited = time.monotonic() - failed_at
        # The new session starts with the room's current state, not the defaults.
        assert near(chunk.weights, "crowd", 0.7)
        assert 0.15 <= waited < 5
        assert running.call(lambda: inst.restarts) == 1
        new = [c for c in probe.chunks if c.session_id != first]
        assert new[0].seq == 0 and gapless(probe.chunks)

        client.send_message("/room/visitors", 10)   # sensors drive the new session
        probe.wait_for(lambda c: near(c.weights, "crowd", 0.1), timeout=5, after=probe.mark())
        recorder = inst.recorder
    assert recorder.stats.files == 2                # the restart began a new recording


def test_a_session_failing_again_and_again_backs_off(osc_config, engine):
    config, _ = osc_config
    flaky = FlakyEngine(engine, bad_seeds=[3])
    probe = BlendProbe()
    with InstallationThread(config, engines={"procedural": flaky}, listeners=[probe]) as running:
        inst = running.installation

        def ended() -> list[float]:
            return [e for e in probe.events if e.kind == EventKind.ENDED]

        with probe._cond:
            assert probe._cond.wait_for(lambda: len(ended()) >= 4, 10)
        assert running.call(lambda: inst.backoff.failures) >= 4
        assert running.call(lambda: inst.runtime is not None)   # the process stays up


def test_watchdog_protocol_over_a_real_notify_socket(osc_config, tmp_path):
    config, _ = osc_config
    path = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(10)
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    assert notifier.interval_s == pytest.approx(0.2)
    messages = []
    with InstallationThread(config, notifier=notifier):
        messages.append(server.recv(4096).decode())
        messages.append(server.recv(4096).decode())
    while not messages[-1].startswith("STOPPING"):
        messages.append(server.recv(4096).decode())
    server.close()
    assert messages[0].startswith("READY=1\nSTATUS=playing room")
    assert messages[1] == "WATCHDOG=1"
    assert messages[-1] == "STOPPING=1"


class HangingEngine(FlakyEngine):
    """An engine whose generate() blocks while ``hang`` is set (a wedged GPU driver)."""

    def __init__(self, inner) -> None:
        super().__init__(inner, bad_seeds=[])
        self.hang = threading.Event()
        self.release = threading.Event()

    def generate(self, states, styles, knobs, frames):
        if self.hang.is_set():
            self.release.wait(30)
        return super().generate(states, styles, knobs, frames)


def test_a_hung_engine_stops_the_watchdog_pings(osc_config, tmp_path, engine):
    config, _ = osc_config
    path = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    hanging = HangingEngine(engine)
    try:
        with InstallationThread(config, notifier=notifier,
                                engines={"procedural": hanging}) as running:
            inst = running.installation
            running.call(lambda: setattr(inst, "stall_s", 0.5))
            server.settimeout(5)
            assert server.recv(4096).startswith(b"READY=1")
            assert server.recv(4096) == b"WATCHDOG=1"
            hanging.hang.set()
            deadline = time.monotonic() + 10
            while running.call(inst.healthy):            # the session's lookahead runs out
                assert time.monotonic() < deadline
                time.sleep(0.1)
            server.settimeout(2.5)                         # > two housekeeping ticks
            quiet = []
            with contextlib.suppress(TimeoutError):
                while True:
                    quiet.append(server.recv(4096))
            assert b"WATCHDOG=1" not in quiet[1:]          # systemd will restart us
            hanging.release.set()
    finally:
        hanging.release.set()
        server.close()


def test_notifier_outside_systemd_is_a_no_op():
    notifier = Notifier({})
    assert not notifier.enabled and notifier.interval_s is None
    assert notifier.send(READY=1) is False
    abstract = Notifier({"NOTIFY_SOCKET": "@cadenza-test", "WATCHDOG_USEC": "1000000",
                         "WATCHDOG_PID": "1"})
    assert abstract.address == "\0cadenza-test" and abstract.interval_s is None  # not our pid


def test_installation_sessions_are_exempt_from_the_idle_reaper():
    """No stream ever attaches to an installation's session (its listeners are local
    sinks): the runtime's idle reaper must leave it alone, and only it."""
    import asyncio

    from cadenza.runtime.server import Runtime, RuntimeConfig

    async def scenario():
        runtime = Runtime(RuntimeConfig(idle_timeout_s=0.2))
        await runtime.start()
        try:
            kept = runtime.create_session(scene="minimal")
            reaped = runtime.create_session(scene="minimal")
            runtime.keep_alive(kept.id)
            await asyncio.sleep(1.5)
            return [s.id for s in runtime.sessions()], kept.id, reaped.id
        finally:
            await runtime.stop()

    alive, kept, reaped = asyncio.run(scenario())
    assert kept in alive and reaped not in alive
