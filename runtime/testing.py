"""A test kit shipped with the runtime: fakes of our real interfaces and helpers that run
sessions end to end. Used by Cadenza's own tests; usable by anyone building on Cadenza.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .engines.base import EngineInfo, EngineOutput, Knobs, Prompt, StyleEmbedding
from .session.chunk import Chunk, SessionEvent
from .session.clock import ManualClock
from .threads import ServiceThread

__all__ = ["BucketCostEngine", "CollectingListener", "DelayedEngine", "FlakyEngine", "ManualClock",
           "ServerThread", "TcpProxy", "render_prompt"]


@dataclass
class CollectingListener:
    """Keeps every chunk and event a session emits (for assertions)."""

    chunks: list[Chunk] = field(default_factory=list)
    events: list[SessionEvent] = field(default_factory=list)

    def on_chunk(self, chunk: Chunk) -> None:
        self.chunks.append(chunk)

    def on_event(self, event: SessionEvent) -> None:
        self.events.append(event)

    def audio(self) -> np.ndarray:
        return np.concatenate([c.pcm for c in self.chunks]) if self.chunks else np.zeros((0, 2))

    def kinds(self) -> list[str]:
        return [e.kind.value for e in self.events]


class _Wrapping:
    """A test engine wrapping a real one: what it does not change is the inner engine's."""

    inner: object

    @property
    def info(self) -> EngineInfo:
        return self.inner.info  # type: ignore[attr-defined]

    def embed(self, prompt: Prompt) -> StyleEmbedding:
        return self.inner.embed(prompt)  # type: ignore[attr-defined]

    def neutral_style(self) -> np.ndarray:
        return self.inner.neutral_style()  # type: ignore[attr-defined]


class FlakyEngine(_Wrapping):
    """Wraps a real engine and fails ``generate`` for any row whose state's seed is in
    ``bad_seeds`` — to test that one failing session cannot take others down."""

    def __init__(self, inner, bad_seeds: Sequence[int]) -> None:
        self.inner = inner
        self.bad_seeds = set(bad_seeds)
        self.calls: list[int] = []

    def init_state(self, seed: int):
        return self.inner.init_state(seed)

    def generate(self, states, styles, knobs: Sequence[Knobs], frames: int,
                 **options) -> EngineOutput:
        self.calls.append(len(states))
        if any(getattr(s, "seed", None) in self.bad_seeds for s in states):
            raise RuntimeError("simulated device fault")
        return self.inner.generate(states, styles, knobs, frames, **options)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)  # optional capabilities: beat_clock, phrase


def render_prompt(engine, text: str, seconds: float, seed: int = 1,
                  knobs: Knobs | None = None) -> np.ndarray:
    """Render one text prompt for ``seconds`` straight through the engine contract."""
    style = engine.embed(Prompt(text=text)).vector[None, :]
    state = engine.init_state(seed)
    frames = engine.info.block_frames
    blocks = []
    for _ in range(int(np.ceil(seconds * engine.info.sample_rate / frames))):
        out = engine.generate([state], style, [knobs or Knobs()], frames)
        state = out.states[0]
        blocks.append(out.pcm[0])
    return np.concatenate(blocks)


class ServerThread(ServiceThread):
    """A real `cadenza serve` (gRPC + WebSocket on loopback, ephemeral ports) running on
    its own event loop in a background thread. For tests and embedding::

        with ServerThread() as server:
            client = Client(f"127.0.0.1:{server.grpc_port}")
    """

    def __init__(self, options=None, build=None) -> None:
        from .serve import ServeOptions

        self.options = options or ServeOptions(grpc_port=0, ws_port=0)
        self.build = build
        super().__init__(self._make, name="cadenza-server", start_timeout=30.0)

    def _make(self):
        from .serve import Server

        server = Server(self.options)
        if self.build:
            self.build(server)
        return server

    @property
    def server(self):
        return self.service

    @property
    def runtime(self):
        return self.service.runtime

    @property
    def grpc_port(self) -> int:
        return self.service.grpc_port

    @property
    def ws_port(self) -> int:
        return self.service.ws_port

    @property
    def grpc_address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/v1/stream"


