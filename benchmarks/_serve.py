"""Start `cadenza serve` as its own process for a benchmark and read where it listens."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass


@dataclass
class Served:
    process: subprocess.Popen
    grpc_address: str  # host:port
    ws_url: str

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def metric(console: str, name: str, **labels: str) -> float:
    """The sum of the /metrics samples called ``name`` whose labels include ``labels``."""
    text = urllib.request.urlopen(f"{console}/metrics", timeout=10).read().decode()
    total = 0.0
    for m in re.finditer(rf"^{name}(\{{[^}}]*\}})? (\S+)$", text, re.M):
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            total += float(m.group(2))
    return total


def start_server(lookahead: float, *extra: str, log_env: str = "BENCH_SERVER_LOG",
                 console_port: int = 0) -> Served:
    """Ephemeral ports, console off unless ``console_port`` (for /metrics); the server's
    log is shown when ``$log_env`` is set."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cadenza.runtime.cli", "serve", "--console-port", str(console_port),
         "--grpc-port", "0", "--ws-port", "0", "--lookahead", str(lookahead), *extra],
        stdout=subprocess.PIPE, stderr=None if os.environ.get(log_env) else subprocess.DEVNULL,
        text=True)
    line = proc.stdout.readline()
    grpc = re.search(r"gRPC ([\d.]+:\d+)", line)
    ws = re.search(r"WebSocket (wss?://\S+?),", line)
    if not grpc or not ws:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return Served(proc, grpc.group(1), ws.group(1))
