"""`cadenza run` of the sample installation (as a technician runs it, a subprocess) serves
the console, /metrics, /healthz and /readyz on its console port, behind the token."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml
from websockets.sync.client import connect

from cadenza.runtime.installation.testing import free_port

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "samples" / "installation"
TOKEN = "gallery-secret-token"


def get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def sample_config(tmp_path: Path) -> tuple[Path, int]:
    """The shipped sample with free ports, a token file, and no sound card (CI has none)."""
    shutil.copy(SAMPLE / "gallery.yaml", tmp_path / "gallery.yaml")
    data = yaml.safe_load((SAMPLE / "installation.yaml").read_text())
    data["sources"]["osc"]["port"] = free_port(socket.SOCK_DGRAM)
    data["sources"].pop("mqtt")  # no broker here
    data["outputs"].pop("device")
    console = free_port()
    data["outputs"]["serve"].update(grpc_port=free_port(), ws_port=free_port(),
                                    console_port=console, token_file="token")
    (tmp_path / "token").write_text(TOKEN + "\n")
    path = tmp_path / "installation.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, console


def test_cadenza_run_serves_console_metrics_and_health_with_the_token(tmp_path):
    config, port = sample_config(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "cadenza.runtime.cli", "run", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while get(base + "/healthz")[0] != 200:
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "no /healthz within 60 s"
            time.sleep(0.2)
        assert get(base + "/healthz") == (200, "ok\n")
        ready = time.monotonic() + 20
        while get(base + "/readyz")[0] != 200 and time.monotonic() < ready:
            time.sleep(0.2)
        assert get(base + "/readyz") == (200, "ready\n")

        assert get(base + "/metrics")[0] == 401                 # behind the token
        code, metrics = get(base + "/metrics", TOKEN)
        assert code == 200 and "cadenza_sessions_created_total" in metrics
        assert 'cadenza_sessions_active' in metrics or "cadenza_build_info" in metrics

        assert get(base + "/")[0] == 401                        # the console, too
        code, page = get(base + "/", TOKEN)
        assert code == 200 and "Cadenza console" in page
        # Its API drives the installation's session (and compiles a scene edit).
        with connect(f"ws://127.0.0.1:{port}/api/ws",
                     additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
            ws.send(json.dumps({"id": 1, "op": "sessions"}))
            [row] = json.loads(ws.recv(timeout=10))["result"]
            assert row["scene"] == "gallery" and row["state"] == "playing"
            text = (SAMPLE / "gallery.yaml").read_text()
            ws.send(json.dumps({"id": 2, "op": "validate", "yaml": text, "filename": "gallery.yaml"}))
            assert json.loads(ws.recv(timeout=30))["result"]["ok"] is True
    finally:
        process.send_signal(signal.SIGINT)
        try:
            out, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
    # Stopped cleanly. (A traceback on stopping is test_cli's concern: its JSON-lines test
    # reads every stderr line.)
    assert process.returncode == 0, out
    assert "installation gallery-east stopped" in out