class TcpProxy:
    """A loopback TCP proxy whose connections can be cut, to test reconnect-and-resume
    against a real network failure (the server and session stay up)."""

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        import socket
        import threading

        self.target = (host, target_port)
        self._listener = socket.create_server((host, 0))
        self.port = self._listener.getsockname()[1]
        self._conns: list = []
        self._lock = threading.Lock()
        self._closed = False
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True, name="proxy-accept").start()

    def _accept(self) -> None:
        import socket
        import threading

        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst) -> None:
        import contextlib

        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        """Reset every open connection (like a Wi-Fi drop); new connections still work."""
        import socket

        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.cuts += 1

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut()


class DelayedEngine:
    """Wraps a real engine to behave like a model engine: no beat grid of its own, no
    sample-accurate changes, and a control latency — a style asked for now is heard
    ``latency_blocks`` blocks later (as a model hears conditioning only after its lookahead
    of already-decided frames). For testing the runtime's output-side clock and latency
    compensation without a GPU."""

    def __init__(self, inner, latency_blocks: int = 4) -> None:
        import dataclasses
        import itertools

        self.inner = inner
        self.latency_blocks = latency_blocks
        info = inner.info
        self._info = dataclasses.replace(
            info, name=f"delayed-{info.name}", sample_accurate=False, has_beat_grid=False,
            control_latency_s=latency_blocks * info.block_frames / info.sample_rate)
        self._ids = itertools.count()
        self._queues: dict[int, list] = {}

    @property
    def info(self) -> EngineInfo:
        return self._info

    def embed(self, prompt: Prompt) -> StyleEmbedding:
        return self.inner.embed(prompt)

    def neutral_style(self) -> np.ndarray:
        return self.inner.neutral_style()

    def init_state(self, seed: int):
        key = next(self._ids)
        self._queues[key] = []
        return (key, self.inner.init_state(seed))

    def generate(self, states, styles, knobs: Sequence[Knobs], frames: int) -> EngineOutput:
        heard = []
        for (key, _), style in zip(states, styles, strict=True):
            queue = self._queues[key]
            queue.append(np.array(style))
            heard.append(queue[0] if len(queue) > self.latency_blocks else queue[-1]
                         if len(queue) == 1 else queue[0])
            if len(queue) > self.latency_blocks:
                queue.pop(0)
        out = self.inner.generate([s for _, s in states], np.stack(heard), knobs, frames)
        return EngineOutput(out.pcm, [(key, s) for (key, _), s in zip(states, out.states,
                                                                      strict=True)])


class BucketCostEngine(_Wrapping):
    """Wraps a real engine to cost like an accelerator: every call takes ``call_s``
    seconds of ``clock`` (a ManualClock, advanced inside ``generate``) whatever its rows,
    at the smallest of ``buckets`` holding every open session (as MRT2's persistent batch
    does). For testing the scheduler's batching and deadlines on a CPU, in simulated time.
    ``stalls`` (clock time → extra seconds) makes the first call after each time that long."""

    def __init__(self, inner, clock, call_s: float, buckets: Sequence[int] = (1, 2, 4, 8, 16),
                 stalls: dict[float, float] | None = None) -> None:
        self.inner, self.clock, self.call_s = inner, clock, call_s
        self.buckets = tuple(buckets)
        self.stalls = dict(stalls or {})
        self.open = 0
        self.calls: list[int] = []  # rows per call

    def init_state(self, seed: int):
        self.open += 1
        return self.inner.init_state(seed)

    def release(self, state) -> None:
        self.open -= 1

    def bucket_for(self, rows: int) -> int:
        need = max(rows, self.open, 1)
        return next((b for b in self.buckets if b >= need), self.buckets[-1])

    def generate(self, states, styles, knobs: Sequence[Knobs], frames: int,
                 changes=None) -> EngineOutput:
        self.calls.append(len(states))
        extra = 0.0
        for at in sorted(self.stalls):
            if self.clock.now() >= at:
                extra += self.stalls.pop(at)
        self.clock.advance(self.call_s + extra)
        out = self.inner.generate(states, styles, knobs, frames,
                                  **({"changes": changes} if changes else {}))
        return EngineOutput(out.pcm, out.states, bucket=self.bucket_for(len(states)))
