"""A real `cadenza serve` on loopback for the JavaScript SDK's tests, a TCP proxy in front
of it whose connections a test can cut (POST /cut on a tiny HTTP endpoint, so Node and the
browser can ask for the drop themselves), and Node/the SDK's node_modules checks."""

from __future__ import annotations

import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread, TcpProxy

ROOT = Path(__file__).resolve().parents[3]
SDK = ROOT / "sdk" / "js"


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing: .ci/setup installs it")
    pytest.skip(f"{what} is missing (run .ci/setup)")


@pytest.fixture(scope="session")
def node() -> str:
    binary = shutil.which("node")
    if binary is None:
        _missing("node")
    if not (SDK / "node_modules" / "ws").is_dir():
        _missing("sdk/js/node_modules (npm ci in sdk/js)")
    return binary


@pytest.fixture(scope="module")
def server():
    options = ServeOptions(grpc_port=0, ws_port=0, runtime=RuntimeConfig(history_s=6.0, idle_timeout_s=30))
    with ServerThread(options) as running:
        yield running


class Cutter:
    """The proxy and an HTTP endpoint: POST /cut resets every proxied connection."""

    def __init__(self, ws_port: int) -> None:
        self.proxy = TcpProxy(ws_port)
        proxy = self.proxy

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != "/cut":
                    self.send_error(404)
                    return
                proxy.cut()
                self.send_response(200)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True, name="cut-endpoint").start()
        self.ws_url = f"ws://127.0.0.1:{self.proxy.port}/v1/stream"
        self.cut_url = f"http://127.0.0.1:{self.http.server_address[1]}/cut"

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.proxy.close()


@pytest.fixture(scope="module")
def cutter(server):
    c = Cutter(server.ws_port)
    try:
        yield c
    finally:
        c.close()
