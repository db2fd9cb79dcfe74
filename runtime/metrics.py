"""Prometheus metrics for one `Runtime`, exposed at ``/metrics`` by the console server.

Every `Runtime` owns one `Metrics` with its own ``CollectorRegistry`` (never the
process-global default), so several servers in one process (tests) count independently.

The numbers come from three places, cheapest first:

- **read at scrape time** from the runtime (a collector): sessions by state, and per
  engine the chunks produced, audio and engine seconds, steps, underruns, engine
  failures and the real-time factor. The generation loop already counts these in
  `LoopStats`, so the hot path pays nothing and nothing is counted twice.
- **a session listener** (`Runtime.listeners_hooks`): the first chunk a step delivers
  observes that step's engine time and batch size once (histograms); ``ended`` events
  count sessions ended by reason.
- **hooks the transports call** (`client_connected`, `chunk_delivered`, `state_update`,
  `error`, ...) and `stream_closed`, which `Runtime.unsubscribe` calls to count chunks
  dropped for slow clients.

Label sets are bounded: ``engine`` (registered engines), ``state`` (the lifecycle table),
``transport`` (grpc, websocket, console, and any other transport's fixed name),
``code`` (the short codes of `transports.status`), ``reason`` (why a session ended).
No per-session series unless asked for (``per_session=True``; for small deployments).

All methods are called from the event loop's thread, like the rest of the runtime.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from . import __version__
from .session.chunk import Chunk, EventKind, SessionEvent
from .session.lifecycle import SessionState

if TYPE_CHECKING:
    from .server.runtime import Runtime
    from .server.subscription import Subscription
    from .session import GenerationLoop, Session

# No `<counter>_created` series: they doubled every counter (cadenza_sessions_created_created)
# and nothing reads them. A process-wide switch of prometheus_client.
disable_created_metrics()

TRANSPORTS = ("grpc", "websocket", "console")
STREAMING = ("grpc", "websocket")  # transports that carry audio
STEP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Metrics:
    """The runtime's counters, gauges and histograms, in their own registry."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, runtime: Runtime, per_session: bool = False) -> None:
        self.runtime = runtime
        self.per_session = per_session
        self.registry = CollectorRegistry()
        r = self.registry
        self.step_seconds = Histogram(
            "cadenza_engine_step_seconds", "Wall time of one batched engine call, by the "
            "batch size (bucket) it ran at.", ["engine", "bucket"], registry=r,
            buckets=STEP_BUCKETS)
        self.batch_size = Histogram(
            "cadenza_batch_size", "Sessions served by one batched engine call, by the batch "
            "size (bucket) it ran at.", ["engine", "bucket"], registry=r, buckets=BATCH_BUCKETS)
        self.sessions_created = Counter(
            "cadenza_sessions_created", "Sessions created.", ["engine"], registry=r)
        self.sessions_refused = Counter(
            "cadenza_sessions_refused", "CreateSession requests refused, by reason (capacity: "
            "admission control; limit: --max-sessions).", ["reason"], registry=r)
        self.sessions_ended = Counter(
            "cadenza_sessions_ended", "Sessions ended, by reason (closed, error, idle, "
            "shutdown).", ["reason"], registry=r)
        self.delivered = Counter(
            "cadenza_chunks_delivered", "Audio chunks written to client streams.",
            ["transport"], registry=r)
        self.dropped = Counter(
            "cadenza_dropped_chunks", "Audio chunks discarded because a client read too "
            "slowly (its stream was then closed).", registry=r)
        self.slow_streams = Counter(
            "cadenza_slow_streams", "Streams closed because their client read too slowly.",
            registry=r)
        self.state_updates = Counter(
            "cadenza_state_updates", "Accepted state updates, by transport.", ["transport"],
            registry=r)
        self.errors = Counter(
            "cadenza_errors", "Errors reported to clients, by transport and code.",
            ["transport", "code"], registry=r)
        self.clients = Gauge(
            "cadenza_clients_connected", "Open client streams (and console connections), by "
            "transport.", ["transport"], registry=r)
        Gauge("cadenza_build_info", "Cadenza's version.", ["version"],
              registry=r).labels(__version__).set(1)
        for transport in TRANSPORTS:
            self.state_updates.labels(transport)
            self.clients.labels(transport)
        self._delivered = {t: self.delivered.labels(t) for t in STREAMING}
        self._steps_seen: dict[int, int] = {}
        self._closed_streams: weakref.WeakSet = weakref.WeakSet()
        r.register(_RuntimeCollector(self))
        # process_* (CPU, RSS, open fds), python_gc_*, python_info, as a default registry has.
        ProcessCollector(registry=r)
        GCCollector(registry=r)
        PlatformCollector(registry=r)
        runtime.listeners_hooks.append(self._listener)

    # ------------------------------------------------------------------ exposition
    def exposition(self) -> bytes:
        """The registry in the Prometheus text format (``content_type``)."""
        return generate_latest(self.registry)

    # ------------------------------------------------------- hooks for transports
    def refused(self, reason: str) -> None:
        self.sessions_refused.labels(reason).inc()

    def client_connected(self, transport: str) -> None:
        self.clients.labels(transport).inc()

    def client_disconnected(self, transport: str) -> None:
        self.clients.labels(transport).dec()

    @contextlib.contextmanager
    def connected(self, transport: str) -> Iterator[None]:
        """``with metrics.connected("websocket"):`` around a client's whole connection."""
        self.client_connected(transport)
        try:
            yield
        finally:
            self.client_disconnected(transport)

    def chunk_delivered(self, transport: str) -> None:
        child = self._delivered.get(transport)
        (child or self.delivered.labels(transport)).inc()

    def state_update(self, transport: str) -> None:
        self.state_updates.labels(transport).inc()

    def error(self, transport: str, code: str) -> None:
        self.errors.labels(transport, code).inc()

    def stream_closed(self, sub: Subscription) -> None:
        """Called by `Runtime.unsubscribe` (perhaps twice for one stream). A stream closed
        for slowness lost the chunks it held (``max_chunks``) and the one that overflowed."""
        if sub in self._closed_streams:
            return
        self._closed_streams.add(sub)
        if sub.closed is not None and sub.closed.reason == "dropped":
            self.slow_streams.inc()
            self.dropped.inc(sub.max_chunks + sub.dropped_chunks)

    # ------------------------------------------------------------ session listener
    def _listener(self, session: Session) -> _SessionMetrics:
        loop = next((lp for lp in self.runtime.loops.values() if session.id in lp.sessions), None)
        self.sessions_created.labels(session.engine_name).inc()
        return _SessionMetrics(self, session.engine_name, loop)

    def _step_done(self, engine: str, loop: GenerationLoop) -> None:
        """Observe the loop's last step once (the first chunk of each step calls this)."""
        stats = loop.stats
        key = id(loop)
        if self._steps_seen.get(key) == stats.steps:
            return
        self._steps_seen[key] = stats.steps
        bucket = str(stats.last_bucket)
        self.step_seconds.labels(engine, bucket).observe(stats.last_step_seconds)
        self.batch_size.labels(engine, bucket).observe(stats.last_batch)


