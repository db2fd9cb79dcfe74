"""`cadenza run` and `cadenza service install` as a technician runs them (subprocesses)."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import soundfile
from pythonosc.udp_client import SimpleUDPClient

from cadenza.runtime.installation.testing import free_port
from tests.runtime.installation.kit import write_installation


def cadenza(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cadenza.runtime.cli", *args],
                          capture_output=True, text=True, timeout=60, **kwargs)


def test_run_plays_records_logs_json_and_stops_cleanly_on_sigterm(tmp_path):
    port = free_port(socket.SOCK_DGRAM)
    config = write_installation(tmp_path, f"""
sources:
  osc:
    port: {port}
    inputs: {{/room/visitors: visitors}}
outputs:
  wav: {{dir: rec, rotate: 1h}}
""")
    process = subprocess.Popen([sys.executable, "-m", "cadenza.runtime.cli", "run", str(config),
                                "--log-format", "json"], stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in process.stderr:                       # wait for "running", event-driven
            lines.append(line)
            if "installation test-room running" in line:
                break
        client = SimpleUDPClient("127.0.0.1", port)
        client.send_message("/room/visitors", 40)
        client.send_message("/room/visitors", "lots")      # logged with its source
        time.sleep(1.5)                                    # let it play and record
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
        lines += rest.splitlines(keepends=True)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, "".join(lines)
    records = [json.loads(line) for line in lines if line.strip()]     # every line is JSON
    running = next(r for r in records if r["msg"] == "installation test-room running")
    assert running["osc"] == f"127.0.0.1:{port}" and running["scene"].endswith("room.yaml")
    dropped = next(r for r in records if r["msg"] == "reading dropped")
    assert dropped["source"] == f"osc:{port}" and dropped["input"] == "visitors"
    assert "is a number, got str 'lots'" in dropped["reason"]
    assert any(r["msg"] == "installation test-room stopped" for r in records)
    [wav] = (tmp_path / "rec").glob("test-room-*.wav")
    assert soundfile.info(wav).frames >= 48000       # > 1 s recorded, file closed properly


def test_run_check_and_config_errors(tmp_path):
    config = write_installation(tmp_path, "sources:\n  osc: {port: 9000, inputs: {/v: visitors}}\n")
    result = cadenza("run", "--check", str(config))
    assert result.returncode == 0, result.stderr
    assert "installation 'test-room' is valid" in result.stdout
    assert "source  osc:9000 /v -> visitors" in result.stdout
    config.write_text(config.read_text().replace("visitors}", "visitor}"))
    result = cadenza("run", str(config))
    assert result.returncode == 1
    assert f"{config}:6 sources.osc.inputs./v.input: scene 'room' has no input 'visitor'" in result.stderr
    assert "Traceback" not in result.stderr


def test_service_install_writes_a_notify_unit_with_watchdog(tmp_path):
    config = write_installation(tmp_path, "")
    result = cadenza("service", "install", str(config), "--unit-dir", str(tmp_path / "units"),
                     "--run-as", "gallery")
    assert result.returncode == 0, result.stderr
    unit = (tmp_path / "units" / "cadenza-test-room.service").read_text()
    for line in ("Type=notify", "Restart=always", "WatchdogSec=30", "StartLimitIntervalSec=0",
                 "User=gallery", f"WorkingDirectory={tmp_path}",
                 f"-m cadenza.runtime.cli run {config}", "WantedBy=multi-user.target"):
        assert line in unit, line
    assert "systemctl enable --now cadenza-test-room.service" in result.stdout
    printed = cadenza("service", "install", str(config), "--user", "--print")
    assert "WantedBy=default.target" in printed.stdout and "User=" not in printed.stdout


HARDENING = ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
             "CapabilityBoundingSet=\n", "AmbientCapabilities=\n", "ProtectHome=read-only",
             "ProtectKernelModules=yes", "ProtectControlGroups=yes", "RestrictSUIDSGID=yes",
             "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK")


def test_service_install_print_is_hardened_and_passes_systemd_analyze(tmp_path):
    config = write_installation(tmp_path, "outputs:\n  wav: {dir: rec}\n")
    printed = cadenza("service", "install", str(config), "--print")
    assert printed.returncode == 0, printed.stderr
    unit = printed.stdout
    # A dedicated user by default (never root), restarted whatever the exit.
    for line in ("User=cadenza\n", "Group=cadenza\n", "SupplementaryGroups=audio\n",
                 "Restart=always\n", *HARDENING, f"ReadWritePaths=-{(tmp_path / 'rec').resolve()}\n"):
        assert line in unit, line
    assert "Restart=on-failure" not in unit
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no systemd-analyze here (the directives above were checked)")
    path = tmp_path / "cadenza-test-room.service"
    path.write_text(unit)
    result = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True,
                            timeout=60)
    problems = [line for line in result.stderr.splitlines()
                if str(path) in line or "Unknown" in line or "ignoring" in line]
    assert result.returncode == 0 and not problems, result.stderr
