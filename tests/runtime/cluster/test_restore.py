"""A worker restoring a session from its descriptor (real redis-server, a real worker on
loopback, the SDK streaming from it): the engine state a snapshot holds can lag its seq by
blocks the concealment played (the band catches up on its grid before its next block), and
the restore must catch up too, or the beat steps back at the move."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from cadenza.runtime.cluster.store import ClusterStore
from cadenza.runtime.cluster.worker import ClusterWorker
from cadenza.runtime.engines.base import Knobs
from cadenza.runtime.engines.procedural import ProceduralEngine
from cadenza.runtime.scene import compile_scene
from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.testing import ServerThread
from cadenza.scenes import path_of
from cadenza.sdk import Client
from cadenza.sdk.client import Session

BLOCK = 2400
SNAPSHOT_AT = 30  # blocks the state has played when its snapshot is taken


@pytest.fixture
def worker(redis_server):
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()

    def build(server) -> None:
        server.extras.append(ClusterWorker(server, redis_server.url))

    with ServerThread(ServeOptions(grpc_port=0, ws_port=0), build=build) as server:
        yield server


def describe(store: ClusterStore, source: str, seq: int, lag_blocks: int) -> str:
    """Writes a descriptor as a worker that then died would have: the band's state after
    ``SNAPSHOT_AT`` blocks, at stream seq ``seq``, ``lag_blocks`` of it concealed (the
    state has not generated them). Returns the session id."""
    engine = ProceduralEngine()
    scene = compile_scene(source, "minimal.yaml", check_files=False)
    style = np.mean([engine.embed(p).vector for p in scene.prompts.values()], axis=0)
    state = engine.init_state(7)
    for _ in range(SNAPSHOT_AT):
        state = engine.generate([state], style[None, :], [Knobs()], BLOCK).states[0]
    sid = f"restore-{uuid.uuid4().hex[:12]}"
    meta = {"v": 1, "session_id": sid, "scene": scene.name, "scene_file": "minimal.yaml",
            "scene_hash": store.put_scene(source), "engine": "procedural", "seed": 7,
            "seq": seq, "stream_time": seq * BLOCK, "clock": None, "inputs": {},
            "prompts": None, "config": {}, "state": "playing", "written": time.time(),
            "worker": "gone:1#0", "lag": lag_blocks * BLOCK}
    lease = store.claim(sid, "gone:1#0")
    assert lease is not None
    store.write(lease, meta, engine.snapshot(state))
    store.release(lease)
    return sid


def beats(client: Client, sid: str, resume: int, chunks: int) -> dict[int, float]:
    session = Session(client, sid)
    got = {}
    for chunk in session.stream(resume_from_seq=resume):
        got[chunk.seq] = chunk.clock.beat
        if len(got) == chunks:
            break
    return got


def test_a_restore_catches_up_the_blocks_its_snapshot_had_concealed(worker, redis_server):
    source = path_of("minimal").read_text()
    store = ClusterStore(redis_server.url)
    with Client(f"127.0.0.1:{worker.grpc_port}") as client:
        # The reference: the same state at seq SNAPSHOT_AT, nothing concealed.
        plain = describe(store, source, SNAPSHOT_AT, 0)
        reference = beats(client, plain, SNAPSHOT_AT, 6)
        # Two blocks concealed before the snapshot: its seq is two ahead of its state.
        lagging = describe(store, source, SNAPSHOT_AT + 2, 2)
        got = beats(client, lagging, SNAPSHOT_AT + 2, 4)
        for seq, beat in got.items():
            assert beat == pytest.approx(reference[seq], abs=1e-6), (seq, got, reference)
        # Resumed further on (the client heard past the snapshot): the same grid.
        ahead = describe(store, source, SNAPSHOT_AT + 2, 2)
        got = beats(client, ahead, SNAPSHOT_AT + 4, 2)
        for seq, beat in got.items():
            assert beat == pytest.approx(reference[seq], abs=1e-6), (seq, got, reference)


def test_a_dead_holders_session_is_taken_over_off_the_event_loop(worker, redis_server,
                                                                 monkeypatch):
    """A client resumes a session whose lease a dead worker still holds (its port refuses
    connections): the worker probes that port and steals the lease on a worker thread,
    never on the event loop every other session of it is served from, then plays on."""
    import asyncio
    import socket

    from cadenza.runtime.cluster import worker as worker_module

    store = ClusterStore(redis_server.url)
    sid = describe(store, path_of("minimal").read_text(), SNAPSHOT_AT, 0)
    with socket.socket() as probe:  # a port nobody listens on: the dead holder's
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    held = store.claim(sid, f"127.0.0.1:{dead_port}#1#1")
    assert held is not None  # a live lease of a process that is gone
    probes: list[bool] = []  # per probe of the dead port: made on an event loop's thread?
    real = socket.create_connection

    def recording(address, *args, **kwargs):
        if address[1] == dead_port:
            try:
                asyncio.get_running_loop()
                probes.append(True)
            except RuntimeError:
                probes.append(False)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(worker_module.socket, "create_connection", recording)
    with Client(f"127.0.0.1:{worker.grpc_port}") as client:
        got = beats(client, sid, SNAPSHOT_AT + 3, 3)
    assert sorted(got) == [SNAPSHOT_AT + 3, SNAPSHOT_AT + 4, SNAPSHOT_AT + 5]
    assert probes, "the dead holder's port was never probed"
    assert not any(probes), probes
    assert store.descriptor(sid)[3] == held.gen + 1  # stolen: a new generation, fenced