class _SessionMetrics:
    """Attached to every session: a few attribute reads per chunk, no locks, no I/O."""

    def __init__(self, metrics: Metrics, engine: str, loop: GenerationLoop | None) -> None:
        self.metrics, self.engine, self.loop = metrics, engine, loop

    def on_chunk(self, chunk: Chunk) -> None:
        if self.loop is not None:
            self.metrics._step_done(self.engine, self.loop)

    def on_event(self, event: SessionEvent) -> None:
        if event.kind == EventKind.ENDED:
            self.metrics.sessions_ended.labels(str(event.detail.get("reason", ""))).inc()


class _RuntimeCollector:
    """Values read from the runtime when Prometheus scrapes."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self):
        runtime = self.metrics.runtime
        sessions = runtime.sessions()
        by_state = GaugeMetricFamily("cadenza_sessions", "Sessions held by the runtime, by "
                                     "lifecycle state.", labels=["state"])
        counts = dict.fromkeys((s.value for s in SessionState), 0)
        for session in sessions:
            counts[session.state.value] += 1
        for state, n in counts.items():
            by_state.add_metric([state], n)
        yield by_state

        families = {
            "produced": CounterMetricFamily("cadenza_chunks_produced", "Audio chunks generated.",
                                            labels=["engine"]),
            "audio": CounterMetricFamily("cadenza_audio_seconds", "Seconds of audio generated.",
                                         labels=["engine"]),
            "engine": CounterMetricFamily("cadenza_engine_seconds", "Wall time spent in engine "
                                          "calls.", labels=["engine"]),
            "steps": CounterMetricFamily("cadenza_engine_steps", "Batched engine calls.",
                                         labels=["engine"]),
            "underruns": CounterMetricFamily("cadenza_underruns", "Times generation fell behind "
                                             "real time (per session and block).",
                                             labels=["engine"]),
            "failures": CounterMetricFamily("cadenza_engine_failures", "Failed batched engine "
                                            "calls.", labels=["engine"]),
            "concealed": CounterMetricFamily("cadenza_concealed_seconds", "Seconds of audio "
                                             "a fallback voice played because the engine was "
                                             "late, by reason.", labels=["engine", "reason"]),
            "capacity": GaugeMetricFamily("cadenza_admission_capacity", "Sessions the engine "
                                          "can hold in real time with headroom, from the "
                                          "measured cost of its calls (0: not measured yet).",
                                          labels=["engine"]),
            "rtf": GaugeMetricFamily("cadenza_realtime_factor", "Seconds of audio each "
                                     "playing session gets per second of engine time, over "
                                     "recent calls (below 1: sessions underrun).",
                                     labels=["engine"]),
        }
        for name, loop in runtime.loops.items():
            stats = loop.stats
            block_s = loop.engine.info.block_seconds
            families["produced"].add_metric([name], stats.blocks)
            families["audio"].add_metric([name], stats.blocks * block_s)
            families["engine"].add_metric([name], stats.engine_seconds)
            families["steps"].add_metric([name], stats.steps)
            families["underruns"].add_metric([name], stats.underruns)
            families["failures"].add_metric([name], stats.failures)
            families["rtf"].add_metric([name], realtime_factor(loop))
            for reason in ("late", "stall"):
                families["concealed"].add_metric([name, reason],
                                                 stats.concealed_s.get(reason, 0.0))
            families["capacity"].add_metric([name], loop.capacity() or 0)
        yield from families.values()

        if self.metrics.per_session:
            underruns = CounterMetricFamily("cadenza_session_underruns", "Underruns of one "
                                            "session.", labels=["session", "scene"])
            chunks = CounterMetricFamily("cadenza_session_chunks", "Chunks of one session.",
                                         labels=["session", "scene"])
            for session in sessions:
                underruns.add_metric([session.id, session.scene.name], session.counters.underruns)
                chunks.add_metric([session.id, session.scene.name], session.counters.chunks)
            yield underruns
            yield chunks


def realtime_factor(loop: GenerationLoop) -> float:
    """Seconds of audio each playing session gets per second of engine time: a call of
    ``rows`` rows lasting ``s`` seconds gives each of them one block, and every playing
    session needs ``playing / rows`` such calls per block (0 before the first call)."""
    stats = loop.stats
    if stats.recent_call_s <= 0:
        return 0.0
    playing = max(sum(1 for _ in loop.playing()), stats.recent_rows, 1.0)
    return loop.engine.info.block_seconds * stats.recent_rows / (stats.recent_call_s * playing)


__all__ = ["TRANSPORTS", "Metrics", "realtime_factor"]
