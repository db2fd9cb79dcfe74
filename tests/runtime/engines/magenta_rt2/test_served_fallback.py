"""MRT2 served while it stalls: the fallback voice (the procedural band on the session's
beat grid) covers every late block, so a listener of a real server never hears silence."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cadenza.runtime.engines.chaos import ChaosEngine
from cadenza.runtime.serve import ServeOptions
from cadenza.runtime.server import RuntimeConfig
from cadenza.runtime.testing import ServerThread
from cadenza.sdk import Client

pytest.importorskip("magenta_rt.jax.system", reason="needs the [magenta] extra")

RATE = 48_000
SECONDS = 20.0


def test_a_stalling_model_is_covered_by_the_fallback_voice(engine8):
    # Each stall outlasts the 0.5 s of audio generated ahead (a shorter one is absorbed
    # by the buffer once the engine keeps up, and nothing needs covering).
    chaos = ChaosEngine(engine8, "stall=900ms,every=3s")
    options = ServeOptions(grpc_port=0, ws_port=0, engines={"magenta-rt2": chaos},
                           runtime=RuntimeConfig(default_engine="magenta-rt2"))
    with ServerThread(options) as server:
        client = Client(f"127.0.0.1:{server.grpc_port}")
        sessions = [client.create_session(scene="minimal", seed=s) for s in (1, 2)]
        results: dict[str, tuple[list, list]] = {}

        def listen(session):
            events: list = []
            chunks = list(session.stream(seconds=SECONDS, on_event=events.append))
            results[session.id] = (chunks, events)

        threads = [threading.Thread(target=listen, args=(s,)) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join(SECONDS + 120)
        for session in sessions:
            chunks, events = results[session.id]
            assert [c.seq for c in chunks] == list(range(len(chunks)))
            pcm = np.concatenate([c.to_numpy() for c in chunks])
            assert len(pcm) >= SECONDS * RATE
            body = pcm[RATE // 2:]
            zero = np.all(body == 0.0, axis=1).astype(np.int8)
            edges = np.diff(np.concatenate([[0], zero, [0]]))
            runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
            assert runs.max(initial=0) < RATE // 100  # no digital silence of 10 ms
            jumps = np.abs(np.diff(body, axis=0)).max(axis=1)
            assert jumps.max() <= 3 * np.quantile(jumps, 0.999) + 1e-6
            concealed = [e for e in events if e.kind == "concealed"]
            assert concealed and concealed[0].message == "start"
            assert "underrun" not in [e.kind for e in events]
            session.close()
