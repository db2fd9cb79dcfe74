"""Helpers for the console tests: a real `cadenza serve` subprocess on free ports, polling."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts" / "console"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    """A running `cadenza serve` and its addresses."""

    process: subprocess.Popen
    grpc_port: int
    ws_port: int
    console_port: int
    token: str | None
    output: list[str]

    @property
    def grpc_address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}/"

    @property
    def bridge_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/v1/stream"


@contextlib.contextmanager
def cadenza_serve(*extra: str, token: str | None = None):
    """`cadenza serve` as a user runs it, on free loopback ports; stopped with SIGINT."""
    for _attempt in range(3):
        ports = [free_port() for _ in range(3)]
        args = [sys.executable, "-m", "cadenza.runtime.cli", "serve", "--grpc-port", str(ports[0]),
                "--ws-port", str(ports[1]), "--console-port", str(ports[2]), *extra]
        if token:
            args += ["--token", token]
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, cwd=ROOT)
        output: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("cadenza serving"):
                break
        if output and output[-1].startswith("cadenza serving"):
            break
        process.kill()
        process.wait(10)
    else:
        raise RuntimeError("cadenza serve did not start:\n" + "".join(output))
    served = Served(process, *ports, token, output)
    try:
        yield served
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy (returned) or time runs out."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout}s (last: {last!r})")
