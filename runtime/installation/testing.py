"""Real peers for installation tests and benchmarks: a `mosquitto` broker on loopback.

    with MosquittoBroker() as broker:           # skips nothing: raises if mosquitto is absent
        ... mqtt://127.0.0.1:{broker.port} ...
        broker.stop(); broker.start()           # a broker restart, same port

Debian's ``mosquitto`` package provides the binary (.ci/system-packages installs it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

_SBIN = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def mosquitto_path() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in _SBIN if Path(p).is_file()), None)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free on 127.0.0.1 right now (TCP by default, SOCK_DGRAM for UDP)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MosquittoBroker:
    """A real MQTT broker bound to 127.0.0.1 only, no persistence. Anonymous by default;
    ``users`` (name -> password) requires those credentials; ``tls`` serves TLS with a
    throw-away CA made by the ``openssl`` command (`ca_file` is its certificate)."""

    def __init__(self, port: int | None = None, users: dict[str, str] | None = None,
                 tls: bool = False) -> None:
        binary = mosquitto_path()
        if binary is None:
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.binary = binary
        self.port = port or free_port()
        self.tls = tls
        self._dir = tempfile.TemporaryDirectory(prefix="cadenza-mosquitto-")
        work = Path(self._dir.name)
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest stderr"]
        if os.geteuid() == 0:
            lines.append("user root")  # keep reading our 0700 temp dir after start-up
        if users:
            passwd = work / "passwd"
            passwd.touch()
            for name, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwd), name, password],
                               check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        self.ca_file: Path | None = None
        if tls:
            self.ca_file = _make_certificates(work)
            lines += [f"cafile {self.ca_file}", f"certfile {work / 'server.pem'}",
                      f"keyfile {work / 'server.key'}"]
        self.config = work / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.process: subprocess.Popen | None = None
        self.log: list[str] = []

    @property
    def url(self) -> str:
        return f"mqtt{'s' if self.tls else ''}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Start and wait for the broker's own "running" line (no connect polling)."""
        self.process = subprocess.Popen([self.binary, "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True)
        ready = threading.Event()

        def pump(stream) -> None:
            for line in stream:
                self.log.append(line.rstrip())
                if " running" in line:
                    ready.set()
            ready.set()  # exited

        threading.Thread(target=pump, args=(self.process.stderr,), daemon=True,
                         name="mosquitto-log").start()
        if not ready.wait(timeout) or self.process.poll() is not None:
            self.stop()
            raise RuntimeError("mosquitto did not start: " + " | ".join(self.log[-5:]))

    def stop(self) -> None:
        """Kill the broker (SIGKILL: clients see the connection drop, as in a crash)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        self._dir.cleanup()


def _make_certificates(work: Path) -> Path:
    """A CA and a server certificate for 127.0.0.1 (IP SAN), valid two days."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=work, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/CN=cadenza-test-ca")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
            "server.csr", "-subj", "/CN=127.0.0.1")
    (work / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n", encoding="utf-8")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.cnf")
    return work / "ca.pem"


class BlendProbe:
    """A session listener for tests: records each chunk's blend and loudness (not its
    PCM, so it can run for hours) and lets another thread wait, with a deadline, for a
    chunk that satisfies a condition."""

    def __init__(self) -> None:
        self.chunks: list[ChunkInfo] = []
        self.events: list = []
        self._cond = threading.Condition()

    def on_chunk(self, chunk) -> None:
        import numpy as np

        info = ChunkInfo(chunk.session_id, chunk.seq, chunk.stream_time, chunk.frames,
                         dict(chunk.weights), float(np.sqrt(np.mean(np.square(chunk.pcm)))))
        with self._cond:
            self.chunks.append(info)
            self._cond.notify_all()

    def on_event(self, event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def mark(self) -> int:
        """An index into `chunks`: wait_for(..., after=mark) looks only at later chunks."""
        with self._cond:
            return len(self.chunks)

    def wait_for(self, predicate, timeout: float = 10.0, after: int = 0):
        """The first chunk from index ``after`` on with ``predicate(info)`` true, waiting
        up to ``timeout`` seconds; raises TimeoutError with the last blend seen."""
        found: list = []

        def check() -> bool:
            for info in self.chunks[after:]:
                if predicate(info):
                    found.append(info)
                    return True
            return False

        with self._cond:
            if not self._cond.wait_for(check, timeout):
                last = self.chunks[-1].weights if self.chunks else None
                raise TimeoutError(f"no matching chunk in {timeout}s; last blend {last}")
        return found[0]


class ChunkInfo:
    __slots__ = ("frames", "rms", "seq", "session_id", "stream_time", "weights")

    def __init__(self, session_id: str, seq: int, stream_time: int, frames: int,
                 weights: dict, rms: float) -> None:
        self.session_id, self.seq, self.stream_time = session_id, seq, stream_time
        self.frames, self.weights, self.rms = frames, weights, rms

    def __repr__(self) -> str:
        return f"ChunkInfo(seq={self.seq}, weights={self.weights}, rms={self.rms:.3f})"


def gapless(chunks: list[ChunkInfo]) -> bool:
    """Every session's chunks are numbered without gaps and contiguous in stream time."""
    last: dict[str, ChunkInfo] = {}
    for c in chunks:
        before = last.get(c.session_id)
        if before is not None and (c.seq != before.seq + 1 or
                                   c.stream_time != before.stream_time + before.frames):
            return False
        last[c.session_id] = c
    return True
