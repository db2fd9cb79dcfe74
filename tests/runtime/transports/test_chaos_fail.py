"""`--chaos fail=...` aimed at one session's rows, on real servers (gRPC and WebSocket):
that session ends with an error event; two bystanders batched with it stream on with no
gap (seq continuous, PCM gapless, no digital silence) and no underrun."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time

import numpy as np
import pytest
from websockets.sync.client import connect

from cadenza.runtime.engines.chaos import ChaosEngine
from cadenza.runtime.engines.procedural import ProceduralEngine
from cadenza.runtime.errors import CadenzaError
from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread
from cadenza.runtime.transports.websocket.protocol import decode_audio
from cadenza.sdk import Client

RATE = 48_000
SECONDS = 10.0
GRPC_VICTIM, WS_VICTIM = 4242, 4343
# Each victim plays 3 s of its own, in the same batches as the bystanders, then every
# block of it fails: the loop's bisecting retry must end it alone.
CHAOS = f"fail=1,seed={GRPC_VICTIM},after=3s; fail=1,seed={WS_VICTIM},after=3s"


@pytest.fixture(scope="module")
def server():
    engine = ChaosEngine(ProceduralEngine(), CHAOS)
    options = ServeOptions(grpc_port=0, ws_port=0, runtime=RuntimeConfig(idle_timeout_s=30),
                           engines={"procedural": engine})
    with ServerThread(options) as running, Client(running.grpc_address) as client:
        warm = client.create_session(scene="minimal", seed=1)  # first-call costs paid here
        list(warm.stream(seconds=1.0))
        warm.close()
        yield running


def longest_zero_run(pcm: np.ndarray) -> int:
    """Longest run of frames where every channel is exactly 0 (digital silence)."""
    zero = np.all(pcm == 0, axis=1)
    best = run = 0
    for z in zero:
        run = run + 1 if z else 0
        best = max(best, run)
    return best


def check_gapless(seqs: list[int], times: list[tuple[int, int]], pcm: np.ndarray) -> None:
    assert seqs == list(range(len(seqs)))
    assert all(b[0] == a[0] + a[1] for a, b in itertools.pairwise(times))
    assert sum(frames for _, frames in times) >= SECONDS * RATE
    assert longest_zero_run(pcm[RATE // 2:]) < RATE // 100  # no 10 ms of digital silence


def test_grpc_failing_session_ends_alone(server):
    with Client(server.grpc_address) as client:
        victim = client.create_session(scene="minimal", seed=GRPC_VICTIM)
        bystanders = [client.create_session(scene="minimal", seed=seed) for seed in (11, 12)]
        results: dict[str, tuple] = {}

        def stream(session, seconds: float) -> None:
            chunks, events = [], []
            for chunk in session.stream(seconds=seconds, on_event=events.append):
                chunks.append(chunk)
            # A bystander's underruns are counted as its 10 s stream ends.
            info = None if session is victim else client.get_session(session.id)
            results[session.id] = (chunks, events, info)

        threads = [threading.Thread(target=stream, args=(s, SECONDS)) for s in bystanders]
        threads.append(threading.Thread(target=stream, args=(victim, 2 * SECONDS)))
        for t in threads:
            t.start()
        for t in threads:
            t.join(SECONDS + 10)
        assert not any(t.is_alive() for t in threads)

        chunks, events, _ = results[victim.id]
        kinds = [e.kind for e in events]
        assert kinds[-2:] == ["error", "ended"] and events[-1].message == "error"
        assert 1.5 * RATE <= sum(c.frames for c in chunks) <= 5 * RATE  # it played first
        for session in bystanders:
            chunks, events, info = results[session.id]
            pcm = np.concatenate([c.to_numpy() for c in chunks])
            check_gapless([c.seq for c in chunks], [(c.stream_time, c.frames) for c in chunks],
                          pcm)
            assert not [(e.kind, e.stream_time / RATE, e.late_seconds) for e in events
                        if e.kind in ("error", "underrun", "ended")]
            assert info.state == "playing" and info.underruns == 0
            session.close()


class Peer:
    """A WebSocket client streaming one session, in its own thread."""

    def __init__(self, server, seed: int, seconds: float) -> None:
        self.server, self.url, self.seed, self.seconds = server, server.ws_url, seed, seconds
        self.frames: list = []
        self.json: list[dict] = []
        self.close_code: int | None = None
        self.state, self.underruns = "", -1  # the session's, as its stream ends
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        with connect(self.url) as ws:
            ws.send(json.dumps({"type": "create", "scene": "minimal", "seed": self.seed}))
            end = time.monotonic() + self.seconds + 10
            try:
                while sum(f.frames for f in self.frames) < self.seconds * RATE \
                        and time.monotonic() < end:
                    data = ws.recv(timeout=5.0)
                    if isinstance(data, bytes):
                        self.frames.append(decode_audio(data))
                    else:
                        self.json.append(json.loads(data))
            except Exception:  # the server closed the stream (the victim)
                pass
            self.close_code = ws.close_code
            with contextlib.suppress(CadenzaError):  # the failed victim may be forgotten
                session = self.server.runtime.get(self.session_id)
                self.state, self.underruns = session.state.value, session.counters.underruns

    def events(self) -> list[str]:
        return [m["kind"] for m in self.json if m["type"] == "event"]

    @property
    def session_id(self) -> str:
        return self.json[0]["session"]["session_id"]


def test_websocket_failing_session_ends_alone(server):
    victim = Peer(server, WS_VICTIM, 2 * SECONDS)
    bystanders = [Peer(server, seed, SECONDS) for seed in (21, 22)]
    peers = [victim, *bystanders]
    for p in peers:
        p.thread.start()
    for p in peers:
        p.thread.join(SECONDS + 15)
    assert not any(p.thread.is_alive() for p in peers)

    assert victim.events()[-2:] == ["error", "ended"]
    assert victim.json[-1]["reason"] == "error" and victim.close_code == 1000
    assert 1.5 * RATE <= sum(f.frames for f in victim.frames) <= 5 * RATE
    for peer in bystanders:
        pcm = (np.frombuffer(b"".join(f.pcm for f in peer.frames), "<i2")
               .reshape(-1, 2).astype(np.float32) / 32767)
        check_gapless([f.seq for f in peer.frames],
                      [(f.stream_time, f.frames) for f in peer.frames], pcm)
        assert not {"error", "underrun", "ended"} & set(peer.events())
        assert peer.state == "playing" and peer.underruns == 0
